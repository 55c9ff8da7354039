/*
 * The orchestration plan, apply and reconcile share, each policy once: observe then plan
 * (fca_engine_plan), and apply then deliver, with the outcome that sets the exit code
 * (fca_engine_apply_and_deliver). The commands only parse, call these and print.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fleetca/engine.h"
#include "fleetca/executor.h"
#include "fleetca/outbox.h"
#include "fleetca/plan.h"

/* A step with the drain gate: retire, or abandon of a generation that signed. */
static int has_drain(const struct fca_plan *p)
{
	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++)
		if (p->steps[i].kind == FCA_STEP_RETIRE || p->steps[i].drain_gated)
			return 1;
	return 0;
}

int fca_engine_plan(struct fca_observed *o, struct fca_plan *p, struct fca_store *s, const struct fca_secret *aes_key,
		    const struct fca_plan_opts *opts)
{
	struct fca_observe_opts oo = FCA_OBSERVE_OPTS_INIT;
	int r;

	oo.now = opts->now;
	oo.clock_skew = opts->desired->policy.clock_skew;
	oo.check_keys = opts->check_keys;
	oo.check_keys_of = opts->check_keys_of;
	oo.scan_issued = opts->scan_issued;
	oo.scan_escrows = opts->scan_escrows;
	/* A converged or early-stage plan needs no scan; a drain gate needs the issued certificates
	 * and the escrows, read with the rows they are counted against: observe again. */
	for (int pass = 0; pass < 2; pass++) {
		fca_observed_dispose(o);
		if ((r = fca_engine_observe(o, s, aes_key, &oo)) != 0 ||
		    (r = fca_plan_build(p, opts->desired, o, opts->now)) != 0)
			return r;
		if (pass == 1 || !has_drain(p) || (oo.scan_issued && oo.scan_escrows))
			break;
		oo.scan_issued = oo.scan_escrows = 1;
		if (fca_plan_wants_impact(p))
			oo.scan_devices = oo.scan_escrows_today = 1;
	}
	/* An Apple step that changes the first certificate: count what it would break, plan again. */
	if (fca_plan_wants_impact(p) && !oo.scan_devices) {
		oo.scan_devices = oo.scan_escrows_today = 1;
		if ((r = fca_engine_observe_impact(o, s, aes_key, &oo)) != 0 ||
		    (r = fca_plan_build(p, opts->desired, o, opts->now)) != 0)
			return r;
	}
	return FCA_OK;
}

/* After the lock is released: the activities the steps (or an earlier run) committed. */
static void deliver(struct fca_store *s, const struct fca_secret *aes_key, const struct fca_apply_opts *opts,
		    struct fca_apply_result *res)
{
	struct fca_outbox_opts oo = FCA_OUTBOX_OPTS_INIT;
	struct fca_outbox_report rep;
	struct fca_delivery *dv = &res->delivery;

	memset(dv, 0, sizeof(*dv));
	dv->pending = res->final_observed->state.noutbox;
	if (res->final_observed->state.noutbox == 0 || opts->desired->sink == FCA_SINK_NONE)
		return;
	memset(&rep, 0, sizeof(rep));
	oo.sink = opts->desired->sink;
	oo.lock_timeout = opts->lock_timeout;
	oo.now = opts->now;
	oo.known_pending = res->final_observed->state.noutbox;
	oo.api = opts->api;
	dv->attempted = 1;
	dv->code = fca_engine_deliver_outbox(s, aes_key, &oo, &rep);
	dv->fatal = fca_outbox_failure_is_fatal(dv->code);
	dv->delivered = rep.delivered;
	dv->pending = rep.pending;
	if (dv->code != FCA_OK)
		snprintf(dv->error, sizeof(dv->error), "%s", rep.last_error[0] ? rep.last_error : fca_error_message());
	fca_error_clear(); /* reported in res->delivery */
}

int fca_engine_apply_and_deliver(struct fca_store *s, const struct fca_secret *aes_key,
				 const struct fca_apply_opts *opts, struct fca_apply_result *res)
{
	int r = fca_engine_apply(s, aes_key, opts, res);

	if (r != FCA_OK)
		return r;
	deliver(s, aes_key, opts, res);
	fca_plan_stuck(&res->stuck, res->final_plan, res->final_observed);
	if (res->stuck.kind == FCA_STUCK_CORRUPT || res->delivery.fatal)
		res->outcome = FCA_OUTCOME_FAILED;
	else if (res->gated || res->stuck.kind == FCA_STUCK_DRIFT)
		res->outcome = FCA_OUTCOME_GATED;
	else
		res->outcome = FCA_OUTCOME_DONE;
	return FCA_OK;
}
