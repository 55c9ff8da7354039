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

struct apply_args {
	struct cli_source cs;
	const char *plan_path;
	int64_t lock_timeout;
	int json;
};

static int parse_args(struct apply_args *a, int argc, char **argv)
{
	const char *lock_arg = NULL, *format = NULL;
	const struct cli_opt table[] = {
	    CLI_SOURCE_OPTS(&a->cs, "the desired-state YAML; with --git-repo, its path in the repository",
			    "read the file from git history in DIR (a clone or a bare repository);\n"
			    "each activity's details.source and the state document then record\n"
			    "the commit id, the ref and the path",
			    "with --git-repo: a branch, tag, origin/main or commit id (default HEAD)"),
	    {0, "plan", "PLAN.json", &a->plan_path, NULL,
	     "run only the steps of a plan saved by 'fleetca plan --out', and\n"
	     "refuse if Fleet's rows changed since it was made, or if the\n"
	     "desired state (the file, its commit, any setting) is not the\n"
	     "one it was made from",
	     NULL, NULL},
	    {0, "lock-timeout", "DUR", &lock_arg, NULL,
	     "wait this long for another run's lock (default 30s), then exit 4", NULL, cli_check_lock_timeout},
	    {0, "format", "text|json", &format, NULL,
	     "how to report what was done, what waits and what delivery did\n"
	     "(json: schemas/apply.schema.json)",
	     NULL, cli_check_format_json},
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
	int rc;

	a->lock_timeout = 30;
	if ((rc = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return rc;
	if (lock_arg && (rc = cli_opt_lock_timeout("apply", lock_arg, &a->lock_timeout)) != FCA_EXIT_OK)
		return rc;
	if (format && (rc = cli_opt_format_json("apply", format, &a->json)) != FCA_EXIT_OK)
		return rc;
	if ((rc = cli_source_check("apply", &a->cs)) != FCA_EXIT_OK)
		return rc;
	return CLI_CONTINUE;
}

/* A saved plan (--plan): only its steps run, and only with the desired state it was made from. */
struct saved_plan {
	struct fca_observed basis;
	char steps[FCA_PLAN_MAX_STEPS][FCA_STEP_ID_MAX];
	size_t nsteps;
	struct fca_pin planned, pin;
};

static int load_saved_plan(struct saved_plan *sp, const char *plan_path, const struct fca_desired *d,
			   const struct fca_source *src, struct fca_apply_opts *opts)
{
	char why[2048];

	if (fca_planfile_load(plan_path, &sp->basis, sp->steps, FCA_PLAN_MAX_STEPS, &sp->nsteps, &sp->planned) != 0)
		return cli_fail();
	/* pinned: no row is read yet */
	if (fca_pin_build(&sp->pin, d, src->path, src->from_git ? src->commit : "") != FCA_OK)
		return cli_fail();
	if (fca_pin_compare(&sp->planned, &sp->pin, why, sizeof(why)) > 0) {
		fprintf(stderr,
			"fleetca: error: %s was made from another desired state than %s: %s; nothing was "
			"changed: make and review a new plan with 'fleetca plan --out'\n",
			plan_path, src->label, why);
		return FCA_EXIT_ERROR;
	}
	opts->allowed_steps = (const char(*)[FCA_STEP_ID_MAX])sp->steps;
	opts->nallowed = sp->nsteps;
	opts->use_allowed = 1;
	opts->saved_basis = &sp->basis;
	return FCA_EXIT_OK;
}

/* The text report: converged, or what remains. */
static void print_text(const struct fca_apply_result *res, const char *file)
{
	const char *s = res->ndone == 1 ? "" : "s";

	if (res->final_plan->nsteps == 0 && res->stuck.kind == FCA_STUCK_NONE && fca_plan_settled(res->final_plan)) {
		if (res->ndone == 0)
			printf("Nothing to do: Fleet's CAs match %s.\n", file);
		else
			printf("Done: %zu step%s applied; Fleet's CAs match %s.\n", res->ndone, s, file);
		return;
	}
	printf("\n%zu step%s applied. What remains:\n\n", res->ndone, s);
	if (fca_render_plan_text(stdout, res->final_plan, res->final_observed, cli_use_color(stdout)) != 0)
		fca_error_clear();
}

/* What delivering the activities did: a failure undoes no step, the entries stay in the outbox. */
static void print_delivery(const struct fca_delivery *dv, int json)
{
	if (!dv->attempted)
		return;
	if (dv->code == FCA_OK)
		fprintf(json ? stderr : stdout, "delivered %zu activit%s\n", dv->delivered,
			dv->delivered == 1 ? "y" : "ies");
	else
		fprintf(stderr, "fleetca: %s: %zu activit%s delivered, %zu pending in the outbox: %s\n",
			dv->fatal ? "error" : "warning", dv->delivered, dv->delivered == 1 ? "y" : "ies", dv->pending,
			dv->error);
}

/* After the run: the CAs that cannot move, the report, what delivery did; the exit code (res->outcome). */
static int report(const struct fca_apply_result *res, const struct apply_args *a, const struct fca_desired *d,
		  const char *file)
{
	(void)cli_report_stuck(&res->stuck); /* its exit code is in res->outcome */
	if (!a->json)
		print_text(res, file);
	else if (fca_render_apply_json(stdout, (const char(*)[FCA_STEP_ID_MAX])res->done, res->ndone, res->final_plan,
				       d->sink, &res->delivery) != 0)
		fca_error_clear(); /* stdout closed: the exit code still tells */
	if (res->unplanned)
		fprintf(stderr,
			"fleetca: %zu ready step%s not in %s: make and review a new plan with 'fleetca plan --out'\n",
			res->unplanned, res->unplanned == 1 ? " is" : "s are", a->plan_path);
	print_delivery(&res->delivery, a->json);
	return res->outcome == FCA_OUTCOME_FAILED  ? FCA_EXIT_ERROR
	       : res->outcome == FCA_OUTCOME_GATED ? FCA_EXIT_GATE
						   : FCA_EXIT_OK;
}

/* A run that did not finish: another holds the lock (4), or an error (1; every step done is whole). */
static int report_failure(int r, const struct fca_apply_result *res)
{
	if (r == FCA_ELOCKED) {
		fprintf(stderr, "fleetca: error: %s\n", fca_error_message());
		return FCA_EXIT_LOCKED;
	}
	if (res->ndone)
		fprintf(stderr, "fleetca: %zu step%s completed before the error (each one whole)\n", res->ndone,
			res->ndone == 1 ? "" : "s");
	return cli_fail();
}

static void apply_result_free(struct fca_apply_result *res)
{
	if (!res)
		return;
	if (res->final_observed)
		fca_observed_dispose(res->final_observed);
	free(res->final_observed);
	free(res->final_plan);
	free(res);
}

int cmd_apply(int argc, char **argv)
{
	struct apply_args a = {.json = 0};
	struct fca_apply_opts opts = {.desired = NULL};
	struct fca_apply_result *res = calloc(1, sizeof(*res));
	struct fca_desired *d = calloc(1, sizeof(*d));
	struct saved_plan *sp = NULL;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = {.server_key_code = 0};
	struct fca_source src;
	int rc, r;

	fca_source_init(&src);
	if ((rc = parse_args(&a, argc, argv)) != CLI_CONTINUE)
		goto out;
	rc = FCA_EXIT_ERROR;
	if (!res || !d || (a.plan_path && !(sp = calloc(1, sizeof(*sp))))) {
		fca_error_set(FCA_ENOMEM, "out of memory");
		rc = cli_fail();
		goto out;
	}
	rc = cli_load_source(d, &src, &a.cs);
	fca_source_dispose(&src); /* parsed: only its commit, ref, path and label are kept */
	if (rc != FCA_EXIT_OK ||
	    (a.plan_path && (rc = load_saved_plan(sp, a.plan_path, d, &src, &opts)) != FCA_EXIT_OK))
		goto out;
	opts.desired = d;
	opts.now = fca_now();
	opts.lock_timeout = (int)a.lock_timeout;
	opts.source_path = src.path;
	opts.source_commit = src.from_git ? src.commit : NULL;
	opts.source_ref = src.from_git ? src.ref : NULL;
	opts.progress = a.json ? NULL : stdout;
	opts.api = &cfg.api;
	if (cli_open(&cfg, a.lock_timeout, &key, &s) != 0)
		rc = cli_fail();
	else if ((r = fca_engine_apply_and_deliver(s, &key, &opts, res)) != FCA_OK)
		rc = report_failure(r, res);
	else
		rc = report(res, &a, d, src.label);
out:
	fca_secret_dispose(&key);
	fca_config_dispose(&cfg);
	fca_store_free(s);
	apply_result_free(res);
	free(sp);
	free(d);
	return rc;
}
