/*
 * Outbox delivery. Under the fleetca lock, each entry of the state document's outbox
 * goes to the sink in order, and its removal is then committed in a transaction of its own that
 * re-reads the document under FOR UPDATE, so the write is always to the current document. A crash
 * between the API's answer and that commit leaves the entry for the next run, which re-sends it
 * with the same Idempotency-Key: at most that one entry is sent twice, and the API answers 409.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetca/engine.h"
#include "fleetca/fault.h"
#include "fleetca/fleet_api.h"
#include "fleetca/outbox.h"

enum change { REMOVE, COUNT_ATTEMPT };

static size_t find_key(const struct fca_state *st, const char *key)
{
	for (size_t i = 0; i < st->noutbox; i++)
		if (!strcmp(st->outbox[i].idempotency_key, key))
			return i;
	return SIZE_MAX;
}

/*
 * One transaction: re-read the document under lock, change the entry `key`, write it back. For the
 * db sink the activity's row is inserted in the same transaction (exactly once).
 */
static int commit_change(struct fca_store *s, const struct fca_secret *aes, const struct fca_outbox_opts *opts,
			 const char *key, enum change what, int insert_activity)
{
	struct fca_state st;
	size_t i;
	int r, found = 0;

	fca_state_init(&st);
	if ((r = fca_store_begin(s)) != 0)
		return r;
	if ((r = fca_engine_load_state(&st, &found, s, aes, 1)) != 0)
		goto out;
	if (!found || (i = find_key(&st, key)) == SIZE_MAX) {
		/* gone already (nothing else writes while the lock is held, but be safe): nothing to do */
		fca_store_rollback(s);
		fca_state_dispose(&st);
		return FCA_OK;
	}
	if (insert_activity && (r = fca_store_insert_activity(s, st.outbox[i].type, st.outbox[i].details_json,
							      st.outbox[i].created_at)) != 0)
		goto out;
	if (what == REMOVE) {
		FCA_FAULT("after_delivery", key, fca_store_connection_id(s));
		fca_state_outbox_remove(&st, i);
	} else {
		st.outbox[i].attempts++;
	}
	st.updated_at = opts->now > 0 ? opts->now : st.updated_at;
	if ((r = fca_engine_save_state(s, aes, &st, 1)) != 0 || (r = fca_store_commit(s)) != 0)
		goto out;
	fca_state_dispose(&st);
	return FCA_OK;
out:
	fca_store_rollback(s);
	fca_state_dispose(&st);
	return r;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

/* Sends one entry, retrying what is worth retrying. */
static int post_with_retry(struct fca_fleet_api *api, const struct fca_state_outbox *e, int attempts,
			   int64_t backoff_ms)
{
	long status = 0;
	int r = FCA_ERROR;

	for (int k = 0; k < attempts; k++) {
		if (k > 0)
			sleep_ms(backoff_ms << (k - 1));
		r = fca_fleet_api_post_activity(api, e->idempotency_key, e->type, e->details_json, &status);
		if (r != FCA_ECONNECT)
			break;
	}
	if (r == FCA_ECONNECT && attempts > 1)
		fca_error_prefix("after %d tries", attempts);
	return r;
}

static int fail(struct fca_outbox_report *rep, int r, const char *key)
{
	rep->code = r;
	snprintf(rep->last_key, sizeof(rep->last_key), "%s", key ? key : "");
	snprintf(rep->last_error, sizeof(rep->last_error), "%s", fca_error_message());
	return r;
}

int fca_engine_deliver_outbox(struct fca_store *s, const struct fca_secret *aes_key,
			      const struct fca_outbox_opts *opts, struct fca_outbox_report *rep)
{
	struct fca_fleet_api *api = NULL;
	struct fca_state st;
	const char *bo = getenv("FLEETCA_API_BACKOFF");
	int64_t backoff_ms = opts->backoff_ms;
	int r, found = 0, locked = 0;

	memset(rep, 0, sizeof(*rep));
	fca_state_init(&st);
	/* What the caller already knows spares a read: nothing queued, or nowhere to send it. */
	if (opts->known_pending != SIZE_MAX && (opts->known_pending == 0 || opts->sink == FCA_SINK_NONE)) {
		rep->pending = opts->known_pending;
		r = FCA_OK;
		goto out;
	}
	if (opts->known_pending != SIZE_MAX && opts->sink == FCA_SINK_API && !(getenv("FLEET_URL") && *getenv("FLEET_URL"))) {
		rep->pending = opts->known_pending;
		r = fca_error_set(FCA_ENOTFOUND, "FLEET_URL is not set: set it to deliver activities to the Fleet "
						 "API, or choose 'activities: {sink: db}' in the desired-state file");
		fail(rep, r, NULL);
		goto out;
	}
	/* A first look without the lock: an empty outbox (the usual case) needs neither lock nor API. */
	if ((r = fca_engine_load_state(&st, &found, s, aes_key, 0)) != 0) {
		fail(rep, r, NULL);
		goto out;
	}
	rep->pending = st.noutbox;
	if (st.noutbox == 0 || opts->sink == FCA_SINK_NONE) {
		r = FCA_OK;
		goto out;
	}
	if (bo && *bo && (r = fca_fleet_api_parse_ms(&backoff_ms, bo)) != 0) {
		fca_error_prefix("FLEETCA_API_BACKOFF");
		fail(rep, r, NULL);
		goto out;
	}
	if (opts->sink == FCA_SINK_API && (r = fca_fleet_api_open_env(&api)) != 0) {
		fail(rep, r, NULL);
		goto out;
	}
	if ((r = fca_store_lock(s, opts->lock_timeout, &rep->lock_holder)) != 0) {
		fail(rep, r, NULL);
		goto out;
	}
	locked = 1;
	/* Under the lock: the document as it is now (another run may have delivered meanwhile). */
	fca_state_dispose(&st);
	if ((r = fca_engine_load_state(&st, &found, s, aes_key, 0)) != 0) {
		fail(rep, r, NULL);
		goto out;
	}
	rep->pending = st.noutbox;
	for (size_t i = 0; i < st.noutbox; i++) {
		const struct fca_state_outbox *e = &st.outbox[i];
		if (opts->sink == FCA_SINK_DB) {
			r = commit_change(s, aes_key, opts, e->idempotency_key, REMOVE, 1);
		} else {
			r = post_with_retry(api, e, opts->attempts > 0 ? opts->attempts : 1, backoff_ms);
			if (r != FCA_OK) {
				/* keep what stopped delivery, then count the attempt (its own message if that fails) */
				fail(rep, r, e->idempotency_key);
				if (commit_change(s, aes_key, opts, e->idempotency_key, COUNT_ATTEMPT, 0) != 0)
					fca_error_set(rep->code, "%s", rep->last_error);
				goto out;
			}
			r = commit_change(s, aes_key, opts, e->idempotency_key, REMOVE, 0);
		}
		if (r != FCA_OK) {
			fca_error_prefix("activity %s", e->idempotency_key);
			fail(rep, r, e->idempotency_key);
			goto out;
		}
		rep->delivered++;
		rep->pending--;
		if (opts->progress) {
			fprintf(opts->progress, "delivered %s (%s)\n", e->idempotency_key, e->type);
			fflush(opts->progress);
		}
	}
	r = FCA_OK;
out:
	if (locked)
		fca_store_unlock(s);
	fca_fleet_api_free(api);
	fca_state_dispose(&st);
	return r;
}
