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

/* Handlers only set flags (async-signal-safe): the loop reads them between rounds. */
static void on_stop(int sig)
{
	stop_signal = sig;
}

static void on_reload(int sig)
{
	(void)sig;
	reload_signal = 1;
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

static int check_interval(const char *cmd, const char *v)
{
	int64_t interval;
	if (fca_duration_parse(&interval, v) != 0)
		return cli_usage_error(cmd, "--interval: %s", fca_error_message());
	if (interval < 1 || interval > 7 * 86400)
		return cli_usage_error(cmd, "--interval must be from 1s to 7d, not '%s'", v);
	return FCA_EXIT_OK;
}

static int check_jitter(const char *cmd, const char *v)
{
	int pct;
	if (parse_jitter(&pct, v) != 0)
		return cli_usage_error(cmd, "--jitter must be a percentage from 0%% to 50%%, not '%s'", v);
	return FCA_EXIT_OK;
}

int cmd_reconcile(int argc, char **argv)
{
	struct fca_reconcile_opts opts = FCA_RECONCILE_OPTS_INIT;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = {.server_key_code = 0};
	struct sigaction sa;
	sigset_t block, wait_mask;
	enum fca_round last = FCA_ROUND_FAILED;
	int64_t lock_timeout = 30, interval = 15 * 60;
	int rc = FCA_EXIT_ERROR;

	const char *interval_arg = NULL, *jitter_arg = NULL, *lock_arg = NULL;
	int once = 0;
	const struct cli_opt table[] = {
	    {'f', "file", "FILE", &opts.path, NULL,
	     "the desired-state YAML (with --git-repo: its path in the repository)", NULL, NULL},
	    {0, "git-repo", "DIR", &opts.git_repo, NULL,
	     "read the file from this repository's history, at --git-ref (default\n"
	     "HEAD), every round; keep it fetched to follow a branch",
	     NULL, NULL},
	    {0, "git-ref", "REF", &opts.git_ref, NULL, "with --git-repo: a branch, tag or commit id (default HEAD)",
	     NULL, NULL},
	    {0, "interval", "DUR", &interval_arg, NULL, "time between rounds (default 15m)", NULL, check_interval},
	    {0, "jitter", "PCT", &jitter_arg, NULL, "each wait is the interval ± PCT% at random (0..50, default 0)",
	     NULL, check_jitter},
	    {0, "once", NULL, NULL, &once, "one round, then exit with apply's exit code", NULL, NULL},
	    {0, "metrics-file", "PATH", &opts.metrics_path, NULL,
	     "Prometheus textfile, replaced atomically after every round\n"
	     "(node_exporter --collector.textfile.directory)",
	     NULL, NULL},
	    {0, "lock-timeout", "DUR", &lock_arg, NULL,
	     "wait this long for another run's lock each round (default 30s)", NULL, cli_check_lock_timeout},
	    {0},
	};
	const struct cli_cmd cmd = {
	    "reconcile",
	    "usage: fleetca reconcile [--git-repo DIR [--git-ref REF]] -f FILE [--interval 15m] [--jitter 10%] "
	    "[--once] [--metrics-file PATH]\n"
	    "                         [--lock-timeout 30s]\n\n"
	    "Runs 'apply' on a timer, so stages advance as their gates open. Each round re-reads and\n"
	    "validates FILE (a bad file is logged and the round skipped: the previous good file is not\n"
	    "used), applies what is ready, logs one line per applied step and one summary line, and\n"
	    "writes Prometheus textfile metrics. Log lines go to stderr, each prefixed with an RFC 3339 time.\n\n",
	    table,
	    24,
	    "\nFailed rounds in a row wait the interval × 2, then × 4 (the cap). SIGTERM and SIGINT finish the\n"
	    "current round, write the metrics and exit 0; SIGHUP cuts the wait short and re-reads FILE.\n"
	    "Needs what 'apply' needs. Exit codes: 0 stopped by a signal; with --once those of apply\n"
	    "(0 converged, 3 a closed gate, 4 lock held, 1 error or a bad file).\n",
	};

	if ((rc = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return rc;
	rc = FCA_EXIT_ERROR;
	opts.once = once;
	if (interval_arg && fca_duration_parse(&interval, interval_arg) != 0)
		return cli_usage_error("reconcile", "--interval: %s", fca_error_message());
	if (interval < 1 || interval > 7 * 86400)
		return cli_usage_error("reconcile", "--interval must be from 1s to 7d, not '%s'", interval_arg);
	if (jitter_arg && parse_jitter(&opts.jitter_pct, jitter_arg) != 0)
		return cli_usage_error("reconcile", "--jitter must be a percentage from 0%% to 50%%, not '%s'",
				       jitter_arg);
	if (lock_arg && (rc = cli_opt_lock_timeout("reconcile", lock_arg, &lock_timeout)) != FCA_EXIT_OK)
		return rc;
	if (!opts.path)
		return cli_usage_error(
		    "reconcile",
		    "which desired-state file? give -f FILE (with --git-repo: its path in the repository)");
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
