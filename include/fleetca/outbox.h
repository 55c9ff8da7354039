/*
 * Outbox delivery (src/engine/outbox.c): the activities each step committed into the
 * state document's outbox are sent to their sink, then removed, one transaction per entry.
 */
#ifndef FLEETCA_OUTBOX_H
#define FLEETCA_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fleetca/desired.h"
#include "fleetca/secret.h"
#include "fleetca/state.h"
#include "fleetca/store.h"

struct fca_outbox_opts {
	enum fca_sink sink;
	int lock_timeout;   /* seconds to wait for the fleetca lock */
	int64_t now;        /* the document's updated_at when an entry changes */
	int attempts;       /* api: tries per entry and run (retryable failures only) */
	int64_t backoff_ms; /* api: wait before the second try; doubles each time. FLEETCA_API_BACKOFF overrides */
	FILE *progress;     /* "delivered <key>" per entry, or NULL */
	size_t known_pending; /* entries the caller just saw in the outbox; SIZE_MAX = unknown */
};
#define FCA_OUTBOX_OPTS_INIT { FCA_SINK_API, 30, 0, 3, 500, NULL, SIZE_MAX }

struct fca_outbox_report {
	size_t delivered;   /* this run */
	size_t pending;     /* left in the outbox */
	int code;           /* FCA_OK, or what stopped delivery (as returned) */
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
 * Locking: takes the fleetca lock (GET_LOCK) itself and releases it before returning. A caller
 * holding it already on the same connection may call this too: GET_LOCK is re-entrant per
 * connection (MariaDB >= 10.0.2, MySQL >= 5.7) and each GET_LOCK here is matched by one
 * RELEASE_LOCK, so the caller's hold survives. fca_engine_apply releases its lock before it
 * returns, so `apply` does not nest.
 */
int fca_engine_deliver_outbox(struct fca_store *s, const struct fca_secret *aes_key,
			      const struct fca_outbox_opts *opts, struct fca_outbox_report *report) FCA_MUST_USE;

#endif
