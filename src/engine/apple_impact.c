/*
 * What an Apple SCEP CA step would break (Fleet's readers: docs/architecture.md, section 7): which
 * certificate is each enrollment's newest (nano_cert_auth_associations), and how many FileVault
 * escrows Fleet decrypts today with the signing ca_key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/apple_impact.h"
#include "fleetca/crypto.h"
#include "fleetca/encoding.h"

void fca_assoc_map_init(struct fca_assoc_map *m)
{
	memset(m, 0, sizeof(*m));
}

void fca_assoc_map_dispose(struct fca_assoc_map *m)
{
	if (!m)
		return;
	free(m->v);
	fca_assoc_map_init(m);
}

/* The digests are uniform: their first bytes are a good hash. */
static size_t slot_of(const struct fca_assoc_map *m, const unsigned char sha256[32])
{
	uint64_t h;

	memcpy(&h, sha256, sizeof(h));
	return (size_t)h & (m->cap - 1);
}

static struct fca_assoc *probe(const struct fca_assoc_map *m, const unsigned char sha256[32])
{
	for (size_t i = slot_of(m, sha256);; i = (i + 1) & (m->cap - 1))
		if (!m->v[i].used || memcmp(m->v[i].sha256, sha256, 32) == 0)
			return &m->v[i];
}

static int grow(struct fca_assoc_map *m)
{
	struct fca_assoc_map bigger;

	bigger.cap = m->cap ? m->cap * 2 : 1024;
	bigger.n = m->n;
	if (!(bigger.v = calloc(bigger.cap, sizeof(*bigger.v))))
		return fca_error_set(FCA_ENOMEM, "out of memory reading nano_cert_auth_associations");
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].used)
			*probe(&bigger, m->v[i].sha256) = m->v[i];
	free(m->v);
	*m = bigger;
	return FCA_OK;
}

static int on_assoc(void *ctx, const char *hex, size_t len, int newest)
{
	struct fca_assoc_map *m = ctx;
	unsigned char sha[32];
	struct fca_assoc *a;
	int r;

	if (len != 64)
		return 0; /* not a SHA-256: names no certificate fleetca can find */
	if (fca_hex_decode(sha, sizeof(sha), hex) != FCA_OK)
		return 0;
	if ((m->n + 1) * 4 > m->cap * 3) {
		if (m->n >= FCA_ASSOC_MAX)
			return fca_error_set(FCA_EINVALID, "nano_cert_auth_associations has more than %u certificates",
					     FCA_ASSOC_MAX);
		if ((r = grow(m)) != 0)
			return r;
	}
	a = probe(m, sha);
	if (!a->used) {
		memcpy(a->sha256, sha, 32);
		a->used = 1;
		m->n++;
	}
	if (newest)
		a->newest++;
	return 0;
}

int fca_assoc_map_load(struct fca_assoc_map *m, struct fca_store *s)
{
	int r;

	fca_assoc_map_dispose(m);
	if ((r = grow(m)) != 0)
		return r;
	if ((r = fca_store_scan_cert_assocs(s, on_assoc, m)) != 0)
		fca_assoc_map_dispose(m);
	return r;
}

const struct fca_assoc *fca_assoc_map_find(const struct fca_assoc_map *m, const unsigned char sha256[32])
{
	const struct fca_assoc *a;

	if (!m->cap)
		return NULL;
	a = probe(m, sha256);
	return a->used ? a : NULL;
}

/* ---- escrows ---------------------------------------------------------------------------- */

struct escrow_ctx {
	struct fca_escrow_keyring *kr;
	const struct fca_secret *aes_key;
	const struct fca_asset_row *key_row;
	uint64_t decryptable;
};

/* The signing key, decrypted only when an escrow needs it, parsed into the keyring, wiped. */
static int load_key(struct escrow_ctx *c)
{
	struct fca_secret key = FCA_SECRET_INIT;
	int r = fca_crypto_decrypt(&key, c->aes_key, c->key_row->value, c->key_row->value_len, c->key_row->name);

	if (r == FCA_OK)
		r = fca_crypto_keyring_set_key(c->kr, &key);
	fca_secret_dispose(&key);
	return r;
}

static int on_escrow(void *vctx, uint64_t host_id, const char *b64, size_t len)
{
	struct escrow_ctx *c = vctx;
	int r = fca_crypto_keyring_can_decrypt(c->kr, b64, len);

	(void)host_id;
	if (r == FCA_KEYRING_NEEDS_KEY) {
		if ((r = load_key(c)) != FCA_OK)
			return r;
		r = fca_crypto_keyring_can_decrypt(c->kr, b64, len);
	}
	if (r == FCA_ENOMEM || r == FCA_KEYRING_NEEDS_KEY)
		return r == FCA_ENOMEM ? r : fca_error_set(FCA_ERROR, "the escrow keyring has no key");
	if (r == 1)
		c->decryptable++;
	return 0; /* not CMS (a LUKS or BitLocker value on a darwin host): nothing Fleet decrypts */
}

/* The reason the count could not be made, from the current error; out-of-memory stays an error. */
static int not_counted(struct fca_obs_ca *ca, int r, const char *what)
{
	if (r == FCA_ENOMEM)
		return r;
	snprintf(ca->escrows_note, sizeof(ca->escrows_note), "%s: %s", what, fca_error_message());
	fca_error_clear();
	return FCA_OK;
}

int fca_engine_count_escrows_today(struct fca_obs_ca *ca, struct fca_store *s, const struct fca_secret *aes_key,
				   const struct fca_asset_rows *rows)
{
	const struct fca_ca_def *def = fca_catalog_get(FCA_CA_APPLE_SCEP);
	const char *names[1] = {def->cert_asset};
	const struct fca_asset_row *kr_row = fca_asset_rows_find(rows, def->key_asset);
	const struct fca_asset_row *cr_row = fca_asset_rows_find(rows, def->cert_asset);
	struct fca_secret pem = FCA_SECRET_INIT;
	struct fca_asset_rows hist = {NULL, 0};
	struct fca_escrow_keyring *kr = NULL;
	struct escrow_ctx ec = {NULL, aes_key, kr_row, 0};
	int r;

	ca->escrows_counted = 0;
	ca->escrows_decryptable = 0;
	ca->escrows_note[0] = '\0';
	if (!kr_row || !cr_row) {
		snprintf(ca->escrows_note, sizeof(ca->escrows_note), "no live %s or %s row", def->cert_asset,
			 def->key_asset);
		return FCA_OK;
	}
	if (!fca_store_has_table(s, "host_disk_encryption_keys") || !fca_store_has_table(s, "hosts")) {
		snprintf(ca->escrows_note, sizeof(ca->escrows_note),
			 "the host_disk_encryption_keys or hosts table is missing");
		return FCA_OK;
	}
	r = fca_crypto_decrypt(&pem, aes_key, cr_row->value, cr_row->value_len, def->cert_asset);
	if (r == FCA_OK)
		r = fca_crypto_keyring_new(&kr, (const char *)pem.data, pem.len);
	fca_secret_dispose(&pem);
	if (r != FCA_OK) {
		r = not_counted(ca, r, def->cert_asset);
		goto out;
	}
	if ((r = fca_store_read_history(s, &hist, names, 1)) != 0) {
		r = not_counted(ca, r, "reading the ca_cert history");
		goto out;
	}
	/* Every ca_cert row, live and soft-deleted; one that does not decrypt or parse is no
	 * candidate (Fleet could not use it either). */
	for (size_t i = 0; i < hist.n; i++) {
		int added = FCA_EINVALID;
		if (fca_crypto_decrypt(&pem, aes_key, hist.v[i].value, hist.v[i].value_len, def->cert_asset) == FCA_OK)
			added = fca_crypto_keyring_add_cert(kr, (const char *)pem.data, pem.len);
		fca_secret_dispose(&pem);
		if (added == FCA_ERROR) {
			r = not_counted(ca, added, def->cert_asset);
			goto out;
		}
		fca_error_clear();
	}
	ec.kr = kr;
	/* the key is decrypted only if an escrow needs it to be told apart (load_key) */
	if ((r = fca_store_scan_escrows(s, on_escrow, &ec)) != 0) {
		r = not_counted(ca, r, "reading FileVault escrows");
		goto out;
	}
	ca->escrows_decryptable = ec.decryptable;
	ca->escrows_counted = 1;
	r = FCA_OK;
out:
	fca_secret_dispose(&pem);
	fca_crypto_keyring_free(kr);
	fca_asset_rows_dispose(&hist);
	return r;
}
