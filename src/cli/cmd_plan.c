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

static void offline(FILE *f, const struct fca_desired *d, enum fmt fmt)
{
	char v[32], rb[32], key[32];

	if (fmt == FMT_MARKDOWN)
		fprintf(f,
			"### fleetca plan (offline: what `%s` asks for)\n\n| CA | target | key | validity | notes |\n"
			"|---|---|---|---|---|\n",
			d->path);
	else
		fprintf(f, "Offline: no database was read; this is what %s asks for.\n\n", d->path);
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_desired_ca *c = &d->cas[i];
		const struct fca_ca_def *def = fca_catalog_get((enum fca_ca_id)i);
		if (!c->present)
			continue;
		fca_duration_format(v, sizeof(v), c->validity);
		fca_duration_format(rb, sizeof(rb), c->renew_before);
		if (c->key_keep)
			snprintf(key, sizeof(key), "the signing key (keep)");
		else
			snprintf(key, sizeof(key), "RSA-%d", c->key_bits);
		if (fmt == FMT_MARKDOWN)
			fprintf(f, "| `%s` | gen %d %s | %s | %s | %s%s%s |\n", def->name, c->generation,
				fca_stage_name(c->stage), key, v, c->suspend ? "suspended " : "",
				c->adopt ? "adopt " : "", c->renew_before ? "renews before expiry" : "");
		else
			fprintf(f, "  %-24s gen %d %-9s %s, validity %s%s%s%s%s\n", def->name, c->generation,
				fca_stage_name(c->stage), key, v, c->renew_before ? ", renew_before " : "",
				c->renew_before ? rb : "", c->suspend ? ", suspended" : "", c->adopt ? ", adopt" : "");
	}
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

int cli_report_stuck(const struct fca_plan *p, const struct fca_observed *o)
{
	int rc = FCA_EXIT_OK;

	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const char *name = fca_catalog_get((enum fca_ca_id)i)->name;
		if (!fca_plan_ca_stuck(p, (enum fca_ca_id)i))
			continue;
		if (o->cas[i].stage == FCA_STAGE_CORRUPT) {
			fprintf(stderr, "fleetca: error: %s is corrupt, nothing was planned for it: %s\n", name,
				o->cas[i].problem);
			rc = FCA_EXIT_ERROR;
			continue;
		}
		/* managed drift names the row; foreign rows on an unmanaged CA are in the plan's note */
		fprintf(stderr, "fleetca: %s has drifted (%s): nothing is done to it until a person decides\n", name,
			o->cas[i].drift ? o->cas[i].drift_detail : p->cas[i].note);
		if (rc == FCA_EXIT_OK)
			rc = FCA_EXIT_GATE;
	}
	return rc;
}

static int check_format(const char *cmd, const char *v)
{
	if (strcmp(v, "text") && strcmp(v, "json") && strcmp(v, "markdown"))
		return cli_usage_error(cmd, "--format must be text, json or markdown, not '%s'", v);
	return FCA_EXIT_OK;
}

int cmd_plan(int argc, char **argv)
{
	struct fca_desired *d = NULL;
	struct fca_observed *o = NULL;
	struct fca_plan *p = NULL;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = { .server_key_code = 0 };
	struct fca_observe_opts opts = FCA_OBSERVE_OPTS_INIT;
	struct cli_source cs = {0};
	struct fca_source src, bsrc;
	struct fca_desired *bd = NULL;
	struct fca_change *ch = NULL;
	const char *out_path = NULL, *git_base = NULL;
	enum fmt fmt = FMT_TEXT;
	int off = 0, rc = FCA_EXIT_ERROR, r;
	char *json = NULL;
	struct fca_pin *pin = NULL;

	const char *format = NULL;
	const struct cli_opt table[] = {
	    CLI_SOURCE_OPTS(&cs,
			    "the desired-state YAML (see examples/ca-rotation.yml); with\n"
			    "--git-repo, its path inside the repository",
			    "read the file from git history in the repository DIR (a clone or\n"
			    "a bare repository) instead of the working tree",
			    "with --git-repo: a branch, tag, origin/main or commit id (default HEAD)"),
	    {0, "git-base", "REF", &git_base, NULL,
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
	    {0, "out", "PLAN.json", &out_path, NULL,
	     "also save the plan with the row checksums and the desired state it\n"
	     "was computed from;\n"
	     "'fleetca apply -f FILE --plan PLAN.json' runs exactly those steps and\n"
	     "refuses if Fleet's rows or the desired state changed since",
	     NULL, NULL},
	    {0, "offline", NULL, NULL, &off,
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

	fca_source_init(&src);
	fca_source_init(&bsrc);
	if ((rc = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return rc;
	rc = FCA_EXIT_ERROR;
	if (format && !strcmp(format, "json"))
		fmt = FMT_JSON;
	else if (format && !strcmp(format, "markdown"))
		fmt = FMT_MARKDOWN;
	else if (format && strcmp(format, "text"))
		return cli_usage_error("plan", "--format must be text, json or markdown, not '%s'", format);
	if ((rc = cli_source_check("plan", &cs)) != FCA_EXIT_OK)
		return rc;
	if (git_base && !*git_base)
		return cli_usage_error("plan", "--git-base needs a ref, e.g. origin/main");
	if (off && out_path)
		return cli_usage_error("plan", "--out needs the database: a saved plan records its rows");
	if (!(d = calloc(1, sizeof(*d))) || !(o = calloc(1, sizeof(*o))) || !(p = calloc(1, sizeof(*p)))) {
		rc = cli_fail();
		goto out;
	}
	if ((rc = cli_load_source(d, &src, &cs)) != FCA_EXIT_OK)
		goto out;
	if (git_base && (rc = load_change(&ch, &bd, &bsrc, &cs, git_base, d)) != FCA_EXIT_OK)
		goto out;
	if (off) {
		rc = FCA_EXIT_OK;
		if (!ch)
			offline(stdout, d, fmt);
		else if ((fmt == FMT_JSON && fca_render_change_json(stdout, ch) != 0) ||
			 (fmt == FMT_MARKDOWN && fca_render_change_markdown(stdout, ch, src.path) != 0) ||
			 (fmt == FMT_TEXT && fca_render_change_text(stdout, ch, src.path, cli_use_color(stdout)) != 0))
			rc = cli_fail();
		goto out;
	}
	opts.now = fca_now();
	opts.clock_skew = d->policy.clock_skew;
	if (cli_open(&cfg, 30, &key, &s) != 0 ||
	    fca_engine_observe(o, s, &key, &opts) != 0 || fca_plan_build(p, d, o, opts.now) != 0) {
		rc = cli_fail();
		goto out;
	}
	/* An Apple step that changes the first certificate: count what it would break, plan again. */
	opts.scan_devices = opts.scan_escrows_today = 1;
	if (fca_plan_wants_impact(p) &&
	    (fca_engine_observe_impact(o, s, &key, &opts) != 0 || fca_plan_build(p, d, o, opts.now) != 0)) {
		rc = cli_fail();
		goto out;
	}
	if (ch && ((fmt == FMT_MARKDOWN && fca_render_change_markdown(stdout, ch, src.path) != 0) ||
		   (fmt == FMT_TEXT && fca_render_change_text(stdout, ch, src.path, cli_use_color(stdout)) != 0))) {
		rc = cli_fail();
		goto out;
	}
	if ((fmt == FMT_JSON && !ch && fca_render_plan_json(stdout, p, o) != 0) ||
	    (fmt == FMT_JSON && ch && fca_render_plan_change_json(stdout, p, o, ch) != 0) ||
	    (fmt == FMT_MARKDOWN && fca_render_plan_markdown(stdout, p, o) != 0) ||
	    (fmt == FMT_TEXT && fca_render_plan_text(stdout, p, o, cli_use_color(stdout)) != 0)) {
		rc = cli_fail();
		goto out;
	}
	if (p->has_error) {
		for (int i = 0; i < FCA_CA_COUNT; i++)
			if (p->cas[i].error[0])
				fprintf(stderr, "fleetca: error: %s: %s\n", fca_catalog_get((enum fca_ca_id)i)->name,
					p->cas[i].error);
		rc = FCA_EXIT_ERROR;
		goto out;
	}
	if (fca_plan_uncounted(p) >= 0) {
		/* fail closed: a plan whose gate could not be checked is no plan to apply */
		const struct fca_step *st = &p->steps[fca_plan_uncounted(p)];
		fprintf(stderr, "fleetca: error: %s: its gate cannot be checked: %s\n", st->step_id,
			st->drain_not_counted);
		rc = FCA_EXIT_ERROR;
		goto out;
	}
	if (out_path) { /* pinned: apply --plan refuses another desired state */
		if (!(pin = calloc(1, sizeof(*pin)))) {
			rc = cli_fail();
			goto out;
		}
		fca_pin_build(pin, d, src.path, src.from_git ? src.commit : "");
	}
	if (out_path && (fca_render_plan_saved_string(&json, p, o, pin) != 0 || write_file(out_path, json) != 0)) {
		rc = cli_fail();
		goto out;
	}
	rc = p->nsteps > 0 ? FCA_EXIT_CHANGES : FCA_EXIT_OK;
	/* a CA a human must decide about is never "no changes": 3 (stuck) over 2, 1 over both */
	r = cli_report_stuck(p, o);
	if (r != FCA_EXIT_OK)
		rc = r;
out:
	free(pin);
	free(json);
	free(ch);
	free(bd);
	fca_source_dispose(&bsrc);
	fca_source_dispose(&src);
	fca_secret_dispose(&key);
	fca_config_dispose(&cfg);
	fca_store_free(s);
	if (o)
		fca_observed_dispose(o);
	free(o);
	free(p);
	free(d);
	return rc;
}
