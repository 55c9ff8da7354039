/* The desired-state reader (src/io/yaml.c): values, defaults, and every class of error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fleetca/desired.h"
#include "fleetca/yaml.h"

#define DAY  86400LL
#define YEAR (365 * DAY)

static struct fca_desired d;
static struct fca_diags g;

static int parse(const char *yaml)
{
	return fca_yaml_parse_desired(&d, &g, "t.yml", yaml, strlen(yaml));
}

static void dump(void)
{
	char line[1024];
	for (size_t i = 0; i < g.n; i++) {
		fca_diag_format(line, sizeof(line), "t.yml", &g.v[i]);
		print_message("  diag %zu: %s\n", i, line);
	}
}

/* Asserts that diagnostic i is at line:column, for key, and that its message holds every word. */
static void check_diag(size_t i, int line, int column, const char *key, ...)
{
	va_list ap;
	const char *w;

	if (i >= g.n) {
		dump();
		fail_msg("diag %zu missing (only %zu)", i, g.n);
	}
	if (g.v[i].line != line || g.v[i].column != column || strcmp(g.v[i].key, key) != 0) {
		dump();
		fail_msg("diag %zu: got %d:%d %s, want %d:%d %s", i, g.v[i].line, g.v[i].column, g.v[i].key, line,
			 column, key);
	}
	va_start(ap, key);
	while ((w = va_arg(ap, const char *)) != NULL) {
		if (!strstr(g.v[i].msg, w)) {
			dump();
			va_end(ap);
			fail_msg("diag %zu: message \"%s\" lacks \"%s\"", i, g.v[i].msg, w);
		}
	}
	va_end(ap);
}

/* Exactly one problem, at line:column, for key, with these words. */
#define expect_one(yaml, line, column, key, ...)                                                                       \
	do {                                                                                                           \
		int r_ = parse(yaml);                                                                                  \
		if (g.n != 1)                                                                                          \
			dump();                                                                                        \
		assert_int_equal(r_, FCA_EINVALID);                                                                    \
		assert_int_equal(g.n, 1);                                                                              \
		assert_int_equal(g.dropped, 0);                                                                        \
		check_diag(0, line, column, key, __VA_ARGS__, NULL);                                                   \
	} while (0)

static void expect_ok(const char *yaml)
{
	int r = parse(yaml);
	if (r != FCA_OK)
		dump();
	assert_int_equal(r, FCA_OK);
	assert_int_equal(g.n, 0);
}

/* ---- valid files ---- */

static void test_minimal_defaults(void **state)
{
	(void)state;
	expect_ok("version: 1\ncas: {}\n");
	assert_int_equal(d.version, 1);
	assert_int_equal(d.policy.min_overlap, 7 * DAY);
	assert_int_equal(d.policy.clock_skew, 72 * 3600);
	assert_int_equal(d.policy.drain, FCA_DRAIN_WAIT);
	assert_string_equal(d.policy.reason, "");
	assert_int_equal(d.policy.fleet_server_trusts_previous, 0);
	assert_int_equal(d.sink, FCA_SINK_DB); /* Fleet's own activity table */
	assert_string_equal(d.path, "t.yml");
	for (int i = 0; i < FCA_CA_COUNT; i++)
		assert_int_equal(d.cas[i].present, 0);
}

static void test_one_ca_defaults(void **state)
{
	(void)state;
	expect_ok("# comment\nversion: 1\ncas:\n  host_identity:\n    generation: 2\n");
	const struct fca_desired_ca *c = &d.cas[FCA_CA_HOST_IDENTITY];
	assert_int_equal(c->present, 1);
	assert_int_equal(c->line, 4);
	assert_int_equal(c->generation, 2);
	assert_int_equal(c->stage, FCA_STAGE_COMPLETE);
	assert_int_equal(c->key_bits, 2048);
	assert_int_equal(c->validity, 10 * YEAR);
	assert_int_equal(c->renew_before, 0);
	assert_int_equal(c->adopt, 0);
	assert_int_equal(c->suspend, 0);
	assert_string_equal(c->subject.cn, "");
	assert_string_equal(c->subject.c, "");
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].present, 0);
	assert_int_equal(d.cas[FCA_CA_CONDITIONAL_ACCESS].present, 0);
}

static const char full_yaml[] =
    "version: 1\n"
    "policy:\n"
    "  min_overlap: 14d\n"
    "  clock_skew: 0s\n"
    "  drain: force\n"
    "  reason: \"INC-1234: old key compromised\"\n"
    "  fleet_server_trusts_previous: true\n"
    "activities:\n"
    "  sink: db\n"
    "cas:\n"
    "  apple_scep:\n"
    "    generation: 3\n"
    "    stage: staged\n"
    "    subject:\n"
    "      common_name: Fleet SCEP\n"
    "      organization: 'Example, Inc.'\n"
    "      organizational_unit: IT\n"
    "      country: DE\n"
    "    key: rsa-2048\n"
    "    validity: 5y\n"
    "    renew_before: 90d\n"
    "    adopt: true\n"
    "    suspend: false\n"
    "  host_identity: { generation: 1000000, stage: active, key: rsa-4096, validity: 52w, renew_before: 0s }\n"
    "  conditional_access: {generation: 2, key: rsa-3072}\n"
    "  conditional_access_idp:\n"
    "    generation: 1\n"
    "    suspend: True\n";

static void test_full(void **state)
{
	(void)state;
	expect_ok(full_yaml);
	assert_int_equal(d.policy.min_overlap, 14 * DAY);
	assert_int_equal(d.policy.clock_skew, 0);
	assert_int_equal(d.policy.drain, FCA_DRAIN_FORCE);
	assert_string_equal(d.policy.reason, "INC-1234: old key compromised");
	assert_int_equal(d.policy.fleet_server_trusts_previous, 1);
	assert_int_equal(d.sink, FCA_SINK_DB);

	const struct fca_desired_ca *a = &d.cas[FCA_CA_APPLE_SCEP];
	assert_int_equal(a->present, 1);
	assert_int_equal(a->line, 11);
	assert_int_equal(a->generation, 3);
	assert_int_equal(a->stage, FCA_STAGE_STAGED);
	assert_string_equal(a->subject.cn, "Fleet SCEP");
	assert_string_equal(a->subject.o, "Example, Inc.");
	assert_string_equal(a->subject.ou, "IT");
	assert_string_equal(a->subject.c, "DE");
	assert_int_equal(a->key_bits, 2048);
	assert_int_equal(a->validity, 5 * YEAR);
	assert_int_equal(a->renew_before, 90 * DAY);
	assert_int_equal(a->adopt, 1);
	assert_int_equal(a->suspend, 0);

	const struct fca_desired_ca *h = &d.cas[FCA_CA_HOST_IDENTITY];
	assert_int_equal(h->line, 24);
	assert_int_equal(h->generation, 1000000);
	assert_int_equal(h->stage, FCA_STAGE_ACTIVE);
	assert_int_equal(h->key_bits, 4096);
	assert_int_equal(h->validity, 52 * 7 * DAY);
	assert_int_equal(h->renew_before, 0);

	const struct fca_desired_ca *c = &d.cas[FCA_CA_CONDITIONAL_ACCESS];
	assert_int_equal(c->generation, 2);
	assert_int_equal(c->stage, FCA_STAGE_COMPLETE);
	assert_int_equal(c->key_bits, 3072);

	const struct fca_desired_ca *i = &d.cas[FCA_CA_CONDITIONAL_ACCESS_IDP];
	assert_int_equal(i->present, 1);
	assert_int_equal(i->suspend, 1);
}

static void test_flow_document(void **state)
{
	(void)state;
	expect_ok("{version: 1, activities: {sink: none}, cas: {conditional_access: {generation: 2, stage: staged}}}");
	assert_int_equal(d.sink, FCA_SINK_NONE);
	assert_int_equal(d.cas[FCA_CA_CONDITIONAL_ACCESS].present, 1);
	assert_int_equal(d.cas[FCA_CA_CONDITIONAL_ACCESS].line, 1);
	assert_int_equal(d.cas[FCA_CA_CONDITIONAL_ACCESS].stage, FCA_STAGE_STAGED);
}

static void test_example_file(void **state)
{
	char path[1024];
	const char *src = getenv("FCA_SOURCE_DIR");
	int r;

	(void)state;
	if (!src)
		src = ".";
	snprintf(path, sizeof(path), "%s/examples/ca-rotation.yml", src);
	r = fca_yaml_load_desired(&d, &g, path);
	if (r != FCA_OK)
		dump();
	assert_int_equal(r, FCA_OK);
	assert_string_equal(d.path, path);
	/* what is safe on a released Fleet: apple_scep renews on its key, host_identity rotates */
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].generation, 1);
	assert_true(d.cas[FCA_CA_APPLE_SCEP].renew_before > 0);
	assert_int_equal(d.policy.fleet_server_trusts_previous, 0);
	assert_int_equal(d.cas[FCA_CA_HOST_IDENTITY].generation, 2);
	assert_int_equal(d.cas[FCA_CA_HOST_IDENTITY].stage, FCA_STAGE_COMPLETE);
	assert_int_equal(d.sink, FCA_SINK_DB);
	for (int i = 0; i < FCA_CA_COUNT; i++)
		assert_int_equal(d.cas[i].present, 1);
	assert_int_equal(d.cas[FCA_CA_CONDITIONAL_ACCESS].generation, 1);
	assert_int_equal(d.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].generation, 1);
}

/* ---- errors: the document ---- */

static void test_syntax_error(void **state)
{
	(void)state;
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 1\n", 4, 1, "", "YAML syntax error",
		   "did not find expected ',' or '}'", "line 3, column 15");
	expect_one("version: 1\ncas: {}\npolicy: { reason: \"unterminated }\n", 4, 1, "", "YAML syntax error",
		   "end of stream", "quoted scalar");
	expect_one("version: 1\n\tcas: {}\n", 2, 1, "", "YAML syntax error", "tab");
}

static void test_top_not_mapping(void **state)
{
	(void)state;
	expect_one("- version: 1\n", 1, 1, "", "expected a mapping at the top level", "found a sequence");
	expect_one("\n\nhello\n", 3, 1, "", "expected a mapping at the top level", "found \"hello\"");
	expect_one("", 1, 1, "", "empty document");
	expect_one("# only a comment\n", 1, 1, "", "empty document");
	expect_one("version: 1\ncas: {}\n---\nversion: 1\n", 3, 1, "", "second YAML document");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_one("version: 1\ncas: {}\npolcy: {}\n", 3, 1, "polcy", "unknown key \"polcy\"",
		   "expected one of version, policy, activities, cas");
	expect_one("version: 1\npolicy:\n  drian: wait\ncas: {}\n", 3, 3, "policy.drian", "unknown key \"drian\"",
		   "min_overlap, clock_skew, drain, reason, fleet_server_trusts_previous");
	expect_one("version: 1\nactivities: { sinc: db }\ncas: {}\n", 2, 15, "activities.sinc", "unknown key \"sinc\"",
		   "expected one of sink");
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 2, generaton: 3 }\n", 3, 32,
		   "cas.apple_scep.generaton", "unknown key \"generaton\"",
		   "expected one of generation, stage, subject, key, validity, renew_before, adopt, suspend");
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    subject: { email: a@b.c }\n", 5, 16,
		   "cas.apple_scep.subject.email", "unknown subject key \"email\"",
		   "common_name, organization, organizational_unit, country");
}

static void test_unknown_ca(void **state)
{
	(void)state;
	expect_one("version: 1\ncas:\n  apple: { generation: 2 }\n", 3, 3, "cas.apple", "unknown CA \"apple\"",
		   "expected one of apple_scep, host_identity, conditional_access, conditional_access_idp");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    generation: 3\n", 5, 5,
		   "cas.apple_scep.generation", "duplicate key \"generation\"", "first at line 4, column 5");
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].generation, 2);
	expect_one("version: 1\ncas: {}\nversion: 1\n", 3, 1, "version", "duplicate key", "line 1");
	expect_one("version: 1\ncas:\n  host_identity: {generation: 1}\n  host_identity: {generation: 2}\n", 4, 3,
		   "cas.host_identity", "duplicate key \"host_identity\"", "first at line 3");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    stage: { name: active }\n", 5, 12,
		   "cas.apple_scep.stage", "expected one of staged, active, complete", "found a mapping");
	expect_one("version: 1\ncas:\n  apple_scep: { generation: two }\n", 3, 29, "cas.apple_scep.generation",
		   "expected an integer generation", "found \"two\"");
	expect_one("version: 1\ncas:\n  apple_scep: { generation: \"2\" }\n", 3, 29, "cas.apple_scep.generation",
		   "expected an integer", "found \"2\"");
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 1.5 }\n", 3, 29, "cas.apple_scep.generation",
		   "expected an integer", "found number 1.5");
	expect_one("version: 1\npolicy: [a, b]\ncas: {}\n", 2, 9, "policy", "expected a mapping", "found a sequence");
	expect_one("version: 1\ncas: [apple_scep]\n", 2, 6, "cas", "expected a mapping of CA ids", "found a sequence");
	expect_one("version: 1\ncas:\n", 2, 5, "cas", "expected a mapping of CA ids", "found null");
	expect_one("version: 1\ncas:\n  apple_scep: 2\n", 3, 15, "cas.apple_scep",
		   "expected a mapping with at least generation", "found integer 2");
	expect_one("version: 1\npolicy:\n  reason: 42\ncas: {}\n", 3, 11, "policy.reason", "expected a string",
		   "found integer 42");
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    subject: US\n", 5, 14,
		   "cas.apple_scep.subject", "expected a mapping of common_name", "found \"US\"");
	expect_one("version: 1\n[a]: 1\ncas: {}\n", 2, 1, "", "expected a key", "found a sequence");
}

static void test_version(void **state)
{
	(void)state;
	expect_one("cas: {}\n", 1, 1, "version", "missing required key", "version: 1");
	expect_one("version: 2\ncas: {}\n", 1, 10, "version", "unsupported version 2", "expected 1");
	expect_one("version: \"1\"\ncas: {}\n", 1, 10, "version", "expected 1", "found \"1\"");
	expect_one("version: 1.0\ncas: {}\n", 1, 10, "version", "expected 1", "found number 1.0");
	expect_one("version: 1\n", 1, 1, "cas", "missing required key", "cas: {}");
}

static void test_generation(void **state)
{
	(void)state;
	expect_one("version: 1\ncas:\n  host_identity: { stage: staged }\n", 3, 18, "cas.host_identity.generation",
		   "missing required key", "needs a generation");
	expect_one("version: 1\ncas:\n  host_identity:\n    stage: staged\n", 4, 5, "cas.host_identity.generation",
		   "missing required key");
	assert_int_equal(d.cas[FCA_CA_HOST_IDENTITY].present, 1);
	assert_int_equal(d.cas[FCA_CA_HOST_IDENTITY].line, 3);
	expect_one("version: 1\ncas:\n  host_identity: { generation: 0 }\n", 3, 32, "cas.host_identity.generation",
		   "at least 1", "found integer 0");
	expect_one("version: 1\ncas:\n  host_identity: { generation: -3 }\n", 3, 32, "cas.host_identity.generation",
		   "at least 1", "found integer -3");
	expect_one("version: 1\ncas:\n  host_identity: { generation: 1000001 }\n", 3, 32,
		   "cas.host_identity.generation", "at most 1000000", "found integer 1000001");
	expect_one("version: 1\ncas:\n  host_identity: { generation: 99999999999999999999999 }\n", 3, 32,
		   "cas.host_identity.generation", "at most 1000000");
}

static void test_stage(void **state)
{
	(void)state;
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    stage: activ\n", 5, 12,
		   "cas.apple_scep.stage", "expected one of staged, active, complete; found \"activ\"");
	expect_one("version: 1\ncas:\n  apple_scep: {generation: 2, stage: Active}\n", 3, 38, "cas.apple_scep.stage",
		   "found \"Active\"");
}

static void test_durations(void **state)
{
	(void)state;
	expect_one("version: 1\npolicy:\n  min_overlap: 7days\ncas: {}\n", 3, 16, "policy.min_overlap",
		   "expected a duration such as 7d", "found \"7days\"", "unit");
	expect_one("version: 1\npolicy:\n  min_overlap: 0s\ncas: {}\n", 3, 16, "policy.min_overlap",
		   "greater than zero", "found \"0s\"");
	expect_one("version: 1\npolicy:\n  clock_skew: 72\ncas: {}\n", 3, 15, "policy.clock_skew",
		   "expected a duration", "found integer 72");
	expect_one("version: 1\npolicy:\n  clock_skew: 101y\ncas: {}\n", 3, 15, "policy.clock_skew", "too large");
	expect_one("version: 1\ncas:\n  host_identity: { generation: 1, validity: 0d }\n", 3, 45,
		   "cas.host_identity.validity", "greater than zero");
	expect_one("version: 1\ncas:\n  host_identity: { generation: 1, renew_before: -1d }\n", 3, 49,
		   "cas.host_identity.renew_before", "expected a duration", "sign");
	expect_one("version: 1\ncas:\n  host_identity: { generation: 1, renew_before: 5y, validity: 5y }\n", 3, 49,
		   "cas.host_identity.renew_before", "less than validity (5y)", "found 5y");
	expect_one("version: 1\ncas:\n  host_identity: { generation: 1, renew_before: 10y }\n", 3, 49,
		   "cas.host_identity.renew_before", "less than validity (10y, the default)", "found 10y");
	/* zero is fine where allowed */
	expect_ok("version: 1\npolicy: { clock_skew: 0s }\ncas:\n  host_identity: { generation: 1, renew_before: 0d, "
		  "validity: 90m }\n");
	assert_int_equal(d.policy.clock_skew, 0);
	assert_int_equal(d.cas[FCA_CA_HOST_IDENTITY].validity, 90 * 60);
	/* a bad validity does not also produce a renew_before comparison */
	expect_one("version: 1\ncas:\n  host_identity: { generation: 1, renew_before: 20y, validity: x }\n", 3, 64,
		   "cas.host_identity.validity", "expected a duration");
}

static void test_drain_reason(void **state)
{
	(void)state;
	expect_one("version: 1\npolicy:\n  drain: now\ncas: {}\n", 3, 10, "policy.drain",
		   "expected one of wait, force; found \"now\"");
	expect_one("version: 1\npolicy:\n  drain: force\ncas: {}\n", 3, 10, "policy.drain", "drain: force requires",
		   "non-empty policy.reason");
	/* a blank reason is wrong in itself, and then force has none */
	assert_int_equal(parse("version: 1\npolicy:\n  drain: force\n  reason: \"  \"\ncas: {}\n"), FCA_EINVALID);
	assert_int_equal(g.n, 2);
	check_diag(0, 4, 11, "policy.reason", "non-empty reason", "found an empty string", NULL);
	check_diag(1, 3, 10, "policy.drain", "drain: force requires", NULL);
	expect_ok("version: 1\npolicy:\n  reason: later\n  drain: force\ncas: {}\n");
	assert_int_equal(d.policy.drain, FCA_DRAIN_FORCE);
	assert_string_equal(d.policy.reason, "later");
}

static void test_reason_length(void **state)
{
	char *doc = malloc(2048);
	char *s = malloc(FCA_REASON_MAX + 1);

	(void)state;
	assert_non_null(doc);
	assert_non_null(s);
	memset(s, 'r', FCA_REASON_MAX - 1);
	s[FCA_REASON_MAX - 1] = '\0';
	snprintf(doc, 2048, "version: 1\npolicy: { reason: %s }\ncas: {}\n", s);
	expect_ok(doc);
	assert_int_equal(strlen(d.policy.reason), FCA_REASON_MAX - 1);
	s[FCA_REASON_MAX - 1] = 'r';
	s[FCA_REASON_MAX] = '\0';
	snprintf(doc, 2048, "version: 1\npolicy: { reason: %s }\ncas: {}\n", s);
	expect_one(doc, 2, 19, "policy.reason", "too long", "512 bytes", "at most 511");
	assert_string_equal(d.policy.reason, "");
	free(doc);
	free(s);
}

static void test_sink(void **state)
{
	(void)state;
	expect_one("version: 1\nactivities:\n  sink: http\ncas: {}\n", 3, 9, "activities.sink",
		   "expected one of api, db, none; found \"http\"");
	expect_one("version: 1\nactivities:\n  sink: ~\ncas: {}\n", 3, 9, "activities.sink", "found null");
}

static void test_key(void **state)
{
	(void)state;
	expect_one("version: 1\ncas:\n  host_identity: { generation: 2, key: ec-p256 }\n", 3, 40,
		   "cas.host_identity.key", "expected one of rsa-2048, rsa-3072, rsa-4096, keep; found \"ec-p256\"");
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 2, key: rsa-4096 }\n", 3, 37, "cas.apple_scep.key",
		   "expected rsa-2048 for apple_scep", "Apple", "found \"rsa-4096\"");
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].key_bits, 2048);
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 2, key: rsa-3072 }\n", 3, 37, "cas.apple_scep.key",
		   "expected rsa-2048 for apple_scep");
	/* keep: the signing generation's key, on every CA, Apple's too */
	expect_ok("version: 1\ncas:\n  apple_scep: { generation: 2, key: keep }\n  host_identity: { generation: 2 }\n");
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].key_keep, 1);
	assert_int_equal(d.cas[FCA_CA_HOST_IDENTITY].key_keep, 0);
	expect_ok("version: 1\ncas:\n  conditional_access: { generation: 3, key: keep }\n");
	assert_int_equal(d.cas[FCA_CA_CONDITIONAL_ACCESS].key_keep, 1);
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 2, key: Keep }\n", 3, 37, "cas.apple_scep.key",
		   "found \"Keep\"");
}

static void test_subject(void **state)
{
	char doc[512], name[80];

	(void)state;
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    subject: { country: us }\n", 5, 25,
		   "cas.apple_scep.subject.country", "two uppercase letters", "found \"us\"");
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    subject: { country: USA }\n", 5, 25,
		   "cas.apple_scep.subject.country", "two uppercase letters", "found \"USA\"");
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    subject: { common_name: '' }\n", 5, 29,
		   "cas.apple_scep.subject.common_name", "must not be empty");
	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(doc, sizeof(doc),
		 "version: 1\ncas:\n  apple_scep:\n    generation: 2\n    subject: { organization: %s }\n", name);
	expect_ok(doc);
	assert_string_equal(d.cas[FCA_CA_APPLE_SCEP].subject.o, name);
	name[64] = 'n';
	name[65] = '\0';
	snprintf(doc, sizeof(doc),
		 "version: 1\ncas:\n  apple_scep:\n    generation: 2\n    subject: { organization: %s }\n", name);
	expect_one(doc, 5, 30, "cas.apple_scep.subject.organization", "too long", "65 bytes", "at most 64");
	assert_string_equal(d.cas[FCA_CA_APPLE_SCEP].subject.o, "");
}

#define NO_LONGER                                                                                                      \
	"no longer supported: Fleet re-installs its own root CA profile (com.fleetdm.caroot, the first certificate "   \
	"of "                                                                                                          \
	"ca_cert) on every Apple host whenever ca_cert changes; remove this key"
#define NO_LONGER_MIN_VERIFIED                                                                                         \
	"no longer supported: fleetca uploads no trust profile whose delivery it could wait for; Fleet re-installs "   \
	"its own root CA profile (com.fleetdm.caroot, the first certificate of ca_cert) on every Apple host whenever " \
	"ca_cert changes; remove this key"

/* distribute and min_verified (trust profiles) are gone: named, with why, at the key, whatever the value. */
static void test_removed_keys(void **state)
{
	char line[1024];

	(void)state;
	expect_one("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    distribute: profile\n", 5, 5,
		   "cas.apple_scep.distribute", NO_LONGER);
	assert_string_equal(g.v[0].msg, NO_LONGER);
	fca_diag_format(line, sizeof(line), "ca-rotation.yml", &g.v[0]);
	assert_string_equal(line, "ca-rotation.yml:5:5: cas.apple_scep.distribute: " NO_LONGER);
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 2, distribute: none }\n", 3, 32,
		   "cas.apple_scep.distribute", NO_LONGER);
	expect_one("version: 1\ncas:\n  conditional_access:\n    generation: 1\n    min_verified: 0.98\n", 5, 5,
		   "cas.conditional_access.min_verified", NO_LONGER_MIN_VERIFIED);
	assert_string_equal(g.v[0].msg, NO_LONGER_MIN_VERIFIED);
	/* the value is not read: a mapping gives the same one problem */
	expect_one("version: 1\ncas:\n  host_identity:\n    generation: 1\n    distribute: { to: all }\n", 5, 5,
		   "cas.host_identity.distribute", NO_LONGER);
	/* both in one file: two problems, the rest of the CA still read */
	assert_int_equal(parse("version: 1\ncas:\n  apple_scep:\n    distribute: profile\n    generation: 2\n"
			       "    min_verified: 1\n    stage: staged\n"),
			 FCA_EINVALID);
	assert_int_equal(g.n, 2);
	check_diag(0, 4, 5, "cas.apple_scep.distribute", NO_LONGER, NULL);
	check_diag(1, 6, 5, "cas.apple_scep.min_verified", NO_LONGER_MIN_VERIFIED, NULL);
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].generation, 2);
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].stage, FCA_STAGE_STAGED);
	/* only in a CA's mapping: elsewhere they are unknown keys like any other */
	expect_one("version: 1\npolicy: { distribute: profile }\ncas: {}\n", 2, 11, "policy.distribute",
		   "unknown key \"distribute\"");
}

static void test_booleans(void **state)
{
	(void)state;
	expect_one("version: 1\npolicy:\n  fleet_server_trusts_previous: yes\ncas: {}\n", 3, 33,
		   "policy.fleet_server_trusts_previous", "expected true or false", "found \"yes\"");
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 2, adopt: \"true\" }\n", 3, 39,
		   "cas.apple_scep.adopt", "expected true or false", "found \"true\"");
	expect_one("version: 1\ncas:\n  apple_scep: { generation: 2, suspend: 1 }\n", 3, 41, "cas.apple_scep.suspend",
		   "expected true or false", "found integer 1");
	expect_ok("version: 1\ncas:\n  apple_scep: { generation: 2, suspend: FALSE, adopt: true }\n");
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].suspend, 0);
	assert_int_equal(d.cas[FCA_CA_APPLE_SCEP].adopt, 1);
}

static void test_alias_and_tag(void **state)
{
	(void)state;
	expect_one("version: 1\ncas:\n  apple_scep: &g { generation: 2 }\n  host_identity: *g\n", 4, 18,
		   "cas.host_identity", "aliases are not supported");
	/* an alias is reported even inside a value that is skipped */
	int r = parse("x: &a [1, 2]\ny: [*a, *a]\nversion: 1\ncas: {}\n");
	assert_int_equal(r, FCA_EINVALID);
	assert_int_equal(g.n, 4);
	check_diag(0, 1, 1, "x", "unknown key \"x\"", NULL);
	check_diag(1, 2, 1, "y", "unknown key \"y\"", NULL);
	check_diag(2, 2, 5, "y", "aliases are not supported", NULL);
	check_diag(3, 2, 9, "y", "aliases are not supported", NULL);
	expect_one("version: 1\ncas:\n  apple_scep: { generation: !!int 2 }\n", 3, 29, "cas.apple_scep.generation",
		   "tags such as tag:yaml.org,2002:int are not supported");
}

static void test_many_errors(void **state)
{
	int r;

	(void)state;
	r = parse("version: 3\n"
		  "policy:\n"
		  "  drain: force\n"
		  "  min_overlap: soon\n"
		  "cas:\n"
		  "  apple_scep:\n"
		  "    generation: 2\n"
		  "    stage: activ\n"
		  "    key: rsa-4096\n"
		  "  host_identity: { generation: two, adopt: yes }\n"
		  "  nope: {}\n"
		  "colour: blue\n");
	assert_int_equal(r, FCA_EINVALID);
	if (g.n != 9)
		dump();
	assert_int_equal(g.n, 9);
	check_diag(0, 1, 10, "version", "unsupported version 3", NULL);
	check_diag(1, 4, 16, "policy.min_overlap", "found \"soon\"", NULL);
	check_diag(2, 8, 12, "cas.apple_scep.stage", "found \"activ\"", NULL);
	check_diag(3, 9, 10, "cas.apple_scep.key", "rsa-2048", NULL);
	check_diag(4, 10, 32, "cas.host_identity.generation", "found \"two\"", NULL);
	check_diag(5, 10, 44, "cas.host_identity.adopt", "found \"yes\"", NULL);
	check_diag(6, 11, 3, "cas.nope", "unknown CA", NULL);
	check_diag(7, 12, 1, "colour", "unknown key", NULL);
	check_diag(8, 3, 10, "policy.drain", "drain: force requires", NULL);
}

static void test_too_many_diags(void **state)
{
	size_t cap = 200 * 16;
	char *doc = malloc(cap);
	size_t off = 0;

	(void)state;
	assert_non_null(doc);
	off += (size_t)snprintf(doc + off, cap - off, "version: 1\ncas: {}\n");
	for (int i = 0; i < 100; i++)
		off += (size_t)snprintf(doc + off, cap - off, "k%d: 1\n", i);
	assert_int_equal(parse(doc), FCA_EINVALID);
	assert_int_equal(g.n, FCA_DIAGS_MAX);
	assert_int_equal(g.dropped, 100 - FCA_DIAGS_MAX);
	check_diag(FCA_DIAGS_MAX - 1, 3 + FCA_DIAGS_MAX - 1, 1, "k63", "unknown key", NULL);
	free(doc);
}

static void test_huge_inputs(void **state)
{
	size_t big = ((size_t)1 << 20) + 1, n = 0;
	char *buf = malloc(big + 64);
	int r;

	(void)state;
	assert_non_null(buf);
	/* over 1 MiB: refused before parsing */
	memset(buf, '#', big);
	r = fca_yaml_parse_desired(&d, &g, "t.yml", buf, big);
	assert_int_equal(r, FCA_EINVALID);
	assert_int_equal(g.n, 1);
	check_diag(0, 0, 0, "", "file too large", "1048577 bytes", "1 MiB", NULL);

	/* under 1 MiB but more than 100000 events */
	n = (size_t)snprintf(buf, big, "x: [");
	for (int i = 0; i < 150000; i++) {
		buf[n++] = '0';
		buf[n++] = ',';
	}
	memcpy(buf + n, "0]\n", 4);
	n += 3;
	r = fca_yaml_parse_desired(&d, &g, "t.yml", buf, n);
	assert_int_equal(r, FCA_EINVALID);
	assert_int_equal(g.n, 2);
	check_diag(0, 1, 1, "x", "unknown key", NULL);
	check_diag(1, 1, 199995, "", "more than 100000 YAML events", NULL);

	/* deep nesting stops early */
	memset(buf, '[', 100000);
	r = fca_yaml_parse_desired(&d, &g, "t.yml", buf, 100000);
	assert_int_equal(r, FCA_EINVALID);
	check_diag(1, 1, 33, "", "nested too deeply", NULL);

	/* a file over 1 MiB through load */
	char path[] = "fleetca-yaml-test-XXXXXX"; /* in the test's working directory */
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(buf, '#', big);
	assert_int_equal(write(fd, buf, big), (ssize_t)big);
	close(fd);
	r = fca_yaml_load_desired(&d, &g, path);
	unlink(path);
	assert_int_equal(r, FCA_EINVALID);
	assert_int_equal(g.n, 0);
	assert_non_null(strstr(fca_error_message(), "file too large"));
	free(buf);
}

static void test_load_errors(void **state)
{
	(void)state;
	assert_int_equal(fca_yaml_load_desired(&d, &g, "no-such-dir/ca-rotation.yml"), FCA_ENOTFOUND);
	assert_non_null(strstr(fca_error_message(), "cannot open"));
	assert_int_equal(g.n, 0);
	assert_int_equal(fca_yaml_load_desired(&d, &g, "."), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "not a regular file"));
	/* a NUL byte inside the input is a syntax error, not a truncation */
	assert_int_equal(fca_yaml_parse_desired(&d, &g, "t.yml", "version: 1\0cas: {}\n", 19), FCA_EINVALID);
	check_diag(0, 1, 11, "", "YAML syntax error", "control characters", NULL);
	assert_int_equal(fca_yaml_parse_desired(&d, &g, "t.yml", "version: 1\n# \xc3\xa9\xc3\xa9\x01\ncas: {}\n", 20),
			 FCA_EINVALID);
	check_diag(0, 2, 5, "", "YAML syntax error", "control characters", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_minimal_defaults),
	    cmocka_unit_test(test_one_ca_defaults),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_flow_document),
	    cmocka_unit_test(test_example_file),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_top_not_mapping),
	    cmocka_unit_test(test_unknown_keys),
	    cmocka_unit_test(test_unknown_ca),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_generation),
	    cmocka_unit_test(test_stage),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_drain_reason),
	    cmocka_unit_test(test_reason_length),
	    cmocka_unit_test(test_sink),
	    cmocka_unit_test(test_key),
	    cmocka_unit_test(test_subject),
	    cmocka_unit_test(test_removed_keys),
	    cmocka_unit_test(test_booleans),
	    cmocka_unit_test(test_alias_and_tag),
	    cmocka_unit_test(test_many_errors),
	    cmocka_unit_test(test_too_many_diags),
	    cmocka_unit_test(test_huge_inputs),
	    cmocka_unit_test(test_load_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
