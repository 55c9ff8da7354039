/*
 * Outbox delivery, without the fleetca lock (a slow API never holds up another run's steps):
 * each entry of the state document's outbox goes to the sink in order, and its removal is then
 * committed in a transaction of its own that re-reads the document under FOR UPDATE, so the write
 * is always to the current document and an entry another run removed meanwhile is skipped. A
 * crash between the API's answer and that commit, or two runs delivering at once, re-send an entry
 * with the same Idempotency-Key, which the API answers 409: delivered. The api sink's whole
 * delivery fits a budget (FLEETCA_DELIVERY_BUDGET, default 20 s): tries, waits and requests
 * included. A failed delivery writes nothing, except that the entry's attempts are recorded at
 * most once an hour: a timer failing every minute does not pile up copies of the document.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetca/config.h"
#include "fleetca/engine.h"
#include "core/fault.h"
#include "fleetca/fleet_api.h"
#include "fleetca/outbox.h"

enum change { REMOVE, COUNT_ATTEMPT };

#define ATTEMPT_RECORD_EVERY 3600 /* seconds: attempts are written at most this often */

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
		if (opts->now > 0 && st.outbox[i].last_attempt_at > 0 &&
		    opts->now - st.outbox[i].last_attempt_at < ATTEMPT_RECORD_EVERY) {
			fca_store_rollback(s); /* recorded within the hour: write nothing */
			fca_state_dispose(&st);
			return FCA_OK;
		}
		st.outbox[i].attempts++;
		st.outbox[i].last_attempt_at = opts->now > 0 ? opts->now : 1;
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
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* What is left of the delivery budget, in ms (at least 0). */
static int64_t left_ms(int64_t deadline)
{
	int64_t l = deadline - mono_ms();
	return l > 0 ? l : 0;
}

static int budget_spent(const struct fca_api_config *cfg)
{
	return fca_error_set(FCA_ECONNECT,
			     "the delivery budget of %lldms (FLEETCA_DELIVERY_BUDGET) is used up; the rest stays in "
			     "the outbox for the next run",
			     (long long)cfg->budget_ms);
}

/* Sends one entry, retrying what is worth retrying, within the budget. */
static int post_with_retry(struct fca_fleet_api *api, const struct fca_state_outbox *e, int attempts,
			   const struct fca_api_config *cfg, int64_t deadline)
{
	char key[sizeof(e->delivery_id) + sizeof(e->idempotency_key) + 1];
	long status = 0;
	int r = FCA_ERROR, k;

	if (e->delivery_id[0])
		snprintf(key, sizeof(key), "%s/%s", e->delivery_id, e->idempotency_key);
	else
		snprintf(key, sizeof(key), "%s", e->idempotency_key);
	for (k = 0; k < attempts; k++) {
		if (k > 0) {
			int64_t wait = cfg->backoff_ms << (k - 1);
			if (wait >= left_ms(deadline))
				break;
			sleep_ms(wait);
		}
		if (left_ms(deadline) <= 0) {
			r = budget_spent(cfg);
			break;
		}
		r = fca_fleet_api_post_activity(api, key, e->type, e->details_json, left_ms(deadline), &status);
		if (r != FCA_ECONNECT)
			break;
		if (left_ms(deadline) <= 0) {
			fca_error_prefix("the delivery budget of %lldms (FLEETCA_DELIVERY_BUDGET) is used up",
					 (long long)cfg->budget_ms);
			break;
		}
	}
	if (r == FCA_ECONNECT && k > 1)
		fca_error_prefix("after %d tries", k);
	return r;
}

static int fail(struct fca_outbox_report *rep, int r, const char *key)
{
	rep->code = r;
	snprintf(rep->last_key, sizeof(rep->last_key), "%s", key ? key : "");
	snprintf(rep->last_error, sizeof(rep->last_error), "%s", fca_error_message());
	return r;
}

int fca_outbox_failure_is_fatal(int code)
{
	return code != FCA_OK && code != FCA_ECONNECT && code != FCA_ENOTFOUND && code != FCA_ELOCKED;
}

int fca_engine_deliver_outbox(struct fca_store *s, const struct fca_secret *aes_key, const struct fca_outbox_opts *opts,
			      struct fca_outbox_report *rep)
{
	static const struct fca_api_config none = {.budget_ms = FCA_DELIVERY_BUDGET_MS_DEFAULT,
						   .backoff_ms = FCA_API_BACKOFF_MS_DEFAULT,
						   .timeout_ms = FCA_API_TIMEOUT_MS_DEFAULT};
	const struct fca_api_config *cfg = opts->api ? opts->api : &none;
	struct fca_fleet_api *api = NULL;
	struct fca_state st;
	int64_t deadline = mono_ms() + (cfg->budget_ms > 0 ? cfg->budget_ms : 1);
	int r, found = 0;

	memset(rep, 0, sizeof(*rep));
	fca_state_init(&st);
	/* What the caller already knows spares a read: nothing queued, or nowhere to send it. */
	if (opts->known_pending != SIZE_MAX && (opts->known_pending == 0 || opts->sink == FCA_SINK_NONE)) {
		rep->pending = opts->known_pending;
		r = FCA_OK;
		goto out;
	}
	if (opts->known_pending != SIZE_MAX && opts->sink == FCA_SINK_API && !cfg->url[0]) {
		rep->pending = opts->known_pending;
		r = fca_error_set(FCA_ENOTFOUND, "FLEET_URL is not set: set it to deliver activities to the Fleet "
						 "API, or choose 'activities: {sink: db}' in the desired-state file");
		fail(rep, r, NULL);
		goto out;
	}
	/* The document as it is now, without the lock: each removal re-reads it under FOR UPDATE. */
	if ((r = fca_engine_load_state(&st, &found, s, aes_key, 0)) != 0) {
		fail(rep, r, NULL);
		goto out;
	}
	rep->pending = st.noutbox;
	if (st.noutbox == 0 || opts->sink == FCA_SINK_NONE) {
		r = FCA_OK;
		goto out;
	}
	if (opts->sink == FCA_SINK_API && (r = fca_fleet_api_open(&api, cfg)) != 0) {
		fail(rep, r, NULL);
		goto out;
	}
	for (size_t i = 0; i < st.noutbox; i++) {
		const struct fca_state_outbox *e = &st.outbox[i];
		if (opts->sink == FCA_SINK_DB) {
			r = commit_change(s, aes_key, opts, e->idempotency_key, REMOVE, 1);
		} else {
			r = left_ms(deadline) > 0
				? post_with_retry(api, e, opts->attempts > 0 ? opts->attempts : 1, cfg, deadline)
				: budget_spent(cfg);
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
	fca_fleet_api_free(api);
	fca_state_dispose(&st);
	return r;
}
