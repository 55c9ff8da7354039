/* The reconcile loop: re-read the file, apply, log, write metrics, wait; until told to stop. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "fleetca/crypto.h"
#include "fleetca/engine.h"
#include "fleetca/executor.h"
#include "fleetca/file.h"
#include "fleetca/outbox.h"
#include "fleetca/reconcile.h"
#include "fleetca/source.h"
#include "fleetca/timeutil.h"
#include "fleetca/yaml.h"

#define BACKOFF_MAX_FACTOR 4

/* What the metrics of the last round say. */
struct metrics {
	const struct fca_observed *o; /* NULL after a failed round: only the loop's own metrics */
	const struct fca_plan *p;
	int has_success;
	int64_t last_success;
	unsigned failures;
	int64_t rounds;
};

static void logline(const struct fca_reconcile_opts *opts, int64_t t, const char *fmt, ...) FCA_PRINTF(3, 4);
static void logline(const struct fca_reconcile_opts *opts, int64_t t, const char *fmt, ...)
{
	char ts[32];
	va_list ap;

	if (!opts->log)
		return;
	fca_time_rfc3339(ts, sizeof(ts), t);
	fprintf(opts->log, "%s ", ts);
	va_start(ap, fmt);
	vfprintf(opts->log, fmt, ap);
	va_end(ap);
	fputc('\n', opts->log);
	fflush(opts->log);
}

int64_t fca_reconcile_delay_ms(int64_t interval, unsigned failures, int jitter_pct, double unit_random)
{
	int64_t factor = 1, ms, j;

	for (unsigned i = 1; i < failures && factor < BACKOFF_MAX_FACTOR; i++)
		factor *= 2;
	if (interval < 1)
		interval = 1;
	ms = interval * 1000 * factor;
	if (jitter_pct > 0) {
		if (unit_random < 0 || unit_random >= 1)
			unit_random = 0.5;
		j = ms * jitter_pct / 100;
		ms += (int64_t)((unit_random * 2 - 1) * (double)j);
	}
	return ms < 1 ? 1 : ms;
}

static double unit_random(void)
{
	unsigned char b[4];

	if (fca_crypto_random(b, sizeof(b)) != FCA_OK) {
		fca_error_clear();
		return 0.5; /* no jitter this time */
	}
	return (double)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) / 4294967296.0;
}

/* Waits ms, or less when a signal sets stop or reload. */
static void wait_ms(const struct fca_reconcile_opts *opts, int64_t ms)
{
	struct timespec end, now, ts;
	int64_t left;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	while (!*opts->stop && !*opts->reload) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ((int64_t)end.tv_sec - now.tv_sec) * 1000000000LL + (end.tv_nsec - now.tv_nsec);
		if (left <= 0)
			break;
		ts.tv_sec = (time_t)(left / 1000000000LL);
		ts.tv_nsec = (long)(left % 1000000000LL);
		/* Returns early (EINTR) when a signal arrives, including one left pending by the round. */
		if (pselect(0, NULL, NULL, NULL, &ts, opts->wait_mask) < 0 && errno != EINTR)
			break;
	}
}

/* The generation fleetca gives a live certificate: an unmanaged CA's signing one is gen 1 (the first
 * apply adopts it as such: docs/architecture.md, section 5). */
static int gen_number(const struct fca_obs_ca *c, enum fca_role role)
{
	const struct fca_obs_gen *g = &c->gens[role];

	if (!g->generation && !c->managed && role == FCA_ROLE_SIGNING)
		return 1;
	return g->generation;
}

static void metric_head(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void write_metrics_body(FILE *f, const struct metrics *m)
{
	static const enum fca_role roles[FCA_SLOT_COUNT] = {FCA_ROLE_SIGNING, FCA_ROLE_NEXT, FCA_ROLE_PREVIOUS};
	const struct fca_observed *o = m->o;
	const struct fca_plan *p = m->p;

	if (o) {
		metric_head(f, "fleetca_ca_not_after_seconds",
			    "NotAfter of each live CA certificate, in Unix seconds.");
		for (int c = 0; c < FCA_CA_COUNT; c++)
			for (int r = 0; r < FCA_SLOT_COUNT; r++) {
				const struct fca_obs_gen *g = &o->cas[c].gens[roles[r]];
				if (g->present && g->cert_ok)
					fprintf(f,
						"fleetca_ca_not_after_seconds{ca=\"%s\",generation=\"%d\",role=\"%s\"} "
						"%" PRId64 "\n",
						fca_catalog_get((enum fca_ca_id)c)->name,
						gen_number(&o->cas[c], roles[r]), fca_role_name(roles[r]),
						g->cert.not_after);
			}
		metric_head(
		    f, "fleetca_ca_generation",
		    "Generation held in each live role (signing, next, previous); 0 = unknown to fleetca (drift).");
		for (int c = 0; c < FCA_CA_COUNT; c++)
			for (int r = 0; r < FCA_SLOT_COUNT; r++)
				if (o->cas[c].gens[roles[r]].present)
					fprintf(f, "fleetca_ca_generation{ca=\"%s\",role=\"%s\"} %d\n",
						fca_catalog_get((enum fca_ca_id)c)->name, fca_role_name(roles[r]),
						gen_number(&o->cas[c], roles[r]));
		metric_head(f, "fleetca_live_issued_certificates",
			    "Unrevoked, unexpired certificates issued by each live generation.");
		for (int c = 0; c < FCA_CA_COUNT; c++)
			for (int r = 0; r < FCA_SLOT_COUNT && o->cas[c].issued_scanned; r++) {
				const struct fca_obs_gen *g = &o->cas[c].gens[roles[r]];
				if (g->present && g->cert_ok && fca_catalog_get((enum fca_ca_id)c)->issued_tables[0])
					fprintf(f,
						"fleetca_live_issued_certificates{ca=\"%s\",generation=\"%d\",role=\"%"
						"s\"} %" PRIu64 "\n",
						fca_catalog_get((enum fca_ca_id)c)->name,
						gen_number(&o->cas[c], roles[r]), fca_role_name(roles[r]),
						g->issued_live);
			}
		metric_head(f, "fleetca_outbox_pending", "Fleet activities committed and not yet delivered.");
		fprintf(f, "fleetca_outbox_pending %zu\n", o->state.noutbox);
	}
	if (p) {
		int any_wait = 0;
		metric_head(
		    f, "fleetca_gate_open",
		    "1 when the next step of a CA may run, 0 while its gate is closed (gate: wait, closed, human).");
		for (int c = 0; c < FCA_CA_COUNT; c++)
			for (size_t i = 0; i < p->nsteps; i++) {
				const struct fca_step *s = &p->steps[i];
				if (s->ca != (enum fca_ca_id)c)
					continue;
				any_wait |= s->gate == FCA_GATE_WAIT && s->opens_at > 0;
				fprintf(f,
					"fleetca_gate_open{ca=\"%s\",generation=\"%d\",step=\"%s\",gate=\"%s\"} %d\n",
					fca_catalog_get(s->ca)->name, s->generation, fca_step_kind_name(s->kind),
					fca_gate_name(s->gate), fca_plan_step_ready(p, i));
				break; /* the CA's first remaining step: the one that holds it */
			}
		if (any_wait) {
			metric_head(f, "fleetca_gate_opens_timestamp_seconds",
				    "When a closed time gate (overlap, drain) opens by itself, in Unix seconds.");
			for (int c = 0; c < FCA_CA_COUNT; c++)
				for (size_t i = 0; i < p->nsteps; i++) {
					const struct fca_step *s = &p->steps[i];
					if (s->ca != (enum fca_ca_id)c)
						continue;
					if (s->gate == FCA_GATE_WAIT && s->opens_at > 0)
						fprintf(f,
							"fleetca_gate_opens_timestamp_seconds{ca=\"%s\",generation=\"%"
							"d\",step=\"%s\"} %" PRId64 "\n",
							fca_catalog_get(s->ca)->name, s->generation,
							fca_step_kind_name(s->kind), s->opens_at);
					break;
				}
		}
	}
	if (m->has_success) {
		metric_head(
		    f, "fleetca_last_success_timestamp_seconds",
		    "When the last round that reached Fleet and applied (or had nothing to do) ran, Unix seconds.");
		fprintf(f, "fleetca_last_success_timestamp_seconds %" PRId64 "\n", m->last_success);
	}
	metric_head(f, "fleetca_consecutive_failures",
		    "Rounds in a row that failed, skipped a bad file or could not deliver their activities.");
	fprintf(f, "fleetca_consecutive_failures %u\n", m->failures);
	fprintf(f,
		"# HELP fleetca_rounds_total Rounds run since the process started.\n"
		"# TYPE fleetca_rounds_total counter\nfleetca_rounds_total %" PRId64 "\n",
		m->rounds);
}

/* Writes the metrics beside the target and renames: a scraper never reads half a file. */
static int write_metrics(const char *path, const struct metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ok, r;

	if (!(f = open_memstream(&buf, &len)))
		return fca_error_set(FCA_ENOMEM, "--metrics-file: out of memory");
	write_metrics_body(f, m);
	ok = !ferror(f);
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		free(buf);
		return fca_error_set(FCA_ENOMEM, "--metrics-file: out of memory");
	}
	/* Textfile collectors often run as another user: 0644. */
	r = fca_file_replace(path, buf, len, 0644, "--metrics-file");
	free(buf);
	return r;
}

/* Loads the file for this round (working tree or git), logging every problem. */
static int load_desired(struct fca_desired *d, struct fca_source *src, const struct fca_reconcile_opts *opts,
			int64_t round, int64_t now)
{
	struct fca_diags *dg = calloc(1, sizeof(*dg));
	char line[1024];
	int r;

	if (!dg)
		return fca_error_set(FCA_ENOMEM, "out of memory");
	if (opts->git_repo)
		r = fca_source_read_git(src, opts->git_repo, opts->git_ref, opts->path);
	else
		r = fca_source_read_file(src, opts->path);
	if (r == FCA_OK)
		r = fca_yaml_parse_desired(d, dg, src->label, src->data, src->len);
	if (r != FCA_OK) {
		for (size_t i = 0; i < dg->n; i++) {
			fca_diag_format(line, sizeof(line), src->label[0] ? src->label : opts->path, &dg->v[i]);
			logline(opts, now, "round %" PRId64 ": %s", round, line);
		}
		if (!dg->n)
			logline(opts, now, "round %" PRId64 ": %s", round, fca_error_message());
		logline(opts, now,
			"round %" PRId64 ": %s is invalid (%zu error%s): round skipped; the previous good file is NOT "
			"used",
			round, src->label[0] ? src->label : opts->path, dg->n + dg->dropped,
			dg->n + dg->dropped == 1 ? "" : "s");
		fca_error_clear();
	}
	free(dg);
	return r;
}

/* What delivery did (fca_engine_apply_and_deliver): a failure leaves the activities queued. */
static void log_delivery(const struct fca_reconcile_opts *opts, int64_t round, int64_t now,
			 const struct fca_delivery *dv)
{
	if (dv->code != FCA_OK)
		logline(opts, now, "round %" PRId64 ": %s: %zu activit%s left in the outbox: %s", round,
			dv->fatal ? "error" : "warning", dv->pending, dv->pending == 1 ? "y" : "ies", dv->error);
	if (dv->delivered)
		logline(opts, now, "round %" PRId64 ": delivered %zu activit%s", round, dv->delivered,
			dv->delivered == 1 ? "y" : "ies");
}

/* The CAs that cannot move (fca_plan_stuck), as apply tells them on stderr. */
static void log_stuck(const struct fca_reconcile_opts *opts, int64_t round, int64_t now, const struct fca_stuck *st)
{
	for (int i = 0; i < FCA_CA_COUNT; i++)
		if (st->ca[i] != FCA_STUCK_NONE)
			logline(opts, now, "round %" PRId64 ": %s%s", round,
				st->ca[i] == FCA_STUCK_CORRUPT ? "error: " : "", st->why[i]);
}

static void log_summary(const struct fca_reconcile_opts *opts, int64_t round, int64_t now,
			const struct fca_apply_result *res)
{
	const struct fca_plan *p = res->final_plan;
	int64_t next_open = 0;
	size_t human = 0, closed = 0;
	char when[64], extra[160] = "";

	for (int c = 0; c < FCA_CA_COUNT; c++)
		for (size_t i = 0; i < p->nsteps; i++) {
			const struct fca_step *s = &p->steps[i];
			if (s->ca != (enum fca_ca_id)c || fca_plan_step_ready(p, i))
				continue;
			if (s->gate == FCA_GATE_WAIT && s->opens_at > 0) {
				if (!next_open || s->opens_at < next_open)
					next_open = s->opens_at;
			} else if (s->gate == FCA_GATE_HUMAN) {
				human++;
				logline(opts, now, "round %" PRId64 ": %s waits for a person: %s", round, s->step_id,
					s->gate_reason);
			} else {
				closed++;
				logline(opts, now, "round %" PRId64 ": %s waits: %s", round, s->step_id,
					s->gate_reason);
			}
			break; /* the first closed gate of the CA holds it */
		}
	if (next_open) {
		fca_time_human(when, sizeof(when), next_open);
		snprintf(extra, sizeof(extra), " (next gate opens %s)", when);
	} else if (human || closed) {
		snprintf(extra, sizeof(extra), " (%zu for a person, %zu with no known date)", human, closed);
	}
	if (p->nsteps == 0)
		logline(opts, now, "round %" PRId64 ": %zu step%s applied, converged", round, res->ndone,
			res->ndone == 1 ? "" : "s");
	else
		logline(opts, now, "round %" PRId64 ": %zu step%s applied, %zu waiting%s", round, res->ndone,
			res->ndone == 1 ? "" : "s", p->nsteps, extra);
}

/*
 * One round. On success *obs_out / *plan_out hold what the metrics report (caller frees);
 * the issued-certificate counts are read for them when apply did not.
 */
static enum fca_round run_round(const struct fca_reconcile_opts *opts, const struct fca_secret *aes_key, int64_t round,
				int64_t now, int *delivery_failed, struct fca_observed **obs_out,
				struct fca_plan **plan_out)
{
	struct fca_apply_opts ao;
	struct fca_apply_result res;
	struct fca_desired *d = NULL;
	struct fca_store *s = NULL;
	struct fca_source src;
	enum fca_round out_res = FCA_ROUND_FAILED;
	int r;

	fca_source_init(&src);
	memset(&ao, 0, sizeof(ao));
	memset(&res, 0, sizeof(res));
	if (!(d = calloc(1, sizeof(*d)))) {
		logline(opts, now, "round %" PRId64 ": failed: out of memory", round);
		goto out;
	}
	if (load_desired(d, &src, opts, round, now) != FCA_OK) {
		out_res = FCA_ROUND_INVALID;
		goto out;
	}
	if ((r = fca_store_open(&s, &opts->cfg->mysql)) != 0) {
		logline(opts, now, "round %" PRId64 ": failed: %s", round, fca_error_message());
		goto out;
	}
	ao.desired = d;
	ao.now = now;
	ao.lock_timeout = opts->lock_timeout;
	ao.source_path = src.path;
	ao.source_commit = src.from_git ? src.commit : NULL;
	ao.source_ref = src.from_git ? src.ref : NULL;
	ao.api = &opts->cfg->api;
	r = fca_engine_apply_and_deliver(s, aes_key, &ao, &res);
	for (size_t i = 0; i < res.ndone; i++)
		logline(opts, now, "round %" PRId64 ": applied %s", round, res.done[i]);
	if (r == FCA_ELOCKED) {
		logline(opts, now, "round %" PRId64 ": skipped: %s", round, fca_error_message());
		out_res = FCA_ROUND_LOCKED;
		goto out;
	}
	if (r != FCA_OK) {
		logline(opts, now, "round %" PRId64 ": failed after %zu step%s (each one whole): %s", round, res.ndone,
			res.ndone == 1 ? "" : "s", fca_error_message());
		goto out;
	}
	/* a delivery failure is the round's, and counted; only a fatal one fails it (as apply's exit code) */
	log_delivery(opts, round, now, &res.delivery);
	*delivery_failed = res.delivery.code != FCA_OK;
	log_summary(opts, round, now, &res);
	log_stuck(opts, round, now, &res.stuck);
	out_res = res.outcome == FCA_OUTCOME_FAILED  ? FCA_ROUND_FAILED
		  : res.outcome == FCA_OUTCOME_GATED ? FCA_ROUND_GATED
						     : FCA_ROUND_CONVERGED;
	if (opts->metrics_path && !res.final_observed->cas[0].issued_scanned) {
		struct fca_plan_opts po = FCA_PLAN_OPTS_INIT;
		po.desired = d;
		po.now = now;
		po.scan_issued = 1;
		if (fca_engine_plan(res.final_observed, res.final_plan, s, aes_key, &po) != 0) {
			logline(opts, now, "round %" PRId64 ": failed to read the metrics: %s", round,
				fca_error_message());
			out_res = FCA_ROUND_FAILED;
			goto out;
		}
	}
	*obs_out = res.final_observed;
	*plan_out = res.final_plan;
	res.final_observed = NULL;
	res.final_plan = NULL;
out:
	fca_error_clear();
	if (res.final_observed)
		fca_observed_dispose(res.final_observed);
	free(res.final_observed);
	free(res.final_plan);
	fca_store_free(s);
	fca_source_dispose(&src);
	free(d);
	return out_res;
}

int fca_engine_reconcile(const struct fca_reconcile_opts *opts, const struct fca_secret *aes_key, enum fca_round *last)
{
	static volatile sig_atomic_t never;
	struct fca_reconcile_opts o = *opts;
	struct metrics m;
	char every[32], jitter[24] = ""; /* " ± " and an int: at most 19 bytes */
	int64_t round = 0;
	int r;

	memset(&m, 0, sizeof(m));
	if (!o.stop)
		o.stop = &never;
	if (!o.reload)
		o.reload = &never;
	*last = FCA_ROUND_FAILED;
	fca_duration_format(every, sizeof(every), o.interval);
	if (o.jitter_pct)
		snprintf(jitter, sizeof(jitter), " ± %d%%", o.jitter_pct);
	if (!o.once)
		logline(&o, fca_now(), "reconcile: %s every %s%s%s%s", o.path, every, jitter,
			o.metrics_path ? ", metrics to " : "", o.metrics_path ? o.metrics_path : "");
	for (;;) {
		struct fca_observed *obs = NULL;
		struct fca_plan *plan = NULL;
		enum fca_round res;
		int delivery_failed = 0;
		int64_t now = fca_now(); /* the round's clock: read once */

		*o.reload = 0;
		round++;
		res = run_round(&o, aes_key, round, now, &delivery_failed, &obs, &plan);
		*last = res;
		if ((res == FCA_ROUND_CONVERGED || res == FCA_ROUND_GATED) && delivery_failed) {
			m.failures++; /* applied, but its activities did not reach Fleet: alert on it */
		} else if (res == FCA_ROUND_CONVERGED || res == FCA_ROUND_GATED) {
			m.has_success = 1;
			m.last_success = now;
			m.failures = 0;
		} else if (res != FCA_ROUND_LOCKED) {
			m.failures++;
		}
		m.o = obs;
		m.p = plan;
		m.rounds = round;
		if (o.metrics_path && write_metrics(o.metrics_path, &m) != FCA_OK) {
			logline(&o, now, "round %" PRId64 ": %s", round, fca_error_message());
			fca_error_clear();
		}
		m.o = NULL;
		m.p = NULL;
		if (obs)
			fca_observed_dispose(obs);
		free(obs);
		free(plan);
		if (o.once)
			break;
		if (!*o.stop) {
			int64_t ms = fca_reconcile_delay_ms(o.interval, m.failures, o.jitter_pct, unit_random());
			if (m.failures > 1) {
				char d[32];
				fca_duration_format(d, sizeof(d), (ms + 500) / 1000);
				logline(&o, now,
					"round %" PRId64 ": %u failures in a row: backing off, next round in %s", round,
					m.failures, d);
			}
			wait_ms(&o, ms);
		}
		if (*o.stop) {
			logline(&o, fca_now(), "signal %d (%s): stopping after round %" PRId64, (int)*o.stop,
				strsignal((int)*o.stop), round);
			break;
		}
		if (*o.reload)
			logline(&o, fca_now(), "SIGHUP: re-reading %s now", o.path);
	}
	r = FCA_OK;
	return r;
}
