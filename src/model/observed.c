/* The observed state: derive the stage from the live rows, label them from the state document. */
#include <stdio.h>
#include <string.h>

#include "fleetca/observed.h"
#include "fleetca/timeutil.h"

const char *fca_role_name(enum fca_role r)
{
	switch (r) {
	case FCA_ROLE_NEXT:
		return "next";
	case FCA_ROLE_PREVIOUS:
		return "previous";
	default:
		return "signing";
	}
}

void fca_observed_init(struct fca_observed *o)
{
	memset(o, 0, sizeof(*o));
	fca_state_init(&o->state);
	for (int c = 0; c < FCA_CA_COUNT; c++)
		for (int s = 0; s < FCA_SLOT_COUNT; s++)
			o->cas[c].gens[s].key_check = -1;
}

void fca_observed_dispose(struct fca_observed *o)
{
	if (!o)
		return;
	fca_state_dispose(&o->state);
	fca_observed_init(o);
}

static void fill_names(struct fca_obs_gen *g, const struct fca_ca_def *def, enum fca_slot slot)
{
	if (!g->cert_asset[0])
		fca_catalog_asset(g->cert_asset, sizeof(g->cert_asset), def, 0, slot);
	if (!g->key_asset[0])
		fca_catalog_asset(g->key_asset, sizeof(g->key_asset), def, 1, slot);
}

size_t fca_pem_block_count(const char *text, size_t len)
{
	static const char begin[] = "-----BEGIN ";
	size_t n = 0;

	for (size_t i = 0; text && i + sizeof(begin) - 1 <= len; i++)
		if ((i == 0 || text[i - 1] == '\n') && !memcmp(text + i, begin, sizeof(begin) - 1))
			n++;
	return n;
}

/* Writes into msg why the first slot whose rows are unusable is; returns 1 when there was one.
 * The problem, drift and detail sentences in this file are for a person: a cut is harmless. */
static int slot_problem_into(char *msg, size_t n, const struct fca_obs_ca *c)
{
	for (int s = 0; s < FCA_SLOT_COUNT; s++) {
		const struct fca_obs_gen *g = &c->gens[s];

		if (g->damage[0]) {
			snprintf(msg, n,
				 "%s; the row is damaged and fleetca does not act on this CA: restore it from a "
				 "backup or its history row (deletion_uuid <> '') by hand",
				 g->damage);
			return 1;
		}
	}
	for (int s = 0; s < FCA_SLOT_COUNT; s++) {
		const struct fca_obs_gen *g = &c->gens[s];

		if (g->present && !g->has_key) {
			snprintf(msg, n,
				 "%s is live but %s is missing: a certificate without its key cannot sign; "
				 "restore %s from a backup or soft-delete %s by hand",
				 g->cert_asset, g->key_asset, g->key_asset, g->cert_asset);
			return 1;
		}
		if (!g->present && g->has_key) {
			snprintf(msg, n,
				 "%s is live but %s is missing: a key without its certificate is unusable; "
				 "restore %s from a backup or soft-delete %s by hand",
				 g->key_asset, g->cert_asset, g->cert_asset, g->key_asset);
			return 1;
		}
		if (g->present && !g->cert_ok) {
			snprintf(msg, n,
				 "%s decrypts but does not parse as a certificate: the row is damaged or holds "
				 "something else; restore it from a backup or its history row by hand",
				 g->cert_asset);
			return 1;
		}
		if (g->present && g->key_check == 0) {
			snprintf(msg, n,
				 "%s does not match the public key of %s: the rows belong to different "
				 "generations; restore the matching pair by hand",
				 g->key_asset, g->cert_asset);
			return 1;
		}
	}
	return 0;
}

/* Sets c->problem from the first slot whose rows are unusable; returns 1 when there was one. */
static int slot_problem(struct fca_obs_ca *c)
{
	char msg[sizeof(c->problem)]; /* the gens live inside c: format apart, then copy */

	if (!slot_problem_into(msg, sizeof(msg), c))
		return 0;
	memcpy(c->problem, msg, sizeof(msg));
	return 1;
}

/* The stage the live rows spell (the slots are known to be intact). */
static enum fca_stage slot_stage(struct fca_obs_ca *c)
{
	int cur = c->gens[FCA_SLOT_CURRENT].present, next = c->gens[FCA_SLOT_NEXT].present,
	    prev = c->gens[FCA_SLOT_PREVIOUS].present;
	const struct fca_obs_gen *gc = &c->gens[FCA_SLOT_CURRENT], *gn = &c->gens[FCA_SLOT_NEXT],
				 *gp = &c->gens[FCA_SLOT_PREVIOUS];

	if (!cur && !next && !prev)
		return FCA_STAGE_NONE;
	if (next && prev) {
		snprintf(c->problem, sizeof(c->problem),
			 "both %s and %s are live: a rotation is staged and active at once; soft-delete "
			 "the pair that does not belong (fleetca never writes both) and run again",
			 gn->cert_asset, gp->cert_asset);
		return FCA_STAGE_CORRUPT;
	}
	if (!cur) {
		const struct fca_obs_gen *g = next ? gn : gp;

		snprintf(c->problem, sizeof(c->problem),
			 "%s is live but %s is not: nothing signs; restore %s and %s by hand", g->cert_asset,
			 gc->cert_asset, gc->cert_asset, gc->key_asset);
		return FCA_STAGE_CORRUPT;
	}
	if (next)
		return FCA_STAGE_STAGED;
	if (prev)
		return FCA_STAGE_ACTIVE;
	return FCA_STAGE_COMPLETE;
}

/*
 * The state document against the rows (the slots are known to spell a stage): a certificate it
 * knows can sit in one slot only, a staged (_next) generation is newer than the signing one and a
 * previous one older. Returns 1 with c->problem set when the document contradicts the rows.
 */
static int document_contradicts(struct fca_obs_ca *c)
{
	static const char *const role[FCA_SLOT_COUNT] = {"signs", "is staged", "is previous"};
	const struct fca_obs_gen *cur = &c->gens[FCA_SLOT_CURRENT];
	char msg[sizeof(c->problem)]; /* the gens live inside c: format apart, then copy */

	msg[0] = '\0';
	for (int a = 0; a < FCA_SLOT_COUNT && !msg[0]; a++)
		for (int b = a + 1; b < FCA_SLOT_COUNT && !msg[0]; b++) {
			const struct fca_obs_gen *ga = &c->gens[a], *gb = &c->gens[b];
			if (ga->present && ga->cert_ok && gb->present && gb->cert_ok && ga->generation &&
			    !strcmp(ga->cert.sha256_hex, gb->cert.sha256_hex))
				snprintf(msg, sizeof(msg),
					 "%s and %s hold the same certificate (sha256 %.16s..., generation %d in "
					 "fleetca_state): one is a copy made outside fleetca; soft-delete the copy "
					 "by hand and run again",
					 ga->cert_asset, gb->cert_asset, ga->cert.sha256_hex, ga->generation);
		}
	for (int s = FCA_SLOT_NEXT; s < FCA_SLOT_COUNT && !msg[0]; s++) {
		const struct fca_obs_gen *g = &c->gens[s];
		int wrong;
		if (!g->present || !g->generation || !cur->generation)
			continue;
		wrong = s == FCA_SLOT_NEXT ? g->generation <= cur->generation : g->generation >= cur->generation;
		if (wrong)
			snprintf(msg, sizeof(msg),
				 "fleetca_state records the certificate in %s (sha256 %.16s...) as generation %d, "
				 "but generation %d signs: a generation that %s is always %s than the signing one; "
				 "the rows or fleetca_state were changed outside fleetca: restore them by hand",
				 g->cert_asset, g->cert.sha256_hex, g->generation, cur->generation, role[s],
				 s == FCA_SLOT_NEXT ? "newer" : "older");
	}
	if (!msg[0])
		return 0;
	memcpy(c->problem, msg, sizeof(msg));
	return 1;
}

static void derive_ca(struct fca_observed *o, enum fca_ca_id id)
{
	const struct fca_ca_def *def = fca_catalog_get(id);
	const struct fca_state *st = o->has_document ? &o->state : NULL;
	struct fca_obs_ca *c = &o->cas[id];

	c->problem[0] = '\0';
	c->drift_detail[0] = '\0';
	c->drift = 0;
	c->managed = st ? fca_state_knows_ca(st, id) : 0;
	c->max_generation = st ? fca_state_max_generation(st, id) : 0;

	for (int s = 0; s < FCA_SLOT_COUNT; s++) {
		struct fca_obs_gen *g = &c->gens[s];
		const struct fca_state_gen *sg = NULL;

		fill_names(g, def, (enum fca_slot)s);
		g->generation = 0;
		g->staged_at = 0;
		g->activated_at = 0;
		g->retired_generation = 0;
		g->ever_signed = s == FCA_SLOT_CURRENT && g->present;
		if (c->managed && g->present && g->cert_ok)
			sg = fca_state_find_c(st, id, g->cert.sha256_hex);
		if (sg && sg->retired_at) { /* retired, yet live again: not the generation it was */
			g->retired_generation = sg->generation;
			g->ever_signed |= fca_state_gen_signed(st, sg);
			if (!c->drift) {
				char detail[sizeof(c->drift_detail)], when[40];
				c->drift = 1;
				fca_time_human(when, sizeof(when), sg->retired_at);
				snprintf(detail, sizeof(detail),
					 "%s holds certificate sha256 %.16s... of generation %d, which fleetca "
					 "retired on %s (put back outside fleetca)",
					 g->cert_asset, g->cert.sha256_hex, sg->generation, when);
				memcpy(c->drift_detail, detail, sizeof(detail));
			}
		} else if (sg) {
			g->generation = sg->generation;
			g->staged_at = sg->staged_at;
			g->activated_at = sg->activated_at;
			g->ever_signed |= fca_state_gen_signed(st, sg);
		} else if (c->managed && g->present && g->cert_ok && !c->drift) {
			c->drift = 1;
			char detail[sizeof(c->drift_detail)]; /* g lives inside c: format apart, then copy */
			snprintf(detail, sizeof(detail),
				 "%s holds certificate sha256 %.16s... that fleetca did not make (changed "
				 "outside fleetca)",
				 g->cert_asset, g->cert.sha256_hex);
			memcpy(c->drift_detail, detail, sizeof(detail));
		}
	}

	if (slot_problem(c))
		c->stage = FCA_STAGE_CORRUPT;
	else
		c->stage = slot_stage(c);
	if (c->managed && c->stage != FCA_STAGE_CORRUPT && c->stage != FCA_STAGE_NONE && document_contradicts(c))
		c->stage = FCA_STAGE_CORRUPT;
}

void fca_observed_derive(struct fca_observed *o)
{
	for (int i = 0; i < FCA_CA_COUNT; i++)
		derive_ca(o, (enum fca_ca_id)i);
}
