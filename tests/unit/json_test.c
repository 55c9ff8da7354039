/* The fleetca_state document: parse, canonical serialize, and every rejection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/error.h"
#include "fleetca/json.h"
#include "fleetca/state.h"
#include "fleetca/timeutil.h"

#define SHA_A "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define SHA_B "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Canonical: sorted keys, compact. */
static const char good[] =
    "{\"format_version\":1,\"generations\":["
    "{\"activated_at\":null,\"ca\":\"apple_scep\",\"commit\":\"\",\"created_at\":\"2026-01-01T00:00:00Z\","
    "\"generation\":1,\"retired_at\":null,\"sha256\":\"" SHA_A "\",\"staged_at\":null},"
    "{\"activated_at\":null,\"ca\":\"apple_scep\",\"commit\":\"0123456789abcdef0123456789abcdef01234567\","
    "\"created_at\":\"2026-11-27T10:00:00Z\",\"generation\":2,\"retired_at\":null,\"sha256\":\"" SHA_B "\","
    "\"staged_at\":\"2026-11-27T10:00:00Z\"}],"
    "\"outbox\":[{\"attempts\":2,\"created_at\":\"2026-11-27T10:00:01Z\","
    "\"details\":{\"ca\":\"apple_scep\",\"generation\":2,\"source\":{\"commit\":\"0123\",\"ref\":\"main\"}},"
    "\"idempotency_key\":\"apple_scep:2:stage#0\",\"type\":\"staged_ca_certificate\"}],"
    "\"transitions\":[{\"count\":1,\"last_at\":\"2026-11-27T10:00:00Z\",\"step_id\":\"apple_scep:2:stage\"}],"
    "\"updated_at\":\"2026-11-27T10:00:01Z\"}";

/*
 * The same document as an earlier fleetca wrote it, with the trust profiles it uploaded
 * ("profiles" sorts between outbox and transitions). Databases in the field hold such documents.
 */
static const char old_profiles_tail[] =
    "\"profiles\":[{\"ca\":\"apple_scep\",\"profile_uuid\":\"a1b2-c3\",\"sha256s\":[\"" SHA_A "\",\"" SHA_B "\"],"
    "\"uploaded_at\":\"2026-11-27T10:00:02Z\"}],";

static char *with_tail(const char *tail)
{
	const char *at = strstr(good, "\"transitions\":");
	size_t head = (size_t)(at - good);
	char *doc = malloc(strlen(good) + strlen(tail) + 1);

	assert_non_null(doc);
	memcpy(doc, good, head);
	strcpy(doc + head, tail);
	strcat(doc, at);
	return doc;
}

/* Parses doc, checks the rest of it is read in full, and that the next write is exactly `good`. */
static void expect_profiles_dropped(const char *tail)
{
	struct fca_state s;
	char *doc = with_tail(tail), *out = NULL;
	size_t len = 0;

	assert_int_equal(fca_state_parse(&s, doc, strlen(doc)), FCA_OK);
	assert_int_equal(s.ngens, 2);
	assert_int_equal(s.ntransitions, 1);
	assert_int_equal(s.noutbox, 1);
	assert_string_equal(s.gens[1].sha256, SHA_B);
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_null(strstr(out, "profiles"));
	assert_string_equal(out, good);
	assert_int_equal(len, strlen(good));
	free(out);
	fca_state_dispose(&s);
	free(doc);
}

/* Trust profiles are gone (Fleet distributes its root itself): an old document's "profiles" is
 * read past, whatever it holds, and disappears on the next write. */
static void test_old_profiles_ignored(void **st)
{
	(void)st;
	expect_profiles_dropped(old_profiles_tail);
	expect_profiles_dropped("\"profiles\":[],");
	expect_profiles_dropped("\"profiles\":{\"unexpected\":true},");
}

/* Any other unknown member is still an error: only "profiles" is tolerated. */
static void test_other_unknown_member_rejected(void **st)
{
	struct fca_state s;
	char *doc = with_tail("\"profile\":[],");

	(void)st;
	assert_int_equal(fca_state_parse(&s, doc, strlen(doc)), FCA_EINVALID);
	if (!strstr(fca_error_message(), "unknown field \"profile\""))
		fail_msg("message \"%s\" does not name the member", fca_error_message());
	free(doc);
}

static void test_parse_fields(void **st)
{
	struct fca_state s;
	int64_t t;

	(void)st;
	assert_int_equal(fca_state_parse(&s, good, strlen(good)), FCA_OK);
	assert_int_equal(s.format_version, 1);
	assert_int_equal(s.ngens, 2);
	assert_int_equal(s.gens[1].ca, FCA_CA_APPLE_SCEP);
	assert_int_equal(s.gens[1].generation, 2);
	assert_string_equal(s.gens[1].sha256, SHA_B);
	assert_string_equal(s.gens[1].commit, "0123456789abcdef0123456789abcdef01234567");
	assert_int_equal(fca_time_parse(&t, "2026-11-27T10:00:00Z"), FCA_OK);
	assert_int_equal(s.gens[1].staged_at, t);
	assert_int_equal(s.gens[1].activated_at, 0);
	assert_int_equal(s.gens[0].staged_at, 0);
	assert_int_equal(s.ntransitions, 1);
	assert_string_equal(s.transitions[0].step_id, "apple_scep:2:stage");
	assert_int_equal(s.transitions[0].count, 1);
	assert_int_equal(s.noutbox, 1);
	assert_string_equal(s.outbox[0].idempotency_key, "apple_scep:2:stage#0");
	assert_string_equal(s.outbox[0].type, "staged_ca_certificate");
	assert_int_equal(s.outbox[0].attempts, 2);
	assert_string_equal(
	    s.outbox[0].details_json,
	    "{\"ca\":\"apple_scep\",\"generation\":2,\"source\":{\"commit\":\"0123\",\"ref\":\"main\"}}");
	fca_state_dispose(&s);
}

static void test_round_trip_identical(void **st)
{
	struct fca_state s;
	char *out = NULL;
	size_t len = 0;

	(void)st;
	assert_int_equal(fca_state_parse(&s, good, strlen(good)), FCA_OK);
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_int_equal(len, strlen(good));
	assert_string_equal(out, good);
	free(out);
	fca_state_dispose(&s);
}

/* Issue 8 item 2: signed_at (a generation signed; a rollback keeps it) round-trips; a document
 * without it (every one written before) still loads, with 0. */
static void test_signed_at(void **st)
{
	static const char doc[] =
	    "{\"format_version\":1,\"generations\":[{\"activated_at\":null,\"ca\":\"host_identity\",\"commit\":\"\","
	    "\"created_at\":\"2026-01-01T00:00:00Z\",\"generation\":2,\"retired_at\":null,\"sha256\":\"" SHA_A "\","
	    "\"signed_at\":\"2026-12-04T10:00:00Z\",\"staged_at\":\"2026-12-05T10:00:00Z\"}],\"outbox\":[],"
	    "\"transitions\":[],\"updated_at\":\"2026-12-05T10:00:01Z\"}";
	struct fca_state s;
	char *out = NULL;
	size_t len;

	(void)st;
	assert_int_equal(fca_state_parse(&s, doc, strlen(doc)), FCA_OK);
	assert_int_equal(s.gens[0].signed_at, fca_time_from_utc(2026, 12, 4, 10, 0, 0));
	assert_true(fca_state_gen_signed(&s, &s.gens[0]));
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_string_equal(out, doc);
	free(out);
	fca_state_dispose(&s);

	assert_int_equal(fca_state_parse(&s, good, strlen(good)), FCA_OK);
	assert_int_equal(s.gens[1].signed_at, 0);
	assert_false(fca_state_gen_signed(&s, &s.gens[1])); /* staged only: never signed */
	fca_state_dispose(&s);
}

/* Issue 8 item 8: times past 2038 (int64 seconds) parse and serialize unchanged. */
static void test_times_past_2038(void **st)
{
	static const char doc[] =
	    "{\"format_version\":1,\"generations\":[{\"activated_at\":\"2040-03-01T12:00:00Z\","
	    "\"ca\":\"host_identity\",\"commit\":\"\",\"created_at\":\"2039-01-01T00:00:00Z\",\"generation\":1,"
	    "\"retired_at\":\"2099-12-31T23:59:59Z\",\"sha256\":\"" SHA_A "\",\"signed_at\":\"2040-03-01T12:00:00Z\","
	    "\"staged_at\":\"2038-01-19T03:14:08Z\"}],\"outbox\":[],\"transitions\":[],"
	    "\"updated_at\":\"2100-01-01T00:00:00Z\"}";
	struct fca_state s;
	char *out = NULL;
	size_t len;

	(void)st;
	assert_int_equal(fca_state_parse(&s, doc, strlen(doc)), FCA_OK);
	assert_int_equal(s.gens[0].staged_at, (int64_t)2147483648);
	assert_int_equal(s.gens[0].activated_at, fca_time_from_utc(2040, 3, 1, 12, 0, 0));
	assert_int_equal(s.gens[0].retired_at, fca_time_from_utc(2099, 12, 31, 23, 59, 59));
	assert_int_equal(s.gens[0].signed_at, fca_time_from_utc(2040, 3, 1, 12, 0, 0));
	assert_int_equal(s.updated_at, (int64_t)4102444800);
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_string_equal(out, doc);
	free(out);
	fca_state_dispose(&s);
}

/* A non-canonical spelling (order, spaces, time offset) comes back canonical. */
static void test_canonicalizes(void **st)
{
	static const char messy[] =
	    "{ \"updated_at\": \"2026-11-27T11:00:01+01:00\", \"outbox\": [], \"transitions\": [],\n"
	    "  \"generations\": [ { \"sha256\": \"" SHA_A "\", \"generation\": 1, \"ca\": \"host_identity\",\n"
	    "  \"created_at\": \"2026-01-01 00:00:00\", \"staged_at\": null, \"activated_at\": null,\n"
	    "  \"retired_at\": null, \"commit\": \"\" } ], \"format_version\": 1 }";
	static const char want[] =
	    "{\"format_version\":1,\"generations\":[{\"activated_at\":null,\"ca\":\"host_identity\",\"commit\":\"\","
	    "\"created_at\":\"2026-01-01T00:00:00Z\",\"generation\":1,\"retired_at\":null,\"sha256\":\"" SHA_A "\","
	    "\"staged_at\":null}],\"outbox\":[],\"transitions\":[],\"updated_at\":\"2026-11-27T10:00:01Z\"}";
	struct fca_state s;
	char *out = NULL;
	size_t len;

	(void)st;
	assert_int_equal(fca_state_parse(&s, messy, strlen(messy)), FCA_OK);
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_string_equal(out, want);
	free(out);
	fca_state_dispose(&s);
}

/* A state built in memory serializes; its details text is stored compact and sorted. */
static void test_serialize_built(void **st)
{
	struct fca_state s, back;
	struct fca_state_outbox ob;
	char *a = NULL, *b = NULL;
	size_t la, lb;

	(void)st;
	memset(&s, 0, sizeof(s));
	memset(&ob, 0, sizeof(ob));
	s.format_version = 1;
	s.updated_at = 1800000000;
	snprintf(ob.idempotency_key, sizeof(ob.idempotency_key), "host_identity:1:adopt#0");
	snprintf(ob.type, sizeof(ob.type), "adopted_ca_certificate");
	ob.details_json = strdup("{ \"z\": 1, \"a\": [true, null] }");
	ob.created_at = 1800000000;
	s.outbox = &ob;
	s.noutbox = 1;
	assert_int_equal(fca_state_serialize(&a, &la, &s), FCA_OK);
	assert_non_null(strstr(a, "\"details\":{\"a\":[true,null],\"z\":1}"));
	assert_int_equal(fca_state_parse(&back, a, la), FCA_OK);
	assert_string_equal(back.outbox[0].details_json, "{\"a\":[true,null],\"z\":1}");
	assert_int_equal(fca_state_serialize(&b, &lb, &back), FCA_OK);
	assert_string_equal(a, b);
	free(a);
	free(b);
	fca_state_dispose(&back);

	/* details must be an object */
	free(ob.details_json);
	ob.details_json = strdup("[1,2]");
	a = NULL;
	assert_int_equal(fca_state_serialize(&a, &la, &s), FCA_EINVALID);
	assert_null(a);
	assert_non_null(strstr(fca_error_message(), "outbox[0].details"));
	free(ob.details_json);
}

/* Replaces the first occurrence of from with to in good[] and expects a rejection naming words. */
static void expect_reject_edit(const char *from, const char *to, const char *w1, const char *w2)
{
	char buf[8192];
	const char *p = strstr(good, from);
	struct fca_state s;

	assert_non_null(p);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - good), good, to, p + strlen(from));
	fca_error_clear();
	assert_int_equal(fca_state_parse(&s, buf, strlen(buf)), FCA_EINVALID);
	assert_int_equal(fca_error_code(), FCA_EINVALID);
	if (!strstr(fca_error_message(), "fleetca_state: ") || !strstr(fca_error_message(), w1) ||
	    (w2 && !strstr(fca_error_message(), w2)))
		fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", fca_error_message(), w1, w2 ? w2 : "");
	assert_null(s.gens);
	assert_int_equal(s.ngens, 0);
	assert_null(s.outbox);
}

static void test_reject_version(void **st)
{
	(void)st;
	expect_reject_edit("\"format_version\":1", "\"format_version\":2", "format_version 2 is not supported",
			   "version 1");
	expect_reject_edit("\"format_version\":1", "\"format_version\":\"1\"", "format_version", "an integer");
	expect_reject_edit("\"format_version\":1,", "", "format_version", "missing");
}

static void test_reject_unknown_ca(void **st)
{
	(void)st;
	expect_reject_edit("\"ca\":\"apple_scep\"", "\"ca\":\"apple_sce\"", "generations[0].ca",
			   "unknown CA \"apple_sce\"");
}

static void test_reject_bad_sha256(void **st)
{
	(void)st;
	expect_reject_edit("\"sha256\":\"" SHA_B,
			   "\"sha256\":\""
			   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			   "generations[1].sha256", "64 lowercase hex");
	expect_reject_edit(SHA_A, "0f1e", "generations[0].sha256", "64 lowercase hex");
	expect_reject_edit(SHA_A, SHA_A "00", "generations[0].sha256", NULL);
	/* the same fingerprint twice for one CA */
	expect_reject_edit(SHA_B, SHA_A, "generations[1].sha256", "same certificate");
}

static void test_reject_wrong_types(void **st)
{
	(void)st;
	expect_reject_edit("\"generation\":2", "\"generation\":\"2\"", "generations[1].generation", "an integer");
	expect_reject_edit("\"generation\":2", "\"generation\":0", "generations[1].generation", "out of range");
	expect_reject_edit("\"generation\":2", "\"generation\":2.0", "generations[1].generation", "found a number");
	expect_reject_edit("\"staged_at\":\"2026-11-27T10:00:00Z\"", "\"staged_at\":5", "generations[1].staged_at",
			   "RFC 3339");
	expect_reject_edit("\"created_at\":\"2026-01-01T00:00:00Z\"", "\"created_at\":null",
			   "generations[0].created_at", "found null");
	expect_reject_edit("\"created_at\":\"2026-01-01T00:00:00Z\"", "\"created_at\":\"yesterday\"",
			   "generations[0].created_at", "not an RFC 3339 time");
	expect_reject_edit(
	    "\"transitions\":[{\"count\":1,\"last_at\":\"2026-11-27T10:00:00Z\",\"step_id\":\"apple_scep:2:stage\"}]",
	    "\"transitions\":{}", "transitions: expected an array", "found an object");
	expect_reject_edit(
	    "\"details\":{\"ca\":\"apple_scep\",\"generation\":2,\"source\":{\"commit\":\"0123\",\"ref\":\"main\"}}",
	    "\"details\":\"{}\"", "outbox[0].details", "expected an object, found a string");
	expect_reject_edit("\"count\":1", "\"count\":true", "transitions[0].count", "found a boolean");
	expect_reject_edit("\"attempts\":2", "\"attempts\":-1", "outbox[0].attempts", "out of range");
	expect_reject_edit("\"type\":\"staged_ca_certificate\"", "\"type\":\"staged\"", "outbox[0].type",
			   "unknown activity type");
	expect_reject_edit("\"commit\":\"\"", "\"commit\":\"main\"", "generations[0].commit", "commit id");
	expect_reject_edit("\"step_id\":\"apple_scep:2:stage\"", "\"step_id\":\"\"", "transitions[0].step_id", "empty");
	expect_reject_edit("\"count\":1,", "\"count\":1,\"extra\":0,", "transitions[0]", "unknown field \"extra\"");
	expect_reject_edit("\"updated_at\"", "\"updated_at\":1,\"updated_at\"", "not valid JSON", "duplicate");
	expect_reject_edit("{\"format_version\"", "[{\"format_version\"", "not valid JSON", NULL);
}

static void test_reject_not_object(void **st)
{
	struct fca_state s;

	(void)st;
	assert_int_equal(fca_state_parse(&s, "[]", 2), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "document: expected an object"));
	assert_int_equal(fca_state_parse(&s, "", 0), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "not valid JSON"));
}

/* "history" (what compaction folded, "generations" < "history" < "outbox"): read, written back the same. */
static const char history_part[] =
    "\"history\":[{\"ca\":\"apple_scep\",\"generations\":7,\"max_generation\":9,\"newest_at\":"
    "\"2026-11-20T00:00:00Z\",\"oldest_at\":\"2026-01-01T00:00:00Z\",\"transitions\":21}],";

static char *with_history(const char *part)
{
	const char *at = strstr(good, "\"outbox\":");
	size_t head = (size_t)(at - good);
	char *doc = malloc(strlen(good) + strlen(part) + 1);

	assert_non_null(doc);
	memcpy(doc, good, head);
	strcpy(doc + head, part);
	strcat(doc, at);
	return doc;
}

static void expect_history_rejected(const char *part, const char *words)
{
	struct fca_state s;
	char *doc = with_history(part);

	assert_int_equal(fca_state_parse(&s, doc, strlen(doc)), FCA_EINVALID);
	if (!strstr(fca_error_message(), words))
		fail_msg("message \"%s\" lacks \"%s\"", fca_error_message(), words);
	free(doc);
}

static void test_history(void **st)
{
	struct fca_state s;
	char *doc = with_history(history_part), *out = NULL;
	size_t len = 0;

	(void)st;
	assert_int_equal(fca_state_parse(&s, doc, strlen(doc)), FCA_OK);
	assert_int_equal(s.history[FCA_CA_APPLE_SCEP].generations, 7);
	assert_int_equal(s.history[FCA_CA_APPLE_SCEP].transitions, 21);
	assert_int_equal(s.history[FCA_CA_APPLE_SCEP].max_generation, 9);
	assert_int_equal(s.history[FCA_CA_HOST_IDENTITY].generations, 0);
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_string_equal(out, doc);
	free(out);
	fca_state_dispose(&s);
	free(doc);
	/* no history: no "history" key, so such a document keeps its bytes */
	assert_int_equal(fca_state_parse(&s, good, strlen(good)), FCA_OK);
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_string_equal(out, good);
	free(out);
	fca_state_dispose(&s);

	expect_history_rejected("\"history\":[{\"ca\":\"nope\",\"generations\":1,\"max_generation\":1,"
				"\"newest_at\":null,\"oldest_at\":null,\"transitions\":0}],",
				"history[0].ca: unknown CA");
	expect_history_rejected("\"history\":[{\"ca\":\"apple_scep\",\"generations\":0,\"max_generation\":0,"
				"\"newest_at\":null,\"oldest_at\":null,\"transitions\":0}],",
				"folds nothing");
	expect_history_rejected("\"history\":[{\"ca\":\"apple_scep\",\"generations\":1,\"max_generation\":1,"
				"\"newest_at\":\"2026-01-01T00:00:00Z\",\"oldest_at\":\"2026-02-01T00:00:00Z\","
				"\"transitions\":0}],",
				"oldest_at is after newest_at");
	expect_history_rejected("\"history\":[{\"ca\":\"apple_scep\",\"generations\":1,\"max_generation\":1,"
				"\"newest_at\":null,\"oldest_at\":null,\"transitions\":0},{\"ca\":\"apple_scep\","
				"\"generations\":1,\"max_generation\":1,\"newest_at\":null,\"oldest_at\":null,"
				"\"transitions\":0}],",
				"a second entry for apple_scep");
	expect_history_rejected("\"history\":[{\"ca\":\"apple_scep\",\"generations\":1,\"extra\":1,"
				"\"max_generation\":1,\"newest_at\":null,\"oldest_at\":null,\"transitions\":0}],",
				"unknown field \"extra\"");
	expect_history_rejected("\"history\":{},", "history: expected an array");
}

/* The writer refuses a document over the limit, naming the undelivered activities that fill it. */
static void test_serialize_too_big(void **st)
{
	struct fca_state s;
	struct fca_state_outbox ob[4];
	char *out = NULL;
	size_t len = 0, pad = FCA_STATE_MAX_BYTES / 4;

	(void)st;
	memset(&s, 0, sizeof(s));
	memset(ob, 0, sizeof(ob));
	s.format_version = 1;
	s.updated_at = 1800000000;
	for (int i = 0; i < 4; i++) {
		char *d = malloc(pad + 16);
		assert_non_null(d);
		snprintf(ob[i].idempotency_key, sizeof(ob[i].idempotency_key), "host_identity:%d:stage#0", i + 2);
		snprintf(ob[i].type, sizeof(ob[i].type), "staged_ca_certificate");
		memcpy(d, "{\"p\":\"", 6);
		memset(d + 6, 'x', pad);
		memcpy(d + 6 + pad, "\"}", 3);
		ob[i].details_json = d;
		ob[i].created_at = 1800000000;
	}
	s.outbox = ob;
	s.noutbox = 4;
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_EINVALID);
	assert_null(out);
	assert_non_null(strstr(fca_error_message(), "more than the 1048576 the reader accepts"));
	assert_non_null(strstr(fca_error_message(), "4 undelivered activities"));
	/* three of them fit */
	s.noutbox = 3;
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_true(len <= FCA_STATE_MAX_BYTES);
	free(out);
	for (int i = 0; i < 4; i++)
		free(ob[i].details_json);
}

static void test_reject_too_big(void **st)
{
	struct fca_state s;
	size_t n = (size_t)FCA_STATE_MAX_BYTES + 1;
	char *buf = malloc(n);

	(void)st;
	assert_non_null(buf);
	memset(buf, ' ', n);
	memcpy(buf, good, strlen(good));
	assert_int_equal(fca_state_parse(&s, buf, n), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "at most 1048576"));
	/* the same bytes within the limit are fine (trailing whitespace) */
	assert_int_equal(fca_state_parse(&s, buf, n - 1), FCA_OK);
	fca_state_dispose(&s);
	free(buf);
}

static void test_reject_too_many(void **st)
{
	size_t n = FCA_STATE_MAX_TRANSITIONS + 1, off = 0, cap = n * 96 + 256;
	char *buf = malloc(cap);
	struct fca_state s;

	(void)st;
	assert_non_null(buf);
	off += (size_t)snprintf(buf + off, cap - off,
				"{\"format_version\":1,\"updated_at\":\"2026-01-01T00:00:00Z\",\"generations\":[],"
				"\"outbox\":[],\"transitions\":[");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off,
					"%s{\"step_id\":\"host_identity:%zu:stage\",\"count\":1,"
					"\"last_at\":\"2026-01-01T00:00:00Z\"}",
					i ? "," : "", i + 1);
	off += (size_t)snprintf(buf + off, cap - off, "]}");
	assert_int_equal(fca_state_parse(&s, buf, off), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "transitions: 1025 entries, at most 1024"));

	/* exactly the maximum parses */
	{
		char *last = strrchr(buf, '{');
		size_t keep = (size_t)(last - buf) - 1; /* drop ",{…}" */
		off = keep + (size_t)snprintf(buf + keep, cap - keep, "]}");
	}
	assert_int_equal(fca_state_parse(&s, buf, off), FCA_OK);
	assert_int_equal(s.ntransitions, FCA_STATE_MAX_TRANSITIONS);
	fca_state_dispose(&s);

	/* duplicate step ids */
	assert_int_equal(
	    fca_state_parse(&s,
			    "{\"format_version\":1,\"updated_at\":\"2026-01-01T00:00:00Z\",\"generations\":[],"
			    "\"outbox\":[],\"transitions\":[{\"step_id\":\"a\",\"count\":1,\"last_at\":"
			    "\"2026-01-01T00:00:00Z\"},{\"step_id\":\"a\",\"count\":2,\"last_at\":"
			    "\"2026-01-01T00:00:00Z\"}]}",
			    strlen("{\"format_version\":1,\"updated_at\":\"2026-01-01T00:00:00Z\",\"generations\":[],"
				   "\"outbox\":[],\"transitions\":[{\"step_id\":\"a\",\"count\":1,\"last_at\":"
				   "\"2026-01-01T00:00:00Z\"},{\"step_id\":\"a\",\"count\":2,\"last_at\":"
				   "\"2026-01-01T00:00:00Z\"}]}")),
	    FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "transitions[1].step_id"));
	free(buf);
}

static void test_serialize_rejects_bad_struct(void **st)
{
	struct fca_state s;
	struct fca_state_gen g;
	char *out = NULL;
	size_t len;

	(void)st;
	memset(&s, 0, sizeof(s));
	memset(&g, 0, sizeof(g));
	g.ca = FCA_CA_COUNT;
	g.generation = 1;
	snprintf(g.sha256, sizeof(g.sha256), SHA_A);
	s.gens = &g;
	s.ngens = 1;
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "generations[0].ca"));
	g.ca = FCA_CA_HOST_IDENTITY;
	g.sha256[0] = 'X';
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "generations[0].sha256"));
	assert_null(out);
}

/* "row_facts" (issue 11 item 3): optional, kept as written, bounded; a document without it writes none. */
static void test_row_facts(void **st)
{
	static const char doc[] =
	    "{\"format_version\":1,\"generations\":[],\"outbox\":[],\"row_facts\":[\"f1 a b\",\"another line\"],"
	    "\"transitions\":[],\"updated_at\":\"2026-12-05T10:00:01Z\"}";
	struct fca_state s;
	char *out = NULL, *many;
	size_t len, o;

	(void)st;
	assert_int_equal(fca_state_parse(&s, doc, strlen(doc)), FCA_OK);
	assert_int_equal(s.nrow_facts, 2);
	assert_string_equal(s.row_facts[1], "another line");
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_string_equal(out, doc);
	free(out);
	fca_state_dispose(&s);

	assert_int_equal(fca_state_parse(&s, good, strlen(good)), FCA_OK);
	assert_int_equal(s.nrow_facts, 0);
	assert_int_equal(fca_state_serialize(&out, &len, &s), FCA_OK);
	assert_null(strstr(out, "row_facts"));
	free(out);
	fca_state_dispose(&s);

	/* more lines than the document keeps, or not strings: refused */
	many = malloc(64 * (FCA_STATE_MAX_FACTS + 2) + 256);
	o = (size_t)sprintf(many, "{\"format_version\":1,\"generations\":[],\"outbox\":[],\"row_facts\":[");
	for (int i = 0; i <= FCA_STATE_MAX_FACTS; i++)
		o += (size_t)sprintf(many + o, "%s\"x\"", i ? "," : "");
	sprintf(many + o, "],\"transitions\":[],\"updated_at\":\"2026-12-05T10:00:01Z\"}");
	assert_int_equal(fca_state_parse(&s, many, strlen(many)), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "row_facts"));
	fca_error_clear();
	sprintf(many, "{\"format_version\":1,\"generations\":[],\"outbox\":[],\"row_facts\":[7],"
		      "\"transitions\":[],\"updated_at\":\"2026-12-05T10:00:01Z\"}");
	assert_int_equal(fca_state_parse(&s, many, strlen(many)), FCA_EINVALID);
	fca_error_clear();
	free(many);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_fields),
	    cmocka_unit_test(test_signed_at),
	    cmocka_unit_test(test_row_facts),
	    cmocka_unit_test(test_times_past_2038),
	    cmocka_unit_test(test_old_profiles_ignored),
	    cmocka_unit_test(test_other_unknown_member_rejected),
	    cmocka_unit_test(test_round_trip_identical),
	    cmocka_unit_test(test_canonicalizes),
	    cmocka_unit_test(test_serialize_built),
	    cmocka_unit_test(test_reject_version),
	    cmocka_unit_test(test_reject_unknown_ca),
	    cmocka_unit_test(test_reject_bad_sha256),
	    cmocka_unit_test(test_reject_wrong_types),
	    cmocka_unit_test(test_reject_not_object),
	    cmocka_unit_test(test_reject_too_big),
	    cmocka_unit_test(test_history),
	    cmocka_unit_test(test_serialize_too_big),
	    cmocka_unit_test(test_reject_too_many),
	    cmocka_unit_test(test_serialize_rejects_bad_struct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
