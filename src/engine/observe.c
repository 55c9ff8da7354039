/* Reading Fleet's real state: rows -> decrypted certificates -> observed generations. */
#include <stdio.h>
#include <string.h>

#include "fleetca/crypto.h"
#include "fleetca/engine.h"

int fca_engine_load_server_key(struct fca_secret *aes_key)
{
	struct fca_secret raw = FCA_SECRET_INIT;
	int r;

	aes_key->data = NULL;
	r = fca_secret_from_env(&raw, "FLEET_SERVER_PRIVATE_KEY", "FLEETCA_SERVER_PRIVATE_KEY_PATH",
				"the Fleet server private key");
	if (r == FCA_OK)
		r = fca_crypto_server_key(aes_key, &raw);
	fca_secret_dispose(&raw);
	return r;
}

size_t fca_engine_issued_tables(struct fca_store *s, enum fca_ca_id ca, const char *out[FCA_MAX_ISSUED_TABLES])
{
	const struct fca_ca_def *def = fca_catalog_get(ca);
	size_t n = 0;

	for (int i = 0; i < FCA_MAX_ISSUED_TABLES; i++) {
		const char *t = def->issued_tables[i];
		if (t && !fca_store_has_table(s, t))
			t = def->issued_tables_old[i];
		if (t && fca_store_has_table(s, t))
			out[n++] = t;
	}
	return n;
}

static int add_basis(struct fca_observed *o, const struct fca_asset_row *row)
{
	if (o->nbasis >= sizeof(o->basis) / sizeof(o->basis[0]))
		return fca_error_set(FCA_EINVALID, "too many rows for the plan basis");
	snprintf(o->basis[o->nbasis].name, sizeof(o->basis[0].name), "%s", row->name);
	snprintf(o->basis[o->nbasis].md5, sizeof(o->basis[0].md5), "%s", row->md5_hex);
	o->nbasis++;
	return FCA_OK;
}

static int load_slot(struct fca_obs_gen *g, const struct fca_asset_rows *rows, const struct fca_ca_def *def,
		     enum fca_slot slot, const struct fca_secret *aes_key, const struct fca_observe_opts *opts)
{
	const struct fca_asset_row *cert, *key;
	struct fca_secret pem = FCA_SECRET_INIT, kpem = FCA_SECRET_INIT;
	int r = FCA_OK;

	fca_catalog_asset(g->cert_asset, sizeof(g->cert_asset), def, 0, slot);
	fca_catalog_asset(g->key_asset, sizeof(g->key_asset), def, 1, slot);
	g->key_check = -1;
	cert = fca_asset_rows_find(rows, g->cert_asset);
	key = fca_asset_rows_find(rows, g->key_asset);
	if (key) {
		g->has_key = 1;
		g->key_row_id = key->id;
		snprintf(g->key_md5, sizeof(g->key_md5), "%s", key->md5_hex);
	}
	if (!cert)
		return FCA_OK;
	g->present = 1;
	g->cert_row_id = cert->id;
	snprintf(g->cert_md5, sizeof(g->cert_md5), "%s", cert->md5_hex);
	if ((r = fca_crypto_decrypt(&pem, aes_key, cert->value, cert->value_len, g->cert_asset)) != 0)
		goto out;
	if (fca_crypto_cert_inspect(&g->cert, (const char *)pem.data, pem.len, opts->now, g->cert_asset) == FCA_OK)
		g->cert_ok = 1;
	else
		fca_error_clear(); /* reported as corrupt by fca_observed_derive */
	if (key && opts->check_keys && g->cert_ok) {
		if ((r = fca_crypto_decrypt(&kpem, aes_key, key->value, key->value_len, g->key_asset)) != 0)
			goto out;
		g->key_check = fca_crypto_key_matches(&kpem, (const char *)pem.data, pem.len, g->key_asset) == FCA_OK;
		fca_error_clear();
	}
out:
	fca_secret_dispose(&kpem);
	fca_secret_dispose(&pem);
	return r;
}

/* Decrypted PEM of each present generation of the CA being scanned, for signature fallback. */
struct scan_ctx {
	struct fca_obs_ca *ca;
	const struct fca_observe_opts *opts;
	struct fca_secret pems[FCA_SLOT_COUNT];
	uint64_t rows; /* scanned so far in the current table, for progress */
};

#define PROGRESS_EVERY 250000

static int on_issued(void *vctx, const struct fca_issued_row *row)
{
	struct scan_ctx *c = vctx;
	unsigned char aki[64];
	size_t aki_len = 0;

	if (c->opts->progress && ++c->rows % PROGRESS_EVERY == 0) {
		fprintf(c->opts->progress, "fleetca: %s: %llu certificates scanned…\n", row->table,
			(unsigned long long)c->rows);
		fflush(c->opts->progress);
	}
	if (row->revoked)
		return 0;
	if (fca_crypto_cert_aki(aki, &aki_len, row->pem, row->pem_len) != FCA_OK) {
		fca_error_clear();
		return 0; /* unparseable rows are not Fleet's: they cannot keep a CA alive */
	}
	for (int s = 0; s < FCA_SLOT_COUNT; s++) {
		struct fca_obs_gen *g = &c->ca->gens[s];
		int match;
		if (!g->present || !g->cert_ok)
			continue;
		if (aki_len)
			match = aki_len == g->cert.ski_len && memcmp(aki, g->cert.ski, aki_len) == 0;
		else
			match = c->pems[s].data && fca_crypto_cert_signed_by(row->pem, row->pem_len,
									 (const char *)c->pems[s].data, c->pems[s].len);
		if (!match)
			continue;
		if (row->not_valid_after > c->opts->now)
			g->issued_live++;
		if (row->not_valid_after > c->opts->now - c->opts->clock_skew) {
			g->drain_live++;
			if (row->not_valid_after > g->drain_last_expiry)
				g->drain_last_expiry = row->not_valid_after;
			if (g->nblockers < FCA_MAX_BLOCKERS) {
				struct fca_blocker *b = &g->blockers[g->nblockers++];
				snprintf(b->table, sizeof(b->table), "%s", row->table);
				snprintf(b->serial, sizeof(b->serial), "%llu", (unsigned long long)row->serial);
				if (row->has_host_id)
					snprintf(b->who, sizeof(b->who), "host %llu (%s)",
						 (unsigned long long)row->host_id, row->name);
				else
					snprintf(b->who, sizeof(b->who), "%s", row->name);
				b->not_valid_after = row->not_valid_after;
			}
		}
		break;
	}
	return 0;
}

static int on_escrow(void *vctx, uint64_t host_id, const char *b64, size_t len)
{
	struct scan_ctx *c = vctx;

	(void)host_id;
	for (int s = 0; s < FCA_SLOT_COUNT; s++)
		if (c->pems[s].data &&
		    fca_crypto_cms_recipient_is(b64, len, (const char *)c->pems[s].data, c->pems[s].len) == 1)
			c->ca->gens[s].escrows++;
	return 0;
}

static int scan_ca(struct fca_observed *o, struct fca_store *s, enum fca_ca_id id, const struct fca_asset_rows *rows,
		   const struct fca_secret *aes_key, const struct fca_observe_opts *opts)
{
	struct scan_ctx c;
	const char *tables[FCA_MAX_ISSUED_TABLES];
	size_t nt;
	int r = FCA_OK;

	memset(&c, 0, sizeof(c));
	c.ca = &o->cas[id];
	c.opts = opts;
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++) {
		const struct fca_obs_gen *g = &c.ca->gens[sl];
		const struct fca_asset_row *row = g->present && g->cert_ok ? fca_asset_rows_find(rows, g->cert_asset) : NULL;
		if (row && (r = fca_crypto_decrypt(&c.pems[sl], aes_key, row->value, row->value_len, g->cert_asset)) != 0)
			goto out;
	}
	if (opts->scan_issued) {
		int64_t after = opts->now - (opts->clock_skew > 0 ? opts->clock_skew : 0);
		nt = fca_engine_issued_tables(s, id, tables);
		for (size_t i = 0; i < nt; i++) {
			c.rows = 0;
			if ((r = fca_store_scan_issued(s, tables[i], after, on_issued, &c)) != 0)
				goto out;
		}
		c.ca->issued_scanned = 1;
	}
	if (opts->scan_escrows && fca_catalog_get(id)->has_escrows)
		r = fca_store_scan_escrows(s, on_escrow, &c);
out:
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
		fca_secret_dispose(&c.pems[sl]);
	return r;
}

int fca_engine_observe(struct fca_observed *o, struct fca_store *s, const struct fca_secret *aes_key,
		       const struct fca_observe_opts *opts)
{
	const char *names[FCA_CA_COUNT * 2 * FCA_SLOT_COUNT + 1];
	struct fca_asset_rows rows = { NULL, 0 };
	struct fca_secret doc = FCA_SECRET_INIT;
	const struct fca_asset_row *st;
	size_t n;
	int r;

	fca_observed_init(o);
	snprintf(o->database, sizeof(o->database), "%s", fca_store_database(s));
	n = fca_catalog_all_assets(names, FCA_CA_COUNT * 2 * FCA_SLOT_COUNT);
	names[n++] = FCA_STATE_ASSET;
	if ((r = fca_store_read_live(s, &rows, names, n, 0)) != 0)
		goto out;
	for (size_t i = 0; i < rows.n; i++)
		if ((r = add_basis(o, &rows.v[i])) != 0)
			goto out;
	if ((st = fca_asset_rows_find(&rows, FCA_STATE_ASSET))) {
		if ((r = fca_crypto_decrypt(&doc, aes_key, st->value, st->value_len, FCA_STATE_ASSET)) != 0 ||
		    (r = fca_state_parse(&o->state, (const char *)doc.data, doc.len)) != 0)
			goto out;
		o->has_document = 1;
	}
	for (int c = 0; c < FCA_CA_COUNT; c++)
		for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
			if ((r = load_slot(&o->cas[c].gens[sl], &rows, fca_catalog_get((enum fca_ca_id)c),
					   (enum fca_slot)sl, aes_key, opts)) != 0)
				goto out;
	for (int c = 0; c < FCA_CA_COUNT; c++)
		if ((r = scan_ca(o, s, (enum fca_ca_id)c, &rows, aes_key, opts)) != 0)
			goto out;
	fca_observed_derive(o);
	r = FCA_OK;
out:
	fca_secret_dispose(&doc);
	fca_asset_rows_dispose(&rows);
	return r;
}
