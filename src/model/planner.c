/*
 * The planner: (desired, observed, now) -> ordered steps, each with its gate. Pure: no I/O, no
 * clock. Each CA is walked from its observed stage one step at a time toward the YAML's target;
 * a small simulated state (stage, signing generation, the other live generation, and when the
 * steps so far happen) lets each step compute its own gate.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "fleetca/buf.h"
#include "fleetca/plan.h"
#include "fleetca/timeutil.h"

#define MAX_STEPS_PER_CA 12

/* One CA's walk. */
struct walk {
	struct fca_plan *p;
	const struct fca_policy *pol;
	const struct fca_ca_def *def;
	const struct fca_desired_ca *dca;
	const struct fca_obs_ca *oc;
	const struct fca_observed *o;
	struct fca_plan_ca *pc;
	size_t first; /* index of the CA's first step */
	/* the simulated CA after the steps so far */
	enum fca_stage stage; /* complete, staged or active */
	int sign;	      /* signing generation */
	int other;	      /* staged: the next generation; active: the previous one */
	int64_t staged_at;    /* staged: when `other` was staged (0 unknown) */
	int64_t activated_at; /* active: when `sign` was activated (0 unknown) */
	int64_t t;	      /* when the last step is assumed to happen */
	int sign_observed;    /* `sign` is the generation the observed ca_cert row holds (no activate
			       * or rollback planned before) */
	int adopted;	      /* the generation this plan's adopt gives the observed ca_cert (0: none) */
};

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* ---- building blocks -------------------------------------------------------------------- */

static struct fca_step *step_new(struct walk *w, enum fca_step_kind kind, int generation, enum fca_stage to)
{
	struct fca_step *s;

	if (w->p->nsteps - w->first >= MAX_STEPS_PER_CA || w->p->nsteps >= FCA_PLAN_MAX_STEPS)
		return NULL;
	s = &w->p->steps[w->p->nsteps++];
	memset(s, 0, sizeof(*s));
	s->ca = w->def->id;
	s->kind = kind;
	s->generation = generation;
	s->from_generation = w->sign;
	s->from_stage = w->stage;
	s->to_stage = to;
	/* a catalog name (at most 22 bytes), an int and a kind name (at most 26): FCA_STEP_ID_MAX never cuts it */
	snprintf(s->step_id, sizeof(s->step_id), "%s:%d:%s", w->def->name, generation, fca_step_kind_name(kind));
	s->gate = FCA_GATE_OPEN;
	return s;
}

static void write_row(struct fca_step *s, char op, int key, enum fca_slot slot, int generation,
		      const struct fca_ca_def *def)
{
	struct fca_row_write *rw;

	if (s->nwrites >= FCA_STEP_MAX_WRITES)
		return;
	rw = &s->writes[s->nwrites++];
	rw->op = op;
	fca_catalog_asset(rw->asset, sizeof(rw->asset), def, key, slot);
	rw->generation = generation;
}

/* Both rows (cert and key) of a slot. */
static void write_pair(struct fca_step *s, char op, enum fca_slot slot, int generation, const struct fca_ca_def *def)
{
	write_row(s, op, 0, slot, generation, def);
	write_row(s, op, 1, slot, generation, def);
}

/*
 * Closes the gate for one more reason: the gate becomes the most restrictive of the reasons
 * (HUMAN > CLOSED > WAIT; the enum is in that order), opens_at the latest wait, and the reason
 * lists them all.
 */
static void FCA_PRINTF(4, 5) gate_close(struct fca_step *s, enum fca_gate g, int64_t opens_at, const char *fmt, ...)
{
	va_list ap;

	if (g > s->gate)
		s->gate = g;
	if (opens_at > s->opens_at)
		s->opens_at = opens_at;
	va_start(ap, fmt);
	fca_text_vappend(s->gate_reason, sizeof(s->gate_reason), "; ", fmt, ap);
	va_end(ap);
}

/* The gate is computed: the step happens at its opening (or now), and later steps follow it. */
static int64_t step_done(struct walk *w, const struct fca_step *s)
{
	w->t = max64(w->t, s->opens_at);
	return w->t;
}

/* Overlap: `since` must lie min_overlap before the time the step would happen. */
static void gate_overlap(struct walk *w, struct fca_step *s, int64_t since, const char *what, int gen)
{
	char have[32], need[32];

	if (since <= 0) {
		gate_close(s, FCA_GATE_CLOSED, 0,
			   "the state document does not say when gen %d was %s, so min_overlap cannot be "
			   "checked; record it in fleetca_state or wait for a human to decide",
			   gen, what);
		return;
	}
	if (w->t - since >= w->pol->min_overlap)
		return;
	fca_duration_format(have, sizeof(have), max64(0, w->t - since));
	fca_duration_format(need, sizeof(need), w->pol->min_overlap);
	gate_close(s, FCA_GATE_WAIT, since + w->pol->min_overlap, "%s %s of min_overlap %s", what, have, need);
}

/* The observed slot that holds generation gen, or NULL when the plan itself creates it. */
static const struct fca_obs_gen *observed_gen(const struct walk *w, int gen)
{
	for (int i = 0; i < FCA_SLOT_COUNT; i++)
		if (w->oc->gens[i].present && w->oc->gens[i].generation == gen)
			return &w->oc->gens[i];
	/* adopted by this plan: the certificate is Fleet's today, with everything it has issued */
	if (gen > 0 && gen == w->adopted && w->oc->gens[FCA_SLOT_CURRENT].present)
		return &w->oc->gens[FCA_SLOT_CURRENT];
	return NULL;
}

/* ---- one function per step kind -------------------------------------------------------- */

static int step_adopt(struct walk *w, int generation)
{
	struct fca_step *s = step_new(w, FCA_STEP_ADOPT, generation, FCA_STAGE_COMPLETE);

	if (!s)
		return -1;
	s->from_generation = 0;
	w->adopted = generation;
	step_done(w, s);
	w->stage = FCA_STAGE_COMPLETE;
	w->sign = generation;
	w->other = 0;
	return 0;
}

static void new_cert_spec(struct walk *w, struct fca_step *s)
{
	fca_desired_subject(&s->subject, w->dca, w->def);
	s->key_bits = w->dca->key_bits;
	s->validity = w->dca->validity;
}

static int step_stage(struct walk *w)
{
	int n = w->sign + 1;
	struct fca_step *s = step_new(w, FCA_STEP_STAGE, n, FCA_STAGE_STAGED);

	if (!s)
		return -1;
	write_pair(s, '+', FCA_SLOT_NEXT, n, w->def);
	new_cert_spec(w, s);
	if (w->dca->key_keep) { /* a new certificate on the signing generation's key */
		s->key_keep = 1;
		s->key_bits = 0;
	}
	w->staged_at = step_done(w, s);
	w->stage = FCA_STAGE_STAGED;
	w->other = n;
	return 0;
}

/* ---- what an Apple SCEP CA step would break ---------------------------------- */

static int same_key(const struct fca_obs_gen *a, const struct fca_obs_gen *b)
{
	return a->cert_ok && b->cert_ok && a->cert.has_spki && b->cert.has_spki &&
	       memcmp(a->cert.spki_sha256, b->cert.spki_sha256, sizeof(a->cert.spki_sha256)) == 0;
}

static int same_subject(const struct fca_obs_gen *a, const struct fca_obs_gen *b)
{
	return a->cert_ok && b->cert_ok && a->cert.subject_der_len &&
	       a->cert.subject_der_len == b->cert.subject_der_len &&
	       memcmp(a->cert.subject_der, b->cert.subject_der, a->cert.subject_der_len) == 0;
}

/*
 * from: the observed generation in ca_cert now, or NULL when the step follows an activation or
 * rollback of this plan (its counts are made once that one is done); to: the observed generation
 * the step puts there, or NULL when this plan stages it (to_keeps_key: with key: keep). What cannot
 * be known counts as changed, and a count not made as not made.
 */
static void disruption_compute(struct fca_disruption *d, const struct fca_obs_ca *oc, const struct fca_obs_gen *from,
			       int from_gen, const struct fca_obs_gen *to, int to_keeps_key)
{
	memset(d, 0, sizeof(*d));
	d->new_key = 1;
	d->new_subject = 1;
	if (from && to) {
		d->new_key = !same_key(from, to);
		d->new_subject = !same_subject(from, to);
	} else if (!to && to_keeps_key) {
		d->new_key = 0;
	}
	d->applies = d->new_key || d->new_subject;
	if (!d->applies)
		return;
	if (!from) { /* the *_why below are for a person: a cut would be harmless */
		snprintf(d->devices_why, sizeof(d->devices_why), "counted once gen %d signs", from_gen);
	} else if (!oc->devices_counted) {
		snprintf(d->devices_why, sizeof(d->devices_why), "%s",
			 oc->devices_note[0] ? oc->devices_note : "identity_certificates was not scanned");
	} else {
		d->devices_known = 1;
		d->devices = from->devices;
	}
	if (!d->new_key) {
		d->escrows_known = 1; /* the same key: Fleet decrypts every escrow it decrypts today */
	} else if (!from) {
		snprintf(d->escrows_why, sizeof(d->escrows_why), "counted once gen %d signs", from_gen);
	} else if (!oc->escrows_counted) {
		snprintf(d->escrows_why, sizeof(d->escrows_why), "%s",
			 oc->escrows_note[0] ? oc->escrows_note : "the escrows were not scanned");
	} else {
		d->escrows_known = 1;
		d->escrows = oc->escrows_decryptable;
	}
}

/*
 * The gate of an apple_scep step that puts generation `to` into ca_cert (activate, rollback): held
 * for a human unless the policy states the server trusts the _previous rows, and closed on a count
 * that could not be made.
 */
static void gate_apple_verifier(struct walk *w, struct fca_step *s, int to, int to_keeps_key)
{
	const struct fca_obs_gen *from = w->sign_observed ? &w->oc->gens[FCA_SLOT_CURRENT] : NULL;
	struct fca_disruption *d = &s->disruption;

	disruption_compute(d, w->oc, from, w->sign, observed_gen(w, to), to_keeps_key);
	d->asserted = w->pol->fleet_server_trusts_previous;
	if (!d->applies)
		return;
	w->pc->warnings |= FCA_WARN_APPLE_VERIFIER;
	if (!w->pol->fleet_server_trusts_previous)
		gate_close(
		    s, FCA_GATE_HUMAN, 0,
		    "today's Fleet verifies Apple device identity certificates against %s alone (its exact "
		    "subject and key) and decrypts FileVault escrows with the current %s only: a human must "
		    "confirm the server honours %s_previous/%s_previous (policy.fleet_server_trusts_previous: true)",
		    w->def->cert_asset, w->def->key_asset, w->def->cert_asset, w->def->key_asset);
	if (!d->devices_known || !d->escrows_known)
		gate_close(s, FCA_GATE_CLOSED, 0,
			   "what it would break is not counted (%s; the impact line says why): fleetca does not change "
			   "the subject or key of %s on a count it could not make",
			   !d->devices_known && !d->escrows_known ? "devices and escrows"
			   : !d->devices_known			  ? "enrolled devices"
								  : "FileVault escrows",
			   w->def->cert_asset);
}

long fca_plan_uncounted(const struct fca_plan *p)
{
	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++)
		if (p->steps[i].drain_not_counted[0])
			return (long)i;
	return -1;
}

int fca_plan_wants_impact(const struct fca_plan *p)
{
	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++)
		if (p->steps[i].disruption.applies)
			return 1;
	return 0;
}

int fca_plan_apple_disruption(struct fca_disruption *d, enum fca_step_kind *kind, int *generation,
			      const struct fca_observed *o)
{
	const struct fca_obs_ca *oc = &o->cas[FCA_CA_APPLE_SCEP];
	const struct fca_obs_gen *cur = &oc->gens[FCA_SLOT_CURRENT], *to;

	memset(d, 0, sizeof(*d));
	if (oc->stage == FCA_STAGE_STAGED) {
		*kind = FCA_STEP_ACTIVATE;
		to = &oc->gens[FCA_SLOT_NEXT];
	} else if (oc->stage == FCA_STAGE_ACTIVE) {
		*kind = FCA_STEP_ROLLBACK;
		to = &oc->gens[FCA_SLOT_PREVIOUS];
	} else {
		return 0;
	}
	*generation = to->generation;
	disruption_compute(d, oc, cur, cur->generation, to, 0);
	return d->applies;
}

static int step_activate(struct walk *w)
{
	int n = w->other, old = w->sign;
	struct fca_step *s = step_new(w, FCA_STEP_ACTIVATE, n, FCA_STAGE_ACTIVE);

	if (!s)
		return -1;
	write_pair(s, '~', FCA_SLOT_CURRENT, n, w->def);
	write_pair(s, '-', FCA_SLOT_NEXT, n, w->def);
	write_pair(s, '+', FCA_SLOT_PREVIOUS, old, w->def);

	gate_overlap(w, s, w->staged_at, "staged", n);
	switch (w->def->trust) {
	case FCA_TRUST_APPLE_VERIFIER:
		gate_apple_verifier(w, s, n, w->dca->key_keep);
		break;
	case FCA_TRUST_HUMAN:
		/* The YAML asking for active is the human's statement that the bundle is uploaded. */
		w->pc->warnings |= FCA_WARN_HUMAN_TRUST;
		break;
	default:
		break;
	}
	w->activated_at = step_done(w, s);
	w->stage = FCA_STAGE_ACTIVE;
	w->sign = n;
	w->other = old;
	w->sign_observed = 0;
	return 0;
}

/*
 * A drain that could not be counted (a table this user cannot read, a missing table, a scan not
 * made) closes the gate, whatever drain: says: returns 1 then.
 */
static int drain_uncounted(struct walk *w, struct fca_step *s, int old)
{
	const struct fca_obs_ca *oc = w->oc;
	const char *why = NULL;

	if (!oc->issued_scanned)
		why = oc->issued_note[0] ? oc->issued_note : "the issued certificates were not scanned";
	else if (w->def->id == FCA_CA_APPLE_SCEP && oc->assoc_note[0])
		why = oc->assoc_note;
	else if (w->def->has_escrows && !oc->escrows_scanned)
		why = oc->escrows_scan_note[0] ? oc->escrows_scan_note : "the FileVault escrows were not scanned";
	if (!why)
		return 0;
	snprintf(s->drain_not_counted, sizeof(s->drain_not_counted), "%s", why); /* for a person */
	gate_close(s, FCA_GATE_CLOSED, 0, "what still depends on gen %d is not counted: %s", old, why);
	return 1;
}

static void gate_drain(struct walk *w, struct fca_step *s, int old)
{
	const struct fca_obs_gen *g = observed_gen(w, old), *sg = observed_gen(w, w->sign);
	uint64_t stranded;
	char when[40];

	if (!g)
		return; /* made by this plan: it has issued nothing yet */
	if (drain_uncounted(w, s, old))
		return;
	/* Fleet decrypts with the signing key, trying every ca_cert row (history too) with that key:
	 * escrows to an old generation on the same key (key: keep) stay decryptable after retire. */
	stranded = sg && same_key(g, sg) ? 0 : g->escrows;
	s->drain_live = g->drain_live;
	s->drain_unexpired = g->drain_unexpired;
	s->by_enrollment = w->oc->by_enrollment;
	s->drain_last_expiry = g->drain_last_expiry;
	s->escrows = g->escrows;
	s->nblockers = g->nblockers < FCA_MAX_BLOCKERS ? g->nblockers : FCA_MAX_BLOCKERS;
	memcpy(s->blockers, g->blockers, s->nblockers * sizeof(s->blockers[0]));

	if (stranded > 0)
		w->pc->warnings |= FCA_WARN_ESCROW;
	s->drain_unparsed = w->oc->issued_unparsed;
	s->escrows_unparsed = w->def->has_escrows ? w->oc->escrows_unparsed : 0;
	if (w->pol->drain == FCA_DRAIN_FORCE) {
		if (g->drain_live > 0 || stranded > 0 || s->drain_unparsed > 0 || s->escrows_unparsed > 0) {
			s->forced = 1;
			w->pc->warnings |= FCA_WARN_FORCED_DRAIN;
		}
		return;
	}
	if (g->drain_live > 0) {
		if (g->drain_last_expiry > 0 && w->oc->by_enrollment) {
			/* a device that renewed under a newer generation no longer holds it */
			fca_time_human(when, sizeof(when), g->drain_last_expiry);
			gate_close(
			    s, FCA_GATE_WAIT, g->drain_last_expiry + w->pol->clock_skew,
			    "live certificates issued by gen %d: %llu in use, %llu unexpired (one its enrollment "
			    "has replaced is not in use); the last in use expires %s",
			    old, (unsigned long long)g->drain_live, (unsigned long long)g->drain_unexpired, when);
		} else if (g->drain_last_expiry > 0) {
			fca_time_human(when, sizeof(when), g->drain_last_expiry);
			gate_close(s, FCA_GATE_WAIT, g->drain_last_expiry + w->pol->clock_skew,
				   "%llu live certificates issued by gen %d; the last expires %s",
				   (unsigned long long)g->drain_live, old, when);
		} else {
			gate_close(s, FCA_GATE_CLOSED, 0, "%llu live certificates issued by gen %d, expiry unknown",
				   (unsigned long long)g->drain_live, old);
		}
	}
	if (stranded > 0)
		gate_close(s, FCA_GATE_CLOSED, 0,
			   "%llu FileVault escrows are encrypted to gen %d and decryptable only with its key; "
			   "re-escrow them or set drain: force with a reason",
			   (unsigned long long)g->escrows, old);
	if (s->drain_unparsed > 0)
		gate_close(s, FCA_GATE_CLOSED, 0,
			   "%llu live issued certificates of %s could not be parsed, so which generation issued "
			   "them is unknown: repair or revoke those rows, or set drain: force with a reason",
			   (unsigned long long)s->drain_unparsed, w->def->name);
	if (s->escrows_unparsed > 0)
		gate_close(s, FCA_GATE_CLOSED, 0,
			   "%llu FileVault escrows could not be parsed, so to whom they are encrypted is unknown: "
			   "repair those rows, or set drain: force with a reason",
			   (unsigned long long)s->escrows_unparsed);
}

static int step_retire(struct walk *w)
{
	int n = w->sign, old = w->other;
	struct fca_step *s = step_new(w, FCA_STEP_RETIRE, n, FCA_STAGE_COMPLETE);

	if (!s)
		return -1;
	write_pair(s, '-', FCA_SLOT_PREVIOUS, old, w->def);
	gate_overlap(w, s, w->activated_at, "active", n);
	s->drain_gated = 1;
	gate_drain(w, s, old);
	step_done(w, s);
	w->stage = FCA_STAGE_COMPLETE;
	w->other = 0;
	return 0;
}

static int step_rollback(struct walk *w)
{
	int n = w->sign, old = w->other;
	const struct fca_obs_gen *g = observed_gen(w, n);
	struct fca_step *s = step_new(w, FCA_STEP_ROLLBACK, n, FCA_STAGE_STAGED);

	if (!s)
		return -1;
	write_pair(s, '~', FCA_SLOT_CURRENT, old, w->def);
	write_pair(s, '-', FCA_SLOT_PREVIOUS, old, w->def);
	write_pair(s, '+', FCA_SLOT_NEXT, n, w->def);
	/* putting the old generation back into ca_cert is as much a change of root as activating it */
	if (w->def->trust == FCA_TRUST_APPLE_VERIFIER)
		gate_apple_verifier(w, s, old, 0);
	step_done(w, s);
	w->stage = FCA_STAGE_STAGED;
	w->sign = old;
	w->other = n;
	w->sign_observed = 0;
	w->staged_at = g ? g->staged_at : w->t;
	return 0;
}

/*
 * Abandoning a generation that has signed (a revert after activation) throws away a CA that issued
 * certificates: it gets the drain gate of retire, and the plan says in words what it would discard.
 */
static void gate_abandon_signed(struct walk *w, struct fca_step *s, int n)
{
	const struct fca_obs_gen *g = observed_gen(w, n), *sg = observed_gen(w, w->sign);
	uint64_t stranded;

	if (!g || !g->ever_signed)
		return; /* never signed: nothing depends on it */
	s->drain_gated = 1;
	gate_drain(w, s, n);
	stranded = sg && same_key(g, sg) ? 0 : g->escrows;
	if (g->drain_live == 0 && stranded == 0)
		return;
	/* a sentence for a person, at most about 200 bytes of discards[320]: a cut would show "..." */
	s->discards[0] = '\0';
	fca_text_append(s->discards, sizeof(s->discards), "", "abandoning gen %d discards a CA that signed", n);
	if (g->drain_live > 0)
		fca_text_append(s->discards, sizeof(s->discards), "",
				" %llu live certificate%s: those devices would have to re-enroll",
				(unsigned long long)g->drain_live, g->drain_live == 1 ? "" : "s");
	if (stranded > 0)
		fca_text_append(s->discards, sizeof(s->discards), "",
				"%s %llu FileVault escrow%s encrypted to it could no longer be decrypted",
				g->drain_live > 0 ? ", and" : ":", (unsigned long long)stranded,
				stranded == 1 ? "" : "s");
}

static int step_abandon(struct walk *w)
{
	int n = w->other;
	struct fca_step *s = step_new(w, FCA_STEP_ABANDON, n, FCA_STAGE_COMPLETE);

	if (!s)
		return -1;
	write_pair(s, '-', FCA_SLOT_NEXT, n, w->def);
	gate_abandon_signed(w, s, n);
	step_done(w, s);
	w->stage = FCA_STAGE_COMPLETE;
	w->other = 0;
	return 0;
}

static void step_renew(struct walk *w)
{
	struct fca_step *s = step_new(w, FCA_STEP_RENEW, w->sign, w->stage);

	if (!s)
		return;
	write_row(s, '~', 0, FCA_SLOT_CURRENT, w->sign, w->def);
	new_cert_spec(w, s);
	step_done(w, s);
}

/* ---- the walk --------------------------------------------------------------------------- */

static void ca_error(struct walk *w, const char *fmt, ...) FCA_PRINTF(2, 3);
static void ca_error(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->pc->error, sizeof(w->pc->error), fmt, ap); /* a message for a person */
	va_end(ap);
	w->p->nsteps = w->first; /* an impossible target plans nothing for the CA */
	w->p->has_error = 1;
}

static void retired_error(struct walk *w, int target, int live)
{
	ca_error(w,
		 "generation %d is retired: the live generation is %d; history rows remain in "
		 "mdm_config_assets but restoring a retired key is a manual act",
		 target, live);
}

/* Plans the steps from the simulated stage to (G, target stage). */
static void walk_to_target(struct walk *w)
{
	int g = w->dca->generation;
	enum fca_stage ts = w->dca->stage;

	for (;;) {
		int r = 0;

		switch (w->stage) {
		case FCA_STAGE_COMPLETE: /* sign = L */
			if (g == w->sign)
				return;
			if (g < w->sign) {
				retired_error(w, g, w->sign);
				return;
			}
			r = step_stage(w);
			break;
		case FCA_STAGE_STAGED: /* sign = L, other = L+1 (next) */
			if (g == w->other && ts == FCA_STAGE_STAGED)
				return;
			if (g < w->sign) {
				retired_error(w, g, w->sign);
				return;
			}
			r = g == w->sign ? step_abandon(w) : step_activate(w);
			break;
		case FCA_STAGE_ACTIVE: /* sign = K, other = K-1 (previous) */
			if (g == w->sign && ts == FCA_STAGE_ACTIVE)
				return;
			if (g < w->other) {
				retired_error(w, g, w->sign);
				return;
			}
			if (g == w->other || (g == w->sign && ts == FCA_STAGE_STAGED))
				r = step_rollback(w);
			else
				r = step_retire(w);
			break;
		default:
			return;
		}
		if (r != 0) {
			ca_error(w,
				 "reaching generation %d %s from generation %d %s takes more than "
				 "%d steps; raise the generation by at most 3 per change",
				 w->dca->generation, fca_stage_name(ts), w->pc->now_generation,
				 fca_stage_name(w->pc->now_stage), MAX_STEPS_PER_CA);
			return;
		}
	}
}

static void renew_if_due(struct walk *w, int64_t now)
{
	const struct fca_obs_gen *sg = &w->oc->gens[FCA_SLOT_CURRENT];

	if (w->p->nsteps != w->first || w->dca->renew_before <= 0 || !sg->cert_ok)
		return;
	if (sg->cert.not_after - now < w->dca->renew_before)
		step_renew(w);
}

static void plan_ca(struct fca_plan *p, const struct fca_desired *d, const struct fca_observed *o, enum fca_ca_id id)
{
	struct walk w;
	const struct fca_obs_ca *oc = &o->cas[id];

	memset(&w, 0, sizeof(w));
	w.p = p;
	w.pol = &d->policy;
	w.def = fca_catalog_get(id);
	w.dca = &d->cas[id];
	w.oc = oc;
	w.o = o;
	w.pc = &p->cas[id];
	w.first = p->nsteps;
	w.t = p->now;
	w.sign_observed = 1;
	w.pc->considered = 1;

	/* the notes below are for a person: a cut would be harmless */
	if (w.dca->suspend) {
		w.pc->suspended = 1;
		snprintf(w.pc->note, sizeof(w.pc->note), "suspended");
		return;
	}
	switch (oc->stage) {
	case FCA_STAGE_CORRUPT:
		w.pc->warnings |= FCA_WARN_CORRUPT;
		snprintf(w.pc->note, sizeof(w.pc->note), "%s", oc->problem);
		return;
	case FCA_STAGE_NONE:
		snprintf(w.pc->note, sizeof(w.pc->note),
			 "no %s row yet: Fleet creates the %s at startup when the feature is enabled; "
			 "run fleetca again once Fleet has created it",
			 w.def->cert_asset, w.def->title);
		return;
	default:
		break;
	}

	w.stage = oc->stage;
	w.sign = oc->gens[FCA_SLOT_CURRENT].generation;
	if (w.stage == FCA_STAGE_STAGED) {
		w.other = oc->gens[FCA_SLOT_NEXT].generation;
		w.staged_at = oc->gens[FCA_SLOT_NEXT].staged_at;
	} else if (w.stage == FCA_STAGE_ACTIVE) {
		w.other = oc->gens[FCA_SLOT_PREVIOUS].generation;
		w.activated_at = oc->gens[FCA_SLOT_CURRENT].activated_at;
	}

	if (!oc->managed) {
		if (w.stage != FCA_STAGE_COMPLETE) {
			/* foreign rows: drift, and a person decides (never "no changes") */
			w.pc->warnings |= FCA_WARN_DRIFT;
			snprintf(w.pc->note, sizeof(w.pc->note),
				 "drift: %s%s rows are live but fleetca has no record of this CA, so they were not "
				 "made by fleetca; inspect them by hand and soft-delete the pair that does not "
				 "belong before fleetca adopts the CA",
				 w.def->cert_asset, w.stage == FCA_STAGE_STAGED ? "_next" : "_previous");
			return;
		}
		(void)step_adopt(&w, 1);
	} else if (oc->drift) {
		w.pc->warnings |= FCA_WARN_DRIFT;
		if (!w.dca->adopt) {
			snprintf(w.pc->note, sizeof(w.pc->note),
				 "drift: %s; no step runs on %s until its YAML says adopt: true (which records "
				 "the live certificate as generation %d) or the rows are restored",
				 oc->drift_detail, w.def->name, oc->max_generation + 1);
			return;
		}
		if (oc->gens[FCA_SLOT_CURRENT].retired_generation) {
			snprintf(w.pc->note, sizeof(w.pc->note),
				 "drift: %s; adopt: true does not take back a retired generation (restoring a "
				 "retired key is a manual act): restore the rows by hand",
				 oc->drift_detail);
			return;
		}
		if (w.stage != FCA_STAGE_COMPLETE || oc->gens[FCA_SLOT_CURRENT].generation != 0) {
			snprintf(w.pc->note, sizeof(w.pc->note),
				 "drift: %s; adopt: true accepts only a changed signing certificate with no "
				 "_next or _previous rows live; restore the rows by hand",
				 oc->drift_detail);
			return;
		}
		(void)step_adopt(&w, oc->max_generation + 1);
	}

	walk_to_target(&w);
	if (w.pc->error[0])
		return;
	renew_if_due(&w, p->now);

	if (w.def->trust == FCA_TRUST_HUMAN && w.stage == FCA_STAGE_STAGED && w.dca->stage == FCA_STAGE_STAGED) {
		w.pc->warnings |= FCA_WARN_HUMAN_TRUST;
		snprintf(w.pc->note, sizeof(w.pc->note),
			 "upload the bundle of gen %d and %d (fleetca export --ca %s --bundle) to the %s "
			 "before moving the YAML to stage: active",
			 w.sign, w.other, w.def->name,
			 w.def->id == FCA_CA_CONDITIONAL_ACCESS ? "load balancer that terminates device mTLS"
								: "identity provider");
	}
}

int fca_plan_build(struct fca_plan *out, const struct fca_desired *d, const struct fca_observed *o, int64_t now)
{
	if (!out || !d || !o)
		return fca_error_set(FCA_EINVALID, "plan: desired and observed state are both required");
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_desired_ca *c = &d->cas[i];

		if (!c->present || c->suspend)
			continue;
		if (c->generation < 1 ||
		    (c->stage != FCA_STAGE_STAGED && c->stage != FCA_STAGE_ACTIVE && c->stage != FCA_STAGE_COMPLETE))
			return fca_error_set(FCA_EINVALID,
					     "plan: %s asks for generation %d stage %s; expected a generation "
					     ">= 1 and stage staged, active or complete",
					     fca_catalog_get((enum fca_ca_id)i)->name, c->generation,
					     fca_stage_name(c->stage));
	}

	/* Every field but the steps, which step_new zeroes as it adds them: a plan is about 360 KB, nearly
	 * all of it room for steps a run does not have, and each page touched costs a page fault. */
	memset(out, 0, offsetof(struct fca_plan, steps));
	memset((char *)out + offsetof(struct fca_plan, nsteps), 0, sizeof(*out) - offsetof(struct fca_plan, nsteps));
	out->now = now;
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		struct fca_plan_ca *pc = &out->cas[i];

		pc->now_stage = o->cas[i].stage;
		pc->now_generation =
		    o->cas[i].gens[FCA_SLOT_CURRENT].present ? o->cas[i].gens[FCA_SLOT_CURRENT].generation : 0;
		pc->target_stage = d->cas[i].stage;
		pc->target_generation = d->cas[i].generation;
		if (d->cas[i].present)
			plan_ca(out, d, o, (enum fca_ca_id)i);
	}
	for (size_t i = 0; i < out->nsteps; i++) {
		if (fca_plan_step_ready(out, i))
			out->nready++;
		else
			out->nwaiting++;
	}
	return FCA_OK;
}

int fca_plan_ca_stuck(const struct fca_plan *p, enum fca_ca_id ca)
{
	const struct fca_plan_ca *pc = &p->cas[ca];

	if (!pc->considered || pc->suspended)
		return 0;
	if (pc->now_stage == FCA_STAGE_CORRUPT || (pc->warnings & FCA_WARN_CORRUPT))
		return 1;
	if (!(pc->warnings & FCA_WARN_DRIFT))
		return 0;
	/* a drifted CA gets no step but the adopt that adopt: true asks for */
	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++)
		if (p->steps[i].ca == ca)
			return 0;
	return 1;
}

int fca_plan_ca_at_target(const struct fca_plan *p, enum fca_ca_id ca)
{
	const struct fca_plan_ca *pc = &p->cas[ca];

	if (!pc->considered)
		return 1;
	if (pc->error[0] || fca_plan_ca_stuck(p, ca) || (pc->warnings & FCA_WARN_DRIFT))
		return 0;
	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++)
		if (p->steps[i].ca == ca)
			return 0;
	if (pc->now_stage != pc->target_stage)
		return 0;
	switch (pc->now_stage) {
	case FCA_STAGE_STAGED: /* now_generation signs; the staged one is the next */
		return pc->now_generation > 0 && pc->now_generation + 1 == pc->target_generation;
	case FCA_STAGE_ACTIVE:
	case FCA_STAGE_COMPLETE:
		return pc->now_generation > 0 && pc->now_generation == pc->target_generation;
	default:
		return 0;
	}
}

int fca_plan_settled(const struct fca_plan *p)
{
	for (int i = 0; i < FCA_CA_COUNT; i++)
		if (!fca_plan_ca_at_target(p, (enum fca_ca_id)i))
			return 0;
	return 1;
}
