/* `plan --git-base`: what a pull request changes in the desired-state file, per CA. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fleetca/buf.h"
#include "fleetca/catalog.h"
#include "fleetca/change.h"
#include "fleetca/render.h"
#include "render/render_int.h"

#define C_RESET "\033[0m"
#define C_BOLD	"\033[1m"

/* "gen 2 staged", "gen 1 complete, suspended", or "not named": at most 40 bytes of the callers' 96. The
 * sentences in this file are for a person (a pull-request comment); what[256] holds the longest. */
static void side(char *buf, size_t n, int present, int generation, enum fca_stage stage, int suspended)
{
	if (!present)
		snprintf(buf, n, "not named");
	else
		snprintf(buf, n, "gen %d %s%s", generation, fca_stage_name(stage), suspended ? ", suspended" : "");
}

/* "key, validity" : the settings that changed besides generation and stage. */
static void settings(char *buf, size_t n, unsigned fields)
{
	buf[0] = '\0';
	for (unsigned b = 0; b < FCA_CHANGE_FIELD_COUNT; b++) {
		unsigned bit = 1u << b;
		if (!(fields & bit) || bit == FCA_CHANGE_GENERATION || bit == FCA_CHANGE_STAGE ||
		    bit == FCA_CHANGE_NAMED)
			continue;
		fca_text_append(buf, n, ", ", "%s", fca_change_field_name(b)); /* for a person: "..." marks a cut */
	}
}

static void policy(char *buf, size_t n, unsigned fields)
{
	buf[0] = '\0';
	for (unsigned b = 0; b < FCA_CHANGE_POLICY_FIELD_COUNT; b++)
		if (fields & (1u << b)) /* for a person: "..." marks a cut */
			fca_text_append(buf, n, ", ", "%s", fca_change_policy_field_name(b));
}

/* Where the CA is at the base and in the change, and what else changed: "" when unchanged. */
static void describe(char *from, char *to, char *what, size_t n, const struct fca_change_ca *c)
{
	side(from, n, c->base_present, c->base_generation, c->base_stage, c->base_suspend);
	side(to, n, c->head_present, c->head_generation, c->head_stage, c->head_suspend);
	settings(what, n, c->fields);
}

static const char *base_name(const struct fca_change *ch, char *buf, size_t n)
{
	snprintf(buf, n, "%.12s", ch->base_commit[0] ? ch->base_commit : "?"); /* the callers' id[16] */
	return buf;
}

int fca_render_change_text(FILE *f, const struct fca_change *ch, const char *path, int color)
{
	char from[96], to[96], what[256], id[16];
	int w = 0;

	for (int ca = 0; ca < FCA_CA_COUNT; ca++)
		if (ch->cas[ca].considered && (int)strlen(fca_catalog_get((enum fca_ca_id)ca)->name) + 1 > w)
			w = (int)strlen(fca_catalog_get((enum fca_ca_id)ca)->name) + 1;
	if (ch->base_absent)
		fprintf(f, "%sThis change adds %s%s (it is not at %s, the merge base with %s):\n", color ? C_BOLD : "",
			path, color ? C_RESET : "", base_name(ch, id, sizeof(id)), ch->base_ref);
	else
		fprintf(f, "%sWhat this change asks, against %s at %s (the merge base with %s):%s\n",
			color ? C_BOLD : "", path, base_name(ch, id, sizeof(id)), ch->base_ref, color ? C_RESET : "");
	for (int ca = 0; ca < FCA_CA_COUNT; ca++) {
		const struct fca_change_ca *c = &ch->cas[ca];
		char name[48];
		if (!c->considered)
			continue;
		snprintf(name, sizeof(name),
			 "%s:", fca_catalog_get((enum fca_ca_id)ca)->name); /* names are at most 22 bytes */
		describe(from, to, what, sizeof(from), c);
		if (!c->fields)
			fprintf(f, "  %-*s unchanged (%s)\n", w, name, to);
		else if (!c->head_present)
			fprintf(f, "  %-*s %s → not named: left alone from now on (this change)\n", w, name, from);
		else if (c->fields & (FCA_CHANGE_GENERATION | FCA_CHANGE_STAGE | FCA_CHANGE_NAMED))
			fprintf(f, "  %-*s %s → %s%s%s%s (this change)\n", w, name, from, to, what[0] ? "; " : "", what,
				what[0] ? " changed" : "");
		else
			fprintf(f, "  %-*s %s; %s changed (this change)\n", w, name, to, what);
	}
	if (ch->policy_fields) {
		policy(what, sizeof(what), ch->policy_fields);
		fprintf(f, "  %-*s %s changed (this change)\n", w, "policy:", what);
	}
	fputc('\n', f);
	if (ferror(f))
		return fca_error_set(FCA_ERROR, "cannot write the change: %s", strerror(errno));
	return FCA_OK;
}

static void cell(FILE *f, const char *s)
{
	fputs(" ", f);
	fca_render__md_text(f, s, 1);
	fputs(" |", f);
}

int fca_render_change_markdown(FILE *f, const struct fca_change *ch, const char *path)
{
	char from[96], to[96], what[256], id[16];

	fputs("### What this pull request changes in `", f);
	for (const char *s = path; *s; s++)
		fputc(*s == '`' ? '\'' : *s, f);
	if (ch->base_absent)
		fprintf(f, "`\n\nThe file is new: it does not exist at `%s`, the merge base with `%s`.\n\n",
			base_name(ch, id, sizeof(id)), ch->base_ref);
	else
		fprintf(f, "`\n\nAgainst `%s`, the merge base with `%s`.\n\n", base_name(ch, id, sizeof(id)),
			ch->base_ref);
	fputs("| CA | merge base | this change | what changes |\n|---|---|---|---|\n", f);
	for (int ca = 0; ca < FCA_CA_COUNT; ca++) {
		const struct fca_change_ca *c = &ch->cas[ca];
		if (!c->considered)
			continue;
		describe(from, to, what, sizeof(from), c);
		fprintf(f, "| `%s` |", fca_catalog_get((enum fca_ca_id)ca)->name);
		cell(f, from);
		if (c->fields & (FCA_CHANGE_GENERATION | FCA_CHANGE_STAGE | FCA_CHANGE_NAMED)) {
			fputs(" **", f);
			fputs(to, f);
			fputs("** |", f);
		} else {
			cell(f, to);
		}
		if (!c->fields)
			snprintf(what, sizeof(what), "unchanged");
		else if (!c->head_present)
			snprintf(what, sizeof(what), "no longer named: left alone");
		else if (!what[0])
			snprintf(what, sizeof(what), "%s", c->base_present ? "target moves" : "newly named");
		else
			fca_text_append(what, sizeof(what), " ", "changed");
		cell(f, what);
		fputc('\n', f);
	}
	if (ch->policy_fields) {
		policy(what, sizeof(what), ch->policy_fields);
		fprintf(f, "\nPolicy: %s changed.\n", what);
	}
	fputc('\n', f);
	if (ferror(f))
		return fca_error_set(FCA_ERROR, "cannot write the change: %s", strerror(errno));
	return FCA_OK;
}
