/* Export: decrypts the live certificate rows of one CA for `fleetca export`. Keys are never read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/crypto.h"
#include "fleetca/engine.h"
#include "fleetca/export.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END	  "-----END CERTIFICATE-----"

/* Copies the first PEM certificate block of text, without anything around it, ending in '\n'. */
static int pem_block(char **out, size_t *out_len, const char *text, size_t len, const char *asset)
{
	const char *b = NULL, *e = NULL;
	size_t blen = strlen(PEM_BEGIN), elen = strlen(PEM_END), n;
	char *p;

	for (size_t i = 0; i + blen <= len && !b; i++)
		if (!memcmp(text + i, PEM_BEGIN, blen))
			b = text + i;
	for (size_t i = b ? (size_t)(b - text) + blen : len; i + elen <= len && !e; i++)
		if (!memcmp(text + i, PEM_END, elen))
			e = text + i + elen;
	if (!b || !e)
		return fca_error_set(FCA_EINVALID, "%s: no PEM certificate in the row", asset);
	n = (size_t)(e - b);
	if (!(p = malloc(n + 2)))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	memcpy(p, b, n);
	p[n++] = '\n';
	p[n] = '\0';
	*out = p;
	*out_len = n;
	return FCA_OK;
}

int fca_engine_export(struct fca_export *out, struct fca_store *s, const struct fca_secret *aes_key, enum fca_ca_id ca,
		      int64_t now)
{
	static const enum fca_role order[FCA_SLOT_COUNT] = {FCA_ROLE_SIGNING, FCA_ROLE_NEXT, FCA_ROLE_PREVIOUS};
	struct fca_observe_opts oo = FCA_OBSERVE_OPTS_INIT;
	struct fca_observed *o = NULL;
	struct fca_asset_rows rows = {NULL, 0};
	struct fca_secret pem = FCA_SECRET_INIT;
	const struct fca_ca_def *def = fca_catalog_get(ca);
	const char *names[FCA_SLOT_COUNT];
	char assets[FCA_SLOT_COUNT][FCA_ASSET_NAME_MAX];
	const struct fca_obs_ca *oc;
	int r;

	memset(out, 0, sizeof(*out));
	out->ca = ca;
	if (!(o = calloc(1, sizeof(*o)))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	oo.now = now;
	oo.check_keys = 0;
	oo.scan_issued = oo.scan_escrows = 0;
	if ((r = fca_engine_observe(o, s, aes_key, &oo)) != 0)
		goto out;
	oc = &o->cas[ca];
	out->stage = oc->stage;
	out->managed = oc->managed;
	out->drift = oc->drift;
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++) {
		fca_catalog_asset(assets[sl], sizeof(assets[sl]), def, 0, (enum fca_slot)sl);
		names[sl] = assets[sl];
	}
	/* The certificate rows again, to decrypt: checked against what was observed. */
	if ((r = fca_store_read_live(s, &rows, names, FCA_SLOT_COUNT, 0)) != 0)
		goto out;
	for (int i = 0; i < FCA_SLOT_COUNT; i++) {
		const struct fca_obs_gen *g = &oc->gens[order[i]];
		const struct fca_asset_row *row = fca_asset_rows_find(&rows, g->cert_asset);
		struct fca_export_cert *c;
		if (!g->present && !row)
			continue;
		if (!g->present || !row || strcmp(row->md5_hex, g->cert_md5)) {
			r = fca_error_set(FCA_ECONFLICT, "%s changed while it was being read: run export again",
					  g->cert_asset);
			goto out;
		}
		if (!g->cert_ok) {
			r = fca_error_set(FCA_EINVALID,
					  "%s does not hold a parseable certificate: see 'fleetca status'; nothing "
					  "was exported",
					  g->cert_asset);
			goto out;
		}
		c = &out->certs[out->n];
		if ((r = fca_crypto_decrypt(&pem, aes_key, row->value, row->value_len, g->cert_asset)) != 0 ||
		    (r = pem_block(&c->pem, &c->pem_len, (const char *)pem.data, pem.len, g->cert_asset)) != 0)
			goto out;
		fca_secret_dispose(&pem);
		c->role = order[i];
		c->generation = g->generation;
		/* generation 1 is whatever Fleet created; apply adopts it under that number. */
		if (!c->generation && !oc->managed && order[i] == FCA_ROLE_SIGNING)
			c->generation = 1;
		snprintf(c->asset, sizeof(c->asset), "%s", g->cert_asset);
		c->info = g->cert;
		out->n++;
	}
	if (out->n == 0) {
		r = fca_error_set(FCA_ENOTFOUND, "%s has no certificate in Fleet (no live %s row): is it set up?",
				  def->name, def->cert_asset);
		goto out;
	}
	r = FCA_OK;
out:
	if (r != FCA_OK)
		fca_export_dispose(out);
	fca_secret_dispose(&pem);
	fca_asset_rows_dispose(&rows);
	if (o)
		fca_observed_dispose(o);
	free(o);
	return r;
}

void fca_export_dispose(struct fca_export *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n && i < FCA_SLOT_COUNT; i++) {
		free(e->certs[i].pem);
		e->certs[i].pem = NULL;
	}
	e->n = 0;
}

const struct fca_export_cert *fca_export_find(const struct fca_export *e, int generation)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->certs[i].generation == generation)
			return &e->certs[i];
	return NULL;
}
