#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "fleetca/config.h"
#include "fleetca/desired.h"
#include "fleetca/engine.h"
#include "fleetca/outbox.h"
#include "fleetca/render_outbox.h"
#include "fleetca/timeutil.h"

int cmd_outbox(int argc, char **argv)
{
	struct fca_outbox_opts oo = FCA_OUTBOX_OPTS_INIT;
	struct fca_outbox_report rep;
	struct fca_desired *d = NULL;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = {.server_key_code = 0};
	struct fca_state st;
	const char *file = NULL;
	int64_t lock_timeout = 30;
	int json = 0, flush = 0, rc = FCA_EXIT_ERROR, r = FCA_OK, found = 0;

	memset(&rep, 0, sizeof(rep));
	fca_state_init(&st);
	const char *lock_arg = NULL, *format = NULL;
	const struct cli_opt table[] = {
	    {0, "flush", NULL, NULL, &flush, "deliver the pending activities", NULL, NULL},
	    {'f', "file", "FILE", &file, NULL,
	     "take the sink from FILE's 'activities: {sink: api|db|none}'\n"
	     "(default: api)",
	     NULL, NULL},
	    {0, "lock-timeout", "DUR", &lock_arg, NULL,
	     "wait this long for another run's lock (default 30s), then exit 4", NULL, cli_check_lock_timeout},
	    {0, "format", "text|json", &format, NULL, "how to list them", NULL, cli_check_format_json},
	    {0},
	};
	const struct cli_cmd cmd = {
	    "outbox",
	    "usage: fleetca outbox [--flush [-f FILE]] [--lock-timeout 30s] [--format text|json]\n\n"
	    "Lists the Fleet activities that apply committed with its steps but has not delivered yet\n"
	    "(key, type, created_at, attempts). With --flush, delivers them in order first: each one is\n"
	    "removed from the outbox once its sink accepted it.\n\n",
	    table,
	    25,
	    "\nThe api sink needs FLEET_URL and FLEET_API_TOKEN (or FLEETCA_API_TOKEN_PATH), and\n"
	    "FLEETCA_API_CA_FILE when Fleet's certificate comes from a private CA.\n"
	    "Exit codes: 0 listed, or (--flush) all delivered; 1 error or some left pending;\n"
	    "            4 another run holds the lock.\n",
	};

	if ((rc = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return rc;
	rc = FCA_EXIT_ERROR;
	if (lock_arg && (rc = cli_opt_lock_timeout("outbox", lock_arg, &lock_timeout)) != FCA_EXIT_OK)
		return rc;
	if (format && (rc = cli_opt_format_json("outbox", format, &json)) != FCA_EXIT_OK)
		return rc;
	if (file && !flush)
		return cli_usage_error("outbox",
				       "-f FILE chooses the sink for --flush; without --flush it does nothing");
	if (file) {
		if (!(d = calloc(1, sizeof(*d))))
			return cli_fail();
		if ((rc = cli_load_desired(d, file)) != FCA_EXIT_OK)
			goto out;
		oo.sink = d->sink;
		rc = FCA_EXIT_ERROR;
	}
	if (cli_open(&cfg, lock_timeout, &key, &s) != 0) {
		rc = cli_fail();
		goto out;
	}
	if (flush) {
		oo.lock_timeout = (int)lock_timeout;
		oo.api = &cfg.api;
		oo.now = fca_now();
		oo.progress = json ? NULL : stdout;
		r = fca_engine_deliver_outbox(s, &key, &oo, &rep);
		if (r != FCA_OK)
			fprintf(stderr, "fleetca: error: %zu activit%s delivered, %zu pending: %s\n", rep.delivered,
				rep.delivered == 1 ? "y" : "ies", rep.pending, rep.last_error);
		else if (oo.sink == FCA_SINK_NONE && rep.pending > 0)
			fprintf(stderr, "fleetca: error: %s chooses 'activities: {sink: none}': nothing delivered\n",
				file);
		else if (!json)
			printf("delivered %zu activit%s\n\n", rep.delivered, rep.delivered == 1 ? "y" : "ies");
	}
	if (fca_engine_load_state(&st, &found, s, &key, 0) != 0) {
		rc = cli_fail();
		goto out;
	}
	if ((json ? fca_render_outbox_json(stdout, &st, flush ? (long)rep.delivered : -1, r ? rep.last_error : NULL)
		  : fca_render_outbox_text(stdout, &st)) != 0)
		fca_error_clear(); /* stdout closed: the exit code still tells */
	if (r == FCA_ELOCKED)
		rc = FCA_EXIT_LOCKED;
	else if (r != FCA_OK || (flush && st.noutbox > 0))
		rc = FCA_EXIT_ERROR;
	else
		rc = FCA_EXIT_OK;
out:
	fca_state_dispose(&st);
	fca_secret_dispose(&key);
	fca_config_dispose(&cfg);
	fca_store_free(s);
	free(d);
	return rc;
}
