/* The fleetca_state document: lookups and edits (parse/serialize live in src/io/json.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/state.h"

void fca_state_init(struct fca_state *s)
{
	memset(s, 0, sizeof(*s));
	s->format_version = FCA_STATE_FORMAT_VERSION;
}

void fca_state_dispose(struct fca_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->noutbox; i++)
		free(s->outbox[i].details_json);
	free(s->gens);
	free(s->transitions);
	free(s->outbox);
	fca_state_init(s);
}

/*
 * Makes room for one more element in *arr (holding n of size elem), up to max. The struct keeps
 * no capacity and the arrays may come from fca_state_parse, so it reallocates to exactly n + 1:
 * at most a few hundred small elements, and realloc usually grows in place.
 */
static int grow(void **arr, size_t n, size_t elem, size_t max, const char *what)
{
	void *p;

	if (n >= max)
		return fca_error_set(FCA_EINVALID,
				     "state document: more than %zu %s; the document is damaged or "
				     "fleetca_state needs pruning by hand", max, what);
	p = realloc(*arr, (n + 1) * elem);
	if (!p)
		return fca_error_set(FCA_ENOMEM, "state document: out of memory adding to %s", what);
	*arr = p;
	return FCA_OK;
}

int fca_state_copy(struct fca_state *dst, const struct fca_state *src)
{
	struct fca_state t;
	fca_state_init(&t);
	t.format_version = src->format_version;
	t.updated_at = src->updated_at;
	if (src->ngens) {
		if (!(t.gens = malloc(src->ngens * sizeof(*t.gens))))
			goto nomem;
		memcpy(t.gens, src->gens, src->ngens * sizeof(*t.gens));
		t.ngens = src->ngens;
	}
	if (src->ntransitions) {
		if (!(t.transitions = malloc(src->ntransitions * sizeof(*t.transitions))))
			goto nomem;
		memcpy(t.transitions, src->transitions, src->ntransitions * sizeof(*t.transitions));
		t.ntransitions = src->ntransitions;
	}
	if (src->noutbox) {
		if (!(t.outbox = calloc(src->noutbox, sizeof(*t.outbox))))
			goto nomem;
		for (size_t i = 0; i < src->noutbox; i++) {
			t.outbox[i] = src->outbox[i];
			t.outbox[i].details_json = NULL;
			t.noutbox = i + 1;
			if (src->outbox[i].details_json &&
			    !(t.outbox[i].details_json = strdup(src->outbox[i].details_json)))
				goto nomem;
		}
	}
	*dst = t;
	return FCA_OK;
nomem:
	fca_state_dispose(&t);
	return fca_error_set(FCA_ENOMEM, "state document: out of memory copying it");
}

const struct fca_state_gen *fca_state_find_c(const struct fca_state *s, enum fca_ca_id ca, const char *sha256_hex)
{
	if (!s || !sha256_hex || !sha256_hex[0])
		return NULL;
	for (size_t i = 0; i < s->ngens; i++)
		if (s->gens[i].ca == ca && strcmp(s->gens[i].sha256, sha256_hex) == 0)
			return &s->gens[i];
	return NULL;
}

struct fca_state_gen *fca_state_find(struct fca_state *s, enum fca_ca_id ca, const char *sha256_hex)
{
	return (struct fca_state_gen *)fca_state_find_c(s, ca, sha256_hex);
}

int fca_state_max_generation(const struct fca_state *s, enum fca_ca_id ca)
{
	int max = 0;

	for (size_t i = 0; s && i < s->ngens; i++)
		if (s->gens[i].ca == ca && s->gens[i].generation > max)
			max = s->gens[i].generation;
	return max;
}

int fca_state_knows_ca(const struct fca_state *s, enum fca_ca_id ca)
{
	for (size_t i = 0; s && i < s->ngens; i++)
		if (s->gens[i].ca == ca)
			return 1;
	return 0;
}

int fca_state_add_gen(struct fca_state *s, const struct fca_state_gen *g)
{
	int r;

	if ((int)g->ca < 0 || g->ca >= FCA_CA_COUNT || g->generation < 1 || strlen(g->sha256) != 64)
		return fca_error_set(FCA_EINVALID,
				     "state document: a generation needs a known CA, a number >= 1 and a "
				     "64-digit SHA-256 fingerprint");
	if (fca_state_find_c(s, g->ca, g->sha256))
		return fca_error_set(FCA_ECONFLICT, "state document: %s already knows certificate %.16s...",
				     fca_catalog_get(g->ca)->name, g->sha256);
	if ((r = grow((void **)&s->gens, s->ngens, sizeof(*s->gens), FCA_STATE_MAX_GENS, "generations")) != 0)
		return r;
	s->gens[s->ngens++] = *g;
	return FCA_OK;
}

int fca_state_record_transition(struct fca_state *s, const char *step_id, int64_t at, int *n_out)
{
	struct fca_state_transition *t;
	int r;

	if (!step_id[0] || strlen(step_id) >= FCA_STEP_ID_MAX)
		return fca_error_set(FCA_EINVALID, "state document: step id is empty or longer than %d bytes",
				     FCA_STEP_ID_MAX - 1);
	for (size_t i = 0; i < s->ntransitions; i++) {
		t = &s->transitions[i];
		if (strcmp(t->step_id, step_id) == 0) {
			if (n_out)
				*n_out = t->count;
			t->count++;
			t->last_at = at;
			return FCA_OK;
		}
	}
	if ((r = grow((void **)&s->transitions, s->ntransitions, sizeof(*s->transitions),
		      FCA_STATE_MAX_TRANSITIONS, "transitions")) != 0)
		return r;
	t = &s->transitions[s->ntransitions++];
	memset(t, 0, sizeof(*t));
	strcpy(t->step_id, step_id);
	t->count = 1;
	t->last_at = at;
	if (n_out)
		*n_out = 0;
	return FCA_OK;
}

int fca_state_outbox_add(struct fca_state *s, const char *idempotency_key, const char *type,
			 char *details_json, int64_t at)
{
	struct fca_state_outbox *e;
	int r;

	if (!idempotency_key[0] || strlen(idempotency_key) >= sizeof(e->idempotency_key) ||
	    !type[0] || strlen(type) >= sizeof(e->type)) {
		free(details_json);
		return fca_error_set(FCA_EINVALID, "state document: outbox entry needs an idempotency key "
				     "and a type that fit (%zu and %zu bytes)",
				     sizeof(e->idempotency_key) - 1, sizeof(e->type) - 1);
	}
	if ((r = grow((void **)&s->outbox, s->noutbox, sizeof(*s->outbox), FCA_STATE_MAX_OUTBOX,
		      "undelivered activities in the outbox (run `fleetca outbox --flush`)")) != 0) {
		free(details_json);
		return r;
	}
	e = &s->outbox[s->noutbox++];
	memset(e, 0, sizeof(*e));
	strcpy(e->idempotency_key, idempotency_key);
	strcpy(e->type, type);
	e->details_json = details_json;
	e->created_at = at;
	return FCA_OK;
}

void fca_state_outbox_remove(struct fca_state *s, size_t i)
{
	if (!s || i >= s->noutbox)
		return;
	free(s->outbox[i].details_json);
	memmove(&s->outbox[i], &s->outbox[i + 1], (s->noutbox - i - 1) * sizeof(*s->outbox));
	s->noutbox--;
}

int fca_state_gen_signed(const struct fca_state *s, const struct fca_state_gen *g)
{
	char id[FCA_STEP_ID_MAX];
	const struct fca_ca_def *def = fca_catalog_get(g->ca);

	if (g->signed_at > 0 || g->activated_at > 0)
		return 1;
	if (!def)
		return 0;
	snprintf(id, sizeof(id), "%s:%d:activate", def->name, g->generation);
	for (size_t i = 0; i < s->ntransitions; i++)
		if (s->transitions[i].count > 0 && !strcmp(s->transitions[i].step_id, id))
			return 1;
	return 0;
}
