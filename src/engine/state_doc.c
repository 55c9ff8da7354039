/* The state document's row: read and decrypt it, or write it back as Fleet writes an asset. */
#include <stdlib.h>

#include "fleetca/crypto.h"
#include "fleetca/engine.h"
#include "fleetca/json.h"
#include "fleetca/state.h"

int fca_engine_save_state(struct fca_store *s, const struct fca_secret *aes_key, struct fca_state *st, int replace)
{
	struct fca_state check;
	char *json = NULL;
	unsigned char *ct = NULL;
	size_t json_len = 0, ct_len = 0;
	int r;

	/* Compacted first, then refused if it still does not fit: the caller rolls back, nothing is
	 * committed. The bytes are parsed back with the reader itself, so a document the next run
	 * would reject is never written (the serializer and the reader share state.h's limits). */
	(void)fca_state_compact(st);
	if ((r = fca_state_serialize(&json, &json_len, st)) != 0)
		goto out;
	if ((r = fca_state_parse(&check, json, json_len)) != 0) {
		fca_error_prefix("refusing to write a state document the reader would reject");
		goto out;
	}
	fca_state_dispose(&check);
	if ((r = fca_crypto_encrypt(&ct, &ct_len, aes_key, (const unsigned char *)json, json_len)) != 0)
		goto out;
	if (replace) {
		const char *del[1] = {FCA_STATE_ASSET};
		uint64_t affected = 0;
		if ((r = fca_store_soft_delete(s, del, 1, &affected)) != 0)
			goto out;
	}
	r = fca_store_insert(s, FCA_STATE_ASSET, ct, ct_len, 0);
out:
	free(ct);
	free(json);
	return r;
}

_Static_assert(FCA_STATE_MAX_BYTES <= FCA_SECRET_MAX, "a state document must fit a secret buffer");

int fca_engine_decrypt_state(struct fca_secret *doc, const struct fca_secret *aes_key, const unsigned char *value,
			     size_t len)
{
	doc->data = NULL;
	doc->len = doc->cap = 0;
	if (len > (size_t)FCA_STATE_MAX_BYTES + FCA_GCM_NONCE + FCA_GCM_TAG)
		return fca_error_set(FCA_EINVALID,
				     "%s: the row holds %zu bytes, more than a document of at most %d bytes: it was "
				     "not written by this fleetca; restore it from its history row (deletion_uuid <> "
				     "'') by hand",
				     FCA_STATE_ASSET, len, FCA_STATE_MAX_BYTES);
	return fca_crypto_decrypt(doc, aes_key, value, len, FCA_STATE_ASSET);
}

int fca_engine_load_state(struct fca_state *out, int *found, struct fca_store *s, const struct fca_secret *aes_key,
			  int for_update)
{
	const char *names[1] = {FCA_STATE_ASSET};
	struct fca_asset_rows rows = {NULL, 0};
	struct fca_secret doc = FCA_SECRET_INIT;
	const struct fca_asset_row *row;
	int r;

	fca_state_init(out);
	*found = 0;
	if ((r = fca_store_read_live(s, &rows, names, 1, for_update)) != 0)
		goto out;
	if ((row = fca_asset_rows_find(&rows, FCA_STATE_ASSET))) {
		if ((r = fca_engine_decrypt_state(&doc, aes_key, row->value, row->value_len)) != 0 ||
		    (r = fca_state_parse(out, (const char *)doc.data, doc.len)) != 0)
			goto out;
		*found = 1;
	}
	r = FCA_OK;
out:
	fca_secret_dispose(&doc);
	fca_asset_rows_dispose(&rows);
	return r;
}
