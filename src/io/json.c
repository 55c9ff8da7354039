/*
 * The JSON adapter: the only file below the renderers that includes <jansson.h>; no json_t leaves
 * it (include/fleetca/json.h). Most of it is the fleetca_state document <-> struct fca_state; at
 * the end, the smaller documents: an activity's details, a saved plan, Fleet's API bodies.
 *
 * Parsing is strict and bounded: every key is known, every value has its type and range, every
 * array its maximum. Serialization is canonical (sorted keys, compact), so the same state always
 * gives the same bytes.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "fleetca/buf.h"
#include "fleetca/catalog.h"
#include "fleetca/json.h"
#include "fleetca/plan.h"
#include "fleetca/state.h"
#include "fleetca/timeutil.h"

#define PFX "fleetca_state: "

/* Times outside 1970-01-01 .. 9999-12-31 cannot be written back as RFC 3339. */
#define TIME_MAX       ((int64_t)253402300799)
#define GENERATION_MAX 1000000
#define COUNT_MAX      FCA_STATE_COUNT_MAX

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int wrong_type(const char *field, const char *expected, const json_t *v)
{
	return fca_error_set(FCA_EINVALID, PFX "%s: expected %s, found %s", field, expected,
			     v ? type_name(v) : "nothing (the field is missing)");
}

/*
 * Every key of obj must be one of keys[] (NULL-terminated) or optional[] (NULL or
 * NULL-terminated); every key in keys[] must be present.
 */
static int check_keys_opt(const json_t *obj, const char *field, const char *const keys[], const char *const optional[])
{
	const char *k;
	json_t *v;
	char where[160]; /* a field name (f[96] below) and a key: never cut */

	json_object_foreach((json_t *)obj, k, v)
	{
		size_t i;
		for (i = 0; keys[i]; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (!keys[i] && optional)
			for (size_t j = 0; optional[j]; j++)
				if (strcmp(k, optional[j]) == 0) {
					i = SIZE_MAX;
					break;
				}
		if (i != SIZE_MAX && !keys[i])
			return fca_error_set(FCA_EINVALID, PFX "%s%sunknown field \"%.64s\"", field,
					     field[0] ? ": " : "", k);
	}
	for (size_t i = 0; keys[i]; i++)
		if (!json_object_get(obj, keys[i])) {
			snprintf(where, sizeof(where), "%s%s%s", field, field[0] ? "." : "", keys[i]);
			return fca_error_set(FCA_EINVALID, PFX "%s: required field is missing", where);
		}
	return FCA_OK;
}

static int check_keys(const json_t *obj, const char *field, const char *const keys[])
{
	return check_keys_opt(obj, field, keys, NULL);
}

static int get_int(int64_t *out, const json_t *v, const char *field, int64_t min, int64_t max)
{
	json_int_t n;

	if (!json_is_integer(v))
		return wrong_type(field, "an integer", v);
	n = json_integer_value(v);
	if (n < min || n > max)
		return fca_error_set(FCA_EINVALID, PFX "%s: %" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")",
				     field, (int64_t)n, min, max);
	*out = (int64_t)n;
	return FCA_OK;
}

/* Copies a string of at most cap-1 bytes, printable ASCII only (these end up in messages). */
static int get_str(char *buf, size_t cap, const json_t *v, const char *field, int allow_empty)
{
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return wrong_type(field, "a string", v);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 && !allow_empty)
		return fca_error_set(FCA_EINVALID, PFX "%s: must not be empty", field);
	if (len >= cap)
		return fca_error_set(FCA_EINVALID, PFX "%s: %zu characters, at most %zu", field, len, cap - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return fca_error_set(FCA_EINVALID, PFX "%s: only printable ASCII characters are allowed",
					     field);
	memcpy(buf, s, len + 1);
	return FCA_OK;
}

/* A time as an RFC 3339 string; with nullable, null (or the epoch) means 0 = never. */
static int get_time(int64_t *out, const json_t *v, const char *field, int nullable)
{
	char buf[64];
	int64_t t;
	int r;

	if (nullable && json_is_null(v)) {
		*out = 0;
		return FCA_OK;
	}
	if (!json_is_string(v))
		return wrong_type(field, nullable ? "an RFC 3339 time string or null" : "an RFC 3339 time string", v);
	if ((r = get_str(buf, sizeof(buf), v, field, 0)) != FCA_OK)
		return r;
	if (fca_time_parse(&t, buf) != FCA_OK) {
		fca_error_clear();
		return fca_error_set(FCA_EINVALID, PFX "%s: \"%s\" is not an RFC 3339 time (e.g. 2026-12-04T10:00:00Z)",
				     field, buf);
	}
	if (t < 0 || t > TIME_MAX)
		return fca_error_set(FCA_EINVALID, PFX "%s: \"%s\" is out of range (1970 .. 9999)", field, buf);
	*out = t;
	return FCA_OK;
}

static int is_hex(const char *s, size_t min, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n >= min && n <= max;
}

static int get_array(size_t *n, const json_t *v, const char *field, size_t max)
{
	if (!json_is_array(v))
		return wrong_type(field, "an array", v);
	*n = json_array_size(v);
	if (*n > max)
		return fca_error_set(FCA_EINVALID, PFX "%s: %zu entries, at most %zu", field, *n, max);
	return FCA_OK;
}

/* calloc of n elements; n == 0 gives NULL and success. */
static int alloc_array(void **out, size_t n, size_t size)
{
	*out = NULL;
	if (n == 0)
		return FCA_OK;
	if (!(*out = calloc(n, size)))
		return fca_error_set(FCA_ENOMEM, PFX "out of memory for %zu entries", n);
	return FCA_OK;
}

static int parse_gen(struct fca_state_gen *g, const json_t *o, size_t i)
{
	static const char *const keys[] = {"ca",	   "generation", "sha256", "created_at", "staged_at",
					   "activated_at", "retired_at", "commit", NULL};
	static const char *const optional[] = {"signed_at", NULL};
	char f[96], name[64]; /* f: "generations[<20 digits>].activated_at" is at most 47 bytes: never cut */
	const struct fca_ca_def *def;
	int64_t n = 0;
	int r;

	snprintf(f, sizeof(f), "generations[%zu]", i);
	if (!json_is_object(o))
		return wrong_type(f, "an object", o);
	if ((r = check_keys_opt(o, f, keys, optional)) != FCA_OK)
		return r;

	snprintf(f, sizeof(f), "generations[%zu].ca", i);
	if ((r = get_str(name, sizeof(name), json_object_get(o, "ca"), f, 0)) != FCA_OK)
		return r;
	if (!(def = fca_catalog_find(name)))
		return fca_error_set(FCA_EINVALID,
				     PFX "%s: unknown CA \"%s\" (expected apple_scep, host_identity, "
					 "conditional_access or conditional_access_idp)",
				     f, name);
	g->ca = def->id;

	snprintf(f, sizeof(f), "generations[%zu].generation", i);
	if ((r = get_int(&n, json_object_get(o, "generation"), f, 1, GENERATION_MAX)) != FCA_OK)
		return r;
	g->generation = (int)n;

	snprintf(f, sizeof(f), "generations[%zu].sha256", i);
	if ((r = get_str(g->sha256, sizeof(g->sha256), json_object_get(o, "sha256"), f, 0)) != FCA_OK)
		return r;
	if (!is_hex(g->sha256, 64, 64))
		return fca_error_set(FCA_EINVALID, PFX "%s: expected 64 lowercase hex digits (a SHA-256 fingerprint)",
				     f);

	snprintf(f, sizeof(f), "generations[%zu].created_at", i);
	if ((r = get_time(&g->created_at, json_object_get(o, "created_at"), f, 0)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "generations[%zu].staged_at", i);
	if ((r = get_time(&g->staged_at, json_object_get(o, "staged_at"), f, 1)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "generations[%zu].activated_at", i);
	if ((r = get_time(&g->activated_at, json_object_get(o, "activated_at"), f, 1)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "generations[%zu].retired_at", i);
	if ((r = get_time(&g->retired_at, json_object_get(o, "retired_at"), f, 1)) != FCA_OK)
		return r;
	/* optional: documents written before it existed do not have it */
	snprintf(f, sizeof(f), "generations[%zu].signed_at", i);
	g->signed_at = 0;
	if (json_object_get(o, "signed_at") &&
	    (r = get_time(&g->signed_at, json_object_get(o, "signed_at"), f, 1)) != FCA_OK)
		return r;

	snprintf(f, sizeof(f), "generations[%zu].commit", i);
	if ((r = get_str(g->commit, sizeof(g->commit), json_object_get(o, "commit"), f, 1)) != FCA_OK)
		return r;
	if (!is_hex(g->commit, 0, 40))
		return fca_error_set(FCA_EINVALID, PFX "%s: expected a git commit id (lowercase hex) or \"\"", f);
	return FCA_OK;
}

static int parse_transition(struct fca_state_transition *t, const json_t *o, size_t i)
{
	static const char *const keys[] = {"step_id", "count", "last_at", NULL};
	char f[96]; /* "transitions[<20 digits>].step_id" is at most 42 bytes: never cut */
	int64_t n;
	int r;

	snprintf(f, sizeof(f), "transitions[%zu]", i);
	if (!json_is_object(o))
		return wrong_type(f, "an object", o);
	if ((r = check_keys(o, f, keys)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "transitions[%zu].step_id", i);
	if ((r = get_str(t->step_id, sizeof(t->step_id), json_object_get(o, "step_id"), f, 0)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "transitions[%zu].count", i);
	if ((r = get_int(&n, json_object_get(o, "count"), f, 1, COUNT_MAX)) != FCA_OK)
		return r;
	t->count = (int)n;
	snprintf(f, sizeof(f), "transitions[%zu].last_at", i);
	return get_time(&t->last_at, json_object_get(o, "last_at"), f, 0);
}

static int known_activity(const char *type)
{
	for (int k = FCA_STEP_ADOPT; k <= FCA_STEP_RENEW; k++)
		if (strcmp(type, fca_step_activity_type((enum fca_step_kind)k)) == 0)
			return 1;
	return 0;
}

static int parse_outbox(struct fca_state_outbox *e, const json_t *o, size_t i)
{
	static const char *const keys[] = {"idempotency_key", "type", "details", "created_at", "attempts", NULL};
	static const char *const optional[] = {"delivery_id", "last_attempt_at", NULL};
	char f[96]; /* "outbox[<20 digits>].last_attempt_at" is at most 44 bytes: never cut */
	const json_t *d;
	int64_t n;
	int r;

	snprintf(f, sizeof(f), "outbox[%zu]", i);
	if (!json_is_object(o))
		return wrong_type(f, "an object", o);
	if ((r = check_keys_opt(o, f, keys, optional)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "outbox[%zu].delivery_id", i);
	if (json_object_get(o, "delivery_id")) {
		if ((r = get_str(e->delivery_id, sizeof(e->delivery_id), json_object_get(o, "delivery_id"), f, 0)) !=
		    FCA_OK)
			return r;
		for (size_t k = 0; e->delivery_id[k]; k++)
			if (!(isxdigit((unsigned char)e->delivery_id[k]) || e->delivery_id[k] == '-'))
				return fca_error_set(FCA_EINVALID, PFX "%s: expected a UUID", f);
	}
	snprintf(f, sizeof(f), "outbox[%zu].last_attempt_at", i);
	if (json_object_get(o, "last_attempt_at") &&
	    (r = get_time(&e->last_attempt_at, json_object_get(o, "last_attempt_at"), f, 1)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "outbox[%zu].idempotency_key", i);
	if ((r = get_str(e->idempotency_key, sizeof(e->idempotency_key), json_object_get(o, "idempotency_key"), f,
			 0)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "outbox[%zu].type", i);
	if ((r = get_str(e->type, sizeof(e->type), json_object_get(o, "type"), f, 0)) != FCA_OK)
		return r;
	if (!known_activity(e->type))
		return fca_error_set(FCA_EINVALID, PFX "%s: unknown activity type \"%s\"", f, e->type);
	snprintf(f, sizeof(f), "outbox[%zu].created_at", i);
	if ((r = get_time(&e->created_at, json_object_get(o, "created_at"), f, 0)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "outbox[%zu].attempts", i);
	if ((r = get_int(&n, json_object_get(o, "attempts"), f, 0, COUNT_MAX)) != FCA_OK)
		return r;
	e->attempts = (int)n;
	snprintf(f, sizeof(f), "outbox[%zu].details", i);
	d = json_object_get(o, "details");
	if (!json_is_object(d))
		return wrong_type(f, "an object", d);
	if (!(e->details_json = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS)))
		return fca_error_set(FCA_ENOMEM, PFX "%s: out of memory", f);
	return FCA_OK;
}

/* history[i]: what compaction folded for one CA (struct fca_state_history). */
static int parse_history(struct fca_state *s, const json_t *o, size_t i)
{
	static const char *const keys[] = {"ca",	"generations", "transitions", "max_generation",
					   "oldest_at", "newest_at",   NULL};
	struct fca_state_history h;
	const struct fca_ca_def *def;
	char f[96], name[64]; /* f: "history[<20 digits>].max_generation" is at most 45 bytes: never cut */
	int64_t n;
	int r;

	memset(&h, 0, sizeof(h));
	snprintf(f, sizeof(f), "history[%zu]", i);
	if (!json_is_object(o))
		return wrong_type(f, "an object", o);
	if ((r = check_keys(o, f, keys)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "history[%zu].ca", i);
	if ((r = get_str(name, sizeof(name), json_object_get(o, "ca"), f, 0)) != FCA_OK)
		return r;
	if (!(def = fca_catalog_find(name)))
		return fca_error_set(FCA_EINVALID, PFX "%s: unknown CA \"%s\"", f, name);
	if (s->history[def->id].generations || s->history[def->id].transitions)
		return fca_error_set(FCA_EINVALID, PFX "%s: a second entry for %s", f, name);
	snprintf(f, sizeof(f), "history[%zu].generations", i);
	if ((r = get_int(&n, json_object_get(o, "generations"), f, 0, COUNT_MAX)) != FCA_OK)
		return r;
	h.generations = (int)n;
	snprintf(f, sizeof(f), "history[%zu].transitions", i);
	if ((r = get_int(&n, json_object_get(o, "transitions"), f, 0, COUNT_MAX)) != FCA_OK)
		return r;
	h.transitions = (int)n;
	if (!h.generations && !h.transitions)
		return fca_error_set(FCA_EINVALID,
				     PFX "history[%zu]: folds nothing (generations and transitions are 0)", i);
	snprintf(f, sizeof(f), "history[%zu].max_generation", i);
	if ((r = get_int(&n, json_object_get(o, "max_generation"), f, 0, GENERATION_MAX)) != FCA_OK)
		return r;
	h.max_generation = (int)n;
	snprintf(f, sizeof(f), "history[%zu].oldest_at", i);
	if ((r = get_time(&h.oldest_at, json_object_get(o, "oldest_at"), f, 1)) != FCA_OK)
		return r;
	snprintf(f, sizeof(f), "history[%zu].newest_at", i);
	if ((r = get_time(&h.newest_at, json_object_get(o, "newest_at"), f, 1)) != FCA_OK)
		return r;
	if (h.oldest_at > h.newest_at)
		return fca_error_set(FCA_EINVALID, PFX "history[%zu]: oldest_at is after newest_at", i);
	s->history[def->id] = h;
	return FCA_OK;
}

static int check_unique(const struct fca_state *s)
{
	for (size_t i = 0; i < s->ngens; i++)
		for (size_t j = 0; j < i; j++)
			if (s->gens[i].ca == s->gens[j].ca && strcmp(s->gens[i].sha256, s->gens[j].sha256) == 0)
				return fca_error_set(
				    FCA_EINVALID,
				    PFX "generations[%zu].sha256: the same certificate as generations[%zu]", i, j);
	for (size_t i = 0; i < s->ntransitions; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->transitions[i].step_id, s->transitions[j].step_id) == 0)
				return fca_error_set(FCA_EINVALID,
						     PFX "transitions[%zu].step_id: \"%s\" also in transitions[%zu]", i,
						     s->transitions[i].step_id, j);
	for (size_t i = 0; i < s->noutbox; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->outbox[i].idempotency_key, s->outbox[j].idempotency_key) == 0)
				return fca_error_set(FCA_EINVALID,
						     PFX "outbox[%zu].idempotency_key: \"%s\" also in outbox[%zu]", i,
						     s->outbox[i].idempotency_key, j);
	return FCA_OK;
}

int fca_state_parse(struct fca_state *out, const char *json, size_t len)
{
	static const char *const keys[] = {"format_version", "updated_at", "generations",
					   "transitions",    "outbox",	   NULL};
	/* "profiles": the trust profiles of fleetca versions that uploaded them (since removed: Fleet
	 * distributes its root CA itself). Accepted and ignored, so that a database in the
	 * field keeps working; the next write leaves it out. */
	static const char *const optional[] = {"profiles", "history", "row_facts", NULL};
	int r = FCA_EINVALID;
	json_t *root = NULL, *a, *v;
	json_error_t jerr;
	struct fca_state s;
	int64_t version;
	size_t n, i;

	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	if (!json) {
		r = fca_error_set(FCA_EINVALID, PFX "no document");
		goto out;
	}
	if (len > FCA_STATE_MAX_BYTES) {
		r = fca_error_set(FCA_EINVALID, PFX "the document is %zu bytes, at most %d", len, FCA_STATE_MAX_BYTES);
		goto out;
	}
	if (!(root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr))) {
		r = fca_error_set(FCA_EINVALID, PFX "not valid JSON at line %d column %d: %s", jerr.line, jerr.column,
				  jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		r = wrong_type("document", "an object", root);
		goto out;
	}
	/* The version first: a newer document must say so, not fail on a field it added. */
	v = json_object_get(root, "format_version");
	if (!json_is_integer(v)) {
		r = wrong_type("format_version", "an integer", v);
		goto out;
	}
	version = (int64_t)json_integer_value(v);
	if (version != FCA_STATE_FORMAT_VERSION) {
		r = fca_error_set(FCA_EINVALID,
				  PFX "format_version %" PRId64 " is not supported (this fleetca reads version %d): "
				      "was the document written by a newer fleetca?",
				  version, FCA_STATE_FORMAT_VERSION);
		goto out;
	}
	s.format_version = FCA_STATE_FORMAT_VERSION;
	if ((r = check_keys_opt(root, "", keys, optional)) != FCA_OK ||
	    (r = get_time(&s.updated_at, json_object_get(root, "updated_at"), "updated_at", 0)) != FCA_OK)
		goto out;

	a = json_object_get(root, "generations");
	if ((r = get_array(&n, a, "generations", FCA_STATE_MAX_GENS)) != FCA_OK ||
	    (r = alloc_array((void **)&s.gens, n, sizeof(*s.gens))) != FCA_OK)
		goto out;
	s.ngens = n;
	json_array_foreach(a, i, v) if ((r = parse_gen(&s.gens[i], v, i)) != FCA_OK) goto out;

	a = json_object_get(root, "transitions");
	if ((r = get_array(&n, a, "transitions", FCA_STATE_MAX_TRANSITIONS)) != FCA_OK ||
	    (r = alloc_array((void **)&s.transitions, n, sizeof(*s.transitions))) != FCA_OK)
		goto out;
	s.ntransitions = n;
	json_array_foreach(a, i, v) if ((r = parse_transition(&s.transitions[i], v, i)) != FCA_OK) goto out;

	a = json_object_get(root, "outbox");
	if ((r = get_array(&n, a, "outbox", FCA_STATE_MAX_OUTBOX)) != FCA_OK ||
	    (r = alloc_array((void **)&s.outbox, n, sizeof(*s.outbox))) != FCA_OK)
		goto out;
	s.noutbox = n;
	json_array_foreach(a, i, v) if ((r = parse_outbox(&s.outbox[i], v, i)) != FCA_OK) goto out;

	/* Optional: only a document that compaction folded something from has it. */
	if ((a = json_object_get(root, "history"))) {
		if ((r = get_array(&n, a, "history", FCA_CA_COUNT)) != FCA_OK)
			goto out;
		json_array_foreach(a, i, v) if ((r = parse_history(&s, v, i)) != FCA_OK) goto out;
	}

	/* Optional: documents written before it existed do not have it (include/fleetca/state.h). */
	if ((a = json_object_get(root, "row_facts"))) {
		if ((r = get_array(&n, a, "row_facts", FCA_STATE_MAX_FACTS)) != FCA_OK ||
		    (n && (r = fca_state_reserve_facts(&s)) != FCA_OK))
			goto out;
		json_array_foreach(a, i, v)
		{
			char f[32];
			snprintf(f, sizeof(f), "row_facts[%zu]", i);
			if ((r = get_str(s.row_facts[i], sizeof(s.row_facts[i]), v, f, 0)) != FCA_OK)
				goto out;
		}
		s.nrow_facts = n;
	}

	if ((r = check_unique(&s)) != FCA_OK)
		goto out;

	*out = s;
	memset(&s, 0, sizeof(s));
	r = FCA_OK;
out:
	fca_state_dispose(&s);
	json_decref(root);
	return r;
}

/* Builders: each returns NULL only when out of memory. */

static json_t *time_or_null(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	fca_time_rfc3339(buf, sizeof(buf), t);
	return json_string(buf);
}

static json_t *time_str(int64_t t)
{
	char buf[32];

	fca_time_rfc3339(buf, sizeof(buf), t);
	return json_string(buf);
}

/* json_object_set_new that remembers a failure (a NULL value or an out-of-memory set). */
static void put(json_t *obj, const char *key, json_t *v, int *fail)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		*fail = 1;
}

static int check_time(int64_t t, const char *field, size_t i)
{
	if (t < 0 || t > TIME_MAX)
		return fca_error_set(FCA_EINVALID, PFX "%s of entry %zu is out of range (1970 .. 9999)", field, i);
	return FCA_OK;
}

static int build_gen(json_t **out, const struct fca_state_gen *g, size_t i)
{
	const struct fca_ca_def *def = fca_catalog_get(g->ca);
	json_t *o;
	int fail = 0, r;

	*out = NULL;
	if (!def)
		return fca_error_set(FCA_EINVALID, PFX "generations[%zu].ca: unknown CA id %d", i, (int)g->ca);
	if (g->generation < 1 || g->generation > GENERATION_MAX)
		return fca_error_set(FCA_EINVALID, PFX "generations[%zu].generation: %d is out of range", i,
				     g->generation);
	if (!is_hex(g->sha256, 64, 64))
		return fca_error_set(FCA_EINVALID, PFX "generations[%zu].sha256: expected 64 lowercase hex digits", i);
	if (!is_hex(g->commit, 0, 40))
		return fca_error_set(FCA_EINVALID, PFX "generations[%zu].commit: expected lowercase hex", i);
	if ((r = check_time(g->created_at, "generations.created_at", i)) != FCA_OK ||
	    (r = check_time(g->staged_at, "generations.staged_at", i)) != FCA_OK ||
	    (r = check_time(g->activated_at, "generations.activated_at", i)) != FCA_OK ||
	    (r = check_time(g->retired_at, "generations.retired_at", i)) != FCA_OK ||
	    (r = check_time(g->signed_at, "generations.signed_at", i)) != FCA_OK)
		return r;
	if (!(o = json_object()))
		return fca_error_set(FCA_ENOMEM, PFX "out of memory");
	put(o, "ca", json_string(def->name), &fail);
	put(o, "generation", json_integer(g->generation), &fail);
	put(o, "sha256", json_string(g->sha256), &fail);
	put(o, "created_at", time_str(g->created_at), &fail);
	put(o, "staged_at", time_or_null(g->staged_at), &fail);
	put(o, "activated_at", time_or_null(g->activated_at), &fail);
	put(o, "retired_at", time_or_null(g->retired_at), &fail);
	if (g->signed_at > 0) /* written only once set: a document without it keeps its bytes */
		put(o, "signed_at", time_str(g->signed_at), &fail);
	put(o, "commit", json_string(g->commit), &fail);
	if (fail) {
		json_decref(o);
		return fca_error_set(FCA_ENOMEM, PFX "out of memory");
	}
	*out = o;
	return FCA_OK;
}

/* A string field of the struct: NUL-terminated within cap, printable ASCII, non-empty. */
static int check_field(const char *s, size_t cap, const char *field, size_t i)
{
	size_t len = strnlen(s, cap);

	if (len == 0 || len == cap)
		return fca_error_set(FCA_EINVALID, PFX "%s of entry %zu is empty or unterminated", field, i);
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] > 0x7e)
			return fca_error_set(FCA_EINVALID, PFX "%s of entry %zu has a non-printable character", field,
					     i);
	return FCA_OK;
}

static int build_transition(json_t **out, const struct fca_state_transition *t, size_t i)
{
	json_t *o;
	int fail = 0, r;

	*out = NULL;
	if ((r = check_field(t->step_id, sizeof(t->step_id), "transitions.step_id", i)) != FCA_OK ||
	    (r = check_time(t->last_at, "transitions.last_at", i)) != FCA_OK)
		return r;
	if (t->count < 1)
		return fca_error_set(FCA_EINVALID, PFX "transitions[%zu].count: %d, expected at least 1", i, t->count);
	if (!(o = json_object()))
		return fca_error_set(FCA_ENOMEM, PFX "out of memory");
	put(o, "step_id", json_string(t->step_id), &fail);
	put(o, "count", json_integer(t->count), &fail);
	put(o, "last_at", time_str(t->last_at), &fail);
	if (fail) {
		json_decref(o);
		return fca_error_set(FCA_ENOMEM, PFX "out of memory");
	}
	*out = o;
	return FCA_OK;
}

static int build_outbox(json_t **out, const struct fca_state_outbox *e, size_t i)
{
	json_t *o = NULL, *d = NULL;
	json_error_t jerr;
	int fail = 0, r;

	*out = NULL;
	if ((r = check_field(e->idempotency_key, sizeof(e->idempotency_key), "outbox.idempotency_key", i)) != FCA_OK ||
	    (r = check_field(e->type, sizeof(e->type), "outbox.type", i)) != FCA_OK ||
	    (r = check_time(e->created_at, "outbox.created_at", i)) != FCA_OK)
		return r;
	if (e->attempts < 0)
		return fca_error_set(FCA_EINVALID, PFX "outbox[%zu].attempts: %d is negative", i, e->attempts);
	if (!e->details_json)
		return fca_error_set(FCA_EINVALID, PFX "outbox[%zu].details: missing", i);
	if (!(d = json_loads(e->details_json, JSON_REJECT_DUPLICATES, &jerr)))
		return fca_error_set(FCA_EINVALID, PFX "outbox[%zu].details: not valid JSON (%s)", i, jerr.text);
	if (!json_is_object(d)) {
		json_decref(d);
		return fca_error_set(FCA_EINVALID, PFX "outbox[%zu].details: expected a JSON object", i);
	}
	if (!(o = json_object())) {
		json_decref(d);
		return fca_error_set(FCA_ENOMEM, PFX "out of memory");
	}
	put(o, "idempotency_key", json_string(e->idempotency_key), &fail);
	put(o, "type", json_string(e->type), &fail);
	put(o, "details", d, &fail);
	put(o, "created_at", time_str(e->created_at), &fail);
	put(o, "attempts", json_integer(e->attempts), &fail);
	if (e->delivery_id[0])
		put(o, "delivery_id", json_string(e->delivery_id), &fail);
	if (e->last_attempt_at)
		put(o, "last_attempt_at", time_str(e->last_attempt_at), &fail);
	if (fail) {
		json_decref(o);
		return fca_error_set(FCA_ENOMEM, PFX "out of memory");
	}
	*out = o;
	return FCA_OK;
}

static int append(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, v) != 0)
		return fca_error_set(FCA_ENOMEM, PFX "out of memory");
	return FCA_OK;
}

/* "history": one entry per CA that compaction folded something from, in catalog order; NULL = none. */
static int build_history(json_t **out, const struct fca_state *s)
{
	json_t *arr = NULL, *o;
	int fail = 0, r;

	*out = NULL;
	for (int c = 0; c < FCA_CA_COUNT; c++) {
		const struct fca_state_history *h = &s->history[c];
		if (!h->generations && !h->transitions)
			continue;
		if (h->generations < 0 || h->generations > COUNT_MAX || h->transitions < 0 ||
		    h->transitions > COUNT_MAX || h->max_generation < 0 || h->max_generation > GENERATION_MAX ||
		    h->oldest_at > h->newest_at) {
			json_decref(arr);
			return fca_error_set(FCA_EINVALID, PFX "history of %s is out of range",
					     fca_catalog_get((enum fca_ca_id)c)->name);
		}
		if ((r = check_time(h->oldest_at, "history.oldest_at", (size_t)c)) != FCA_OK ||
		    (r = check_time(h->newest_at, "history.newest_at", (size_t)c)) != FCA_OK) {
			json_decref(arr);
			return r;
		}
		if ((!arr && !(arr = json_array())) || !(o = json_object())) {
			json_decref(arr);
			return fca_error_set(FCA_ENOMEM, PFX "out of memory");
		}
		put(o, "ca", json_string(fca_catalog_get((enum fca_ca_id)c)->name), &fail);
		put(o, "generations", json_integer(h->generations), &fail);
		put(o, "transitions", json_integer(h->transitions), &fail);
		put(o, "max_generation", json_integer(h->max_generation), &fail);
		put(o, "oldest_at", time_or_null(h->oldest_at), &fail);
		put(o, "newest_at", time_or_null(h->newest_at), &fail);
		if (fail || append(arr, o) != FCA_OK) {
			if (fail)
				json_decref(o);
			json_decref(arr);
			return fca_error_set(FCA_ENOMEM, PFX "out of memory");
		}
	}
	*out = arr;
	return FCA_OK;
}

/* Bytes of the outbox's activity details: they are never compacted away. */
static size_t outbox_bytes(const struct fca_state *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->noutbox; i++)
		n += s->outbox[i].details_json ? strlen(s->outbox[i].details_json) : 0;
	return n;
}

int fca_state_serialize(char **out, size_t *len, const struct fca_state *s)
{
	int r = FCA_ENOMEM, fail = 0;
	json_t *root = NULL, *gens = NULL, *trans = NULL, *outbox = NULL, *hist = NULL, *v;
	char *text = NULL;

	*out = NULL;
	if (len)
		*len = 0;
	if (s->ngens > FCA_STATE_MAX_GENS || s->ntransitions > FCA_STATE_MAX_TRANSITIONS ||
	    s->noutbox > FCA_STATE_MAX_OUTBOX || s->nrow_facts > FCA_STATE_MAX_FACTS) {
		r = fca_error_set(FCA_EINVALID, PFX "too many entries (%zu generations, %zu transitions, %zu outbox)",
				  s->ngens, s->ntransitions, s->noutbox);
		goto out;
	}
	if ((r = check_time(s->updated_at, "updated_at", 0)) != FCA_OK)
		goto out;
	if (!(root = json_object()) || !(gens = json_array()) || !(trans = json_array()) || !(outbox = json_array())) {
		r = fca_error_set(FCA_ENOMEM, PFX "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->ngens; i++)
		if ((r = build_gen(&v, &s->gens[i], i)) != FCA_OK || (r = append(gens, v)) != FCA_OK)
			goto out;
	for (size_t i = 0; i < s->ntransitions; i++)
		if ((r = build_transition(&v, &s->transitions[i], i)) != FCA_OK || (r = append(trans, v)) != FCA_OK)
			goto out;
	for (size_t i = 0; i < s->noutbox; i++)
		if ((r = build_outbox(&v, &s->outbox[i], i)) != FCA_OK || (r = append(outbox, v)) != FCA_OK)
			goto out;
	if ((r = build_history(&hist, s)) != FCA_OK)
		goto out;

	put(root, "format_version", json_integer(FCA_STATE_FORMAT_VERSION), &fail);
	put(root, "updated_at", time_str(s->updated_at), &fail);
	put(root, "generations", gens, &fail);
	gens = NULL;
	put(root, "transitions", trans, &fail);
	trans = NULL;
	put(root, "outbox", outbox, &fail);
	outbox = NULL;
	if (hist) /* left out when nothing was folded: such a document keeps its bytes */
		put(root, "history", hist, &fail);
	hist = NULL;
	if (s->nrow_facts) { /* left out when none: such a document keeps its bytes */
		json_t *facts = json_array();
		for (size_t i = 0; facts && i < s->nrow_facts; i++)
			if (json_array_append_new(facts, json_string(s->row_facts[i])) != 0)
				fail = 1;
		put(root, "row_facts", facts, &fail);
	}
	if (fail || !(text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS))) {
		r = fca_error_set(FCA_ENOMEM, PFX "out of memory");
		goto out;
	}
	if (strlen(text) > FCA_STATE_MAX_BYTES) {
		r = fca_error_set(FCA_EINVALID,
				  PFX "the document would be %zu bytes, more than the %d the reader accepts; its "
				      "%zu undelivered activities hold %zu bytes of it and are never dropped: deliver "
				      "them (fleetca outbox --flush) and run again",
				  strlen(text), FCA_STATE_MAX_BYTES, s->noutbox, outbox_bytes(s));
		goto out;
	}
	if (len)
		*len = strlen(text);
	*out = text;
	text = NULL;
	r = FCA_OK;
out:
	free(text);
	json_decref(gens);
	json_decref(trans);
	json_decref(outbox);
	json_decref(hist);
	json_decref(root);
	return r;
}

/* ---- an activity's details --------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

int fca_json_activity_details(char **out, const struct fca_activity *a)
{
	json_t *d = json_object(), *assets = json_array(), *src = json_object();
	char t[32];
	int r = FCA_OK;

	*out = NULL;
	if (!d || !assets || !src) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->nassets; i++)
		json_array_append_new(assets, json_string(a->assets[i]));
	json_object_set_new(d, "ca", json_string(a->ca));
	/* Fleet's UI shows "<actor> staged ca certificate <ca_name>". */
	if (a->ca_title) {
		char name[160];
		struct fca_buf b;
		fca_buf_init_fixed(&b, name, sizeof(name));
		fca_buf_printf(&b, "%s, generation %d", a->ca_title,
			       a->named_generation > 0 ? a->named_generation : a->generation);
		if ((r = fca_buf_error(&b, "the activity's ca_name")) != FCA_OK)
			goto out;
		json_object_set_new(d, "ca_name", json_string(name));
	}
	json_object_set(d, "assets", assets);
	json_object_set_new(d, "generation", json_integer(a->generation));
	json_object_set_new(d, "previous_generation",
			    a->previous_generation > 0 ? json_integer(a->previous_generation) : json_null());
	json_object_set_new(d, "sha256_fingerprint", str_or_null(a->sha256));
	json_object_set_new(d, "subject", str_or_null(a->subject));
	if (a->not_after > 0) {
		fca_time_rfc3339(t, sizeof(t), a->not_after);
		json_object_set_new(d, "not_after", json_string(t));
	} else {
		json_object_set_new(d, "not_after", json_null());
	}
	json_object_set_new(src, "path", str_or_null(a->source_path));
	json_object_set_new(src, "commit", str_or_null(a->source_commit));
	json_object_set_new(src, "ref", str_or_null(a->source_ref));
	json_object_set(d, "source", src);
	json_object_set_new(d, "step_id", json_string(a->step_id));
	json_object_set_new(d, "forced", json_boolean(a->forced));
	json_object_set_new(d, "reason", str_or_null(a->reason));
	if (!(*out = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS)))
		r = fca_error_set(FCA_ENOMEM, "out of memory");
out:
	json_decref(assets);
	json_decref(src);
	json_decref(d);
	return r;
}

/* ---- a saved plan ------------------------------------------------------------------------- */

/* The "desired" object: the desired state the plan was made from, as flat string pairs. */
static int load_pin(const char *path, json_t *root, struct fca_pin *pin)
{
	json_t *obj = json_object_get(root, "desired"), *v;
	const char *k;

	memset(pin, 0, sizeof(*pin));
	if (!json_is_object(obj))
		return fca_error_set(FCA_EINVALID,
				     "%s: the plan does not record the desired state it was made from (a plan saved "
				     "by an older fleetca): make it again with 'fleetca plan --out' and review it",
				     path);
	json_object_foreach(obj, k, v)
	{
		if (!json_is_string(v))
			return fca_error_set(FCA_EINVALID, "%s: desired.%.64s is not a string", path, k);
		if (fca_pin_set(pin, k, json_string_value(v)) != FCA_OK)
			return fca_error_prefix("%s: desired", path);
	}
	return FCA_OK;
}

int fca_json_planfile_parse(const char *path, const char *text, size_t len, struct fca_observed *basis,
			    char (*steps)[FCA_STEP_ID_MAX], size_t max, size_t *nsteps, struct fca_pin *pin)
{
	json_error_t err;
	json_t *root, *v, *arr;
	size_t i;
	int r = FCA_EINVALID;

	*nsteps = 0;
	basis->nbasis = 0;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return fca_error_set(FCA_EINVALID, "%s:%d:%d: not a fleetca plan: %s", path, err.line, err.column,
				     err.text);
	v = json_object_get(root, "format_version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		fca_error_set(FCA_EINVALID,
			      "%s: not a fleetca plan of format_version 1: make it with 'fleetca plan --out'", path);
		goto out;
	}
	if (load_pin(path, root, pin) != FCA_OK)
		goto out;
	arr = json_object_get(root, "basis");
	if (!json_is_array(arr) || json_array_size(arr) > sizeof(basis->basis) / sizeof(basis->basis[0])) {
		fca_error_set(FCA_EINVALID, "%s: the plan has no valid basis (the rows it was computed from)", path);
		goto out;
	}
	json_array_foreach(arr, i, v)
	{
		const char *a = json_string_value(json_object_get(v, "asset"));
		const char *m = json_string_value(json_object_get(v, "md5"));
		if (!a || !m || strlen(a) >= FCA_ASSET_NAME_MAX || strlen(m) != 32) {
			fca_error_set(FCA_EINVALID, "%s: basis[%zu] is malformed", path, i);
			goto out;
		}
		snprintf(basis->basis[basis->nbasis].name, FCA_ASSET_NAME_MAX, "%s", a); /* lengths checked above */
		snprintf(basis->basis[basis->nbasis].md5, 33, "%s", m);
		basis->nbasis++;
	}
	arr = json_object_get(root, "steps");
	if (!json_is_array(arr) || json_array_size(arr) > max) {
		fca_error_set(FCA_EINVALID, "%s: the plan has no valid steps list", path);
		goto out;
	}
	json_array_foreach(arr, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "step_id"));
		if (!id || strlen(id) >= FCA_STEP_ID_MAX) {
			fca_error_set(FCA_EINVALID, "%s: steps[%zu] has no step_id", path, i);
			goto out;
		}
		snprintf(steps[(*nsteps)++], FCA_STEP_ID_MAX, "%s", id); /* length checked above */
	}
	r = FCA_OK;
out:
	json_decref(root);
	return r;
}

/* ---- Fleet's API bodies ---------------------------------------------------------------------- */

int fca_json_fleet_activity_body(char **out, const char *type, const char *details_json)
{
	json_t *root = NULL, *details = NULL;
	int r = FCA_OK;

	*out = NULL;
	if (!(details = json_loads(details_json, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(details)) {
		r = fca_error_set(FCA_EINVALID, "the activity's details are not a JSON object");
		goto out;
	}
	if (!(root = json_object()) || json_object_set_new(root, "type", json_string(type)) != 0 ||
	    json_object_set(root, "details", details) != 0 || !(*out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS)))
		r = fca_error_set(FCA_ENOMEM, "out of memory");
out:
	json_decref(details);
	json_decref(root);
	return r;
}

int fca_json_fleet_created(const char *body, size_t len, const char *type)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *act = json_is_object(root) ? json_object_get(root, "activity") : NULL;
	const char *t = json_is_object(act) ? json_string_value(json_object_get(act, "type")) : NULL;
	int ok = t && strcmp(t, type) == 0;

	json_decref(root);
	return ok;
}

int fca_json_fleet_error_names(const char *body, size_t len, const char *field)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *errs = json_is_object(root) ? json_object_get(root, "errors") : NULL, *e;
	size_t i;
	int ok = 0;

	if (json_is_array(errs)) {
		json_array_foreach(errs, i, e)
		{
			const char *name = json_string_value(json_object_get(e, "name"));
			ok |= name && strcasecmp(name, field) == 0;
		}
	}
	json_decref(root);
	return ok;
}

/* As much of src as fits in dst[cap] ("" for NULL). */
static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap ? cap - 1 : 0) : 0;

	if (!cap)
		return;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

int fca_json_fleet_error(const char *body, size_t len, char *msg, size_t msg_cap, char *reason, size_t reason_cap)
{
	json_t *root = json_loadb(body, len, 0, NULL), *errs, *e0;
	const char *m = NULL, *why = NULL;
	int ok = json_is_object(root);

	if (ok) {
		errs = json_object_get(root, "errors");
		m = json_string_value(json_object_get(root, "message"));
		if (json_is_array(errs) && (e0 = json_array_get(errs, 0)))
			why = json_string_value(json_object_get(e0, "reason"));
	}
	/* cut, not refused: these are for a person, and escape_text shortens them further */
	copy_cut(msg, msg_cap, m);
	copy_cut(reason, reason_cap, why);
	json_decref(root);
	return ok;
}
