/* Renderers of a plan: text for people, JSON for machines (schemas/plan.schema.json), markdown for PRs. */
#ifndef FLEETCA_RENDER_H
#define FLEETCA_RENDER_H

#include <stdint.h>
#include <stdio.h>

#include "fleetca/error.h"
#include "fleetca/observed.h"
#include "fleetca/plan.h"

/* Version of the JSON plan document (its "format_version"). */
#define FCA_PLAN_FORMAT_VERSION 1

/*
 * Aligned text: a summary line, then one block per CA named in the YAML with its steps, gates
 * and rows. ANSI colour only when color is non-zero. o may be NULL (no drift details, no basis).
 * Returns FCA_OK, or FCA_ERROR when writing to f fails.
 */
int fca_render_plan_text(FILE *f, const struct fca_plan *p, const struct fca_observed *o, int color) FCA_MUST_USE;

/* Pretty JSON following schemas/plan.schema.json, ending with a newline. */
int fca_render_plan_json(FILE *f, const struct fca_plan *p, const struct fca_observed *o) FCA_MUST_USE;
/* The same document as a malloc'd, NUL-terminated string (for `plan --out`); the caller frees it. */
int fca_render_plan_json_string(char **out, const struct fca_plan *p, const struct fca_observed *o) FCA_MUST_USE;
/* The file `plan --out` writes: the plan JSON plus "desired", the desired state it was made from. */
struct fca_pin;
int fca_render_plan_saved_string(char **out, const struct fca_plan *p, const struct fca_observed *o,
				 const struct fca_pin *pin) FCA_MUST_USE;

/* GitHub-flavoured markdown for a pull-request comment. */
int fca_render_plan_markdown(FILE *f, const struct fca_plan *p, const struct fca_observed *o) FCA_MUST_USE;

/*
 * `plan --git-base`: what the change asks per CA against the file at the merge base, shown above
 * the plan. path names the file in the heading. Text: one line per CA ("apple_scep: gen 1 complete
 * → gen 2 staged (this change)", "host_identity: unchanged"); markdown: a small table; JSON: the
 * plan with an extra top-level "change" array (offline: fca_render_plan_offline_json below).
 */
struct fca_change;
int fca_render_change_text(FILE *f, const struct fca_change *ch, const char *path, int color) FCA_MUST_USE;
int fca_render_change_markdown(FILE *f, const struct fca_change *ch, const char *path) FCA_MUST_USE;
int fca_render_plan_change_json(FILE *f, const struct fca_plan *p, const struct fca_observed *o,
				const struct fca_change *ch) FCA_MUST_USE;

/*
 * `plan --offline` (no row read): what the file asks for, per CA. Text: one aligned line per CA;
 * markdown: a table; JSON: a plan document (schemas/plan.schema.json) with "offline": true, each
 * CA's "now" null, no step and no basis, "change" with ch (--git-base) and "desired" with pin.
 */
struct fca_pin;
int fca_render_offline_text(FILE *f, const struct fca_desired *d) FCA_MUST_USE;
int fca_render_offline_markdown(FILE *f, const struct fca_desired *d) FCA_MUST_USE;
int fca_render_plan_offline_json(FILE *f, const struct fca_desired *d, const struct fca_change *ch,
				 const struct fca_pin *pin, int64_t now) FCA_MUST_USE;

#endif
