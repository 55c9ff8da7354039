/* Reading Fleet's real state: rows -> decrypted certificates -> observed generations. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/apple_impact.h"
#include "fleetca/buf.h"
#include "fleetca/crypto.h"
#include "fleetca/engine.h"
#include "fleetca/json.h"

int fca_engine_load_server_key(struct fca_secret *aes_key, const struct fca_secret *server_key)
{
	aes_key->data = NULL;
	return fca_crypto_server_key(aes_key, server_key);
}

/* The schema says which name a renamed table has: the 2026 layout (mdm_config_assets.renew_at,
 * activity_past) names the Apple identity table identity_certificates, the older one scep_certificates. */
static int newest_layout(struct fca_store *s)
{
	const struct fca_store_schema *sc = fca_store_schema(s);

	return sc->has_renew_at || (sc->activity_table && !strcmp(sc->activity_table, "activity_past"));
}

int fca_engine_issued_tables(struct fca_store *s, enum fca_ca_id ca, const char *out[FCA_MAX_ISSUED_TABLES], size_t *n)
{
	const struct fca_ca_def *def = fca_catalog_get(ca);
	int r;

	*n = 0;
	for (int i = 0; i < FCA_MAX_ISSUED_TABLES; i++) {
		const char *t = def->issued_tables[i], *old = def->issued_tables_old[i];
		if (!t)
			continue;
		/* Each is read, not looked up: information_schema hides what this user may not read. */
		if (old && strcmp(t, old) && fca_store_probe_table(s, t) != FCA_OK) {
			fca_error_clear();
			if (fca_store_probe_table(s, old) == FCA_OK) {
				out[(*n)++] = old;
				continue;
			}
			fca_error_clear();
			if (!newest_layout(s))
				t = old;
		}
		if ((r = fca_store_probe_table(s, t)) != 0)
			return r;
		out[(*n)++] = t;
	}
	return FCA_OK;
}

static int add_basis(struct fca_observed *o, const struct fca_asset_row *row)
{
	if (o->nbasis >= sizeof(o->basis) / sizeof(o->basis[0]))
		return fca_error_set(FCA_EINVALID, "too many rows for the plan basis");
	if (fca_buf_copy(o->basis[o->nbasis].name, sizeof(o->basis[0].name), row->name) != FCA_OK ||
	    fca_buf_copy(o->basis[o->nbasis].md5, sizeof(o->basis[0].md5), row->md5_hex) != FCA_OK)
		return fca_error_set(FCA_EINVALID, "asset row '%.64s…': name or md5 longer than a Fleet asset's",
				     row->name);
	o->nbasis++;
	return FCA_OK;
}

/*
 * What the rows said of the server key. A row that does not decrypt while others do is damaged;
 * only when none decrypts is the key to blame (the first failure is then the run's error).
 */
struct decrypt_tally {
	size_t ok, failed;
	int first_code;
	char first[320];
	int doc_eauth; /* the state document did not decrypt: judged once the slots are read */
	char doc_msg[320];
};

/* Appends one more reason to the slot's damage. */
static void FCA_PRINTF(2, 3) add_damage(struct fca_obs_gen *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fca_text_vappend(g->damage, sizeof(g->damage), "; ", fmt, ap);
	va_end(ap);
}

/* Fleet's cache keys on md5_checksum: a row whose checksum is not MD5(value) cannot be believed. */
static void check_md5(struct fca_obs_gen *g, const struct fca_asset_row *row)
{
	char md5[33];

	fca_crypto_md5_hex(md5, row->value, row->value_len);
	if (strcmp(md5, row->md5_hex) != 0)
		add_damage(g,
			   "%s: md5_checksum is not the MD5 of its value (Fleet's cache keys on it): the "
			   "row was changed outside Fleet",
			   row->name);
}

/* Decrypts one row of the slot. A failure (but out of memory) is the row's damage: FCA_OK with
 * out->data NULL. */
static int decrypt_row(struct fca_secret *out, struct fca_obs_gen *g, const struct fca_asset_row *row,
		       const struct fca_secret *aes_key, struct decrypt_tally *t)
{
	int r = fca_crypto_decrypt(out, aes_key, row->value, row->value_len, row->name);

	if (r == FCA_OK) {
		t->ok++;
		return FCA_OK;
	}
	if (r == FCA_ENOMEM)
		return r;
	if (!t->failed++) {
		t->first_code = r;
		snprintf(t->first, sizeof(t->first), "%s", fca_error_message());
	}
	if (r == FCA_EAUTH)
		add_damage(g,
			   "%s: cannot decrypt (GCM tag mismatch) although other rows decrypt with this "
			   "server key",
			   row->name);
	else
		add_damage(g, "%s", fca_error_message());
	fca_error_clear();
	return FCA_OK;
}

/*
 * The certificate's facts as the state document recorded them for a row with this md5_checksum,
 * when the row is intact (its checksum is the MD5 of its value: the same ciphertext, hence the same
 * certificate) and nothing asks for its plaintext (a key check). 1 when taken, else 0: the row is
 * then decrypted and parsed.
 */
static int recorded_facts(struct fca_obs_gen *g, const struct fca_asset_row *cert, const struct fca_observed *o,
			  const struct fca_observe_opts *opts, int check_key)
{
	if (!o->has_document || check_key || g->damage[0])
		return 0;
	for (size_t i = 0; i < o->state.nrow_facts; i++) {
		int r = fca_cert_facts_decode(&g->cert, o->state.row_facts[i], cert->md5_hex, opts->now);
		if (r == 1) {
			g->cert_ok = 1;
			return 1;
		}
		if (r < 0)
			break; /* a line this fleetca cannot read: decrypt (the next write rewrites it) */
	}
	memset(&g->cert, 0, sizeof(g->cert));
	return 0;
}

static int load_slot(struct fca_obs_gen *g, const struct fca_asset_rows *rows, const struct fca_ca_def *def,
		     enum fca_slot slot, const struct fca_secret *aes_key, const struct fca_observe_opts *opts,
		     const struct fca_observed *o, struct decrypt_tally *t)
{
	const struct fca_asset_row *cert, *key;
	struct fca_secret pem = FCA_SECRET_INIT, kpem = FCA_SECRET_INIT;
	size_t blocks;
	int r = FCA_OK, check_key;

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
	if (!cert) {
		if (key)
			check_md5(g, key);
		return FCA_OK;
	}
	g->present = 1;
	g->cert_row_id = cert->id;
	snprintf(g->cert_md5, sizeof(g->cert_md5), "%s", cert->md5_hex);
	check_md5(g, cert);
	if (key)
		check_md5(g, key);
	check_key = key && (opts->check_keys || (opts->check_keys_of >> def->id & 1u));
	if (recorded_facts(g, cert, o, opts, check_key))
		return FCA_OK;
	if ((r = decrypt_row(&pem, g, cert, aes_key, t)) != 0 || !pem.data)
		goto out;
	/* Every Fleet reader takes the first block only: the rest would be invisible to Fleet. */
	if ((blocks = fca_pem_block_count((const char *)pem.data, pem.len)) > 1)
		add_damage(g,
			   "%s holds %zu PEM blocks: every Fleet reader takes the first one only, so the "
			   "others are invisible to Fleet",
			   g->cert_asset, blocks);
	if (fca_crypto_cert_inspect(&g->cert, (const char *)pem.data, pem.len, opts->now, g->cert_asset) == FCA_OK)
		g->cert_ok = 1;
	else
		fca_error_clear(); /* reported as corrupt by fca_observed_derive */
	/* Key material is decrypted only when asked (--check-keys) or to sign. */
	if (check_key && g->cert_ok) {
		if ((r = decrypt_row(&kpem, g, key, aes_key, t)) != 0 || !kpem.data)
			goto out;
		g->key_check = fca_crypto_key_matches(&kpem, (const char *)pem.data, pem.len, g->key_asset) == FCA_OK;
		fca_error_clear();
	}
out:
	fca_secret_dispose(&kpem);
	fca_secret_dispose(&pem);
	return r;
}

/* The state document's row: it labels every CA, so a damaged one stops the run. Read before the
 * slots (its row_facts spare them a decryption); a GCM failure is judged after them (judge_document). */
static int load_document(struct fca_observed *o, const struct fca_asset_row *st, const struct fca_secret *aes_key,
			 struct decrypt_tally *t)
{
	struct fca_secret doc = FCA_SECRET_INIT;
	char md5[33];
	int r;

	r = fca_engine_decrypt_state(&doc, aes_key, st->value, st->value_len);
	if (r == FCA_EAUTH) {
		t->doc_eauth = 1;
		snprintf(t->doc_msg, sizeof(t->doc_msg), "%s", fca_error_message());
		fca_error_clear();
		r = FCA_OK;
		goto out;
	}
	if (r != FCA_OK)
		goto out;
	t->ok++;
	fca_crypto_md5_hex(md5, st->value, st->value_len);
	if (strcmp(md5, st->md5_hex) != 0) {
		r = fca_error_set(FCA_EINVALID,
				  "%s: md5_checksum is not the MD5 of its value: the row was changed outside "
				  "fleetca; restore it from its history row (deletion_uuid <> '') by hand",
				  FCA_STATE_ASSET);
		goto out;
	}
	if ((r = fca_state_parse(&o->state, (const char *)doc.data, doc.len)) != 0)
		goto out;
	o->has_document = 1;
out:
	fca_secret_dispose(&doc);
	return r;
}

/* A document that did not decrypt: when nothing else did either, the caller blames the key; else the
 * row is damaged. */
static int judge_document(struct decrypt_tally *t)
{
	if (!t->doc_eauth)
		return FCA_OK;
	if (!t->ok) {
		if (!t->failed++) {
			t->first_code = FCA_EAUTH;
			snprintf(t->first, sizeof(t->first), "%s", t->doc_msg);
		}
		return FCA_OK;
	}
	return fca_error_set(FCA_EINVALID,
			     "%s: cannot decrypt (GCM tag mismatch) although other rows decrypt with this server "
			     "key: the row is damaged; restore it from its history row (deletion_uuid <> '') by hand",
			     FCA_STATE_ASSET);
}

/* Decrypted PEM of each present generation of the CA being scanned, for signature fallback. */
struct scan_ctx {
	struct fca_obs_ca *ca;
	const struct fca_observe_opts *opts;
	struct fca_secret pems[FCA_SLOT_COUNT];
	uint64_t rows;			    /* scanned so far in the current table, for progress */
	const struct fca_assoc_map *assocs; /* apple_scep: each enrollment's newest certificate, or NULL */
	int shared_key[FCA_SLOT_COUNT];	    /* another live generation has this generation's SKI */
	uint64_t unparsed;		    /* rows whose certificate could not be parsed */
};

/* Generations with the same key (key: keep) have the same SKI: each issued certificate then
 * belongs to the one whose subject is its issuer, byte for byte, as Go's chain building decides. */
static void mark_shared_keys(struct scan_ctx *c)
{
	for (int a = 0; a < FCA_SLOT_COUNT; a++)
		for (int b = 0; b < FCA_SLOT_COUNT; b++) {
			const struct fca_obs_gen *ga = &c->ca->gens[a], *gb = &c->ca->gens[b];
			if (a != b && ga->present && ga->cert_ok && gb->present && gb->cert_ok && ga->cert.ski_len &&
			    ga->cert.ski_len == gb->cert.ski_len &&
			    !memcmp(ga->cert.ski, gb->cert.ski, ga->cert.ski_len))
				c->shared_key[a] = 1;
		}
}

static int issuer_is(const struct fca_issued_ids *ids, const struct fca_obs_gen *g)
{
	return g->cert.subject_der_len && ids->issuer_len == g->cert.subject_der_len &&
	       !memcmp(ids->issuer, g->cert.subject_der, ids->issuer_len);
}

#define PROGRESS_EVERY 250000

static void progress(struct scan_ctx *c, const struct fca_issued_row *row)
{
	if (c->opts->progress && ++c->rows % PROGRESS_EVERY == 0) {
		fprintf(c->opts->progress, "fleetca: %s: %llu certificates scanned…\n", row->table,
			(unsigned long long)c->rows);
		fflush(c->opts->progress);
	}
}

/* The generation that issued the row's certificate, or NULL (unparseable rows are not Fleet's). */
static struct fca_obs_gen *issuer_gen(struct scan_ctx *c, const struct fca_issued_row *row, struct fca_issued_ids *ids)
{
	if (fca_crypto_cert_ids(ids, row->pem, row->pem_len, c->assocs != NULL) != FCA_OK) {
		fca_error_clear();
		c->unparsed++;
		return NULL;
	}
	for (int s = 0; s < FCA_SLOT_COUNT; s++) {
		struct fca_obs_gen *g = &c->ca->gens[s];
		int match;
		if (!g->present || !g->cert_ok)
			continue;
		if (ids->aki_len)
			match = ids->aki_len == g->cert.ski_len && memcmp(ids->aki, g->cert.ski, ids->aki_len) == 0;
		else
			match =
			    c->pems[s].data && fca_crypto_cert_signed_by(row->pem, row->pem_len,
									 (const char *)c->pems[s].data, c->pems[s].len);
		if (match && c->shared_key[s])
			match = issuer_is(ids, g);
		if (match)
			return g;
	}
	return NULL;
}

static int on_issued(void *vctx, const struct fca_issued_row *row)
{
	struct scan_ctx *c = vctx;
	struct fca_issued_ids ids;
	struct fca_obs_gen *g;

	progress(c, row);
	if (row->revoked || !(g = issuer_gen(c, row, &ids)))
		return 0;
	{
		const struct fca_assoc *a;
		if (row->not_valid_after > c->opts->now)
			g->issued_live++;
		if (row->not_valid_after > c->opts->now - c->opts->clock_skew) {
			/* Where enrollments are known, a certificate an enrollment has replaced (it renewed,
			 * perhaps under a newer generation) no longer depends on this generation; one that
			 * no enrollment names still counts (fail closed). */
			a = c->assocs ? fca_assoc_map_find(c->assocs, ids.sha256) : NULL;
			g->drain_unexpired++;
			if (c->assocs && a && a->newest == 0)
				return 0;
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
	}
	return 0;
}

/*
 * Enrolled Apple devices per generation, as Fleet sees them check in: each enrollment whose newest
 * certificate (nano_cert_auth_associations) the generation issued, revoked or expired alike
 * (check-in looks the certificate up by its hash, and verifies an expired one at its NotAfter);
 * without the table, every certificate not revoked is one device.
 */
static int on_device(void *vctx, const struct fca_issued_row *row)
{
	struct scan_ctx *c = vctx;
	struct fca_issued_ids ids;
	struct fca_obs_gen *g;
	const struct fca_assoc *a;

	progress(c, row);
	if ((c->assocs || !row->revoked) && (g = issuer_gen(c, row, &ids)))
		g->devices += !c->assocs ? 1 : (a = fca_assoc_map_find(c->assocs, ids.sha256)) ? a->newest : 0;
	return 0;
}

static int on_escrow(void *vctx, uint64_t host_id, const char *b64, size_t len)
{
	struct scan_ctx *c = vctx;

	int unparsed = 0;

	(void)host_id;
	for (int s = 0; s < FCA_SLOT_COUNT; s++) {
		int r;
		if (!c->pems[s].data)
			continue;
		r = fca_crypto_cms_recipient_is(b64, len, (const char *)c->pems[s].data, c->pems[s].len);
		if (r == 1)
			c->ca->gens[s].escrows++;
		else if (r < 0)
			unparsed = 1; /* to whom it is addressed is unknown: never counted as none */
	}
	if (unparsed) {
		fca_error_clear();
		c->ca->escrows_unparsed++;
	}
	return 0;
}

/* Forgets a scan that stopped half-way. */
static void reset_issued(struct fca_obs_ca *ca)
{
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++) {
		struct fca_obs_gen *g = &ca->gens[sl];
		g->issued_live = g->drain_unexpired = g->drain_live = 0;
		g->drain_last_expiry = 0;
		g->nblockers = 0;
	}
	ca->issued_unparsed = 0;
}

/*
 * apple_scep: each enrollment's newest certificate (nano_cert_auth_associations). When it cannot be
 * read or is missing (both Fleet layouts have it), c->assocs stays NULL and assoc_note says why: the
 * devices and the drain are then not counted (the drain gate stays closed on that reason).
 */
static int load_assocs(struct scan_ctx *c, struct fca_store *s, struct fca_assoc_map *m)
{
	int r = fca_assoc_map_load(m, s);

	if (r == FCA_OK) {
		c->assocs = m;
		c->ca->by_enrollment = 1;
		return FCA_OK;
	}
	if (r == FCA_ENOMEM)
		return r;
	snprintf(c->ca->assoc_note, sizeof(c->ca->assoc_note), "%s", fca_error_message());
	fca_error_clear();
	return FCA_OK;
}

/*
 * The issued-certificate tables of one CA (live rows only). strict: a failure is the run's error
 * (the drain gate must not open on what could not be read); else the counts are forgotten.
 */
static int scan_issued_ca(struct scan_ctx *c, struct fca_store *s, enum fca_ca_id id, int strict)
{
	const char *tables[FCA_MAX_ISSUED_TABLES];
	int64_t after = c->opts->now - (c->opts->clock_skew > 0 ? c->opts->clock_skew : 0);
	size_t nt = 0;
	int r = fca_engine_issued_tables(s, id, tables, &nt);

	if (r == FCA_EAUTH || r == FCA_ENOTFOUND) {
		/* not counted, and said why: a gate that needs the count stops the run (fca_plan_uncounted) */
		snprintf(c->ca->issued_note, sizeof(c->ca->issued_note), "%s", fca_error_message());
		fca_error_clear();
		return FCA_OK;
	}
	c->unparsed = 0;
	for (size_t i = 0; i < nt && r == FCA_OK; i++) {
		c->rows = 0;
		r = fca_store_scan_issued(s, tables[i], after, on_issued, c);
	}
	if (r == FCA_OK) {
		c->ca->issued_scanned = 1;
		c->ca->issued_note[0] = '\0';
		c->ca->issued_unparsed = c->unparsed;
	} else if (r != FCA_ENOMEM && !strict) {
		reset_issued(c->ca);
		fca_error_clear();
		r = FCA_OK;
	}
	return r;
}

/* apple_scep's enrolled devices per generation (on_device): every row of the identity table. A
 * table that cannot be read leaves them not counted, with the reason. */
static int count_devices(struct scan_ctx *c, struct fca_store *s)
{
	const char *tables[FCA_MAX_ISSUED_TABLES], *t = NULL;
	size_t nt = 0;
	int r = fca_engine_issued_tables(s, FCA_CA_APPLE_SCEP, tables, &nt);

	if (r == FCA_ENOMEM)
		return r;
	if (r != FCA_OK) {
		snprintf(c->ca->devices_note, sizeof(c->ca->devices_note), "%s", fca_error_message());
		fca_error_clear();
		return FCA_OK;
	}
	for (size_t i = 0; i < nt;
	     i++) /* Apple device identities: identity_certificates, or scep_certificates before 2026 */
		if (!strcmp(tables[i], "identity_certificates") || !strcmp(tables[i], "scep_certificates"))
			t = tables[i];
	if (!t) {
		snprintf(c->ca->devices_note, sizeof(c->ca->devices_note),
			 "neither identity_certificates nor scep_certificates can be read");
		return FCA_OK;
	}
	if (c->ca->assoc_note[0]) {
		snprintf(c->ca->devices_note, sizeof(c->ca->devices_note), "%s", c->ca->assoc_note);
		return FCA_OK;
	}
	c->rows = 0;
	if ((r = fca_store_scan_issued(s, t, 0, on_device, c)) == FCA_OK) {
		c->ca->devices_counted = 1;
		return FCA_OK;
	}
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
		c->ca->gens[sl].devices = 0;
	if (r == FCA_ENOMEM)
		return r;
	snprintf(c->ca->devices_note, sizeof(c->ca->devices_note), "%s", fca_error_message());
	fca_error_clear();
	return FCA_OK;
}

static int scan_ca(struct fca_observed *o, struct fca_store *s, enum fca_ca_id id, const struct fca_asset_rows *rows,
		   const struct fca_secret *aes_key, const struct fca_observe_opts *opts)
{
	struct scan_ctx c;
	struct fca_assoc_map assocs;
	int apple = id == FCA_CA_APPLE_SCEP, r = FCA_OK;
	int issued = opts->scan_issued && !o->cas[id].issued_scanned;
	int devices = apple && opts->scan_devices && !o->cas[id].devices_counted;
	int escrows = opts->scan_escrows && fca_catalog_get(id)->has_escrows && !o->cas[id].escrows_scanned;

	if (!issued && !devices && !escrows)
		return FCA_OK; /* no scan: nothing to decrypt (a converged run) */
	memset(&c, 0, sizeof(c));
	fca_assoc_map_init(&assocs);
	c.ca = &o->cas[id];
	c.opts = opts;
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++) {
		const struct fca_obs_gen *g = &c.ca->gens[sl];
		const struct fca_asset_row *row =
		    g->present && g->cert_ok ? fca_asset_rows_find(rows, g->cert_asset) : NULL;
		if (row &&
		    (r = fca_crypto_decrypt(&c.pems[sl], aes_key, row->value, row->value_len, g->cert_asset)) != 0)
			goto out;
	}
	mark_shared_keys(&c);
	if (apple && (issued || devices) && (r = load_assocs(&c, s, &assocs)) != 0)
		goto out;
	if (issued && (r = scan_issued_ca(&c, s, id, 1)) != 0)
		goto out;
	if (devices && (r = count_devices(&c, s)) != 0)
		goto out;
	if (escrows) {
		for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
			c.ca->gens[sl].escrows = 0;
		c.ca->escrows_unparsed = 0;
		r = fca_store_scan_escrows(s, on_escrow, &c);
		if (r == FCA_OK) {
			c.ca->escrows_scanned = 1;
			c.ca->escrows_scan_note[0] = '\0';
		} else if (r == FCA_EAUTH || r == FCA_ENOTFOUND) {
			snprintf(c.ca->escrows_scan_note, sizeof(c.ca->escrows_scan_note), "%s", fca_error_message());
			fca_error_clear();
			for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
				c.ca->gens[sl].escrows = 0;
			c.ca->escrows_unparsed = 0;
			r = FCA_OK;
		}
	}
out:
	fca_assoc_map_dispose(&assocs);
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
		fca_secret_dispose(&c.pems[sl]);
	return r;
}

int fca_engine_observe_impact(struct fca_observed *o, struct fca_store *s, const struct fca_secret *aes_key,
			      const struct fca_observe_opts *opts)
{
	const struct fca_ca_def *def = fca_catalog_get(FCA_CA_APPLE_SCEP);
	struct fca_obs_ca *ca = &o->cas[FCA_CA_APPLE_SCEP];
	struct fca_observe_opts oo = *opts;
	struct fca_asset_rows rows = {NULL, 0};
	char names[2 * FCA_SLOT_COUNT][FCA_ASSET_NAME_MAX];
	const char *ptrs[2 * FCA_SLOT_COUNT];
	int r;

	if (!(opts->scan_devices && !ca->devices_counted) && !(opts->scan_escrows_today && !ca->escrows_counted))
		return FCA_OK;
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
		for (int k = 0; k < 2; k++) {
			fca_catalog_asset(names[sl * 2 + k], FCA_ASSET_NAME_MAX, def, k, (enum fca_slot)sl);
			ptrs[sl * 2 + k] = names[sl * 2 + k];
		}
	if ((r = fca_store_read_live(s, &rows, ptrs, 2 * FCA_SLOT_COUNT, 0)) != 0)
		return r;
	oo.scan_issued = oo.scan_escrows = 0;
	if (opts->scan_devices && (r = scan_ca(o, s, FCA_CA_APPLE_SCEP, &rows, aes_key, &oo)) != 0)
		goto out;
	if (opts->scan_escrows_today && !ca->escrows_counted)
		r = fca_engine_count_escrows_today(ca, s, aes_key, &rows);
out:
	fca_asset_rows_dispose(&rows);
	return r;
}

int fca_engine_observe(struct fca_observed *o, struct fca_store *s, const struct fca_secret *aes_key,
		       const struct fca_observe_opts *opts)
{
	const char *names[FCA_CA_COUNT * 2 * FCA_SLOT_COUNT + 1];
	struct fca_asset_rows rows = {NULL, 0};
	struct decrypt_tally tally;
	const struct fca_asset_row *st;
	size_t n;
	int r;

	memset(&tally, 0, sizeof(tally));
	fca_observed_init(o);
	snprintf(o->database, sizeof(o->database), "%s", fca_store_database(s));
	n = fca_catalog_all_assets(names, FCA_CA_COUNT * 2 * FCA_SLOT_COUNT);
	names[n++] = FCA_STATE_ASSET;
	if ((r = fca_store_read_live(s, &rows, names, n, 0)) != 0)
		goto out;
	for (size_t i = 0; i < rows.n; i++)
		if ((r = add_basis(o, &rows.v[i])) != 0)
			goto out;
	if ((st = fca_asset_rows_find(&rows, FCA_STATE_ASSET)) && (r = load_document(o, st, aes_key, &tally)) != 0)
		goto out;
	for (int c = 0; c < FCA_CA_COUNT; c++)
		for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
			if ((r = load_slot(&o->cas[c].gens[sl], &rows, fca_catalog_get((enum fca_ca_id)c),
					   (enum fca_slot)sl, aes_key, opts, o, &tally)) != 0)
				goto out;
	if ((r = judge_document(&tally)) != 0)
		goto out;
	/* No row decrypts: the key is wrong, not the rows (the first failure says so). */
	if (tally.failed && !tally.ok) {
		r = fca_error_set(tally.first_code, "%s", tally.first);
		goto out;
	}
	for (int c = 0; c < FCA_CA_COUNT; c++)
		if ((r = scan_ca(o, s, (enum fca_ca_id)c, &rows, aes_key, opts)) != 0)
			goto out;
	if (opts->scan_escrows_today && (r = fca_engine_observe_impact(o, s, aes_key, opts)) != 0)
		goto out;
	fca_observed_derive(o);
	r = FCA_OK;
out:
	fca_asset_rows_dispose(&rows);
	return r;
}
