/*
 * SOURCE, shared by plan and apply: `-f FILE` from the working tree, or
 * `--git-repo DIR [--git-ref REF] -f PATH` from git history. Reads the file and parses it, with
 * every problem printed as <file>:<line>:<column> (for git: <ref>:<path>:<line>:<column>).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "fleetca/desired.h"
#include "fleetca/source.h"
#include "fleetca/yaml.h"

int cli_source_check(const char *cmd, const struct cli_source *cs)
{
	if (!cs->file)
		return cli_usage_error(
		    cmd, "which desired-state file? give -f FILE, or --git-repo DIR [--git-ref REF] -f PATH");
	if (cs->ref && !cs->repo)
		return cli_usage_error(cmd, "--git-ref needs --git-repo DIR: the repository to read '%s' from",
				       cs->ref);
	if ((cs->repo && !*cs->repo) || (cs->ref && !*cs->ref) || !*cs->file)
		return cli_usage_error(cmd, "-f, --git-repo and --git-ref need a value");
	return FCA_EXIT_OK;
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

int cli_parse_source(struct fca_desired *d, const struct fca_source *src)
{
	struct fca_diags *dg = malloc(sizeof(*dg)); /* 33 KB the parser does not zero: it sets the counts */
	int r;

	if (!dg)
		return cli_fail();
	r = fca_yaml_parse_desired(d, dg, src->label, src->data, src->len);
	if (r != FCA_OK) {
		if (dg->n)
			print_diags(dg, src->label);
		else
			cli_fail();
		free(dg);
		return FCA_EXIT_ERROR;
	}
	free(dg);
	return FCA_EXIT_OK;
}

int cli_load_source(struct fca_desired *d, struct fca_source *src, const struct cli_source *cs)
{
	int r;

	if (cs->repo)
		r = fca_source_read_git(src, cs->repo, cs->ref, cs->file);
	else
		r = fca_source_read_file(src, cs->file);
	if (r != FCA_OK)
		return cli_fail();
	return cli_parse_source(d, src);
}

int cli_load_desired(struct fca_desired *d, const char *path)
{
	struct fca_source src;
	struct cli_source cs = {.file = path};
	int rc;

	fca_source_init(&src);
	rc = cli_load_source(d, &src, &cs);
	fca_source_dispose(&src);
	return rc;
}
