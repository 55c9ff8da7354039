#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "fleetca/config.h"
#include "fleetca/engine.h"
#include "fleetca/plan.h"
#include "fleetca/render_status.h"
#include "fleetca/timeutil.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: fleetca status [--format text|json] [--check-keys] [--no-scan]\n\n"
		"Shows the CAs Fleet holds today, read from mdm_config_assets: for each of apple_scep,\n"
		"host_identity, conditional_access and conditional_access_idp, its stage (complete, staged,\n"
		"active, corrupt), and for each live generation its role (signing, next, previous), subject,\n"
		"SHA-256 fingerprint, expiry, key, defects (e.g. empty_country, Fleet #38699) and how many\n"
		"live certificates it has issued. Changes nothing.\n\n"
		"  --format text|json  text for people (default), JSON for machines (schemas/status.schema.json)\n"
		"  --check-keys        also decrypt each private key and check it matches its certificate\n"
		"  --no-scan           skip counting issued certificates and FileVault escrows (faster)\n\n"
		"Needs FLEET_MYSQL_* and FLEET_SERVER_PRIVATE_KEY (see 'fleetca --help').\n"
		"Exit codes: 0 all CAs readable, 1 an error or a corrupt CA.\n");
}

int cmd_status(int argc, char **argv)
{
	struct fca_observe_opts opts = FCA_OBSERVE_OPTS_INIT;
	struct fca_observed *o = NULL;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = { .server_key_code = 0 };
	int json = 0, rc = FCA_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return FCA_EXIT_OK;
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			if ((rc = cli_opt_format_json("status", argv[++i], &json)) != FCA_EXIT_OK)
				return rc;
		} else if (!strcmp(argv[i], "--check-keys")) {
			opts.check_keys = 1;
		} else if (!strcmp(argv[i], "--no-scan")) {
			opts.scan_issued = opts.scan_escrows = 0;
		} else {
			return cli_usage_error("status", "unknown option '%s'", argv[i]);
		}
	}
	opts.now = fca_now();
	if (isatty(fileno(stderr)))
		opts.progress = stderr; /* large fleets: say that the scan goes on */
	if (!(o = calloc(1, sizeof(*o))))
		return cli_fail();
	if (cli_open(&cfg, 30, &key, &s) != 0 ||
	    fca_engine_observe(o, s, &key, &opts) != 0) {
		rc = cli_fail();
		goto out;
	}
	/* apple_scep staged or active with another subject or key: what its next step would break */
	if (opts.scan_issued) {
		struct fca_disruption dd;
		enum fca_step_kind kind;
		int gen;
		opts.scan_devices = opts.scan_escrows_today = 1;
		if (fca_plan_apple_disruption(&dd, &kind, &gen, o) &&
		    fca_engine_observe_impact(o, s, &key, &opts) != 0) {
			rc = cli_fail();
			goto out;
		}
	} else {
		snprintf(o->cas[FCA_CA_APPLE_SCEP].devices_note, sizeof(o->cas[0].devices_note), "--no-scan");
		snprintf(o->cas[FCA_CA_APPLE_SCEP].escrows_note, sizeof(o->cas[0].escrows_note), "--no-scan");
		for (int i = 0; i < FCA_CA_COUNT; i++) { /* not counted, and said so: never a 0 */
			snprintf(o->cas[i].issued_note, sizeof(o->cas[i].issued_note), "--no-scan");
			snprintf(o->cas[i].escrows_scan_note, sizeof(o->cas[i].escrows_scan_note), "--no-scan");
		}
	}
	if (json)
		fca_render_status_json(stdout, o, opts.now);
	else
		fca_render_status_text(stdout, o, opts.now, cli_use_color(stdout));
	rc = FCA_EXIT_OK;
	for (int i = 0; i < FCA_CA_COUNT; i++)
		if (o->cas[i].stage == FCA_STAGE_CORRUPT) {
			fprintf(stderr, "fleetca: error: %s is corrupt: %s\n", fca_catalog_get((enum fca_ca_id)i)->name,
				o->cas[i].problem);
			rc = FCA_EXIT_ERROR;
		}
out:
	fca_observed_dispose(o);
	free(o);
	fca_secret_dispose(&key);
	fca_config_dispose(&cfg);
	fca_store_free(s);
	return rc;
}
