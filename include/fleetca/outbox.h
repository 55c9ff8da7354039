/*
 * Outbox delivery (src/engine/outbox.c): the activities each step committed into the
 * state document's outbox are sent to their sink, then removed, one transaction per entry.
 */
#ifndef FLEETCA_OUTBOX_H
#define FLEETCA_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fleetca/config.h"
#include "fleetca/desired.h"
#include "fleetca/secret.h"
#include "fleetca/state.h"
#include "fleetca/store.h"

struct fca_outbox_opts {
	enum fca_sink sink;
	int lock_timeout;		  /* seconds (kept for callers: delivery itself takes no lock) */
	int64_t now;			  /* the document's updated_at when an entry changes */
	int attempts;			  /* api: tries per entry and run (retryable failures only) */
	FILE *progress;			  /* "delivered <key>" per entry, or NULL */
	size_t known_pending;		  /* entries the caller just saw in the outbox; SIZE_MAX = unknown */
	const struct fca_api_config *api; /* sink api: URL, token, timeouts, backoff, budget */
};
#define FCA_OUTBOX_OPTS_INIT                                                                                           \
	{                                                                                                              \
		FCA_SINK_API, 30, 0, 3, NULL, SIZE_MAX, NULL                                                           \
	}

struct fca_outbox_report {
	size_t delivered;		     /* this run */
	size_t pending;			     /* left in the outbox */
	int code;			     /* FCA_OK, or what stopped delivery (as returned) */
	char last_key[FCA_STEP_ID_MAX + 16]; /* the entry that failed */
	char last_error[1024];
	uint64_t lock_holder; /* when FCA_ELOCKED */
};

/*
 * Delivers the outbox in order with opts->sink and returns FCA_OK when it is empty afterwards (or
 * the sink is none: entries are kept and counted in report->pending). Otherwise returns what
 * stopped it, the entries left pending and their attempts counted:
 *   FCA_ENOTFOUND  sink api without FLEET_URL: nothing was tried
 *   FCA_ECONNECT   the API failed in a way worth retrying (5xx, timeout, refused, garbage), after
 *                  opts->attempts tries with backoff
 *   FCA_ELOCKED    another fleetca run holds the lock (it will deliver them)
 *   FCA_EAUTH, FCA_EINVALID, FCA_ERROR …  a failure retrying will not fix (401, other 4xx, TLS)
 *
 * api: the entry is removed in its own transaction after the API accepted it, so a crash re-sends
 * at most that one entry, with the same Idempotency-Key (the API answers 409: delivered).
 * db: the activities row and the removal are one transaction: exactly once.
 *
 * Locking: none. Call it after the run's lock is released: removals re-read the document under
 * FOR UPDATE, and an entry sent twice (two runs at once, a crash) is answered 409 by its key.
 * api: the whole delivery takes at most opts->api->budget_ms (FLEETCA_DELIVERY_BUDGET); what is
 * not delivered by then stays queued (FCA_ECONNECT). A failure rewrites the document at most once
 * an hour per entry (its attempts), so failing runs do not add fleetca_state rows.
 */
int fca_engine_deliver_outbox(struct fca_store *s, const struct fca_secret *aes_key, const struct fca_outbox_opts *opts,
			      struct fca_outbox_report *report) FCA_MUST_USE;

/*
 * 1 when a delivery failure is one retrying will not fix (401, other 4xx, TLS): apply exits 1 for
 * it; 0 for FCA_OK and for those the next run may fix (5xx, timeouts, no FLEET_URL, the budget).
 */
int fca_outbox_failure_is_fatal(int code);

#endif
