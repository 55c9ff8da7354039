/*
 * The executor. One GET_LOCK for the whole run; then, until nothing is ready: observe, plan, and
 * run the first ready step as one transaction holding its row changes, the state document and the
 * step's activity in the document's outbox. Re-observing after every step keeps each step's
 * inputs true (and its gates computed from what the database now holds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/crypto.h"
#include "fleetca/engine.h"
#include "fleetca/executor.h"
#include "core/fault.h"
#include "engine/steps.h"

static const char *basis_md5(const struct fca_observed *o, const char *name)
{
	for (size_t i = 0; i < o->nbasis; i++)
		if (!strcmp(o->basis[i].name, name))
			return o->basis[i].md5;
	return NULL;
}

/* The rows under lock must be the rows the plan was made from. */
static int check_unchanged(struct fca_step_ctx *c)
{
	for (size_t i = 0; i < NAMES_PER_CA; i++) {
		const struct fca_asset_row *r = fca_asset_rows_find(&c->rows, c->name_ptrs[i]);
		const char *want = basis_md5(c->o, c->name_ptrs[i]);
		if ((r == NULL) != (want == NULL) || (r && strcmp(r->md5_hex, want) != 0))
			return fca_error_set(FCA_ECONFLICT,
					     "%s changed in mdm_config_assets while fleetca was planning (someone "
					     "else wrote it): nothing was done; run the command again",
					     c->name_ptrs[i]);
	}
	return FCA_OK;
}

static int execute_step(struct fca_store *s, const struct fca_secret *aes, const struct fca_observed *o,
			const struct fca_step *st, const struct fca_apply_opts *opts, struct fca_keygen *kg)
{
	struct fca_step_ctx c;
	int r, in_tx = 0;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.aes = aes;
	c.o = o;
	c.st = st;
	c.opts = opts;
	c.def = fca_catalog_get(st->ca);
	c.ca = &o->cas[st->ca];
	c.keygen = kg;
	fca_state_init(&c.state);
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++)
		for (int k = 0; k < 2; k++)
			fca_catalog_asset(c.names[sl * 2 + k], FCA_ASSET_NAME_MAX, c.def, k, (enum fca_slot)sl);
	snprintf(c.names[NAMES_PER_CA - 1], FCA_ASSET_NAME_MAX, "%s", FCA_STATE_ASSET);
	for (size_t i = 0; i < NAMES_PER_CA; i++)
		c.name_ptrs[i] = c.names[i];
	if ((r = fca_state_copy(&c.state, &o->state)) != 0)
		goto out;
	if ((r = fca_store_begin(s)) != 0)
		goto out;
	in_tx = 1;
	if ((r = fca_store_read_live(s, &c.rows, c.name_ptrs, NAMES_PER_CA, 1)) != 0 || (r = check_unchanged(&c)) != 0)
		goto out;
	switch (st->kind) {
	case FCA_STEP_ADOPT:
		r = fca_engine__step_adopt(&c);
		break;
	case FCA_STEP_STAGE:
		r = fca_engine__step_stage(&c);
		break;
	case FCA_STEP_ACTIVATE:
		r = fca_engine__step_swap(&c, FCA_SLOT_NEXT, FCA_SLOT_PREVIOUS);
		break;
	case FCA_STEP_ROLLBACK:
		r = fca_engine__step_swap(&c, FCA_SLOT_PREVIOUS, FCA_SLOT_NEXT);
		break;
	case FCA_STEP_RETIRE:
		r = fca_engine__step_drop(&c, FCA_SLOT_PREVIOUS);
		break;
	case FCA_STEP_ABANDON:
		r = fca_engine__step_drop(&c, FCA_SLOT_NEXT);
		break;
	case FCA_STEP_RENEW:
		r = fca_engine__step_renew(&c);
		break;
	default:
		r = fca_error_set(FCA_EINVALID, "unknown step kind");
	}
	if (r != FCA_OK)
		goto out;
	FCA_FAULT("mid_step", st->step_id, fca_store_connection_id(s));
	if ((r = fca_engine__step_write_state(&c)) != 0)
		goto out;
	FCA_FAULT("before_commit", st->step_id, fca_store_connection_id(s));
	if ((r = fca_store_commit(s)) != 0)
		goto out;
	in_tx = 0;
	FCA_FAULT("after_commit", st->step_id, fca_store_connection_id(s));
out:
	if (in_tx)
		fca_store_rollback(s);
	if (r != FCA_OK)
		fca_error_prefix("%s", st->step_id);
	fca_asset_rows_dispose(&c.rows);
	fca_state_dispose(&c.state);
	return r;
}

/* A stage step that makes a new key (not key: keep). */
static int needs_new_key(const struct fca_step *st)
{
	return st->kind == FCA_STEP_STAGE && !st->key_keep && st->key_bits > 0;
}

static int allowed(const struct fca_apply_opts *opts, const char *step_id)
{
	if (!opts->use_allowed)
		return 1;
	for (size_t i = 0; i < opts->nallowed; i++)
		if (!strcmp(opts->allowed_steps[i], step_id))
			return 1;
	return 0;
}

static int check_saved_basis(const struct fca_observed *saved, const struct fca_observed *now)
{
	for (size_t i = 0; i < saved->nbasis; i++) {
		const char *m = basis_md5(now, saved->basis[i].name);
		if (!m || strcmp(m, saved->basis[i].md5))
			return fca_error_set(FCA_ECONFLICT,
					     "the saved plan is stale: %s changed since it was made; run "
					     "'fleetca plan --out' again and review the new plan",
					     saved->basis[i].name);
	}
	for (size_t i = 0; i < now->nbasis; i++)
		if (!basis_md5(saved, now->basis[i].name))
			return fca_error_set(FCA_ECONFLICT,
					     "the saved plan is stale: %s appeared since it was made; run "
					     "'fleetca plan --out' again and review the new plan",
					     now->basis[i].name);
	return FCA_OK;
}

/* Observes and plans (fca_engine_plan), and refuses a plan no step may run from. */
static int observe_and_plan(struct fca_observed *o, struct fca_plan *p, struct fca_store *s,
			    const struct fca_secret *aes_key, const struct fca_apply_opts *opts, unsigned check_keys_of)
{
	struct fca_plan_opts po = FCA_PLAN_OPTS_INIT;
	int r;

	po.desired = opts->desired;
	po.now = opts->now;
	po.check_keys_of = check_keys_of;
	if ((r = fca_engine_plan(o, p, s, aes_key, &po)) != 0)
		return r;
	if (fca_plan_uncounted(p) >= 0) {
		const struct fca_step *st = &p->steps[fca_plan_uncounted(p)];
		return fca_error_set(FCA_EAUTH, "%s: its gate cannot be checked, so nothing was changed: %s",
				     st->step_id, st->drain_not_counted);
	}
	if (p->has_error)
		for (int i = 0; i < FCA_CA_COUNT; i++)
			if (p->cas[i].error[0])
				return fca_error_set(FCA_EINVALID, "%s: %s", fca_catalog_get((enum fca_ca_id)i)->name,
						     p->cas[i].error);
	return FCA_OK;
}

int fca_engine_apply(struct fca_store *s, const struct fca_secret *aes_key, const struct fca_apply_opts *opts,
		     struct fca_apply_result *res)
{
	struct fca_observed *o = NULL;
	struct fca_plan *p = NULL;
	struct fca_keygen *kg = NULL; /* the next stage step's key, generated while the run locks and looks */
	unsigned keys = 0;	      /* the CAs whose keys the observations under the lock check */
	int r, locked = 0;

	memset(res, 0, sizeof(*res));
	if (!(o = calloc(1, sizeof(*o))) || !(p = calloc(1, sizeof(*p)))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	for (int iter = 0;; iter++) {
		size_t next = SIZE_MAX;
		/* Keys are checked against their certificates (a decryption and a key parse each) once
		 * there is something to do, for the CAs a step changes: every step then runs on rows
		 * observed under the lock with its CA's keys checked, so a key that does not match makes
		 * its CA corrupt before any step on it. */
		if ((r = observe_and_plan(o, p, s, aes_key, opts, keys)) != 0)
			goto out;
		if (iter == 0 && opts->saved_basis && (r = check_saved_basis(opts->saved_basis, o)) != 0)
			goto out;
		for (size_t i = 0; i < p->nsteps && next == SIZE_MAX; i++)
			if (fca_plan_step_ready(p, i) && allowed(opts, p->steps[i].step_id))
				next = i;
		if (next == SIZE_MAX)
			break;
		/* A new key takes most of a stage step: start it now, so that it is made while the lock
		 * is taken and the rows are read again. Unused (the step did not run), it is dropped. */
		if (!kg && needs_new_key(&p->steps[next]) &&
		    (r = fca_crypto_keygen_start(&kg, p->steps[next].key_bits, 0)) != 0)
			goto out;
		if (!locked) {
			/* Something to do: take the run's lock, then look again (keys checked), since
			 * another run may have moved the rows while we waited. A converged run never
			 * takes the lock. */
			if ((r = fca_store_lock(s, opts->lock_timeout, &res->lock_holder)) != 0)
				goto out;
			locked = 1;
			/* Every step writes, and its writes need the schema: read it now, while a key
			 * may still be being made, not after. A failure here is reported by the write. */
			(void)fca_store_schema(s);
			keys = 1u << p->steps[next].ca;
			continue;
		}
		if (!(keys >> p->steps[next].ca & 1u)) {
			/* A step on a CA whose keys this observation did not check: look again with them.
			 * The set only grows, so this ends. */
			keys |= 1u << p->steps[next].ca;
			continue;
		}
		if (res->ndone >= FCA_APPLY_MAX_DONE) {
			r = fca_error_set(FCA_ERROR, "apply did not converge after %d steps", FCA_APPLY_MAX_DONE);
			goto out;
		}
		r = execute_step(s, aes_key, o, &p->steps[next], opts, kg);
		if (needs_new_key(&p->steps[next])) { /* spent, or made for a step that failed */
			fca_crypto_keygen_free(kg);
			kg = NULL;
		}
		if (r != FCA_OK)
			goto out;
		snprintf(res->done[res->ndone++], FCA_STEP_ID_MAX, "%s", p->steps[next].step_id);
		keys = 0; /* the next observation checks the keys of the next step's CA, if there is one */
		if (opts->progress) {
			fprintf(opts->progress, "applied %s\n", p->steps[next].step_id);
			fflush(opts->progress);
		}
		FCA_FAULT("between_steps", p->steps[next].step_id, fca_store_connection_id(s));
	}
	/* Whatever remains waits for something: a gate, or (ready but not in a saved plan) a new plan. */
	res->gated = p->nsteps > 0;
	for (size_t i = 0; i < p->nsteps; i++)
		if (fca_plan_step_ready(p, i))
			res->unplanned++;
	res->final_plan = p;
	res->final_observed = o;
	p = NULL;
	o = NULL;
	r = FCA_OK;
out:
	fca_crypto_keygen_free(kg);
	if (locked)
		fca_store_unlock(s);
	if (o)
		fca_observed_dispose(o);
	free(o);
	free(p);
	return r;
}
