/* The executor: one lock per run, one transaction per step, the outbox written with the step. */
#ifndef FLEETCA_EXECUTOR_H
#define FLEETCA_EXECUTOR_H

#include <stdint.h>
#include <stdio.h>

#include "fleetca/config.h"
#include "fleetca/desired.h"
#include "fleetca/plan.h"
#include "fleetca/planfile.h"
#include "fleetca/secret.h"
#include "fleetca/store.h"

struct fca_apply_opts {
	const struct fca_desired *desired;
	int64_t now;
	int lock_timeout; /* seconds */
	/* A saved plan: only its steps run, and only while the rows match its basis. */
	const char (*allowed_steps)[FCA_STEP_ID_MAX];
	size_t nallowed;
	int use_allowed;
	const struct fca_observed *saved_basis; /* basis[] of the saved plan, or NULL */
	const char *source_path;		/* recorded in the activity */
	const char *source_commit;		/* with source_ref: the file came from git; recorded in the */
	const char *source_ref;			/* activity and as the commit of the generations a step creates */
	FILE *progress;				/* one line per step, or NULL */
	const struct fca_api_config *api;	/* fca_engine_apply_and_deliver, sink api: URL, token, budget */
};

#define FCA_APPLY_MAX_DONE 64

/* How a run ended, for its exit code: apply 0 / 3 / 1, reconcile's converged / gated / failed. */
enum fca_outcome {
	FCA_OUTCOME_DONE = 0, /* nothing remains: converged */
	FCA_OUTCOME_GATED,    /* steps wait behind closed gates, or a drifted CA waits for a person */
	FCA_OUTCOME_FAILED,   /* a corrupt CA, or a delivery failure retrying will not fix */
};

struct fca_apply_result {
	char done[FCA_APPLY_MAX_DONE][FCA_STEP_ID_MAX]; /* step ids executed, in order */
	size_t ndone;
	struct fca_plan *final_plan;	     /* what remains (malloc'd; free()) */
	struct fca_observed *final_observed; /* the rows it was planned from (fca_observed_dispose + free) */
	int gated;			     /* steps remain: a closed gate, or not in the saved plan */
	size_t unplanned;		     /* ready steps left out because the saved plan does not list them */
	uint64_t lock_holder;		     /* when FCA_ELOCKED */
	/* filled by fca_engine_apply_and_deliver only */
	struct fca_stuck stuck; /* fca_plan_stuck of what remains */
	struct fca_delivery delivery;
	enum fca_outcome outcome;
};

/*
 * Runs the plan to convergence or to the first closed gate of each CA. Returns FCA_OK (see
 * res->gated), FCA_ELOCKED when another run holds the lock, or an error (nothing half-done:
 * every step is one transaction).
 */
int fca_engine_apply(struct fca_store *s, const struct fca_secret *aes_key, const struct fca_apply_opts *opts,
		     struct fca_apply_result *res) FCA_MUST_USE;

/*
 * Apply, then deliver: fca_engine_apply, then (when it succeeded, the lock released, and the
 * outbox holds entries for a sink) fca_engine_deliver_outbox within opts->api's budget, then the
 * outcome: FAILED for a corrupt CA (res->stuck) or a fatal delivery failure, GATED for steps that
 * remain or a drifted CA, DONE otherwise. A delivery failure undoes no step: the entries stay in
 * the outbox, and only a fatal one fails the run. Returns what fca_engine_apply returned (on an
 * error nothing is delivered and only res->done/ndone are meaningful).
 */
int fca_engine_apply_and_deliver(struct fca_store *s, const struct fca_secret *aes_key,
				 const struct fca_apply_opts *opts, struct fca_apply_result *res) FCA_MUST_USE;

#endif
