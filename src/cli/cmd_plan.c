#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "fleetca/engine.h"
#include "fleetca/plan.h"
#include "fleetca/render.h"
#include "fleetca/timeutil.h"

enum fmt { FMT_TEXT, FMT_JSON, FMT_MARKDOWN };

static void help(FILE *f)
{
	fprintf(f,
		"usage: fleetca plan -f FILE [--format text|json|markdown] [--out PLAN.json] [--offline]\n\n"
		"Compares the desired state in FILE with the CAs Fleet holds and prints the steps that would\n"
		"bring Fleet there: for each CA, where it is (gen 1 complete), where the file wants it\n"
		"(gen 2 active), each step with the rows it writes, and each gate: ready, or waiting with\n"
		"the reason and the date it opens. Changes nothing.\n\n"
		"  -f, --file FILE     the desired-state YAML (see examples/ca-rotation.yml)\n"
		"  --format FORMAT     text (default, for people), json (schemas/plan.schema.json),\n"
		"                      markdown (for a pull-request comment)\n"
		"  --out PLAN.json     also save the plan with the row checksums it was computed from;\n"
		"                      'fleetca apply -f FILE --plan PLAN.json' runs exactly those steps and\n"
		"                      refuses if Fleet's rows changed since\n"
		"  --offline           no database: show what the file asks for, per CA\n\n"
		"Exit codes: 0 nothing to do, 2 changes pending, 1 error.\n");
}

static int write_file(const char *path, const char *data)
{
	char tmp[1024];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (!(f = fopen(tmp, "w")))
		return fca_error_set(FCA_ERROR, "cannot write %s", path);
	ok = fputs(data, f) >= 0 && fputc('\n', f) != EOF;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return fca_error_set(FCA_ERROR, "cannot write %s", path);
	}
	return FCA_OK;
}

static int print_diags(const struct fca_diags *dg, const char *path)
{
	char line[1024];

	for (size_t i = 0; i < dg->n; i++) {
		fca_diag_format(line, sizeof(line), path, &dg->v[i]);
		fprintf(stderr, "%s\n", line);
	}
	fprintf(stderr, "fleetca: %s: %zu error%s\n", path, dg->n + dg->dropped, dg->n + dg->dropped == 1 ? "" : "s");
	return FCA_EXIT_ERROR;
}

int cli_load_desired(struct fca_desired *d, const char *path)
{
	struct fca_diags *dg = calloc(1, sizeof(*dg));
	int r;

	if (!dg)
		return cli_fail();
	r = fca_yaml_load_desired(d, dg, path);
	if (r != FCA_OK) {
		if (dg->n)
			print_diags(dg, path);
		else
			cli_fail();
		free(dg);
		return FCA_EXIT_ERROR;
	}
	free(dg);
	return FCA_EXIT_OK;
}

static void offline(FILE *f, const struct fca_desired *d, enum fmt fmt)
{
	char v[32], rb[32];

	if (fmt == FMT_MARKDOWN)
		fprintf(f, "### fleetca plan (offline: what `%s` asks for)\n\n| CA | target | key | validity | notes |\n"
			   "|---|---|---|---|---|\n", d->path);
	else
		fprintf(f, "Offline: no database was read; this is what %s asks for.\n\n", d->path);
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_desired_ca *c = &d->cas[i];
		const struct fca_ca_def *def = fca_catalog_get((enum fca_ca_id)i);
		if (!c->present)
			continue;
		fca_duration_format(v, sizeof(v), c->validity);
		fca_duration_format(rb, sizeof(rb), c->renew_before);
		if (fmt == FMT_MARKDOWN)
			fprintf(f, "| `%s` | gen %d %s | RSA-%d | %s | %s%s%s |\n", def->name, c->generation,
				fca_stage_name(c->stage), c->key_bits, v, c->suspend ? "suspended " : "",
				c->adopt ? "adopt " : "", c->renew_before ? "renews before expiry" : "");
		else
			fprintf(f, "  %-24s gen %d %-9s RSA-%d, validity %s%s%s%s%s\n", def->name, c->generation,
				fca_stage_name(c->stage), c->key_bits, v, c->renew_before ? ", renew_before " : "",
				c->renew_before ? rb : "", c->suspend ? ", suspended" : "", c->adopt ? ", adopt" : "");
	}
}

int cli_report_stuck(const struct fca_plan *p, const struct fca_observed *o)
{
	int rc = FCA_EXIT_OK;

	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const char *name = fca_catalog_get((enum fca_ca_id)i)->name;
		if (!p->cas[i].considered || p->cas[i].suspended)
			continue;
		if (o->cas[i].stage == FCA_STAGE_CORRUPT) {
			fprintf(stderr, "fleetca: error: %s is corrupt, nothing was planned for it: %s\n", name,
				o->cas[i].problem);
			rc = FCA_EXIT_ERROR;
		} else if (o->cas[i].drift && p->cas[i].warnings & FCA_WARN_DRIFT) {
			int adopting = 0;
			for (size_t s = 0; s < p->nsteps; s++)
				adopting |= p->steps[s].ca == (enum fca_ca_id)i && p->steps[s].kind == FCA_STEP_ADOPT;
			if (adopting)
				continue;
			fprintf(stderr, "fleetca: %s has drifted (%s): nothing is done to it until a person decides\n",
				name, o->cas[i].drift_detail);
			if (rc == FCA_EXIT_OK)
				rc = FCA_EXIT_GATE;
		}
	}
	return rc;
}

int cmd_plan(int argc, char **argv)
{
	struct fca_desired *d = NULL;
	struct fca_observed *o = NULL;
	struct fca_plan *p = NULL;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_observe_opts opts = FCA_OBSERVE_OPTS_INIT;
	const char *file = NULL, *out_path = NULL;
	enum fmt fmt = FMT_TEXT;
	int off = 0, rc = FCA_EXIT_ERROR;
	char *json = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return FCA_EXIT_OK;
		} else if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "--file")) && i + 1 < argc) {
			file = argv[++i];
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			const char *v = argv[++i];
			if (!strcmp(v, "text"))
				fmt = FMT_TEXT;
			else if (!strcmp(v, "json"))
				fmt = FMT_JSON;
			else if (!strcmp(v, "markdown"))
				fmt = FMT_MARKDOWN;
			else
				return cli_usage_error("plan", "--format must be text, json or markdown, not '%s'", v);
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out_path = argv[++i];
		} else if (!strcmp(argv[i], "--offline")) {
			off = 1;
		} else {
			return cli_usage_error("plan", "unknown option '%s'", argv[i]);
		}
	}
	if (!file)
		return cli_usage_error("plan", "which desired-state file? give -f FILE");
	if (off && out_path)
		return cli_usage_error("plan", "--out needs the database: a saved plan records its rows");
	if (!(d = calloc(1, sizeof(*d))) || !(o = calloc(1, sizeof(*o))) || !(p = calloc(1, sizeof(*p)))) {
		rc = cli_fail();
		goto out;
	}
	if ((rc = cli_load_desired(d, file)) != FCA_EXIT_OK)
		goto out;
	if (off) {
		offline(stdout, d, fmt);
		rc = FCA_EXIT_OK;
		goto out;
	}
	opts.now = fca_now();
	opts.clock_skew = d->policy.clock_skew;
	if (fca_engine_load_server_key(&key) != 0 || fca_store_open_env(&s) != 0 ||
	    fca_engine_observe(o, s, &key, &opts) != 0 || fca_plan_build(p, d, o, opts.now) != 0) {
		rc = cli_fail();
		goto out;
	}
	if ((fmt == FMT_JSON && fca_render_plan_json(stdout, p, o) != 0) ||
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
	if (out_path && (fca_render_plan_json_string(&json, p, o) != 0 || write_file(out_path, json) != 0)) {
		rc = cli_fail();
		goto out;
	}
	rc = p->nsteps > 0 ? FCA_EXIT_CHANGES : FCA_EXIT_OK;
	if (cli_report_stuck(p, o) == FCA_EXIT_ERROR)
		rc = FCA_EXIT_ERROR;
out:
	free(json);
	fca_secret_dispose(&key);
	fca_store_free(s);
	if (o)
		fca_observed_dispose(o);
	free(o);
	free(p);
	free(d);
	return rc;
}
