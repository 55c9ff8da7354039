/* The reconcile loop: apply on a timer, advancing stages as their gates open. */
#ifndef FLEETCA_RECONCILE_H
#define FLEETCA_RECONCILE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "fleetca/config.h"
#include "fleetca/error.h"
#include "fleetca/secret.h"

/* How a round ended. */
enum fca_round {
	FCA_ROUND_CONVERGED = 0, /* desired state reached */
	FCA_ROUND_GATED,	 /* steps remain behind closed gates (or drift waits for a person) */
	FCA_ROUND_LOCKED,	 /* another run holds the lock: nothing done, not a failure */
	FCA_ROUND_FAILED,	 /* an error (database, key, corrupt CA): nothing half-done */
	FCA_ROUND_INVALID,	 /* the desired-state file did not load: round skipped */
};

struct fca_reconcile_opts {
	const char *path;	       /* the desired-state YAML, re-read every round */
	const char *git_repo;	       /* or: read path at git_ref in this repository, every round */
	const char *git_ref;	       /* default HEAD; fetch it between rounds to follow a branch */
	int64_t interval;	       /* seconds between rounds, > 0 */
	int jitter_pct;		       /* 0..50: each wait is interval ± this share, at random */
	int once;		       /* one round, then return */
	const char *metrics_path;      /* Prometheus textfile (tmp + rename), or NULL */
	int lock_timeout;	       /* seconds */
	FILE *log;		       /* one line per event, each prefixed with an RFC 3339 time */
	volatile sig_atomic_t *stop;   /* set by SIGTERM/SIGINT: finish the round, write metrics, return */
	volatile sig_atomic_t *reload; /* set by SIGHUP: cut the wait short and re-read the file */
	/* The signal mask while waiting. The caller keeps its signals blocked otherwise, so a signal
	 * arriving during a round is taken by the wait that follows it (pselect): none is lost. */
	const sigset_t *wait_mask;
	const struct fca_config *cfg; /* the database and the API, read once by the CLI */
};
#define FCA_RECONCILE_OPTS_INIT                                                                                        \
	{                                                                                                              \
		NULL, NULL, NULL, 900, 0, 0, NULL, 30, NULL, NULL, NULL, NULL, NULL                                    \
	}

/*
 * Runs rounds until *stop (or after one round with once). Each round reads fca_now() once,
 * re-reads and validates the file (a bad file skips the round: the previous good one is not
 * used), connects, runs fca_engine_apply, logs one line per applied step and one summary, and
 * writes the metrics (a metrics file that cannot be written is logged, not fatal). Repeated
 * failures wait interval × 2, × 4 (at most). *last is how the last round ended. Every failure is
 * a round's and is logged: the loop itself returns FCA_OK when stopped (or after one round with once).
 */
int fca_engine_reconcile(const struct fca_reconcile_opts *opts, const struct fca_secret *aes_key,
			 enum fca_round *last) FCA_MUST_USE;

/*
 * The wait before the next round, in milliseconds: interval after a good round, interval ×
 * min(2^(failures-1), 4) after failures in a row, then ± jitter_pct (unit_random in [0, 1)). Pure.
 */
int64_t fca_reconcile_delay_ms(int64_t interval, unsigned failures, int jitter_pct, double unit_random);

#endif
