/* The executor: one lock per run, one transaction per step, the outbox written with the step. */
#ifndef FLEETCA_EXECUTOR_H
#define FLEETCA_EXECUTOR_H

#include <stdint.h>
#include <stdio.h>

#include "fleetca/desired.h"
#include "fleetca/plan.h"
#include "fleetca/planfile.h"
#include "fleetca/secret.h"
#include "fleetca/store.h"

struct fca_apply_opts {
	const struct fca_desired *desired;
	int64_t now;
	int lock_timeout;               /* seconds */
	/* A saved plan: only its steps run, and only while the rows match its basis. */
	const char (*allowed_steps)[FCA_STEP_ID_MAX];
	size_t nallowed;
	int use_allowed;
	const struct fca_observed *saved_basis; /* basis[] of the saved plan, or NULL */
	const char *source_path;        /* recorded in the activity */
	const char *source_commit;      /* with source_ref: the file came from git; recorded in the */
	const char *source_ref;         /* activity and as the commit of the generations a step creates */
	FILE *progress;                 /* one line per step, or NULL */
};

#define FCA_APPLY_MAX_DONE 64

struct fca_apply_result {
	char done[FCA_APPLY_MAX_DONE][FCA_STEP_ID_MAX]; /* step ids executed, in order */
	size_t ndone;
	struct fca_plan *final_plan;         /* what remains (malloc'd; free()) */
	struct fca_observed *final_observed; /* the rows it was planned from (fca_observed_dispose + free) */
	int gated;                   /* steps remain: a closed gate, or not in the saved plan */
	size_t unplanned;            /* ready steps left out because the saved plan does not list them */
	uint64_t lock_holder;        /* when FCA_ELOCKED */
};

/*
 * Runs the plan to convergence or to the first closed gate of each CA. Returns FCA_OK (see
 * res->gated), FCA_ELOCKED when another run holds the lock, or an error (nothing half-done:
 * every step is one transaction).
 */
int fca_engine_apply(struct fca_store *s, const struct fca_secret *aes_key, const struct fca_apply_opts *opts,
		     struct fca_apply_result *res) FCA_MUST_USE;

#endif
