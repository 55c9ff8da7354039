/* The plan as GitHub-flavoured markdown, for a pull-request comment. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/catalog.h"
#include "fleetca/consequence.h"
#include "fleetca/render.h"
#include "render/render_int.h"

/* Text in a table cell, a callout or a summary: '|' and '<' escaped, line breaks flattened; with
 * no_code, a backtick becomes ' (a cell whose text must not open a code span). */
void fca_render__md_text(FILE *f, const char *s, int no_code)
{
	for (; *s; s++) {
		switch (*s) {
		case '|':
			fputs("\\|", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '\r':
		case '\n':
			fputc(' ', f);
			break;
		case '`':
			fputc(no_code ? '\'' : '`', f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void put_escaped(FILE *f, const char *s)
{
	fca_render__md_text(f, s, 0);
}

static size_t first_step(const struct fca_plan *p, enum fca_ca_id ca)
{
	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++)
		if (p->steps[i].ca == ca)
			return i;
	return (size_t)-1;
}

static void table_row(FILE *f, const struct fca_plan *p, enum fca_ca_id ca)
{
	const struct fca_plan_ca *pc = &p->cas[ca];
	char now[64], target[64], gate[600];
	size_t i = first_step(p, ca);

	fca_render__genstage(now, sizeof(now), pc->now_generation, pc->now_stage);
	fca_render__genstage(target, sizeof(target), pc->target_generation, pc->target_stage);
	fputs("| ", f);
	put_escaped(f, fca_catalog_get(ca)->name);
	fputs(" | ", f);
	put_escaped(f, now);
	fputs(" | ", f);
	put_escaped(f, target);
	fputs(" | ", f);
	if (i != (size_t)-1) {
		put_escaped(f, p->steps[i].step_id);
		fputs(" | ", f);
		fca_render__gate(gate, sizeof(gate), p, i);
		put_escaped(f, gate);
	} else {
		fputs("none | ", f);
		if (pc->error[0]) {
			fputs("**error**: ", f);
			put_escaped(f, pc->error);
		} else if (pc->suspended) {
			fputs("suspended", f);
		} else if (fca_plan_ca_stuck(p, ca)) {
			fputs(pc->now_stage == FCA_STAGE_CORRUPT ? "**corrupt**: a human must decide"
								 : "**drift**: a human must decide",
			      f);
		} else if (pc->note[0]) {
			fputs("nothing fleetca can do yet (see the note)", f);
		} else {
			fputs("nothing to do", f);
		}
	}
	fputs(" |\n", f);
}

/* What an Apple step that changes the first certificate would break: outside the folded details. */
static void disruption_callouts(FILE *f, const struct fca_plan *p, enum fca_ca_id ca)
{
	char line[1024];

	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++) {
		const struct fca_step *s = &p->steps[i];
		if (s->ca != ca || !s->disruption.applies)
			continue;
		fca_render__disruption(line, sizeof(line), &s->disruption);
		fputs("\n> [!CAUTION]\n> **", f);
		put_escaped(f, s->step_id);
		fputs("**: ", f);
		put_escaped(f, line);
		fputs("\n", f);
		if (s->disruption.asserted) {
			fputs(">\n> ", f);
			put_escaped(f, fca_render__asserted);
			fputs("\n", f);
		}
	}
}

/* A revert that would throw away a generation that signed: outside the folded details. */
static void discards_callouts(FILE *f, const struct fca_plan *p, enum fca_ca_id ca)
{
	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++) {
		const struct fca_step *s = &p->steps[i];
		if (s->ca != ca || !s->discards[0])
			continue;
		fputs("\n> [!CAUTION]\n> **", f);
		put_escaped(f, s->step_id);
		fputs("**: ", f);
		put_escaped(f, s->discards);
		fputs("\n", f);
	}
}

/* What the CA's steps set off outside fleetca (src/model/consequence.c): one line per step. */
static void consequences(FILE *f, const struct fca_plan *p, enum fca_ca_id ca)
{
	struct fca_consequence cq;
	int first = 1;

	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++) {
		if (p->steps[i].ca != ca || !fca_consequence_of(&cq, &p->steps[i]))
			continue;
		fprintf(f, "%s> **%s** `", first ? "\n> [!NOTE]\n" : ">\n", fca_catalog_get(ca)->name);
		put_escaped(f, p->steps[i].step_id);
		fputs("`: ", f);
		put_escaped(f, cq.text);
		fputs("\n", f);
		first = 0;
	}
}

static void callouts(FILE *f, const struct fca_plan *p, const struct fca_observed *o)
{
	char line[600];

	for (int ca = 0; ca < FCA_CA_COUNT; ca++) {
		const struct fca_plan_ca *pc = &p->cas[ca];
		const char *name = fca_catalog_get((enum fca_ca_id)ca)->name;

		if (!pc->considered)
			continue;
		if (pc->error[0]) {
			fprintf(f, "\n> [!CAUTION]\n> **%s**: ", name);
			put_escaped(f, pc->error);
			fputs("\n", f);
		}
		disruption_callouts(f, p, (enum fca_ca_id)ca);
		discards_callouts(f, p, (enum fca_ca_id)ca);
		if (pc->warnings)
			fputs("\n> [!WARNING]\n", f);
		for (unsigned b = 0, first = 1; b < FCA_RENDER_WARN_COUNT; b++) {
			if (!(pc->warnings & (1u << b)))
				continue;
			fca_render__warning_text(line, sizeof(line), b, p, o, (enum fca_ca_id)ca);
			fprintf(f, "%s> **%s**: ", first ? "" : ">\n", name);
			put_escaped(f, line);
			fputs("\n", f);
			first = 0;
		}
		consequences(f, p, (enum fca_ca_id)ca);
	}
}

/* The longest run of backticks in s, so that a fence can be longer. */
static size_t longest_backticks(const char *s, size_t len)
{
	size_t best = 0, run = 0;

	for (size_t i = 0; i < len; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		best = run > best ? run : best;
	}
	return best;
}

static void put_fence(FILE *f, size_t n)
{
	while (n--)
		fputc('`', f);
}

static int details(FILE *f, const struct fca_plan *p, const struct fca_observed *o, enum fca_ca_id ca)
{
	const struct fca_plan_ca *pc = &p->cas[ca];
	char now[64], target[64], *buf = NULL;
	size_t len = 0, nsteps = 0, fence;
	FILE *m;

	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++)
		nsteps += p->steps[i].ca == ca;
	if (!(m = open_memstream(&buf, &len)))
		return fca_error_set(FCA_ENOMEM, "out of memory while rendering the plan as markdown");
	if (pc->note[0])
		fprintf(m, "note: %.*s\n", (int)sizeof(pc->note), pc->note);
	fca_render__ca_steps(m, p, o, ca, 0, 0, fca_render__id_width(p, (int)ca));
	if (fclose(m) != 0 || !buf) {
		free(buf);
		return fca_error_set(FCA_ENOMEM, "out of memory while rendering the plan as markdown");
	}

	fca_render__genstage(now, sizeof(now), pc->now_generation, pc->now_stage);
	fca_render__genstage(target, sizeof(target), pc->target_generation, pc->target_stage);
	fprintf(f, "\n<details><summary>%s: ", fca_catalog_get(ca)->name);
	put_escaped(f, now);
	fputs(" → ", f);
	put_escaped(f, target);
	fprintf(f, ", %zu step%s%s</summary>\n\n", nsteps, nsteps == 1 ? "" : "s", pc->suspended ? " (suspended)" : "");
	if (len > 0) {
		fence = longest_backticks(buf, len) + 1;
		fence = fence < 3 ? 3 : fence;
		put_fence(f, fence);
		fputs("text\n", f);
		fputs(buf, f);
		put_fence(f, fence);
		fputs("\n\n", f);
	} else {
		fputs("Nothing to do.\n\n", f);
	}
	fputs("</details>\n", f);
	free(buf);
	return FCA_OK;
}

int fca_render_plan_markdown(FILE *f, const struct fca_plan *p, const struct fca_observed *o)
{
	struct fca_render_counts c;
	char sw[200];
	size_t stuck;
	int r, any = 0;

	fca_render__counts(&c, p);
	stuck = fca_render__stuck_words(sw, sizeof(sw), p);
	if (c.steps == 0 && c.errors == 0 && !stuck && fca_plan_settled(p)) {
		fputs("### fleetca plan: no changes\n\nFleet's CAs match the desired state.\n", f);
	} else if (c.steps == 0 && c.errors == 0 && !stuck) {
		fputs("### fleetca plan: no step can run yet\n\nNot every CA is at its target: see the notes below.\n",
		      f);
	} else {
		fputs("### fleetca plan: ", f);
		if (stuck) {
			fputs("stuck: ", f);
			put_escaped(f, sw);
			fputs(", a human must decide; ", f);
		}
		fprintf(f, "%zu step%s (%zu ready, %zu waiting", c.steps, c.steps == 1 ? "" : "s", c.ready, c.waiting);
		if (c.errors)
			fprintf(f, ", %zu error%s", c.errors, c.errors == 1 ? "" : "s");
		fputs(")\n", f);
	}
	for (int ca = 0; ca < FCA_CA_COUNT; ca++)
		any |= p->cas[ca].considered;
	if (any) {
		fputs("\n| CA | now | target | next step | gate |\n|---|---|---|---|---|\n", f);
		for (int ca = 0; ca < FCA_CA_COUNT; ca++)
			if (p->cas[ca].considered)
				table_row(f, p, (enum fca_ca_id)ca);
		callouts(f, p, o);
		for (int ca = 0; ca < FCA_CA_COUNT; ca++)
			if (p->cas[ca].considered && (r = details(f, p, o, (enum fca_ca_id)ca)) != FCA_OK)
				return r;
	}
	if (fflush(f) != 0 || ferror(f))
		return fca_error_set(FCA_ERROR, "cannot write the plan: %s", strerror(errno));
	return FCA_OK;
}
