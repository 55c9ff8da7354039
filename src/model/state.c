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
	free(s->row_facts);
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
				     "fleetca_state needs pruning by hand",
				     max, what);
	p = realloc(*arr, (n + 1) * elem);
	if (!p)
		return fca_error_set(FCA_ENOMEM, "state document: out of memory adding to %s", what);
	*arr = p;
	return FCA_OK;
}

int fca_state_reserve_facts(struct fca_state *s)
{
	if (!s->row_facts && !(s->row_facts = malloc(FCA_STATE_MAX_FACTS * sizeof(*s->row_facts))))
		return fca_error_set(FCA_ENOMEM, "state document: out of memory");
	return FCA_OK;
}

int fca_state_copy(struct fca_state *dst, const struct fca_state *src)
{
	struct fca_state t;
	fca_state_init(&t);
	t.format_version = src->format_version;
	t.updated_at = src->updated_at;
	memcpy(t.history, src->history, sizeof(t.history));
	if (src->nrow_facts) {
		if (fca_state_reserve_facts(&t) != FCA_OK)
			goto nomem;
		memcpy(t.row_facts, src->row_facts, src->nrow_facts * sizeof(t.row_facts[0]));
		t.nrow_facts = src->nrow_facts;
	}
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

	if (s && (int)ca >= 0 && ca < FCA_CA_COUNT)
		max = s->history[ca].max_generation;
	for (size_t i = 0; s && i < s->ngens; i++)
		if (s->gens[i].ca == ca && s->gens[i].generation > max)
			max = s->gens[i].generation;
	return max;
}

static int history_empty(const struct fca_state_history *h)
{
	return h->generations == 0 && h->transitions == 0;
}

int fca_state_knows_ca(const struct fca_state *s, enum fca_ca_id ca)
{
	if (s && (int)ca >= 0 && ca < FCA_CA_COUNT && !history_empty(&s->history[ca]))
		return 1;
	for (size_t i = 0; s && i < s->ngens; i++)
		if (s->gens[i].ca == ca)
			return 1;
	return 0;
}

int fca_state_add_gen(struct fca_state *s, const struct fca_state_gen *g)
{
	int r;

	if ((int)g->ca < 0 || g->ca >= FCA_CA_COUNT || g->generation < 1 || strlen(g->sha256) != 64)
		return fca_error_set(FCA_EINVALID, "state document: a generation needs a known CA, a number >= 1 and a "
						   "64-digit SHA-256 fingerprint");
	if (fca_state_find_c(s, g->ca, g->sha256))
		return fca_error_set(FCA_ECONFLICT, "state document: %s already knows certificate %.16s...",
				     fca_catalog_get(g->ca)->name, g->sha256);
	if (s->ngens >= FCA_STATE_MAX_GENS) /* a document from before compaction: fold, then add */
		(void)fca_state_compact(s);
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
	if (s->ntransitions >= FCA_STATE_MAX_TRANSITIONS)
		(void)fca_state_compact(s);
	if ((r = grow((void **)&s->transitions, s->ntransitions, sizeof(*s->transitions), FCA_STATE_MAX_TRANSITIONS,
		      "transitions")) != 0)
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

int fca_state_outbox_add(struct fca_state *s, const char *idempotency_key, const char *type, char *details_json,
			 int64_t at)
{
	struct fca_state_outbox *e;
	int r;

	if (!idempotency_key[0] || strlen(idempotency_key) >= sizeof(e->idempotency_key) || !type[0] ||
	    strlen(type) >= sizeof(e->type)) {
		free(details_json);
		return fca_error_set(FCA_EINVALID,
				     "state document: outbox entry needs an idempotency key "
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

/* "<ca>:<generation>:<kind>" (the planner's step ids): 1 and the CA and generation, else 0. */
static int parse_step_id(const char *id, enum fca_ca_id *ca, int *generation)
{
	const char *colon = strchr(id, ':');
	const struct fca_ca_def *def;
	char name[FCA_STEP_ID_MAX];
	long g = 0;
	const char *p;

	if (!colon || (size_t)(colon - id) >= sizeof(name))
		return 0;
	memcpy(name, id, (size_t)(colon - id));
	name[colon - id] = '\0';
	if (!(def = fca_catalog_find(name)))
		return 0;
	for (p = colon + 1; *p >= '0' && *p <= '9' && g < 100000000; p++)
		g = g * 10 + (*p - '0');
	if (p == colon + 1 || *p != ':' || !p[1] || g < 1)
		return 0;
	*ca = def->id;
	*generation = (int)g;
	return 1;
}

/* 1 when an outbox entry's key is "<step_id>#<n>". */
static int outbox_refers_to(const struct fca_state *s, const char *step_id)
{
	size_t n = strlen(step_id);

	for (size_t i = 0; i < s->noutbox; i++)
		if (!strncmp(s->outbox[i].idempotency_key, step_id, n) && s->outbox[i].idempotency_key[n] == '#')
			return 1;
	return 0;
}

static void history_time(struct fca_state_history *h, int64_t t)
{
	if (t <= 0)
		return;
	if (h->oldest_at == 0 || t < h->oldest_at)
		h->oldest_at = t;
	if (t > h->newest_at)
		h->newest_at = t;
}

/* 1 when gens[i] is the last entry of its CA and generation (a renewal appends after the old one). */
static int last_of_generation(const struct fca_state *s, size_t i)
{
	for (size_t j = i + 1; j < s->ngens; j++)
		if (s->gens[j].ca == s->gens[i].ca && s->gens[j].generation == s->gens[i].generation)
			return 0;
	return 1;
}

/*
 * Compaction. Every write of the document runs it first (fca_engine_save_state), so the document
 * stays the same size however many rotations it has seen. The rule, from what reads each field:
 *
 * generations[] (read by fingerprint for the live rows: their generation, stage times and
 * signed_at drive the stage, activate, rollback, the drain and abandon's "has it signed"; an
 * unknown fingerprint is drift; a retired one live again is drift that adopt: true refuses):
 *   kept: every entry that can be live, i.e. not retired and the last of its CA and generation
 *     (a renewal appends the new certificate; the old one's row is soft-deleted, and rollback
 *     only ever brings back the last certificate of a generation);
 *   kept: the FCA_STATE_KEEP_PAST most recent other entries of each CA (retired generations,
 *     replaced renewals), so a recently retired certificate put back is still named "retired";
 *   folded: the rest. Put back outside fleetca, such a certificate is still drift (unknown
 *     fingerprint: no step runs until a person decides), but no longer recognised as retired.
 * transitions[] (the n of a step's next Idempotency-Key "<step_id>#<n>"; the
 * "<ca>:<g>:activate" fallback of fca_state_gen_signed for entries older than signed_at):
 *   kept: every transition of a generation >= the oldest generation still kept for its CA, every
 *     one an outbox entry's key names, and every one whose id is not "<ca>:<generation>:<kind>";
 *   folded: the rest, i.e. steps of generations no entry describes any more. A step of such a
 *     generation cannot recur (generations only grow); if it did, its n would start again at 0,
 *     and its Idempotency-Key would still be new, as it carries the entry's random delivery_id.
 * outbox[]: never touched. An entry leaves the outbox only when delivered (src/engine/outbox.c),
 *   so every entry in it is undelivered; when those alone do not fit the limits, the write fails
 *   (nothing is committed) and the run says so, instead of losing activities.
 * Folded entries are counted in history[ca]: how many, the highest generation (so
 * fca_state_max_generation never hands out a number again and fca_state_knows_ca holds) and the
 * oldest and newest time among them. Pinned plans compare the document row's md5, which any write
 * changes anyway: compaction never writes on its own.
 */
size_t fca_state_compact(struct fca_state *s)
{
	int past[FCA_CA_COUNT] = {0}, oldest[FCA_CA_COUNT];
	size_t folded = 0, w = 0;
	unsigned char *keep;

	if (!s || (s->ngens == 0 && s->ntransitions == 0))
		return 0;
	if (!(keep = calloc(s->ngens ? s->ngens : 1, 1)))
		return 0; /* out of memory: nothing folded, the write goes on as it would have */
	for (size_t i = s->ngens; i-- > 0;) {
		const struct fca_state_gen *g = &s->gens[i];
		if ((int)g->ca < 0 || g->ca >= FCA_CA_COUNT || (!g->retired_at && last_of_generation(s, i)) ||
		    past[g->ca]++ < FCA_STATE_KEEP_PAST)
			keep[i] = 1;
	}
	for (int c = 0; c < FCA_CA_COUNT; c++)
		oldest[c] = 0;
	for (size_t i = 0; i < s->ngens; i++) {
		const struct fca_state_gen *g = &s->gens[i];
		if (keep[i] && (int)g->ca >= 0 && g->ca < FCA_CA_COUNT &&
		    (oldest[g->ca] == 0 || g->generation < oldest[g->ca]))
			oldest[g->ca] = g->generation;
	}
	for (size_t i = 0; i < s->ngens; i++) {
		const struct fca_state_gen *g = &s->gens[i];
		struct fca_state_history *h;
		if (keep[i]) {
			s->gens[w++] = *g;
			continue;
		}
		h = &s->history[g->ca];
		if (h->generations < FCA_STATE_COUNT_MAX)
			h->generations++;
		if (g->generation > h->max_generation)
			h->max_generation = g->generation;
		history_time(h, g->created_at);
		history_time(h, g->staged_at);
		history_time(h, g->activated_at);
		history_time(h, g->signed_at);
		history_time(h, g->retired_at);
		folded++;
	}
	s->ngens = w;
	free(keep);

	w = 0;
	for (size_t i = 0; i < s->ntransitions; i++) {
		const struct fca_state_transition *t = &s->transitions[i];
		enum fca_ca_id ca;
		int g;
		if (!parse_step_id(t->step_id, &ca, &g) || (oldest[ca] != 0 && g >= oldest[ca]) ||
		    outbox_refers_to(s, t->step_id)) {
			s->transitions[w++] = *t;
			continue;
		}
		s->history[ca].transitions = s->history[ca].transitions > FCA_STATE_COUNT_MAX - t->count
						 ? FCA_STATE_COUNT_MAX
						 : s->history[ca].transitions + t->count;
		history_time(&s->history[ca], t->last_at);
		folded++;
	}
	s->ntransitions = w;
	return folded;
}
