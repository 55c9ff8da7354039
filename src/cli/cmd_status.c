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

int cmd_status(int argc, char **argv)
{
	struct fca_observe_opts opts = FCA_OBSERVE_OPTS_INIT;
	struct fca_observed *o = NULL;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = {.server_key_code = 0};
	int json = 0, rc = FCA_EXIT_ERROR;

	const char *format = NULL;
	int check_keys = 0, no_scan = 0;
	const struct cli_opt table[] = {
	    {0, "format", "text|json", &format, NULL,
	     "text for people (default), JSON for machines (schemas/status.schema.json)", NULL, cli_check_format_json},
	    {0, "check-keys", NULL, NULL, &check_keys,
	     "also decrypt each private key and check it matches its certificate", NULL, NULL},
	    {0, "no-scan", NULL, NULL, &no_scan, "skip counting issued certificates and FileVault escrows (faster)",
	     NULL, NULL},
	    {0},
	};
	const struct cli_cmd cmd = {
	    "status",
	    "usage: fleetca status [--format text|json] [--check-keys] [--no-scan]\n\n"
	    "Shows the CAs Fleet holds today, read from mdm_config_assets: for each of apple_scep,\n"
	    "host_identity, conditional_access and conditional_access_idp, its stage (complete, staged,\n"
	    "active, corrupt), and for each live generation its role (signing, next, previous), subject,\n"
	    "SHA-256 fingerprint, expiry, key, defects (e.g. empty_country, Fleet #38699) and how many\n"
	    "live certificates it has issued. Changes nothing.\n\n",
	    table,
	    22,
	    "\nNeeds FLEET_MYSQL_* and FLEET_SERVER_PRIVATE_KEY (see 'fleetca --help').\n"
	    "Exit codes: 0 all CAs readable, 1 an error or a corrupt CA.\n",
	};

	if ((rc = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return rc;
	rc = FCA_EXIT_ERROR;
	if (format && (rc = cli_opt_format_json("status", format, &json)) != FCA_EXIT_OK)
		return rc;
	opts.check_keys = check_keys;
	if (no_scan)
		opts.scan_issued = opts.scan_escrows = 0;
	opts.now = fca_now();
	if (isatty(fileno(stderr)))
		opts.progress = stderr; /* large fleets: say that the scan goes on */
	if (!(o = calloc(1, sizeof(*o))))
		return cli_fail();
	if (cli_open(&cfg, 30, &key, &s) != 0 || fca_engine_observe(o, s, &key, &opts) != 0) {
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
		/* constants that fit */
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
