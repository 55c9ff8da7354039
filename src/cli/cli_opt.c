/*
 * One option table per command: it drives the parsing (--flag value, --flag=value, -f VALUE,
 * a missing value, a repeated flag, an unknown one with the nearest suggestion) and prints --help.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "fleetca/buf.h"

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (la >= 64 || lb >= 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = a[i - 1] == b[j - 1]
				     ? prev
				     : 1 + (prev < row[j] ? (prev < row[j - 1] ? prev : row[j - 1])
							  : (row[j] < row[j - 1] ? row[j] : row[j - 1]));
			prev = tmp;
		}
	}
	return row[lb];
}

const char *cli_nearest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bd = (size_t)-1, limit = strlen(word) > 4 ? 2 : 1;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);
		if (d < bd) {
			bd = d;
			best = names[i];
		}
	}
	return bd <= limit ? best : NULL;
}

void cli_help(FILE *f, const struct cli_cmd *c)
{
	char left[128]; /* help text: the longest option line is far shorter */

	fputs(c->usage, f);
	for (const struct cli_opt *o = c->opts; o->name || o->label; o++) {
		const char *h = o->help, *nl;
		int n;
		if (o->label)
			n = snprintf(left, sizeof(left), "  %s", o->label);
		else if (o->shortname)
			n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->shortname, o->name, o->arg ? " " : "",
				     o->arg ? o->arg : "");
		else
			n = snprintf(left, sizeof(left), "  --%s%s%s", o->name, o->arg ? " " : "",
				     o->arg ? o->arg : "");
		fprintf(f, "%-*s", c->width, left);
		if (n >= c->width)
			fprintf(f, "\n%-*s", c->width, "");
		for (;;) {
			nl = strchr(h, '\n');
			if (!nl) {
				fprintf(f, "%s\n", h);
				break;
			}
			fprintf(f, "%.*s\n%-*s", (int)(nl - h), h, c->width, "");
			h = nl + 1;
		}
	}
	fputs(c->tail, f);
}

static int needs_value(const char *cmd, const char *flag)
{
	return cli_usage_error(cmd, "%s needs a value", flag);
}

int cli_parse(const struct cli_cmd *c, int argc, char **argv)
{
	const char *names[64];
	unsigned char seen[64] = {0};
	size_t nnames = 0;

	for (const struct cli_opt *o = c->opts; o->name || o->label; o++)
		if (o->name && nnames < 64)
			names[nnames++] = o->name;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = NULL, *value = NULL;
		const struct cli_opt *o;
		char flag[80];
		size_t k = 0;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cli_help(stdout, c);
			return FCA_EXIT_OK;
		}
		for (o = c->opts; o->name || o->label; o++, k++) {
			size_t n;
			if (!o->name)
				continue;
			if (a[0] == '-' && a[1] == o->shortname && o->shortname && !a[2])
				break;
			n = strlen(o->name);
			if (a[0] == '-' && a[1] == '-' && !strncmp(a + 2, o->name, n) &&
			    (!a[2 + n] || a[2 + n] == '=')) {
				eq = a[2 + n] == '=' ? a + 3 + n : NULL;
				break;
			}
		}
		if (!o->name) {
			char word[64];
			const char *near = NULL;
			struct fca_buf w;
			if (a[0] != '-')
				return cli_usage_error(c->name, "unexpected argument '%s'", a);
			fca_buf_init_fixed(&w, word, sizeof(word));
			fca_buf_put(&w, a + strspn(a, "-"), strcspn(a + strspn(a, "-"), "="));
			if (!w.err &&
			    (near = cli_nearest(word, names, nnames))) /* a word longer than any option is near none */
				return cli_usage_error(c->name, "unknown option '%s'; did you mean '--%s'?", a, near);
			return cli_usage_error(c->name, "unknown option '%s'", a);
		}
		if (o->shortname && a[1] == o->shortname)
			snprintf(flag, sizeof(flag), "-%c", o->shortname); /* option names are short: never cut */
		else
			snprintf(flag, sizeof(flag), "--%s", o->name);
		if (!o->arg) {
			if (eq)
				return cli_usage_error(c->name, "%s takes no value", flag);
			*o->on = 1;
			continue;
		}
		if (eq)
			value = eq;
		else if (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1])) /* "-" is standard input */
			value = argv[++i];
		else
			return needs_value(c->name, flag);
		if (seen[k]++)
			return cli_usage_error(c->name, "%s given twice: give it once", flag);
		if (o->check) {
			int rc = o->check(c->name, value);
			if (rc != FCA_EXIT_OK)
				return rc;
		}
		*o->value = value;
	}
	return CLI_CONTINUE;
}
