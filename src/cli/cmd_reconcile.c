#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "fleetca/config.h"
#include "fleetca/file.h"
#include "fleetca/engine.h"
#include "fleetca/reconcile.h"
#include "fleetca/timeutil.h"

static volatile sig_atomic_t stop_signal; /* the signal number that asked to stop */
static volatile sig_atomic_t reload_signal;

/* Handlers only set flags (STYLE.md): the loop reads them between rounds. */
static void on_stop(int sig)
{
	stop_signal = sig;
}

static void on_reload(int sig)
{
	(void)sig;
	reload_signal = 1;
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: fleetca reconcile [--git-repo DIR [--git-ref REF]] -f FILE [--interval 15m] [--jitter 10%%] [--once] [--metrics-file PATH]\n"
		"                         [--lock-timeout 30s]\n\n"
		"Runs 'apply' on a timer, so stages advance as their gates open. Each round re-reads and\n"
		"validates FILE (a bad file is logged and the round skipped: the previous good file is not\n"
		"used), applies what is ready, logs one line per applied step and one summary line, and\n"
		"writes Prometheus textfile metrics. Log lines go to stderr, each prefixed with an RFC 3339 time.\n\n"
		"  -f, --file FILE       the desired-state YAML (with --git-repo: its path in the repository)\n"
		"  --git-repo DIR        read the file from this repository's history, at --git-ref (default\n"
		"                        HEAD), every round; keep it fetched to follow a branch\n"
		"  --interval DUR        time between rounds (default 15m)\n"
		"  --jitter PCT          each wait is the interval ± PCT%% at random (0..50, default 0)\n"
		"  --once                one round, then exit with apply's exit code\n"
		"  --metrics-file PATH   Prometheus textfile, replaced atomically after every round\n"
		"                        (node_exporter --collector.textfile.directory)\n"
		"  --lock-timeout DUR    wait this long for another run's lock each round (default 30s)\n\n"
		"Failed rounds in a row wait the interval × 2, then × 4 (the cap). SIGTERM and SIGINT finish the\n"
		"current round, write the metrics and exit 0; SIGHUP cuts the wait short and re-reads FILE.\n"
		"Needs what 'apply' needs. Exit codes: 0 stopped by a signal; with --once those of apply\n"
		"(0 converged, 3 a closed gate, 4 lock held, 1 error or a bad file).\n");
}

static int parse_jitter(int *out, const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (!*v || end == v || (*end && strcmp(end, "%")) || n < 0 || n > 50)
		return -1;
	*out = (int)n;
	return 0;
}

int cmd_reconcile(int argc, char **argv)
{
	struct fca_reconcile_opts opts = FCA_RECONCILE_OPTS_INIT;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = { .server_key_code = 0 };
	struct sigaction sa;
	sigset_t block, wait_mask;
	enum fca_round last = FCA_ROUND_FAILED;
	int64_t lock_timeout = 30, interval = 15 * 60;
	int rc = FCA_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help(stdout);
			return FCA_EXIT_OK;
		} else if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "--file")) && i + 1 < argc) {
			opts.path = argv[++i];
		} else if (!strcmp(argv[i], "--git-repo") && i + 1 < argc) {
			opts.git_repo = argv[++i];
		} else if (!strcmp(argv[i], "--git-ref") && i + 1 < argc) {
			opts.git_ref = argv[++i];
		} else if (!strcmp(argv[i], "--interval") && i + 1 < argc) {
			if (fca_duration_parse(&interval, argv[++i]) != 0)
				return cli_usage_error("reconcile", "--interval: %s", fca_error_message());
			if (interval < 1 || interval > 7 * 86400)
				return cli_usage_error("reconcile", "--interval must be from 1s to 7d, not '%s'",
						       argv[i]);
		} else if (!strcmp(argv[i], "--jitter") && i + 1 < argc) {
			if (parse_jitter(&opts.jitter_pct, argv[++i]) != 0)
				return cli_usage_error(
				    "reconcile", "--jitter must be a percentage from 0%% to 50%%, not '%s'", argv[i]);
		} else if (!strcmp(argv[i], "--once")) {
			opts.once = 1;
		} else if (!strcmp(argv[i], "--metrics-file") && i + 1 < argc) {
			opts.metrics_path = argv[++i];
		} else if (!strcmp(argv[i], "--lock-timeout") && i + 1 < argc) {
			if ((rc = cli_opt_lock_timeout("reconcile", argv[++i], &lock_timeout)) != FCA_EXIT_OK)
				return rc;
		} else {
			return cli_usage_error("reconcile", "unknown option '%s'", argv[i]);
		}
	}
	if (!opts.path)
		return cli_usage_error("reconcile", "which desired-state file? give -f FILE (with --git-repo: its path in the repository)");
	if (opts.git_ref && !opts.git_repo)
		return cli_usage_error("reconcile", "--git-ref needs --git-repo DIR");
	if (!opts.git_repo && !strcmp(opts.path, "-"))
		return cli_usage_error("reconcile", "-f -: reconcile re-reads the file every round; name a file");
	/* A target that can never be replaced (a symlink, a directory) is refused before the first round. */
	if (opts.metrics_path && fca_file_check_target(opts.metrics_path, "--metrics-file") != FCA_OK)
		return cli_fail();
	opts.interval = interval;
	opts.lock_timeout = (int)lock_timeout;
	opts.log = stderr;
	opts.stop = &stop_signal;
	opts.reload = &reload_signal;
	if (cli_open(&cfg, lock_timeout, &key, NULL) != 0) {
		rc = cli_fail();
		goto out;
	}
	opts.cfg = &cfg;

	/* The signals stay blocked during a round and are taken only while waiting (pselect with
	 * wait_mask): a round always finishes, and a signal that arrives during it is not lost. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_reload;
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGHUP);
	opts.wait_mask = &wait_mask;

	if (fca_engine_reconcile(&opts, &key, &last) != 0) {
		rc = cli_fail();
		goto out;
	}
	if (!opts.once) {
		rc = FCA_EXIT_OK;
		goto out;
	}
	switch (last) {
	case FCA_ROUND_CONVERGED:
		rc = FCA_EXIT_OK;
		break;
	case FCA_ROUND_GATED:
		rc = FCA_EXIT_GATE;
		break;
	case FCA_ROUND_LOCKED:
		rc = FCA_EXIT_LOCKED;
		break;
	default:
		rc = FCA_EXIT_ERROR;
		break;
	}
out:
	fca_secret_dispose(&key);
	fca_config_dispose(&cfg);
	return rc;
}
