#include <stdarg.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "fleetca/crypto.h"
#include "fleetca/error.h"
#include "fleetca/secret.h"
#include "fleetca/timeutil.h"
#include "fleetca/version.h"

#ifndef FLEETCA_GIT_COMMIT
#define FLEETCA_GIT_COMMIT "unknown"
#endif
#ifdef FLEETCA_TESTING
#define FCA_TEST_HOOKS "compiled in (FLEETCA_TESTING: not for production)"
#else
#define FCA_TEST_HOOKS "none"
#endif

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
    {"status", cmd_status, "show the CAs Fleet holds: generations, stages, defects, live certificates"},
    {"validate", cmd_validate, "check a desired-state file (no database needed)"},
    {"plan", cmd_plan, "show the steps that would bring Fleet to the desired state"},
    {"apply", cmd_apply, "perform those steps, one transaction each, stopping at closed gates"},
    {"reconcile", cmd_reconcile, "apply on a timer, advancing stages as their gates open"},
    {"export", cmd_export, "print live generations' certificates (PEM) for load balancers and IdPs"},
    {"outbox", cmd_outbox, "show or deliver Fleet activities not yet delivered"},
};

#define ncommands (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f);

/* A mistyped command: say which one was probably meant. */
static int unknown_command(const char *word)
{
	const char *names[ncommands + 2], *near;

	for (size_t i = 0; i < ncommands; i++)
		names[i] = commands[i].name;
	names[ncommands] = "help";
	names[ncommands + 1] = "version";
	if ((near = cli_nearest(word, names, ncommands + 2))) {
		fprintf(stderr, "fleetca: unknown command '%s'; did you mean 'fleetca %s'?\n", word, near);
		return FCA_EXIT_ERROR;
	}
	fprintf(stderr, "fleetca: unknown command '%s'\n\n", word);
	usage(stderr);
	return FCA_EXIT_ERROR;
}

/* What an admin or a bug report needs: this build, and the libraries it runs with. */
static void version(FILE *f)
{
	fprintf(f,
		"fleetca %s\n"
		"commit:     %s\n"
		"test hooks: %s\n"
		"OpenSSL:    %s\n"
		"libmariadb: %s\n"
		"libgit2:    %s\n"
		"libcurl:    %s\n",
		FLEETCA_VERSION, FLEETCA_GIT_COMMIT, FCA_TEST_HOOKS, fca_crypto_library_version(),
		fca_store_library_version(), fca_source_library_version(), fca_fleet_api_library_version());
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fleetca <command> [options]\n\n"
		   "GitOps rotation of Fleet's certificate authorities.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'fleetca help <command>' (or 'fleetca <command> --help') explains a command;\n"
		   "'fleetca version' (or --version) shows this build.\n\n"
		   "Database and key come from Fleet's own environment variables:\n"
		   "  FLEET_MYSQL_ADDRESS (host:port or a socket path), FLEET_MYSQL_USERNAME,\n"
		   "  FLEET_MYSQL_PASSWORD or FLEET_MYSQL_PASSWORD_PATH, FLEET_MYSQL_DATABASE,\n"
		   "  FLEET_MYSQL_TLS_CA|CERT|KEY|CONFIG (true, false, skip-verify),\n"
		   "  FLEET_SERVER_PRIVATE_KEY or FLEETCA_SERVER_PRIVATE_KEY_PATH.\n\n"
		   "exit codes: 0 done or nothing to do, 1 error, 2 changes pending (plan),\n"
		   "            3 stopped at a closed gate (apply), 4 another run holds the lock\n");
}

int cli_fail(void)
{
	const char *m = fca_error_message();
	fprintf(stderr, "fleetca: error: %s\n", *m ? m : "unknown error");
	return FCA_EXIT_ERROR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fleetca %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'fleetca %s --help'.\n", cmd);
	return FCA_EXIT_ERROR;
}

int cli_opt_format_json(const char *cmd, const char *value, int *json)
{
	if (!strcmp(value, "json") || !strcmp(value, "text")) {
		*json = !strcmp(value, "json");
		return FCA_EXIT_OK;
	}
	return cli_usage_error(cmd, "--format must be text or json, not '%s'", value);
}

int cli_opt_lock_timeout(const char *cmd, const char *value, int64_t *secs)
{
	if (fca_duration_parse(secs, value) != 0)
		return cli_usage_error(cmd, "--lock-timeout: %s", fca_error_message());
	if (*secs > 3600)
		return cli_usage_error(cmd, "--lock-timeout: at most 1h, not '%s'", value);
	return FCA_EXIT_OK;
}

int cli_check_format_json(const char *cmd, const char *value)
{
	int json;
	return cli_opt_format_json(cmd, value, &json);
}

int cli_check_lock_timeout(const char *cmd, const char *value)
{
	int64_t secs;
	return cli_opt_lock_timeout(cmd, value, &secs);
}

int cli_use_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	return isatty(fileno(f)) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
}

/* Output that did not reach its reader is an error: 'fleetca status > /dev/full' exits 1. */
static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "fleetca: error: cannot write to standard output\n");
		return FCA_EXIT_ERROR;
	}
	return rc;
}

int main(int argc, char **argv)
{
	/* A run is short, or a loop whose peak is small (reconcile): memory freed stays with the process.
	 * glibc would otherwise give it back as it goes (a trim of the heap, a munmap of each large
	 * block), which cost a converged apply 0.2 ms of its 11 at exit; and a fixed threshold keeps
	 * the plan's 360 KB on the heap, whose fresh pages calloc leaves untouched. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	fca_secret_harden_process();
	if (argc < 2) {
		usage(stderr);
		return FCA_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "help") && argc >= 3) { /* fleetca help <command> = fleetca <command> --help */
		char *hv[] = {argv[2], "--help", NULL};
		for (size_t i = 0; i < ncommands; i++)
			if (!strcmp(argv[2], commands[i].name))
				return finish(commands[i].fn(2, hv));
		return unknown_command(argv[2]);
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return finish(FCA_EXIT_OK);
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		version(stdout);
		return finish(FCA_EXIT_OK);
	}
	for (size_t i = 0; i < ncommands; i++)
		if (!strcmp(argv[1], commands[i].name))
			return finish(commands[i].fn(argc - 1, argv + 1));
	return unknown_command(argv[1]);
}
