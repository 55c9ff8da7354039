#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "fleetca/config.h"
#include "fleetca/executor.h"
#include "fleetca/engine.h"
#include "fleetca/outbox.h"
#include "fleetca/pin.h"
#include "fleetca/planfile.h"
#include "fleetca/render.h"
#include "fleetca/render_apply.h"
#include "fleetca/source.h"
#include "fleetca/timeutil.h"

int cmd_apply(int argc, char **argv)
{
	struct fca_apply_opts opts;
	struct fca_apply_result res;
	struct fca_desired *d = NULL;
	struct fca_observed *saved = NULL;
	struct fca_pin *planned = NULL, *pin = NULL;
	char why[2048];
	char(*steps)[FCA_STEP_ID_MAX] = NULL;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = {.server_key_code = 0};
	struct cli_source cs = {0};
	struct fca_source src;
	const char *file = NULL, *plan_path = NULL;
	int64_t lock_timeout = 30;
	int json = 0, rc = FCA_EXIT_ERROR, r, stuck;

	const char *lock_arg = NULL, *format = NULL;
	const struct cli_opt table[] = {
	    CLI_SOURCE_OPTS(&cs, "the desired-state YAML; with --git-repo, its path in the repository",
			    "read the file from git history in DIR (a clone or a bare repository);\n"
			    "each activity's details.source and the state document then record\n"
			    "the commit id, the ref and the path",
			    "with --git-repo: a branch, tag, origin/main or commit id (default HEAD)"),
	    {0, "plan", "PLAN.json", &plan_path, NULL,
	     "run only the steps of a plan saved by 'fleetca plan --out', and\n"
	     "refuse if Fleet's rows changed since it was made, or if the\n"
	     "desired state (the file, its commit, any setting) is not the\n"
	     "one it was made from",
	     NULL, NULL},
	    {0, "lock-timeout", "DUR", &lock_arg, NULL,
	     "wait this long for another run's lock (default 30s), then exit 4", NULL, cli_check_lock_timeout},
	    {0, "format", "text|json", &format, NULL, "how to report what was done and what waits", NULL,
	     cli_check_format_json},
	    {0},
	};
	const struct cli_cmd cmd = {
	    "apply",
	    "usage: fleetca apply SOURCE [--plan PLAN.json] [--lock-timeout 30s] [--format text|json]\n"
	    "SOURCE: -f FILE                                  the file in the working tree ('-': stdin)\n"
	    "        --git-repo DIR [--git-ref REF] -f PATH   the file PATH at REF (default HEAD) in DIR\n\n"
	    "Brings Fleet's CAs toward the desired state in the file, one step at a time. Each step is one\n"
	    "database transaction holding its rows, fleetca's state document and the step's activity, so\n"
	    "a failure never leaves half a step, and running apply again always converges. Each CA stops\n"
	    "at its first closed gate (overlap, drain, a human's statement); the other CAs go on.\n\n",
	    table,
	    25,
	    "\nNeeds write access to mdm_config_assets and FLEET_SERVER_PRIVATE_KEY.\n"
	    "Exit codes: 0 desired state reached, 3 stopped at a closed gate (run again later),\n"
	    "            4 another run holds the lock, 1 error (nothing half-done).\n",
	};

	memset(&opts, 0, sizeof(opts));
	memset(&res, 0, sizeof(res));
	if ((rc = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return rc;
	rc = FCA_EXIT_ERROR;
	if (lock_arg && (rc = cli_opt_lock_timeout("apply", lock_arg, &lock_timeout)) != FCA_EXIT_OK)
		return rc;
	if (format && (rc = cli_opt_format_json("apply", format, &json)) != FCA_EXIT_OK)
		return rc;
	if ((rc = cli_source_check("apply", &cs)) != FCA_EXIT_OK)
		return rc;
	if (!(d = calloc(1, sizeof(*d))))
		return cli_fail();
	fca_source_init(&src);
	rc = cli_load_source(d, &src, &cs);
	fca_source_dispose(&src); /* parsed: only its commit, ref, path and label are kept */
	if (rc != FCA_EXIT_OK)
		goto out;
	file = src.label;
	rc = FCA_EXIT_ERROR;
	if (plan_path) {
		size_t n = 0;
		if (!(saved = calloc(1, sizeof(*saved))) || !(steps = calloc(FCA_PLAN_MAX_STEPS, sizeof(*steps)))) {
			rc = cli_fail();
			goto out;
		}
		if (!(planned = calloc(1, sizeof(*planned))) || !(pin = calloc(1, sizeof(*pin))) ||
		    fca_planfile_load(plan_path, saved, steps, FCA_PLAN_MAX_STEPS, &n, planned) != 0) {
			rc = cli_fail();
			goto out;
		}
		/* pinned: the plan runs only with the desired state it was made from (no row is read yet) */
		fca_pin_build(pin, d, src.path, src.from_git ? src.commit : "");
		if (fca_pin_compare(planned, pin, why, sizeof(why)) > 0) {
			fprintf(stderr,
				"fleetca: error: %s was made from another desired state than %s: %s; nothing was "
				"changed: make and review a new plan with 'fleetca plan --out'\n",
				plan_path, file, why);
			rc = FCA_EXIT_ERROR;
			goto out;
		}
		opts.allowed_steps = (const char(*)[FCA_STEP_ID_MAX])steps;
		opts.nallowed = n;
		opts.use_allowed = 1;
		opts.saved_basis = saved;
	}
	opts.desired = d;
	opts.now = fca_now();
	opts.lock_timeout = (int)lock_timeout;
	opts.source_path = src.path;
	opts.source_commit = src.from_git ? src.commit : NULL;
	opts.source_ref = src.from_git ? src.ref : NULL;
	opts.progress = json ? NULL : stdout;
	if (cli_open(&cfg, lock_timeout, &key, &s) != 0) {
		rc = cli_fail();
		goto out;
	}
	r = fca_engine_apply(s, &key, &opts, &res);
	if (r == FCA_ELOCKED) {
		fprintf(stderr, "fleetca: error: %s\n", fca_error_message());
		rc = FCA_EXIT_LOCKED;
		goto out;
	}
	if (r != FCA_OK) {
		if (res.ndone)
			fprintf(stderr, "fleetca: %zu step%s completed before the error (each one whole)\n", res.ndone,
				res.ndone == 1 ? "" : "s");
		rc = cli_fail();
		goto out;
	}
	stuck = cli_report_stuck(res.final_plan, res.final_observed);
	if (json) {
		if (fca_render_apply_json(stdout, (const char(*)[FCA_STEP_ID_MAX])res.done, res.ndone, res.final_plan,
					  res.final_observed) != 0)
			fca_error_clear(); /* stdout closed: the exit code still tells */
	} else if (res.final_plan->nsteps == 0 && stuck == FCA_EXIT_OK && fca_plan_settled(res.final_plan)) {
		if (res.ndone == 0)
			printf("Nothing to do: Fleet's CAs match %s.\n", file);
		else
			printf("Done: %zu step%s applied; Fleet's CAs match %s.\n", res.ndone,
			       res.ndone == 1 ? "" : "s", file);
	} else {
		printf("\n%zu step%s applied. What remains:\n\n", res.ndone, res.ndone == 1 ? "" : "s");
		if (fca_render_plan_text(stdout, res.final_plan, res.final_observed, cli_use_color(stdout)) != 0)
			fca_error_clear();
	}
	rc = res.gated ? FCA_EXIT_GATE : FCA_EXIT_OK;
	if (res.unplanned)
		fprintf(stderr,
			"fleetca: %zu ready step%s not in %s: make and review a new plan with 'fleetca plan --out'\n",
			res.unplanned, res.unplanned == 1 ? " is" : "s are", plan_path);
	if (stuck != FCA_EXIT_OK && (stuck == FCA_EXIT_ERROR || rc == FCA_EXIT_OK))
		rc = stuck;
	/* Deliver the activities committed with the steps. A failure undoes no step: it
	 * leaves them in the outbox; only one that retrying cannot fix (401, other 4xx, TLS) exits 1. */
	if (res.final_observed->state.noutbox > 0 && d->sink != FCA_SINK_NONE) {
		struct fca_outbox_opts oo = FCA_OUTBOX_OPTS_INIT;
		struct fca_outbox_report rep;
		oo.sink = d->sink;
		oo.lock_timeout = opts.lock_timeout;
		oo.now = opts.now;
		oo.known_pending = res.final_observed->state.noutbox;
		oo.api = &cfg.api;
		r = fca_engine_deliver_outbox(s, &key, &oo, &rep);
		if (r == FCA_OK)
			fprintf(json ? stderr : stdout, "delivered %zu activit%s\n", rep.delivered,
				rep.delivered == 1 ? "y" : "ies");
		else
			fprintf(stderr, "fleetca: %s: %zu activit%s delivered, %zu pending in the outbox: %s\n",
				fca_outbox_failure_is_fatal(r) ? "error" : "warning",
				rep.delivered, rep.delivered == 1 ? "y" : "ies", rep.pending, rep.last_error);
		if (fca_outbox_failure_is_fatal(r))
			rc = FCA_EXIT_ERROR;
	}
out:
	if (res.final_observed)
		fca_observed_dispose(res.final_observed);
	free(res.final_observed);
	free(res.final_plan);
	fca_secret_dispose(&key);
	fca_config_dispose(&cfg);
	fca_store_free(s);
	free(steps);
	free(saved);
	free(planned);
	free(pin);
	free(d);
	return rc;
}
