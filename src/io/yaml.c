/*
 * The YAML adapter: the only file that includes <yaml.h>. Reads a desired-state document
 * with libyaml's event parser into struct fca_desired, collecting every problem
 * into struct fca_diags with its line, column, key path and what was expected and found.
 *
 * Deliberate limits, all reported as errors rather than worked around:
 * - aliases (*name) are not supported: expansion is never performed, so no alias bomb;
 * - explicit tags (!!str, !foo) are not supported;
 * - at most FCA_YAML_MAX_INPUT bytes, YAML_MAX_EVENTS parser events and YAML_MAX_DEPTH levels;
 * - plain scalars resolve as in the YAML 1.2 core schema: only true/false are booleans
 *   ("yes", "on" are strings), null is ~, null or empty, integers are decimal.
 * A value too long for its field is an error, never truncated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "fleetca/buf.h"
#include "fleetca/desired.h"
#include "fleetca/source.h"
#include "fleetca/timeutil.h"
#include "fleetca/yaml.h"

#define FCA_YAML_MAX_INPUT ((size_t)1 << 20) /* 1 MiB */
#define YAML_MAX_EVENTS	   100000
#define YAML_MAX_DEPTH	   32 /* the file needs 4; libyaml's scanner slows down quadratically with depth */
#define GENERATION_MAX	   1000000
#define FOUND_SHOW_MAX	   48 /* bytes of a found value shown in a message */
#define KEY_MAX		   64 /* longest key any mapping of the file knows, with room */

enum skind { SK_STR = 0, SK_NULL, SK_BOOL, SK_INT, SK_FLOAT };

struct yp {
	yaml_parser_t parser;
	yaml_event_t ev;
	int have_ev;
	int fatal; /* syntax error, event cap or memory: stop reading */
	int nomem;
	const char *buf; /* the input, to place reader errors that only give a byte offset */
	size_t len;
	size_t events;
	int depth;
	struct fca_diags *diags;
	struct fca_desired *out;
	char path[128]; /* "cas.apple_scep.stage": where the parser is, for messages */
	size_t pathlen;
};

/* The keys of each mapping, in the order of the file format. */
static const char *const top_keys[] = {"version", "policy", "activities", "cas"};
enum { TOP_VERSION, TOP_POLICY, TOP_ACTIVITIES, TOP_CAS, TOP_N };
static const char *const policy_keys[] = {"min_overlap", "clock_skew", "drain", "reason",
					  "fleet_server_trusts_previous"};
enum { POL_MIN_OVERLAP, POL_CLOCK_SKEW, POL_DRAIN, POL_REASON, POL_TRUSTS_PREVIOUS, POL_N };
static const char *const activities_keys[] = {"sink"};
enum { ACT_SINK, ACT_N };
static const char *const ca_keys[] = {"generation", "stage",	    "subject", "key",
				      "validity",   "renew_before", "adopt",   "suspend"};
enum { CA_GENERATION, CA_STAGE, CA_SUBJECT, CA_KEY, CA_VALIDITY, CA_RENEW_BEFORE, CA_ADOPT, CA_SUSPEND, CA_N };
static const char *const subject_keys[] = {"common_name", "organization", "organizational_unit", "country"};
enum { SUBJ_CN, SUBJ_O, SUBJ_OU, SUBJ_C, SUBJ_N };

static const char *const stage_names[] = {"staged", "active", "complete"};
static const enum fca_stage stage_values[] = {FCA_STAGE_STAGED, FCA_STAGE_ACTIVE, FCA_STAGE_COMPLETE};
static const char *const drain_names[] = {"wait", "force"};
static const char *const sink_names[] = {"api", "db", "none"};
static const char *const key_names[] = {"rsa-2048", "rsa-3072", "rsa-4096", "keep"};
static const int key_bits[] = {2048, 3072, 4096, 0}; /* keep: the signing generation's key */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Keys that earlier versions of the format had: named with why they went, rather than reported as
 * unknown, so that a file written for an older fleetca says what to do. keys is the mapping's table.
 */
#define FLEET_ROOT_TEXT                                                                                                \
	"Fleet re-installs its own root CA profile (com.fleetdm.caroot, the first certificate of ca_cert) on every "   \
	"Apple host whenever ca_cert changes"
static const struct removed_key {
	const char *const *keys;
	const char *key;
	const char *why;
} removed_keys[] = {
    {ca_keys, "distribute", "no longer supported: " FLEET_ROOT_TEXT "; remove this key"},
    {ca_keys, "min_verified",
     "no longer supported: fleetca uploads no trust profile whose delivery it could wait for; " FLEET_ROOT_TEXT
     "; remove this key"},
};

static const char *removed_why(const char *const *keys, const char *key)
{
	for (size_t i = 0; i < NELEM(removed_keys); i++)
		if (removed_keys[i].keys == keys && !strcmp(removed_keys[i].key, key))
			return removed_keys[i].why;
	return NULL;
}

/* What the walk remembers for the checks that involve more than one key. */
struct mapseen {
	unsigned bits;
	yaml_mark_t first[16];
};

struct ca_ctx {
	struct mapseen seen;
	yaml_mark_t start; /* the CA's value */
	int is_mapping;
	int validity_bad;
	char validity_text[32]; /* as written, for messages */
	char renew_text[32];
	int renew_set;
	yaml_mark_t renew_mark;
};

struct doc_ctx {
	struct mapseen top, policy, activities, cas, subject;
	yaml_mark_t top_mark;
	int drain_set;
	yaml_mark_t drain_mark;
	struct ca_ctx ca[FCA_CA_COUNT];
	int cur_ca;
};

static void diag_add(struct yp *ps, int line, int column, const char *fmt, ...) FCA_PRINTF(4, 5);
static void diag_add(struct yp *ps, int line, int column, const char *fmt, ...)
{
	struct fca_diags *d = ps->diags;
	struct fca_diag *g;
	va_list ap;

	if (d->n >= FCA_DIAGS_MAX) {
		d->dropped++;
		return;
	}
	g = &d->v[d->n++];
	g->line = line;
	g->column = column;
	snprintf(g->key, sizeof(g->key), "%s", ps->path); /* both 128 bytes: never cut */
	va_start(ap, fmt);
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap); /* a message for a person: a cut is harmless */
	va_end(ap);
}

#define diag_at(ps, mark, ...) diag_add((ps), (int)(mark).line + 1, (int)(mark).column + 1, __VA_ARGS__)

/* Only for messages: a path cut at 127 bytes (unknown keys nested deep) still says where it starts. */
static size_t path_push(struct yp *ps, const char *seg)
{
	size_t saved = ps->pathlen;
	int n = snprintf(ps->path + saved, sizeof(ps->path) - saved, "%s%s", saved ? "." : "", seg);

	if (n > 0)
		ps->pathlen = saved + (size_t)n < sizeof(ps->path) ? saved + (size_t)n : sizeof(ps->path) - 1;
	return saved;
}

static void path_pop(struct yp *ps, size_t saved)
{
	ps->pathlen = saved;
	ps->path[saved] = '\0';
}

/* "staged, active, complete" */
static void join_names(char *buf, size_t n, const char *const *names, size_t count)
{
	buf[0] = '\0';
	for (size_t i = 0; i < count; i++) /* for a message: a long list ends in "..." */
		fca_text_append(buf, n, ", ", "%s", names[i]);
}

/* A value shown in a message: quoted, escaped, cut (visibly) at FOUND_SHOW_MAX bytes. */
static void quote_value(char *buf, size_t n, const char *s, size_t len)
{
	size_t off = 0, i;

	if (n < 8) {
		if (n)
			buf[0] = '\0';
		return;
	}
	buf[off++] = '"';
	for (i = 0; i < len && i < FOUND_SHOW_MAX && off + 6 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf[off++] = '\\';
			buf[off++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			off += (size_t)snprintf(buf + off, n - off, "\\x%02x", c); /* 4 bytes: the loop keeps 6 free */
		} else {
			buf[off++] = (char)c;
		}
	}
	if (i < len) {
		/* do not end in the middle of a UTF-8 sequence */
		while (off > 1 && ((unsigned char)buf[off - 1] & 0xc0) == 0x80)
			off--;
		if (off > 1 && ((unsigned char)buf[off - 1] & 0xc0) == 0xc0)
			off--;
		if (off + 5 < n) {
			memcpy(buf + off, "\"...", 4);
			off += 4;
		}
	} else {
		buf[off++] = '"';
	}
	buf[off] = '\0';
}

static int all_digits(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int is_float(const char *s, size_t len)
{
	size_t i = 0, digits = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++, digits++;
	}
	if (digits == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t e = 0;
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++, e++;
		if (e == 0)
			return 0;
	}
	return i == len;
}

/* How a scalar event resolves (YAML 1.2 core schema; quoted scalars are always strings). */
static enum skind scalar_kind(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return SK_STR;
	if (len == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return SK_NULL;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE") || !strcmp(s, "false") ||
	    !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return SK_BOOL;
	if (all_digits(s, len) || ((s[0] == '-' || s[0] == '+') && all_digits(s + 1, len - 1)))
		return SK_INT;
	if (is_float(s, len))
		return SK_FLOAT;
	return SK_STR;
}

/* "a mapping", "integer 2", "\"activ\"": what the current event holds, for messages. */
static void describe_found(char *buf, size_t n, const yaml_event_t *ev)
{
	char q[FOUND_SHOW_MAX * 4 + 16];
	const char *s = NULL;
	size_t len = 0;

	switch (ev->type) {
	/* what was found, for a message: the callers' FOUND_SHOW_MAX * 4 + 16 bytes hold q and the words */
	case YAML_MAPPING_START_EVENT:
		snprintf(buf, n, "a mapping");
		return;
	case YAML_SEQUENCE_START_EVENT:
		snprintf(buf, n, "a sequence");
		return;
	case YAML_ALIAS_EVENT:
		snprintf(buf, n, "an alias");
		return;
	case YAML_SCALAR_EVENT:
		break;
	default:
		snprintf(buf, n, "nothing");
		return;
	}
	s = (const char *)ev->data.scalar.value;
	len = ev->data.scalar.length;
	quote_value(q, sizeof(q), s, len);
	switch (scalar_kind(ev)) {
	case SK_NULL:
		snprintf(buf, n, "null");
		break;
	case SK_BOOL:
		snprintf(buf, n, "boolean %s", s);
		break;
	case SK_INT:
	case SK_FLOAT: /* digits, signs, dots, e: nothing to escape */
		snprintf(buf, n, "%s %.*s%s", scalar_kind(ev) == SK_INT ? "integer" : "number",
			 (int)(len < FOUND_SHOW_MAX ? len : FOUND_SHOW_MAX), s, len > FOUND_SHOW_MAX ? "..." : "");
		break;
	default:
		snprintf(buf, n, "%s", q);
		break;
	}
}

static void syntax_error(struct yp *ps)
{
	yaml_parser_t *p = &ps->parser;
	yaml_mark_t m = p->problem_mark;
	size_t saved = ps->pathlen;

	if (p->error == YAML_MEMORY_ERROR) {
		ps->nomem = 1;
		diag_add(ps, 0, 0, "out of memory while reading the YAML");
		return;
	}
	/* A reader error (bad encoding, control character) has a byte offset, not a mark. */
	if (p->error == YAML_READER_ERROR) {
		memset(&m, 0, sizeof(m));
		for (size_t i = 0; i < p->problem_offset && i < ps->len; i++) {
			unsigned char c = (unsigned char)ps->buf[i];
			if (c == '\n') {
				m.line++;
				m.column = 0;
			} else if ((c & 0xc0) != 0x80) {
				m.column++; /* count characters, as libyaml's marks do */
			}
		}
	}
	path_pop(ps, 0);
	if (p->context)
		diag_at(ps, m, "YAML syntax error: %s %s (at line %d, column %d)",
			p->problem ? p->problem : "invalid YAML", p->context, (int)p->context_mark.line + 1,
			(int)p->context_mark.column + 1);
	else
		diag_at(ps, m, "YAML syntax error: %s", p->problem ? p->problem : "invalid YAML");
	ps->pathlen = saved; /* the path text itself is untouched beyond saved */
}

/* Reads the next event into ps->ev. -1 (and ps->fatal) on a syntax error or the event cap. */
static int next_event(struct yp *ps)
{
	if (ps->fatal)
		return -1;
	if (ps->have_ev) {
		yaml_event_delete(&ps->ev);
		ps->have_ev = 0;
	}
	if (++ps->events > YAML_MAX_EVENTS) {
		size_t saved = ps->pathlen;
		char keep[sizeof(ps->path)];
		memcpy(keep, ps->path, sizeof(keep));
		path_pop(ps, 0);
		diag_at(ps, ps->parser.mark,
			"document too large: more than %d YAML events; a desired-state file is small", YAML_MAX_EVENTS);
		memcpy(ps->path, keep, sizeof(keep));
		ps->pathlen = saved;
		ps->fatal = 1;
		return -1;
	}
	if (!yaml_parser_parse(&ps->parser, &ps->ev)) {
		char keep[sizeof(ps->path)];
		size_t saved = ps->pathlen;
		memcpy(keep, ps->path, sizeof(keep));
		syntax_error(ps);
		memcpy(ps->path, keep, sizeof(keep));
		ps->pathlen = saved;
		ps->fatal = 1;
		return -1;
	}
	ps->have_ev = 1;
	if (ps->ev.type == YAML_MAPPING_START_EVENT || ps->ev.type == YAML_SEQUENCE_START_EVENT) {
		if (++ps->depth > YAML_MAX_DEPTH) {
			diag_at(ps, ps->ev.start_mark,
				"nested too deeply: more than %d levels; a desired-state file needs 4", YAML_MAX_DEPTH);
			ps->fatal = 1;
			return -1;
		}
	} else if (ps->ev.type == YAML_MAPPING_END_EVENT || ps->ev.type == YAML_SEQUENCE_END_EVENT) {
		ps->depth--;
	}
	return 0;
}

/* Consumes the node that starts at the current event; reports every alias inside it. */
static void skip_node(struct yp *ps)
{
	int depth = 0;

	for (;;) {
		switch (ps->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_ALIAS_EVENT:
			diag_at(ps, ps->ev.start_mark, "aliases are not supported; write the value out in full");
			break;
		default:
			break;
		}
		if (depth <= 0)
			return;
		if (next_event(ps) < 0)
			return;
	}
}

/* Reports that the current node is not what was expected, and consumes it. Returns 1. */
static int reject_node(struct yp *ps, const char *expected)
{
	char found[FOUND_SHOW_MAX * 4 + 32];

	if (ps->ev.type == YAML_ALIAS_EVENT) {
		skip_node(ps); /* reports it */
		return 1;
	}
	describe_found(found, sizeof(found), &ps->ev);
	diag_at(ps, ps->ev.start_mark, "expected %s; found %s", expected, found);
	skip_node(ps);
	return 1;
}

/* The current event as a scalar without a tag. Returns 0, or 1 after a diagnostic. */
static int take_scalar(struct yp *ps, const char *expected, const char **s, size_t *len, enum skind *kind)
{
	if (ps->ev.type != YAML_SCALAR_EVENT)
		return reject_node(ps, expected);
	if (ps->ev.data.scalar.tag && !ps->ev.data.scalar.quoted_implicit && !ps->ev.data.scalar.plain_implicit) {
		diag_at(ps, ps->ev.start_mark, "tags such as %s are not supported; expected %s",
			(const char *)ps->ev.data.scalar.tag, expected);
		return 1;
	}
	*s = (const char *)ps->ev.data.scalar.value;
	*len = ps->ev.data.scalar.length;
	*kind = scalar_kind(&ps->ev);
	return 0;
}

/* A string (quoted or a plain scalar that is not null/bool/number), copied whole into buf. */
static int take_string(struct yp *ps, const char *expected, char *buf, size_t size)
{
	const char *s = NULL;
	size_t len = 0;
	enum skind k = SK_NULL;

	if (take_scalar(ps, expected, &s, &len, &k))
		return 1;
	if (k != SK_STR)
		return reject_node(ps, expected);
	if (memchr(s, '\0', len)) {
		diag_at(ps, ps->ev.start_mark, "expected %s; found a string with a NUL character", expected);
		return 1;
	}
	if (len >= size) {
		diag_at(ps, ps->ev.start_mark, "value too long: %zu bytes, at most %zu", len, size - 1);
		return 1;
	}
	memcpy(buf, s, len + 1);
	return 0;
}

static int take_enum(struct yp *ps, const char *const *names, size_t count, size_t *idx)
{
	char list[160], expected[200], buf[KEY_MAX], found[FOUND_SHOW_MAX * 4 + 16];
	const char *s = NULL;
	size_t len = 0;
	enum skind k = SK_NULL;

	join_names(list, sizeof(list), names, count);
	snprintf(expected, sizeof(expected), "one of %s", list); /* list[160] and 7 bytes: never cut */
	if (take_scalar(ps, expected, &s, &len, &k))
		return 1;
	if (k == SK_STR && len < sizeof(buf) && !memchr(s, '\0', len)) {
		memcpy(buf, s, len + 1);
		for (size_t i = 0; i < count; i++) {
			if (!strcmp(buf, names[i])) {
				*idx = i;
				return 0;
			}
		}
	}
	describe_found(found, sizeof(found), &ps->ev);
	diag_at(ps, ps->ev.start_mark, "expected %s; found %s", expected, found);
	return 1;
}

static int take_bool(struct yp *ps, int *out)
{
	const char *s = NULL;
	size_t len = 0;
	enum skind k = SK_NULL;

	if (take_scalar(ps, "true or false", &s, &len, &k))
		return 1;
	if (k != SK_BOOL)
		return reject_node(ps, "true or false");
	*out = s[0] == 't' || s[0] == 'T';
	return 0;
}

static int take_duration(struct yp *ps, int64_t *out, int positive)
{
	static const char expected[] = "a duration such as 7d, 72h, 90m or 10y";
	char buf[32], found[FOUND_SHOW_MAX * 4 + 16];
	const char *s = NULL;
	size_t len = 0;
	enum skind k = SK_NULL;
	int64_t v = 0;

	if (take_scalar(ps, expected, &s, &len, &k))
		return 1;
	describe_found(found, sizeof(found), &ps->ev);
	if (k != SK_STR || len >= sizeof(buf) || memchr(s, '\0', len)) {
		diag_at(ps, ps->ev.start_mark, "expected %s; found %s", expected, found);
		return 1;
	}
	memcpy(buf, s, len + 1);
	if (fca_duration_parse(&v, buf) != FCA_OK) {
		diag_at(ps, ps->ev.start_mark, "expected %s; found %s (%s)", expected, found, fca_error_message());
		fca_error_clear();
		return 1;
	}
	if (positive && v == 0) {
		diag_at(ps, ps->ev.start_mark, "expected a duration greater than zero; found %s", found);
		return 1;
	}
	*out = v;
	return 0;
}

/* The current scalar's text, for a message about it; "" when it does not fit. */
static void scalar_text(char *buf, size_t n, const struct yp *ps)
{
	buf[0] = '\0';
	if (ps->ev.type == YAML_SCALAR_EVENT && ps->ev.data.scalar.length < n)
		memcpy(buf, ps->ev.data.scalar.value, ps->ev.data.scalar.length + 1);
}

/* Returns 0 with *out, or 1 after a diagnostic. */
static int take_int(struct yp *ps, const char *expected, long long lo, long long hi, long long *out)
{
	char found[FOUND_SHOW_MAX * 4 + 16];
	const char *s = NULL;
	size_t len = 0;
	enum skind k = SK_NULL;
	long long v;
	char *end;

	if (take_scalar(ps, expected, &s, &len, &k))
		return 1;
	if (k != SK_INT)
		return reject_node(ps, expected);
	describe_found(found, sizeof(found), &ps->ev);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || v > hi) {
		diag_at(ps, ps->ev.start_mark, "expected an integer at most %lld; found %s", hi, found);
		return 1;
	}
	if (v < lo) {
		diag_at(ps, ps->ev.start_mark, "expected an integer of at least %lld; found %s", lo, found);
		return 1;
	}
	*out = v;
	return 0;
}

typedef void (*field_fn)(struct yp *ps, struct doc_ctx *dc, size_t idx, yaml_mark_t keymark);

/*
 * Walks the mapping whose MAPPING_START is the current event; calls fn with the value's first
 * event current for each known key seen once. Unknown and duplicate keys are reported, their
 * values skipped. Ends with the MAPPING_END current (or ps->fatal).
 */
static void walk_mapping(struct yp *ps, struct doc_ctx *dc, const char *const *keys, size_t nkeys, const char *noun,
			 struct mapseen *seen, field_fn fn)
{
	char key[KEY_MAX], list[200], shown[FOUND_SHOW_MAX * 4 + 16];

	for (;;) {
		const char *s = NULL, *why;
		size_t len, idx = nkeys, saved;
		yaml_mark_t km;

		if (next_event(ps) < 0 || ps->ev.type == YAML_MAPPING_END_EVENT)
			return;
		km = ps->ev.start_mark;
		if (ps->ev.type != YAML_SCALAR_EVENT) {
			reject_node(ps, "a key (a plain string)");
			if (next_event(ps) < 0)
				return;
			skip_node(ps);
			continue;
		}
		s = (const char *)ps->ev.data.scalar.value;
		len = ps->ev.data.scalar.length;
		quote_value(shown, sizeof(shown), s, len);
		if (len < sizeof(key) && !memchr(s, '\0', len)) {
			memcpy(key, s, len + 1);
			for (size_t i = 0; i < nkeys; i++)
				if (!strcmp(key, keys[i]))
					idx = i;
		} else {
			snprintf(key, sizeof(key), "%.*s...", (int)(sizeof(key) - 4),
				 s); /* an unknown key, shown cut */
		}
		saved = path_push(ps, key);
		if (idx == nkeys && (why = removed_why(keys, key))) {
			diag_at(ps, km, "%s", why);
			if (next_event(ps) == 0)
				skip_node(ps);
		} else if (idx == nkeys) {
			join_names(list, sizeof(list), keys, nkeys);
			diag_at(ps, km, "unknown %s %s; expected one of %s", noun, shown, list);
			if (next_event(ps) == 0)
				skip_node(ps);
		} else if (seen->bits & (1u << idx)) {
			diag_at(ps, km, "duplicate key %s (first at line %d, column %d)", shown,
				(int)seen->first[idx].line + 1, (int)seen->first[idx].column + 1);
			if (next_event(ps) == 0)
				skip_node(ps);
		} else {
			seen->bits |= 1u << idx;
			seen->first[idx] = km;
			if (next_event(ps) == 0)
				fn(ps, dc, idx, km);
		}
		path_pop(ps, saved);
	}
}

static int want_mapping(struct yp *ps, const char *expected)
{
	if (ps->ev.type == YAML_MAPPING_START_EVENT)
		return 0;
	return reject_node(ps, expected);
}

static void on_subject(struct yp *ps, struct doc_ctx *dc, size_t idx, yaml_mark_t km)
{
	struct fca_subject *subj = &ps->out->cas[dc->cur_ca].subject;
	char buf[FCA_SUBJECT_FIELD_MAX];
	char found[FOUND_SHOW_MAX * 4 + 16];
	yaml_mark_t vm = ps->ev.start_mark;

	(void)km;
	if (idx == SUBJ_C) {
		if (take_string(ps, "a two-letter country code such as US", buf, sizeof(buf)))
			return;
		if (!(strlen(buf) == 2 && buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'A' && buf[1] <= 'Z')) {
			describe_found(found, sizeof(found), &ps->ev);
			diag_at(ps, vm, "expected two uppercase letters (an ISO 3166 code such as US); found %s",
				found);
			return;
		}
		memcpy(subj->c, buf, 3);
		return;
	}
	if (take_string(ps, "a string of 1 to 64 bytes", buf, sizeof(buf)))
		return;
	if (!buf[0]) {
		diag_at(ps, vm, "must not be empty; leave the key out to keep Fleet's default");
		return;
	}
	switch (idx) {
	case SUBJ_CN:
		memcpy(subj->cn, buf, sizeof(buf));
		break;
	case SUBJ_O:
		memcpy(subj->o, buf, sizeof(buf));
		break;
	default:
		memcpy(subj->ou, buf, sizeof(buf));
		break;
	}
}

static void on_ca_field(struct yp *ps, struct doc_ctx *dc, size_t idx, yaml_mark_t km)
{
	struct fca_desired_ca *dca = &ps->out->cas[dc->cur_ca];
	struct ca_ctx *cc = &dc->ca[dc->cur_ca];
	yaml_mark_t vm = ps->ev.start_mark;
	char found[FOUND_SHOW_MAX * 4 + 16];
	long long n = 0;
	size_t e = 0;
	int64_t d = 0;

	(void)km;
	switch (idx) {
	case CA_GENERATION:
		if (take_int(ps, "an integer generation (1, 2, ...)", 1, GENERATION_MAX, &n) == 0)
			dca->generation = (int)n;
		break;
	case CA_STAGE:
		if (take_enum(ps, stage_names, NELEM(stage_names), &e) == 0)
			dca->stage = stage_values[e];
		break;
	case CA_SUBJECT:
		if (want_mapping(ps, "a mapping of common_name, organization, organizational_unit, country"))
			break;
		memset(&dc->subject, 0, sizeof(dc->subject));
		walk_mapping(ps, dc, subject_keys, SUBJ_N, "subject key", &dc->subject, on_subject);
		break;
	case CA_KEY:
		if (take_enum(ps, key_names, NELEM(key_names), &e))
			break;
		if (key_bits[e] == 0) {
			dca->key_keep = 1;
			break;
		}
		if (dc->cur_ca == FCA_CA_APPLE_SCEP && key_bits[e] != 2048) {
			describe_found(found, sizeof(found), &ps->ev);
			diag_at(ps, vm,
				"expected rsa-2048 for apple_scep (Apple requires a 2048-bit RSA SCEP CA); found %s",
				found);
			break;
		}
		dca->key_bits = key_bits[e];
		break;
	case CA_VALIDITY:
		if (take_duration(ps, &d, 1) == 0) {
			dca->validity = d;
			scalar_text(cc->validity_text, sizeof(cc->validity_text), ps);
		} else {
			cc->validity_bad = 1;
		}
		break;
	case CA_RENEW_BEFORE:
		if (take_duration(ps, &d, 0) == 0) {
			dca->renew_before = d;
			cc->renew_set = 1;
			cc->renew_mark = vm;
			scalar_text(cc->renew_text, sizeof(cc->renew_text), ps);
		}
		break;
	case CA_ADOPT:
		(void)take_bool(ps, &dca->adopt);
		break;
	case CA_SUSPEND:
		(void)take_bool(ps, &dca->suspend);
		break;
	default:
		skip_node(ps);
		break;
	}
}

static void on_ca(struct yp *ps, struct doc_ctx *dc, size_t idx, yaml_mark_t km)
{
	struct fca_desired_ca *dca = &ps->out->cas[idx];
	struct ca_ctx *cc = &dc->ca[idx];

	dca->present = 1;
	dca->line = (int)km.line + 1;
	cc->start = ps->ev.start_mark;
	if (want_mapping(ps, "a mapping with at least generation, e.g. { generation: 1 }"))
		return;
	cc->is_mapping = 1;
	dc->cur_ca = (int)idx;
	walk_mapping(ps, dc, ca_keys, CA_N, "key", &cc->seen, on_ca_field);
	if (ps->fatal)
		return;
	if (!(cc->seen.bits & (1u << CA_GENERATION))) {
		size_t saved = path_push(ps, "generation");
		diag_at(ps, cc->start,
			"missing required key: every CA named needs a generation (1 is the one Fleet created)");
		path_pop(ps, saved);
	}
	if (cc->renew_set && !cc->validity_bad && dca->renew_before >= dca->validity) {
		size_t saved = path_push(ps, "renew_before");
		diag_at(ps, cc->renew_mark, "expected less than validity (%s%s); found %s",
			(cc->seen.bits & (1u << CA_VALIDITY)) ? cc->validity_text : "10y",
			(cc->seen.bits & (1u << CA_VALIDITY)) ? "" : ", the default", cc->renew_text);
		path_pop(ps, saved);
	}
}

static void on_policy(struct yp *ps, struct doc_ctx *dc, size_t idx, yaml_mark_t km)
{
	struct fca_policy *pol = &ps->out->policy;
	yaml_mark_t vm = ps->ev.start_mark;
	size_t e = 0;
	int64_t d = 0;

	(void)km;
	switch (idx) {
	case POL_MIN_OVERLAP:
		if (take_duration(ps, &d, 1) == 0)
			pol->min_overlap = d;
		break;
	case POL_CLOCK_SKEW:
		if (take_duration(ps, &d, 0) == 0)
			pol->clock_skew = d;
		break;
	case POL_DRAIN:
		if (take_enum(ps, drain_names, NELEM(drain_names), &e) == 0) {
			pol->drain = e ? FCA_DRAIN_FORCE : FCA_DRAIN_WAIT;
			dc->drain_set = 1;
			dc->drain_mark = vm;
		}
		break;
	case POL_REASON: {
		char buf[FCA_REASON_MAX];
		size_t i;
		if (take_string(ps, "a string saying why", buf, sizeof(buf)))
			break;
		for (i = 0; buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'; i++)
			;
		if (!buf[i]) {
			diag_at(ps, vm, "expected a non-empty reason; found an empty string");
			break;
		}
		memcpy(pol->reason, buf, sizeof(buf));
		break;
	}
	case POL_TRUSTS_PREVIOUS:
		(void)take_bool(ps, &pol->fleet_server_trusts_previous);
		break;
	default:
		skip_node(ps);
		break;
	}
}

static void on_activities(struct yp *ps, struct doc_ctx *dc, size_t idx, yaml_mark_t km)
{
	size_t e = 0;

	(void)dc;
	(void)km;
	if (idx == ACT_SINK && take_enum(ps, sink_names, NELEM(sink_names), &e) == 0)
		ps->out->sink = e == 0 ? FCA_SINK_API : e == 1 ? FCA_SINK_DB : FCA_SINK_NONE;
}

static void on_top(struct yp *ps, struct doc_ctx *dc, size_t idx, yaml_mark_t km)
{
	const char *names[FCA_CA_COUNT];

	(void)km;
	switch (idx) {
	case TOP_VERSION: {
		const char *s = NULL;
		size_t len = 0;
		enum skind k = SK_NULL;
		if (take_scalar(ps, "1", &s, &len, &k))
			break;
		if (k != SK_INT) {
			reject_node(ps, "1");
			break;
		}
		if (strcmp(s, "1") != 0 && strcmp(s, "+1") != 0) {
			diag_at(ps, ps->ev.start_mark,
				"unsupported version %.*s; expected 1 (the only format this fleetca reads)",
				(int)(len < FOUND_SHOW_MAX ? len : FOUND_SHOW_MAX), s);
			break;
		}
		ps->out->version = 1;
		break;
	}
	case TOP_POLICY:
		if (want_mapping(
			ps, "a mapping of min_overlap, clock_skew, drain, reason, fleet_server_trusts_previous") == 0)
			walk_mapping(ps, dc, policy_keys, POL_N, "key", &dc->policy, on_policy);
		break;
	case TOP_ACTIVITIES:
		if (want_mapping(ps, "a mapping with sink") == 0)
			walk_mapping(ps, dc, activities_keys, ACT_N, "key", &dc->activities, on_activities);
		break;
	case TOP_CAS:
		for (int i = 0; i < FCA_CA_COUNT; i++)
			names[i] = fca_catalog_get((enum fca_ca_id)i)->name;
		if (want_mapping(ps, "a mapping of CA ids (it may be empty: cas: {})") == 0)
			walk_mapping(ps, dc, names, FCA_CA_COUNT, "CA", &dc->cas, on_ca);
		break;
	default:
		skip_node(ps);
		break;
	}
}

static void read_document(struct yp *ps, struct doc_ctx *dc)
{
	yaml_mark_t m;
	size_t saved;

	if (next_event(ps) < 0) /* STREAM_START */
		return;
	if (next_event(ps) < 0)
		return;
	if (ps->ev.type == YAML_STREAM_END_EVENT) {
		diag_add(ps, 1, 1, "empty document: expected a mapping with version and cas");
		return;
	}
	if (next_event(ps) < 0) /* the root node */
		return;
	m = ps->ev.start_mark;
	if (ps->ev.type != YAML_MAPPING_START_EVENT) {
		reject_node(ps, "a mapping at the top level (version, policy, activities, cas)");
		if (ps->fatal)
			return;
	} else {
		dc->top_mark = m;
		walk_mapping(ps, dc, top_keys, TOP_N, "key", &dc->top, on_top);
		if (ps->fatal)
			return;
		if (!(dc->top.bits & (1u << TOP_VERSION))) {
			saved = path_push(ps, "version");
			diag_at(ps, m, "missing required key; expected version: 1");
			path_pop(ps, saved);
		}
		if (!(dc->top.bits & (1u << TOP_CAS))) {
			saved = path_push(ps, "cas");
			diag_at(ps, m, "missing required key; expected a mapping of CA ids (it may be empty: cas: {})");
			path_pop(ps, saved);
		}
		if (dc->drain_set && ps->out->policy.drain == FCA_DRAIN_FORCE && !ps->out->policy.reason[0]) {
			saved = path_push(ps, "policy.drain");
			diag_at(ps, dc->drain_mark,
				"drain: force requires a non-empty policy.reason (it is recorded in the activity)");
			path_pop(ps, saved);
		}
	}
	if (next_event(ps) < 0) /* DOCUMENT_END */
		return;
	if (next_event(ps) < 0)
		return;
	if (ps->ev.type == YAML_DOCUMENT_START_EVENT)
		diag_at(ps, ps->ev.start_mark, "a second YAML document; expected exactly one document per file");
}

int fca_yaml_parse_desired(struct fca_desired *out, struct fca_diags *diags, const char *path, const char *buf,
			   size_t len)
{
	int r = FCA_ERROR;
	struct yp *ps = NULL;
	struct doc_ctx *dc = NULL;
	const char *name = path ? path : "<input>";

	fca_desired_init(out);
	diags->n = diags->dropped = 0; /* an entry is written whole when added (33 KB not zeroed) */
	if (strlen(name) >= sizeof(out->path)) {
		diag_add(&(struct yp){.diags = diags}, 0, 0, "file name too long (at most %zu bytes)",
			 sizeof(out->path) - 1);
		r = fca_error_set(FCA_EINVALID, "file name too long");
		goto out;
	}
	memcpy(out->path, name, strlen(name) + 1);
	if (len > FCA_YAML_MAX_INPUT) {
		diag_add(&(struct yp){.diags = diags}, 0, 0, "file too large: %zu bytes, at most %zu (1 MiB)", len,
			 FCA_YAML_MAX_INPUT);
		r = fca_error_set(FCA_EINVALID, "%s: file too large", name);
		goto out;
	}
	ps = calloc(1, sizeof(*ps));
	dc = calloc(1, sizeof(*dc));
	if (!ps || !dc) {
		r = fca_error_set(FCA_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	if (!yaml_parser_initialize(&ps->parser)) {
		free(ps);
		ps = NULL;
		r = fca_error_set(FCA_ENOMEM, "%s: cannot initialise the YAML parser", name);
		goto out;
	}
	ps->diags = diags;
	ps->out = out;
	ps->buf = buf ? buf : "";
	ps->len = buf ? len : 0;
	yaml_parser_set_input_string(&ps->parser, (const unsigned char *)(buf ? buf : ""), buf ? len : 0);
	read_document(ps, dc);
	if (ps->nomem) {
		r = fca_error_set(FCA_ENOMEM, "%s: out of memory while reading the YAML", name);
		goto out;
	}
	if (diags->n + diags->dropped > 0) {
		r = fca_error_set(FCA_EINVALID, "%s: %zu problem%s", name, diags->n + diags->dropped,
				  diags->n + diags->dropped == 1 ? "" : "s");
		goto out;
	}
	r = FCA_OK;
out:
	if (ps) {
		if (ps->have_ev)
			yaml_event_delete(&ps->ev);
		yaml_parser_delete(&ps->parser);
		free(ps);
	}
	free(dc);
	return r;
}

int fca_yaml_load_desired(struct fca_desired *out, struct fca_diags *diags, const char *path)
{
	struct fca_source src;
	int r;

	fca_desired_init(out);
	diags->n = diags->dropped = 0; /* an entry is written whole when added (33 KB not zeroed) */
	fca_source_init(&src);
	if ((r = fca_source_read_file(&src, path)) == FCA_OK)
		r = fca_yaml_parse_desired(out, diags, path, src.data, src.len);
	fca_source_dispose(&src);
	return r;
}
