#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "fleetca/config.h"
#include "fleetca/change.h"
#include "fleetca/engine.h"
#include "fleetca/file.h"
#include "fleetca/pin.h"
#include "fleetca/plan.h"
#include "fleetca/render.h"
#include "fleetca/source.h"
#include "fleetca/timeutil.h"

enum fmt { FMT_TEXT, FMT_JSON, FMT_MARKDOWN };

/* A plan names the steps to run and the desired state: readable by its owner only. */
static int write_file(const char *path, const char *data)
{
	size_t n = strlen(data);
	char *buf = malloc(n + 2);
	int r;

	if (!buf)
		return fca_error_set(FCA_ENOMEM, "--out: out of memory");
	memcpy(buf, data, n);
	buf[n] = '\n';
	r = fca_file_replace(path, buf, n + 1, 0600, "--out");
	free(buf);
	return r;
}

/* plan --git-base: the file at the merge base, and what the change asks against it. */
static int load_change(struct fca_change **ch, struct fca_desired **bd, struct fca_source *bsrc,
		       const struct cli_source *cs, const char *git_base, const struct fca_desired *head)
{
	int rc;

	if (!(*ch = calloc(1, sizeof(**ch))) || !(*bd = calloc(1, sizeof(**bd))))
		return cli_fail();
	if (fca_source_read_base(bsrc, cs->repo, git_base, cs->ref, cs->file) != 0)
		return cli_fail();
	if (!bsrc->absent && (rc = cli_parse_source(*bd, bsrc)) != FCA_EXIT_OK) {
		fprintf(stderr,
			"fleetca: the file at the merge base with %s (%s) does not parse: the change "
			"cannot be shown\n",
			git_base, bsrc->label);
		return rc;
	}
	fca_change_compute(*ch, bsrc->absent ? NULL : *bd, head, bsrc->commit, git_base);
	return FCA_EXIT_OK;
}

int cli_report_stuck(const struct fca_stuck *st)
{
	for (int i = 0; i < FCA_CA_COUNT; i++)
		if (st->ca[i] != FCA_STUCK_NONE)
			fprintf(stderr, "fleetca: %s%s\n", st->ca[i] == FCA_STUCK_CORRUPT ? "error: " : "", st->why[i]);
	return st->kind == FCA_STUCK_CORRUPT ? FCA_EXIT_ERROR
	       : st->kind == FCA_STUCK_DRIFT ? FCA_EXIT_GATE
					     : FCA_EXIT_OK;
}

/* What plan exits 1 for (fca_plan_errors), on stderr: each CA's error, else a gate not checked. */
static int report_errors(const struct fca_plan *p)
{
	if (p->has_error) {
		for (int i = 0; i < FCA_CA_COUNT; i++)
			if (p->cas[i].error[0])
				fprintf(stderr, "fleetca: error: %s: %s\n", fca_catalog_get((enum fca_ca_id)i)->name,
					p->cas[i].error);
		return FCA_EXIT_ERROR;
	}
	if (fca_plan_uncounted(p) >= 0) {
		/* fail closed: a plan whose gate could not be checked is no plan to apply */
		const struct fca_step *st = &p->steps[fca_plan_uncounted(p)];
		fprintf(stderr, "fleetca: error: %s: its gate cannot be checked: %s\n", st->step_id,
			st->drain_not_counted);
		return FCA_EXIT_ERROR;
	}
	return FCA_EXIT_OK; /* corrupt CAs: cli_report_stuck */
}

static int check_format(const char *cmd, const char *v)
{
	if (strcmp(v, "text") && strcmp(v, "json") && strcmp(v, "markdown"))
		return cli_usage_error(cmd, "--format must be text, json or markdown, not '%s'", v);
	return FCA_EXIT_OK;
}

struct plan_args {
	struct cli_source cs;
	const char *out_path, *git_base;
	enum fmt fmt;
	int off;
};

static int parse_args(struct plan_args *a, int argc, char **argv)
{
	const char *format = NULL;
	const struct cli_opt table[] = {
	    CLI_SOURCE_OPTS(&a->cs,
			    "the desired-state YAML (see examples/ca-rotation.yml); with\n"
			    "--git-repo, its path inside the repository",
			    "read the file from git history in the repository DIR (a clone or\n"
			    "a bare repository) instead of the working tree",
			    "with --git-repo: a branch, tag, origin/main or commit id (default HEAD)"),
	    {0, "git-base", "REF", &a->git_base, NULL,
	     "for pull-request review: also read the file at the merge base of REF\n"
	     "and HEAD (or --git-ref) and show, above the plan, what this change\n"
	     "asks per CA ('apple_scep: gen 1 complete → gen 2 staged (this change)').\n"
	     "Without --git-repo, the repository is the one holding FILE.\n"
	     "JSON output gets an extra \"change\" array",
	     NULL, NULL},
	    {0, "format", "FORMAT", &format, NULL,
	     "text (default, for people), json (schemas/plan.schema.json),\n"
	     "markdown (for a pull-request comment)",
	     NULL, check_format},
	    {0, "out", "PLAN.json", &a->out_path, NULL,
	     "also save the plan with the row checksums and the desired state it\n"
	     "was computed from;\n"
	     "'fleetca apply -f FILE --plan PLAN.json' runs exactly those steps and\n"
	     "refuses if Fleet's rows or the desired state changed since",
	     NULL, NULL},
	    {0, "offline", NULL, NULL, &a->off,
	     "no database: show what the file asks for, per CA; with --git-base,\n"
	     "only what the change asks",
	     NULL, NULL},
	    {0},
	};
	const struct cli_cmd cmd = {
	    "plan",
	    "usage: fleetca plan SOURCE [--git-base REF] [--format text|json|markdown] [--out PLAN.json]\n"
	    "                   [--offline]\n"
	    "SOURCE: -f FILE                                  the file in the working tree ('-': stdin)\n"
	    "        --git-repo DIR [--git-ref REF] -f PATH   the file PATH at REF (default HEAD) in DIR\n\n"
	    "Compares the desired state with the CAs Fleet holds and prints the steps that would\n"
	    "bring Fleet there: for each CA, where it is (gen 1 complete), where the file wants it\n"
	    "(gen 2 active), each step with the rows it writes, and each gate: ready, or waiting with\n"
	    "the reason and the date it opens. Changes nothing.\n\n",
	    table,
	    22,
	    "\nIn a pull request:  fleetca plan --git-base origin/main -f ca-rotation.yml --format markdown\n"
	    "Exit codes: 0 nothing to do, 2 changes pending, 3 stuck (a CA has drifted: a human must\n"
	    "decide), 1 error.\n",
	};
	int rc;

	if ((rc = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return rc;
	a->fmt = !format || !strcmp(format, "text") ? FMT_TEXT : !strcmp(format, "json") ? FMT_JSON : FMT_MARKDOWN;
	if ((rc = cli_source_check("plan", &a->cs)) != FCA_EXIT_OK)
		return rc;
	if (a->git_base && !*a->git_base)
		return cli_usage_error("plan", "--git-base needs a ref, e.g. origin/main");
	if (a->off && a->out_path)
		return cli_usage_error("plan", "--out needs the database: a saved plan records its rows");
	return CLI_CONTINUE;
}

/* The change --git-base shows above a text or markdown plan (JSON carries it inside). */
static int render_change(const struct fca_change *ch, enum fmt fmt, const char *path)
{
	if (!ch || fmt == FMT_JSON)
		return FCA_OK;
	return fmt == FMT_MARKDOWN ? fca_render_change_markdown(stdout, ch, path)
				   : fca_render_change_text(stdout, ch, path, cli_use_color(stdout));
}

static int render_plan(const struct fca_plan *p, const struct fca_observed *o, const struct fca_change *ch,
		       enum fmt fmt)
{
	if (fmt == FMT_JSON)
		return ch ? fca_render_plan_change_json(stdout, p, o, ch) : fca_render_plan_json(stdout, p, o);
	return fmt == FMT_MARKDOWN ? fca_render_plan_markdown(stdout, p, o)
				   : fca_render_plan_text(stdout, p, o, cli_use_color(stdout));
}

static int render_offline(const struct fca_desired *d, const struct fca_change *ch, const struct fca_pin *pin,
			  enum fmt fmt, const char *path)
{
	if (fmt == FMT_JSON)
		return fca_render_plan_offline_json(stdout, d, ch, pin, fca_now());
	if (ch)
		return render_change(ch, fmt, path);
	return fmt == FMT_MARKDOWN ? fca_render_offline_markdown(stdout, d) : fca_render_offline_text(stdout, d);
}

/* plan --out: the plan with its rows' checksums and the desired state it was made from (pin). */
static int save_plan(const char *path, const struct fca_plan *p, const struct fca_observed *o,
		     const struct fca_pin *pin)
{
	char *json = NULL;
	int r = fca_render_plan_saved_string(&json, p, o, pin);

	if (r == FCA_OK)
		r = write_file(path, json);
	free(json);
	return r;
}

/* After planning: the plan (and the change above it), --out, what is wrong; the exit code. */
static int report(const struct fca_plan *p, const struct fca_observed *o, const struct fca_change *ch,
		  const struct fca_pin *pin, const struct plan_args *a, const char *path)
{
	struct fca_stuck stuck;
	int rc;

	fca_plan_stuck(&stuck, p, o);
	/* errors > 0 (the JSON's summary.errors) exactly when plan exits 1; --out only for a plan without */
	if (!fca_plan_errors(p) && a->out_path && save_plan(a->out_path, p, o, pin) != FCA_OK)
		return cli_fail();
	if (render_change(ch, a->fmt, path) != FCA_OK || render_plan(p, o, ch, a->fmt) != FCA_OK)
		return cli_fail();
	if ((rc = report_errors(p)) != FCA_EXIT_OK)
		return rc;
	/* a CA a human must decide about is never "no changes": 3 (stuck) over 2, 1 (corrupt) over both */
	rc = cli_report_stuck(&stuck);
	return rc == FCA_EXIT_OK && p->nsteps > 0 ? FCA_EXIT_CHANGES : rc;
}

/* What a plan run holds, freed at once (plan_run_free). */
struct plan_run {
	struct fca_desired d;
	struct fca_observed o;
	struct fca_plan p;
	struct fca_pin pin;
	struct fca_change *ch;
	struct fca_source src, bsrc;
};

static void plan_run_free(struct plan_run *r)
{
	if (!r)
		return;
	free(r->ch);
	fca_source_dispose(&r->bsrc);
	fca_source_dispose(&r->src);
	fca_observed_dispose(&r->o);
	free(r);
}

int cmd_plan(int argc, char **argv)
{
	struct plan_args a = {.fmt = FMT_TEXT};
	struct plan_run *r = calloc(1, sizeof(*r));
	struct fca_desired *bd = NULL;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = {.server_key_code = 0};
	struct fca_plan_opts po = FCA_PLAN_OPTS_INIT;
	int rc;

	if ((rc = parse_args(&a, argc, argv)) != CLI_CONTINUE || !r) {
		if (!r)
			rc = (fca_error_set(FCA_ENOMEM, "out of memory"), cli_fail());
		goto out;
	}
	fca_source_init(&r->src);
	fca_source_init(&r->bsrc);
	if ((rc = cli_load_source(&r->d, &r->src, &a.cs)) != FCA_EXIT_OK ||
	    (a.git_base && (rc = load_change(&r->ch, &bd, &r->bsrc, &a.cs, a.git_base, &r->d)) != FCA_EXIT_OK))
		goto out;
	if (fca_pin_build(&r->pin, &r->d, r->src.path, r->src.from_git ? r->src.commit : "") !=
	    FCA_OK) { /* apply --plan checks it */
		rc = cli_fail();
		goto out;
	}
	if (a.off) {
		rc = render_offline(&r->d, r->ch, &r->pin, a.fmt, r->src.path) != FCA_OK ? cli_fail() : FCA_EXIT_OK;
		goto out;
	}
	po.desired = &r->d;
	po.now = fca_now();
	po.scan_issued = po.scan_escrows = 1; /* the plan shows every count */
	if (cli_open(&cfg, 30, &key, &s) != 0 || fca_engine_plan(&r->o, &r->p, s, &key, &po) != 0)
		rc = cli_fail();
	else
		rc = report(&r->p, &r->o, r->ch, &r->pin, &a, r->src.path);
out:
	free(bd);
	fca_secret_dispose(&key);
	fca_config_dispose(&cfg);
	fca_store_free(s);
	plan_run_free(r);
	return rc;
}
