/* fleetca validate -f FILE: check a desired-state file; no database, no secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "fleetca/catalog.h"
#include "fleetca/desired.h"
#include "fleetca/yaml.h"

static void print_summary(const struct fca_desired *d, const char *file)
{
	int count = 0;
	const char *sep = ": ";

	for (int i = 0; i < FCA_CA_COUNT; i++)
		count += d->cas[i].present != 0;
	printf("%s: valid (%d CA%s", file, count, count == 1 ? "" : "s");
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_desired_ca *c = &d->cas[i];
		if (!c->present)
			continue;
		printf("%s%s gen %d %s%s", sep, fca_catalog_get((enum fca_ca_id)i)->name, c->generation,
		       fca_stage_name(c->stage), c->suspend ? " suspended" : "");
		sep = ", ";
	}
	printf(")\n");
}

int cmd_validate(int argc, char **argv)
{
	int r = FCA_EXIT_ERROR;
	const char *file = NULL;
	struct fca_desired *d = NULL;
	struct fca_diags *diags = NULL;
	char line[1024];
	size_t total;

	const struct cli_opt table[] = {
	    {'f', "file", "FILE", &file, NULL, "the desired-state file to check (at most 1 MiB)", NULL, NULL},
	    {0, NULL, NULL, NULL, NULL, "this text", "-h, --help", NULL},
	    {0},
	};
	const struct cli_cmd cmd = {
	    "validate",
	    "usage: fleetca validate -f FILE\n"
	    "\n"
	    "Checks a desired-state file (e.g. ca-rotation.yml) without touching the database:\n"
	    "YAML syntax, unknown or duplicate keys, types, ranges and the rules between keys.\n"
	    "Prints one line on stdout and exits 0 when the file is valid; otherwise prints every\n"
	    "problem as FILE:LINE:COLUMN: KEY: MESSAGE on stderr and exits 1.\n"
	    "\n"
	    "options:\n",
	    table,
	    20,
	    "\n"
	    "The file (schemas/ca-rotation.schema.json describes it for editors):\n"
	    "  version: 1                      required\n"
	    "  policy:                         optional; defaults shown\n"
	    "    min_overlap: 7d               > 0: least time a generation stays staged, and the old one trusted\n"
	    "    clock_skew: 72h               margin for device certs near expiry\n"
	    "    drain: wait                   wait | force (force needs reason: \"...\")\n"
	    "    fleet_server_trusts_previous: false   true only when your Fleet server honours *_previous rows\n"
	    "  activities:\n"
	    "    sink: db                      db (Fleet's activity table) | api | none\n"
	    "  cas:                            required (may be {}); a CA not named is left alone\n"
	    "    apple_scep | host_identity | conditional_access | conditional_access_idp:\n"
	    "      generation: 1               required, 1..1000000\n"
	    "      stage: complete             staged | active | complete\n"
	    "      subject: { common_name, organization, organizational_unit, country: US }\n"
	    "      key: rsa-2048               rsa-2048 | rsa-3072 | rsa-4096 (apple_scep: rsa-2048 only)\n"
	    "      validity: 10y               > 0\n"
	    "      renew_before: 0s            less than validity; 0s never renews\n"
	    "      adopt: false                suspend: false\n"
	    "Durations are <number><unit> with unit s, m, h, d, w or y. Aliases (*name) and tags are\n"
	    "not supported.\n",
	};

	if ((r = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return r;
	r = FCA_EXIT_ERROR;
	if (!file || !*file) {
		r = cli_usage_error("validate", "missing -f FILE (the desired-state file to check)");
		goto out;
	}
	d = malloc(sizeof(*d));
	diags = malloc(sizeof(*diags));
	if (!d || !diags) {
		fprintf(stderr, "fleetca: error: out of memory\n");
		goto out;
	}
	switch (fca_yaml_load_desired(d, diags, file)) {
	case FCA_OK:
		print_summary(d, file);
		r = FCA_EXIT_OK;
		break;
	case FCA_EINVALID:
		if (diags->n == 0) { /* the file itself (too large, not a regular file), not its contents */
			r = cli_fail();
			break;
		}
		for (size_t i = 0; i < diags->n; i++) {
			fca_diag_format(line, sizeof(line), file, &diags->v[i]);
			fprintf(stderr, "%s\n", line);
		}
		total = diags->n + diags->dropped;
		if (diags->dropped)
			fprintf(stderr, "%s: invalid: %zu problems (%zu not shown)\n", file, total, diags->dropped);
		else
			fprintf(stderr, "%s: invalid: %zu problem%s\n", file, total, total == 1 ? "" : "s");
		r = FCA_EXIT_ERROR;
		break;
	default:
		r = cli_fail();
		break;
	}
out:
	free(d);
	free(diags);
	return r;
}
