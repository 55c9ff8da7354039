/* Helpers the plan renderers share (src/render only; not part of the library's face). */
#ifndef FLEETCA_RENDER_INT_H
#define FLEETCA_RENDER_INT_H

#include <stddef.h>
#include <stdio.h>

#include "fleetca/observed.h"
#include "fleetca/plan.h"

struct fca_render_counts {
	size_t steps, ready, waiting, errors;
};
/* ready: fca_plan_step_ready; waiting: every other step; errors: considered CAs with an error. */
void fca_render__counts(struct fca_render_counts *c, const struct fca_plan *p);

/*
 * The CAs a human must decide about (fca_plan_ca_stuck), as words for a headline: "drift on
 * apple_scep, corrupt host_identity". Returns how many; buf is "" when none.
 */
/* Markdown text (table cells, callouts): see plan_markdown.c. */
void fca_render__md_text(FILE *f, const char *s, int no_code);
size_t fca_render__stuck_words(char *buf, size_t n, const struct fca_plan *p);

/*
 * Writes a JSON document (pretty, keys in insertion order, then a newline) and drops root: the
 * one way the renderers emit JSON. fail: building it already ran out of memory.
 */
struct json_t;
int fca_render__json_out(FILE *f, struct json_t *root, int fail);

/* How a gate reads: decides the colour in text and the words everywhere. */
enum fca_render_tone { FCA_TONE_READY, FCA_TONE_WAIT, FCA_TONE_BAD };

/* "ready", "waiting: …, opens 2026-12-04 10:00 UTC", "after <step>", "blocked: …", "needs a human: …" */
enum fca_render_tone fca_render__gate(char *buf, size_t n, const struct fca_plan *p, size_t i);

/* "gen 2 active", "none", "corrupt", "unmanaged (complete)" */
void fca_render__genstage(char *buf, size_t n, int generation, enum fca_stage stage);

/* RFC 4514, most specific first: "CN=Fleet,OU=SCEP CA,O=scep-ca,C=US" (catalog defaults fill gaps). */
/* The subject a stage or renew step's certificate gets (renew: the current one, unchanged). It goes
 * into JSON as well: give it 600 bytes, which hold any (a certificate's subject[512], or three 64-byte
 * fields each escaped to at most 128 bytes, the country and the keys), so it is never cut. */
void fca_render__subject(char *buf, size_t n, const struct fca_step *s, const struct fca_observed *o);

/* "RSA-2048"; for renew and key: keep, the signing certificate's key; "" when unknown. */
void fca_render__key(char *buf, size_t n, const struct fca_step *s, const struct fca_observed *o);

/* Number of warning bits (enum fca_plan_warning) and the JSON name of bit i. */
#define FCA_RENDER_WARN_COUNT 6
const char *fca_render__warning_name(unsigned bit_index);
/* One sentence for people about warning bit i of a CA. */
void fca_render__warning_text(char *buf, size_t n, unsigned bit_index, const struct fca_plan *p,
			      const struct fca_observed *o, enum fca_ca_id ca);

/*
 * What a step that changes the Apple CA's first certificate would break, as one sentence: "14
 * enrolled Apple devices would fail check-in on a Fleet that trusts one root and would have to
 * re-enroll, and 8 FileVault escrows could no longer be decrypted (new key and subject)".
 */
void fca_render__disruption(char *buf, size_t n, const struct fca_disruption *d);
/* What policy.fleet_server_trusts_previous: true claims, for the line after it. */
extern const char fca_render__asserted[];
/* The same as JSON (schemas/plan.schema.json step.disruption); NULL when out of memory. */
struct json_t;
struct json_t *fca_render__disruption_json(const struct fca_disruption *d, int with_asserted);

/* The widest step id of the plan (for aligned columns); ca < 0 means every CA. */
int fca_render__id_width(const struct fca_plan *p, int ca);

/* The steps of one CA, each with its gate, rows, certificate and drain facts, indented by indent. */
void fca_render__ca_steps(FILE *f, const struct fca_plan *p, const struct fca_observed *o, enum fca_ca_id ca, int color,
			  int indent, int id_width);

#endif
