/*
 * The executor's steps: adopt, stage, activate and rollback (swap), retire and abandon (drop),
 * renew, and the state document each one writes. The run loop (executor.c) opens the step's
 * transaction and checks its rows are the rows the plan was made from before calling one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/activity.h"
#include "fleetca/crypto.h"
#include "fleetca/engine.h"
#include "fleetca/json.h"
#include "engine/steps.h"

static const char *slot_name(struct fca_step_ctx *c, int key, enum fca_slot slot)
{
	return c->names[slot * 2 + key];
}

static const struct fca_asset_row *row_of(struct fca_step_ctx *c, int key, enum fca_slot slot)
{
	return fca_asset_rows_find(&c->rows, slot_name(c, key, slot));
}

static int soft_delete(struct fca_step_ctx *c, const char *const *names, size_t n)
{
	uint64_t affected = 0;
	int r;

	if ((r = fca_store_soft_delete(c->s, names, n, &affected)) != 0)
		return r;
	if (affected != n)
		return fca_error_set(FCA_ECONFLICT,
				     "expected to soft-delete %zu rows (%s, …), found %" PRIu64
				     ": the rows changed; nothing was done, run the command again",
				     n, names[0], affected);
	for (size_t i = 0; i < n && c->nwritten < FCA_STEP_MAX_WRITES; i++)
		c->written[c->nwritten++] = names[i];
	return FCA_OK;
}

static int insert(struct fca_step_ctx *c, const char *name, const unsigned char *v, size_t len, int64_t renew_at)
{
	int r = fca_store_insert(c->s, name, v, len, renew_at);

	if (r == FCA_OK) {
		size_t i;
		for (i = 0; i < c->nwritten && strcmp(c->written[i], name); i++)
			;
		if (i == c->nwritten && c->nwritten < FCA_STEP_MAX_WRITES)
			c->written[c->nwritten++] = name;
	}
	return r;
}

static struct fca_state_gen *gen_of(struct fca_step_ctx *c, enum fca_slot slot)
{
	const struct fca_obs_gen *g = &c->ca->gens[slot];
	return g->present && g->cert_ok ? fca_state_find(&c->state, c->st->ca, g->cert.sha256_hex) : NULL;
}

/* The certificate the step's activity reports. */
static void report_cert(struct fca_step_ctx *c, const struct fca_cert_info *info)
{
	snprintf(c->sha256, sizeof(c->sha256), "%s", info->sha256_hex);
	snprintf(c->subject, sizeof(c->subject), "%s", info->subject);
	c->not_after = info->not_after;
}

static void report_gen(struct fca_step_ctx *c, enum fca_slot slot)
{
	report_cert(c, &c->ca->gens[slot].cert);
}

/* A certificate fleetca just made: the document learns it as the step's generation. */
static int add_new_cert(struct fca_step_ctx *c, struct fca_state_gen *ng, const struct fca_cert_info *info)
{
	ng->ca = c->st->ca;
	ng->generation = c->st->generation;
	snprintf(ng->sha256, sizeof(ng->sha256), "%s", info->sha256_hex);
	ng->created_at = c->opts->now;
	snprintf(ng->commit, sizeof(ng->commit), "%s", c->opts->source_commit ? c->opts->source_commit : "");
	report_cert(c, info);
	return fca_state_add_gen(&c->state, ng);
}

/* The certificate row a step inserted: its facts go into row_facts with the document. */
static void new_cert_row(struct fca_step_ctx *c, const unsigned char *ct, size_t ct_len,
			 const struct fca_cert_info *info)
{
	fca_crypto_md5_hex(c->new_md5, ct, ct_len);
	c->new_info = *info;
}

/*
 * row_facts: the facts of every intact certificate row the step observed under the lock, and of the
 * one it wrote. A row the step soft-deleted keeps its line until the next write: a line only ever
 * describes the ciphertext whose MD5 it names, so it cannot become wrong.
 */
static void record_facts(struct fca_step_ctx *c)
{
	struct fca_state *s = &c->state;

	s->nrow_facts = 0;
	if (fca_state_reserve_facts(s) != FCA_OK) { /* a cache: the next run decrypts instead */
		fca_error_clear();
		return;
	}
	for (int a = 0; a < FCA_CA_COUNT; a++)
		for (int sl = 0; sl < FCA_SLOT_COUNT; sl++) {
			const struct fca_obs_gen *g = &c->o->cas[a].gens[sl];
			if (g->present && g->cert_ok && !g->damage[0] && s->nrow_facts < FCA_STATE_MAX_FACTS &&
			    fca_cert_facts_encode(s->row_facts[s->nrow_facts], g->cert_md5, &g->cert) == 0)
				s->nrow_facts++;
		}
	if (c->new_md5[0] && s->nrow_facts < FCA_STATE_MAX_FACTS &&
	    fca_cert_facts_encode(s->row_facts[s->nrow_facts], c->new_md5, &c->new_info) == 0)
		s->nrow_facts++;
}

int fca_engine__step_adopt(struct fca_step_ctx *c)
{
	const struct fca_obs_gen *g = &c->ca->gens[FCA_SLOT_CURRENT];
	struct fca_state_gen ng;

	if (!g->present || !g->cert_ok)
		return fca_error_set(FCA_EINVALID, "%s: nothing to adopt", c->def->name);
	memset(&ng, 0, sizeof(ng));
	ng.ca = c->st->ca;
	ng.generation = c->st->generation;
	snprintf(ng.sha256, sizeof(ng.sha256), "%s", g->cert.sha256_hex);
	ng.created_at = c->opts->now;
	snprintf(ng.commit, sizeof(ng.commit), "%s", c->opts->source_commit ? c->opts->source_commit : "");
	report_gen(c, FCA_SLOT_CURRENT);
	return fca_state_add_gen(&c->state, &ng);
}

/*
 * key: keep: the new certificate is made on the signing generation's key, decrypted only to sign it
 * (and wiped); the _next key row is the signing key row's ciphertext, copied as it is.
 */
static int stage_same_key(struct fca_step_ctx *c, const struct fca_ca_spec *spec, char **pem, size_t *pem_len,
			  unsigned char **kct, size_t *kct_len)
{
	const struct fca_asset_row *cr = row_of(c, 0, FCA_SLOT_CURRENT), *kr = row_of(c, 1, FCA_SLOT_CURRENT);
	struct fca_secret cert = FCA_SECRET_INIT, key = FCA_SECRET_INIT;
	int r;

	if (!cr || !kr)
		return fca_error_set(FCA_ECONFLICT, "%s: the signing rows are missing", c->def->name);
	if ((r = fca_crypto_decrypt(&cert, c->aes, cr->value, cr->value_len, cr->name)) != 0)
		goto out;
	r = fca_crypto_decrypt(&key, c->aes, kr->value, kr->value_len, kr->name);
	if (r == FCA_OK)
		r = fca_crypto_new_ca_same_key(pem, pem_len, &key, (const char *)cert.data, cert.len, spec);
	fca_secret_dispose(&key);
	if (r != FCA_OK)
		goto out;
	if (!(*kct = malloc(kr->value_len ? kr->value_len : 1))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*kct, kr->value, kr->value_len);
	*kct_len = kr->value_len;
out:
	fca_secret_dispose(&cert);
	return r;
}

int fca_engine__step_stage(struct fca_step_ctx *c)
{
	struct fca_ca_spec spec;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_cert_info info;
	struct fca_state_gen ng;
	char *pem = NULL;
	size_t pem_len = 0, kct_len = 0, cct_len = 0;
	unsigned char *kct = NULL, *cct = NULL;
	int r;

	memset(&spec, 0, sizeof(spec));
	spec.subject = c->st->subject;
	spec.key_bits = c->st->key_bits;
	spec.not_before = c->opts->now - 600; /* as Fleet's device certificates: tolerate slow clocks */
	spec.not_after = c->opts->now + c->st->validity;
	if (c->st->key_keep) {
		r = stage_same_key(c, &spec, &pem, &pem_len, &kct, &kct_len);
	} else {
		/* The key exists only in a secret buffer, and only until it is encrypted. */
		r = fca_crypto_generate_ca(&key, &pem, &pem_len, &spec, c->keygen);
		if (r == FCA_OK)
			r = fca_crypto_encrypt(&kct, &kct_len, c->aes, key.data, key.len);
		fca_secret_dispose(&key);
	}
	if (r != FCA_OK || (r = fca_crypto_encrypt(&cct, &cct_len, c->aes, (const unsigned char *)pem, pem_len)) != 0 ||
	    (r = fca_crypto_cert_inspect(&info, pem, pem_len, c->opts->now, slot_name(c, 0, FCA_SLOT_NEXT))) != 0)
		goto out;
	if ((r = insert(c, slot_name(c, 0, FCA_SLOT_NEXT), cct, cct_len, info.not_after)) != 0 ||
	    (r = insert(c, slot_name(c, 1, FCA_SLOT_NEXT), kct, kct_len, 0)) != 0)
		goto out;
	new_cert_row(c, cct, cct_len, &info);
	memset(&ng, 0, sizeof(ng));
	ng.staged_at = c->opts->now;
	r = add_new_cert(c, &ng, &info);
out:
	free(kct);
	free(cct);
	free(pem);
	return r;
}

/*
 * activate and rollback: the generation in slot `from` becomes the signing one and the signing one
 * moves to slot `to`. Ciphertext is moved as it is: no key is decrypted.
 */
int fca_engine__step_swap(struct fca_step_ctx *c, enum fca_slot from, enum fca_slot to)
{
	const struct fca_asset_row *cur_c = row_of(c, 0, FCA_SLOT_CURRENT), *cur_k = row_of(c, 1, FCA_SLOT_CURRENT);
	const struct fca_asset_row *new_c = row_of(c, 0, from), *new_k = row_of(c, 1, from);
	const char *del[4];
	struct fca_state_gen *ng = gen_of(c, from), *og = gen_of(c, FCA_SLOT_CURRENT);
	int r;

	if (!cur_c || !cur_k || !new_c || !new_k)
		return fca_error_set(FCA_ECONFLICT, "%s: the rows to swap are missing", c->def->name);
	del[0] = slot_name(c, 0, FCA_SLOT_CURRENT);
	del[1] = slot_name(c, 1, FCA_SLOT_CURRENT);
	del[2] = slot_name(c, 0, from);
	del[3] = slot_name(c, 1, from);
	if ((r = soft_delete(c, del, 4)) != 0 ||
	    (r = insert(c, del[0], new_c->value, new_c->value_len, c->ca->gens[from].cert.not_after)) != 0 ||
	    (r = insert(c, del[1], new_k->value, new_k->value_len, 0)) != 0 ||
	    (r = insert(c, slot_name(c, 0, to), cur_c->value, cur_c->value_len,
			c->ca->gens[FCA_SLOT_CURRENT].cert.not_after)) != 0 ||
	    (r = insert(c, slot_name(c, 1, to), cur_k->value, cur_k->value_len, 0)) != 0)
		return r;
	if (!ng || !og)
		return fca_error_set(FCA_EINVALID, "%s: the state document does not know these generations",
				     c->def->name);
	if (to == FCA_SLOT_PREVIOUS) { /* activate */
		ng->activated_at = c->opts->now;
		if (ng->signed_at <= 0) /* a rollback clears activated_at; this says it signed */
			ng->signed_at = c->opts->now;
		report_gen(c, from);
	} else { /* rollback: the rolled-back generation is staged again, its overlap starts over */
		og->activated_at = 0;
		og->staged_at = c->opts->now;
		report_gen(c, FCA_SLOT_CURRENT);
	}
	return FCA_OK;
}

/* retire and abandon: soft-delete one slot's rows. */
int fca_engine__step_drop(struct fca_step_ctx *c, enum fca_slot slot)
{
	const char *del[2] = {slot_name(c, 0, slot), slot_name(c, 1, slot)};
	struct fca_state_gen *g = gen_of(c, slot);
	int r;

	if ((r = soft_delete(c, del, 2)) != 0)
		return r;
	if (g)
		g->retired_at = c->opts->now;
	report_gen(c, slot);
	return FCA_OK;
}

int fca_engine__step_renew(struct fca_step_ctx *c)
{
	const struct fca_asset_row *cr = row_of(c, 0, FCA_SLOT_CURRENT), *kr = row_of(c, 1, FCA_SLOT_CURRENT);
	struct fca_secret cert = FCA_SECRET_INIT, key = FCA_SECRET_INIT;
	struct fca_state_gen ng, *old = gen_of(c, FCA_SLOT_CURRENT);
	struct fca_cert_info info;
	const char *del[1];
	char *pem = NULL;
	size_t pem_len = 0, ct_len = 0;
	unsigned char *ct = NULL;
	int r;

	if (!cr || !kr)
		return fca_error_set(FCA_ECONFLICT, "%s: the signing rows are missing", c->def->name);
	if (!c->ca->gens[FCA_SLOT_CURRENT].cert_ok)
		return fca_error_set(FCA_EINVALID, "%s: the signing certificate could not be read", c->def->name);
	if ((r = fca_crypto_decrypt(&cert, c->aes, cr->value, cr->value_len, cr->name)) != 0)
		goto out;
	/* The key is decrypted only to sign, and wiped right after. */
	r = fca_crypto_decrypt(&key, c->aes, kr->value, kr->value_len, kr->name);
	if (r == FCA_OK)
		/* As Fleet's own rollover: the NotBefore stays. Fleet verifies an expired device
		 * certificate at its own NotAfter, so the root must have been valid since then. */
		r = fca_crypto_renew_ca(&pem, &pem_len, &key, (const char *)cert.data, cert.len,
					c->ca->gens[FCA_SLOT_CURRENT].cert.not_before, c->opts->now + c->st->validity);
	fca_secret_dispose(&key);
	if (r != FCA_OK || (r = fca_crypto_encrypt(&ct, &ct_len, c->aes, (const unsigned char *)pem, pem_len)) != 0 ||
	    (r = fca_crypto_cert_inspect(&info, pem, pem_len, c->opts->now, cr->name)) != 0)
		goto out;
	/* The old certificate stays as a soft-deleted row: FileVault escrows to it stay decryptable. */
	del[0] = slot_name(c, 0, FCA_SLOT_CURRENT);
	if ((r = soft_delete(c, del, 1)) != 0 || (r = insert(c, del[0], ct, ct_len, info.not_after)) != 0)
		goto out;
	new_cert_row(c, ct, ct_len, &info);
	memset(&ng, 0, sizeof(ng));
	if (old) /* the renewed certificate keeps its generation's stage times */
		ng = *old;
	r = add_new_cert(c, &ng, &info);
out:
	free(ct);
	free(pem);
	fca_secret_dispose(&cert);
	return r;
}

/*
 * The transition, its activity and the document itself, in the step's transaction. Sink db: the
 * activity goes straight into Fleet's activity table (exactly once, with the step); sink api: into
 * the document's outbox, delivered after commit; sink none: into the outbox, never delivered.
 */
int fca_engine__step_write_state(struct fca_step_ctx *c)
{
	struct fca_activity a;
	char idem[FCA_STEP_ID_MAX + 16], *details = NULL;
	int n = 0, r;

	if ((r = fca_state_record_transition(&c->state, c->st->step_id, c->opts->now, &n)) != 0)
		return r;
	snprintf(idem, sizeof(idem), "%s#%d", c->st->step_id, n);
	memset(&a, 0, sizeof(a));
	a.ca = c->def->name;
	a.ca_title = c->def->title;
	/* Fleet's UI reads "fleetca retired ca certificate <ca_name>": name the generation retired. */
	a.named_generation = c->st->kind == FCA_STEP_RETIRE ? c->st->generation - 1 : c->st->generation;
	for (size_t i = 0; i < c->nwritten; i++)
		a.assets[a.nassets++] = c->written[i];
	a.generation = c->st->generation;
	/* the generation this step moves away from; none for adopt and renew */
	a.previous_generation =
	    (c->st->kind == FCA_STEP_ADOPT || c->st->kind == FCA_STEP_RENEW) ? 0 : c->st->generation - 1;
	a.sha256 = c->sha256;
	a.subject = c->subject;
	a.not_after = c->not_after;
	a.source_path = c->opts->source_path;
	a.source_commit = c->opts->source_commit;
	a.source_ref = c->opts->source_ref;
	a.step_id = c->st->step_id;
	a.forced = c->st->forced;
	a.reason = c->st->forced ? c->opts->desired->policy.reason : NULL;
	if ((r = fca_json_activity_details(&details, &a)) != 0)
		return r;
	if (c->opts->desired->sink == FCA_SINK_DB) {
		r = fca_store_insert_activity(c->s, fca_step_activity_type(c->st->kind), details, c->opts->now);
		free(details);
		if (r != FCA_OK)
			return r;
	} else if ((r = fca_state_outbox_add(&c->state, idem, fca_step_activity_type(c->st->kind), details,
					     c->opts->now)) != 0) {
		return r; /* outbox_add owns details, even on failure */
	} else if ((r = fca_crypto_uuid4(c->state.outbox[c->state.noutbox - 1].delivery_id)) != 0) {
		return r;
	}
	c->state.updated_at = c->opts->now;
	record_facts(c);
	return fca_engine_save_state(c->s, c->aes, &c->state, fca_asset_rows_find(&c->rows, FCA_STATE_ASSET) != NULL);
}