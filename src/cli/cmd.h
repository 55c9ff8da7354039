/* The commands of the fleetca binary: each one thin, over libfleetca. */
#ifndef FLEETCA_CLI_CMD_H
#define FLEETCA_CLI_CMD_H

#include <stdint.h>
#include <stdio.h>

/* Exit codes (Terraform's where they apply). */
enum {
	FCA_EXIT_OK = 0, /* nothing to do / converged */
	FCA_EXIT_ERROR = 1,
	FCA_EXIT_CHANGES = 2, /* plan: changes pending */
	FCA_EXIT_GATE = 3,    /* apply: stopped at a closed gate */
	FCA_EXIT_LOCKED = 4,  /* another run holds the lock */
};

int cmd_status(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_outbox(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);

/* Prints "fleetca: error: <message>" to stderr and returns FCA_EXIT_ERROR. */
int cli_fail(void);
/* Prints "fleetca: <cmd>: <fmt>" usage errors and returns FCA_EXIT_ERROR. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct fca_desired;
struct fca_source;
/* Loads and checks a desired-state file; prints every problem. Returns an exit code. */
int cli_load_desired(struct fca_desired *d, const char *path);

/* SOURCE: -f FILE, or --git-repo DIR [--git-ref REF] -f PATH (src/cli/cli_source.c). */
struct cli_source {
	const char *file; /* -f: a working-tree file, or with repo the path inside the repository */
	const char *repo; /* --git-repo DIR, or NULL */
	const char *ref;  /* --git-ref REF (default HEAD), or NULL */
};
/* The option rows of a SOURCE, for a command's table (the help text differs per command). */
/* clang-format off */
#define CLI_SOURCE_OPTS(cs, file_help, repo_help, ref_help) \
	{ 'f', "file", "FILE", &(cs)->file, NULL, file_help, NULL, NULL }, \
	{ 0, "git-repo", "DIR", &(cs)->repo, NULL, repo_help, NULL, NULL }, \
	{ 0, "git-ref", "REF", &(cs)->ref, NULL, ref_help, NULL, NULL }
/* clang-format on */
/* Usage errors of a SOURCE (missing -f, --git-ref without --git-repo): an exit code. */
int cli_source_check(const char *cmd, const struct cli_source *cs);
/* Reads SOURCE into src (fca_source_dispose) and parses it into d; prints every problem. An exit code. */
int cli_load_source(struct fca_desired *d, struct fca_source *src, const struct cli_source *cs);
/* Parses what src holds, messages named src->label; prints every problem. An exit code. */
int cli_parse_source(struct fca_desired *d, const struct fca_source *src);

struct fca_stuck;
/*
 * Tells on stderr about the CAs that cannot move (fca_plan_stuck): returns FCA_EXIT_ERROR when one
 * is corrupt, FCA_EXIT_GATE when one drifted without adopt: true (a person must decide), else FCA_EXIT_OK.
 */
int cli_report_stuck(const struct fca_stuck *st);

/*
 * Shared options. Each returns FCA_EXIT_OK, or prints a usage error for cmd and returns
 * FCA_EXIT_ERROR. --format text|json sets *json; --lock-timeout DUR (at most 1h) sets *secs.
 */
int cli_opt_format_json(const char *cmd, const char *value, int *json);
int cli_opt_lock_timeout(const char *cmd, const char *value, int64_t *secs);
/* The same, as a table row's check. */
int cli_check_format_json(const char *cmd, const char *value);
int cli_check_lock_timeout(const char *cmd, const char *value);

/*
 * One option table per command (src/cli/cli_opt.c): it parses and it prints --help. A row with
 * a name is an option (--name, -shortname); arg names its value (NULL: a switch setting *on);
 * help's lines are separated by '\n'. A row with only a label is a line of help. The table ends
 * with an empty row.
 */
struct cli_opt {
	char shortname;
	const char *name;
	const char *arg;
	const char **value;
	int *on;
	const char *help;
	const char *label;
	int (*check)(const char *cmd, const char *value); /* a value's check at parse time, or NULL */
};
struct cli_cmd {
	const char *name;
	const char *usage; /* printed before the options */
	const struct cli_opt *opts;
	int width;	  /* the column where an option's help starts */
	const char *tail; /* printed after them */
};
#define CLI_CONTINUE (-1)
/* --flag value, --flag=value, -f value; -h/--help prints the help. CLI_CONTINUE, or an exit code. */
int cli_parse(const struct cli_cmd *c, int argc, char **argv);
void cli_help(FILE *f, const struct cli_cmd *c);
/* The name nearest to word (a typo of it), or NULL. */
const char *cli_nearest(const char *word, const char *const *names, size_t n);

struct fca_config;
struct fca_secret;
struct fca_store;
/*
 * Reads every knob and secret once (src/cli/config.c): *cfg is disposed with fca_config_dispose,
 * on failure too. lock_timeout (seconds) is the run's --lock-timeout.
 */
int cli_config_load(struct fca_config *cfg, int64_t lock_timeout);
/* cli_config_load, then the AES key from the server key, then (when s) a database connection. */
int cli_open(struct fca_config *cfg, int64_t lock_timeout, struct fca_secret *aes_key, struct fca_store **s);

/* Colour when stdout is a terminal and NO_COLOR is unset. */
int cli_use_color(FILE *f);

#endif
