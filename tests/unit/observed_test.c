/* src/model/observed.c: stage from the slots, corrupt explanations, drift, generation mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/observed.h"

/* A live, intact slot whose certificate fingerprint is 64 times `fp`. */
static void slot(struct fca_observed *o, enum fca_ca_id ca, enum fca_slot s, char fp)
{
	struct fca_obs_gen *g = &o->cas[ca].gens[s];

	g->present = 1;
	g->has_key = 1;
	g->cert_ok = 1;
	g->key_check = 1;
	memset(g->cert.sha256_hex, fp, 64);
	g->cert.sha256_hex[64] = '\0';
}

static void doc_gen(struct fca_observed *o, enum fca_ca_id ca, int n, char fp, int64_t staged, int64_t activated)
{
	struct fca_state_gen g;

	memset(&g, 0, sizeof(g));
	g.ca = ca;
	g.generation = n;
	memset(g.sha256, fp, 64);
	g.staged_at = staged;
	g.activated_at = activated;
	o->has_document = 1;
	assert_int_equal(fca_state_add_gen(&o->state, &g), FCA_OK);
}

/* Every combination of the three slots, each live or not, for a managed CA. */
static void test_slot_combinations(void **unused)
{
	static const struct {
		int cur, next, prev;
		enum fca_stage stage;
		const char *problem; /* substring, or NULL */
	} cases[] = {
	    {0, 0, 0, FCA_STAGE_NONE, NULL},
	    {1, 0, 0, FCA_STAGE_COMPLETE, NULL},
	    {1, 1, 0, FCA_STAGE_STAGED, NULL},
	    {1, 0, 1, FCA_STAGE_ACTIVE, NULL},
	    {1, 1, 1, FCA_STAGE_CORRUPT, "both host_identity_ca_cert_next and host_identity_ca_cert_previous are live"},
	    {0, 1, 0, FCA_STAGE_CORRUPT, "host_identity_ca_cert_next is live but host_identity_ca_cert is not"},
	    {0, 0, 1, FCA_STAGE_CORRUPT, "host_identity_ca_cert_previous is live but host_identity_ca_cert is not"},
	    {0, 1, 1, FCA_STAGE_CORRUPT, "both host_identity_ca_cert_next and host_identity_ca_cert_previous"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fca_observed o;

		fca_observed_init(&o);
		doc_gen(&o, FCA_CA_HOST_IDENTITY, 1, 'a', 0, 0);
		doc_gen(&o, FCA_CA_HOST_IDENTITY, 2, 'b', 100, 0);
		doc_gen(&o, FCA_CA_HOST_IDENTITY, 3, 'c', 0, 0);
		/* the generations in the slots they can be in: previous 1, signing 2, next 3 */
		if (cases[i].cur)
			slot(&o, FCA_CA_HOST_IDENTITY, FCA_SLOT_CURRENT, 'b');
		if (cases[i].next)
			slot(&o, FCA_CA_HOST_IDENTITY, FCA_SLOT_NEXT, 'c');
		if (cases[i].prev)
			slot(&o, FCA_CA_HOST_IDENTITY, FCA_SLOT_PREVIOUS, 'a');
		fca_observed_derive(&o);
		const struct fca_obs_ca *c = &o.cas[FCA_CA_HOST_IDENTITY];
		if (c->stage != cases[i].stage)
			fail_msg("case %zu: stage %s, expected %s", i, fca_stage_name(c->stage),
				 fca_stage_name(cases[i].stage));
		if (cases[i].problem && !strstr(c->problem, cases[i].problem))
			fail_msg("case %zu: problem \"%s\" lacks \"%s\"", i, c->problem, cases[i].problem);
		if (!cases[i].problem)
			assert_string_equal(c->problem, "");
		assert_true(c->managed);
		assert_false(c->drift);
		assert_int_equal(c->max_generation, 3);
		/* the other CAs have no rows */
		assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].stage, FCA_STAGE_NONE);
		assert_false(o.cas[FCA_CA_APPLE_SCEP].managed);
		fca_observed_dispose(&o);
	}
}

/* Broken slots: each explanation names the assets and says what to do. */
static void test_corrupt_rows(void **unused)
{
	static const struct {
		enum fca_slot slot;
		int present, has_key, cert_ok, key_check;
		const char *problem[3];
	} cases[] = {
	    {FCA_SLOT_CURRENT, 1, 0, 1, -1, {"ca_cert is live but ca_key is missing", "restore ca_key", NULL}},
	    {FCA_SLOT_CURRENT, 0, 1, 0, -1, {"ca_key is live but ca_cert is missing", "soft-delete ca_key", NULL}},
	    {FCA_SLOT_CURRENT, 1, 1, 0, -1, {"ca_cert decrypts but does not parse", "history row", NULL}},
	    {FCA_SLOT_CURRENT, 1, 1, 1, 0, {"ca_key does not match the public key of ca_cert", "by hand", NULL}},
	    {FCA_SLOT_NEXT, 1, 0, 1, 1, {"ca_cert_next is live but ca_key_next is missing", NULL, NULL}},
	    {FCA_SLOT_NEXT, 0, 1, 0, -1, {"ca_key_next is live but ca_cert_next is missing", NULL, NULL}},
	    {FCA_SLOT_PREVIOUS, 1, 1, 1, 0, {"ca_key_previous does not match", "ca_cert_previous", NULL}},
	    {FCA_SLOT_PREVIOUS, 1, 1, 0, 1, {"ca_cert_previous decrypts but does not parse", NULL, NULL}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fca_observed o;
		struct fca_obs_gen *g;

		fca_observed_init(&o);
		doc_gen(&o, FCA_CA_APPLE_SCEP, 1, 'a', 0, 0);
		doc_gen(&o, FCA_CA_APPLE_SCEP, 2, 'b', 0, 0);
		slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_CURRENT, 'a');
		if (cases[i].slot != FCA_SLOT_CURRENT)
			slot(&o, FCA_CA_APPLE_SCEP, cases[i].slot, 'b');
		g = &o.cas[FCA_CA_APPLE_SCEP].gens[cases[i].slot];
		g->present = cases[i].present;
		g->has_key = cases[i].has_key;
		g->cert_ok = cases[i].cert_ok;
		g->key_check = cases[i].key_check;
		fca_observed_derive(&o);
		assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].stage, FCA_STAGE_CORRUPT);
		for (int k = 0; k < 3 && cases[i].problem[k]; k++)
			if (!strstr(o.cas[FCA_CA_APPLE_SCEP].problem, cases[i].problem[k]))
				fail_msg("case %zu: problem \"%s\" lacks \"%s\"", i, o.cas[FCA_CA_APPLE_SCEP].problem,
					 cases[i].problem[k]);
		fca_observed_dispose(&o);
	}
}

static void test_generation_mapping(void **unused)
{
	struct fca_observed o;
	const struct fca_obs_ca *c;

	fca_observed_init(&o);
	doc_gen(&o, FCA_CA_APPLE_SCEP, 1, 'a', 0, 0);
	doc_gen(&o, FCA_CA_APPLE_SCEP, 2, 'b', 1000, 2000);
	doc_gen(&o, FCA_CA_APPLE_SCEP, 4, 'd', 0, 0); /* retired history */
	/* the same fingerprint under another CA must not label apple_scep's rows */
	doc_gen(&o, FCA_CA_HOST_IDENTITY, 7, 'e', 0, 0);
	slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_CURRENT, 'b');
	slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_PREVIOUS, 'a');
	slot(&o, FCA_CA_HOST_IDENTITY, FCA_SLOT_CURRENT, 'e');
	fca_observed_derive(&o);

	c = &o.cas[FCA_CA_APPLE_SCEP];
	assert_int_equal(c->stage, FCA_STAGE_ACTIVE);
	assert_int_equal(c->gens[FCA_SLOT_CURRENT].generation, 2);
	assert_int_equal(c->gens[FCA_SLOT_CURRENT].staged_at, 1000);
	assert_int_equal(c->gens[FCA_SLOT_CURRENT].activated_at, 2000);
	assert_int_equal(c->gens[FCA_SLOT_PREVIOUS].generation, 1);
	assert_int_equal(c->gens[FCA_SLOT_NEXT].generation, 0);
	assert_string_equal(c->gens[FCA_SLOT_PREVIOUS].cert_asset, "ca_cert_previous");
	assert_string_equal(c->gens[FCA_SLOT_NEXT].key_asset, "ca_key_next");
	assert_int_equal(c->max_generation, 4);
	assert_true(c->managed);
	assert_false(c->drift);
	assert_int_equal(o.cas[FCA_CA_HOST_IDENTITY].gens[FCA_SLOT_CURRENT].generation, 7);
	assert_int_equal(o.cas[FCA_CA_HOST_IDENTITY].max_generation, 7);

	/* derive is idempotent */
	fca_observed_derive(&o);
	assert_int_equal(c->gens[FCA_SLOT_CURRENT].generation, 2);
	assert_int_equal(c->stage, FCA_STAGE_ACTIVE);
	fca_observed_dispose(&o);
}

static void test_drift(void **unused)
{
	struct fca_observed o;
	const struct fca_obs_ca *c;

	fca_observed_init(&o);
	doc_gen(&o, FCA_CA_CONDITIONAL_ACCESS, 1, 'a', 0, 0);
	doc_gen(&o, FCA_CA_CONDITIONAL_ACCESS, 2, 'b', 0, 0);
	slot(&o, FCA_CA_CONDITIONAL_ACCESS, FCA_SLOT_CURRENT, 'a');
	slot(&o, FCA_CA_CONDITIONAL_ACCESS, FCA_SLOT_NEXT, 'f'); /* unknown */
	fca_observed_derive(&o);
	c = &o.cas[FCA_CA_CONDITIONAL_ACCESS];
	assert_int_equal(c->stage, FCA_STAGE_STAGED);
	assert_true(c->managed);
	assert_true(c->drift);
	assert_int_equal(c->gens[FCA_SLOT_CURRENT].generation, 1);
	assert_int_equal(c->gens[FCA_SLOT_NEXT].generation, 0);
	assert_non_null(strstr(c->drift_detail, "conditional_access_ca_cert_next"));
	assert_non_null(strstr(c->drift_detail, "ffffffffffffffff"));
	assert_non_null(strstr(c->drift_detail, "outside fleetca"));
	assert_int_equal(c->max_generation, 2);

	/* the signing row replaced outside fleetca */
	fca_observed_dispose(&o);
	fca_observed_init(&o);
	doc_gen(&o, FCA_CA_APPLE_SCEP, 1, 'a', 0, 0);
	slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_CURRENT, 'z');
	fca_observed_derive(&o);
	c = &o.cas[FCA_CA_APPLE_SCEP];
	assert_int_equal(c->stage, FCA_STAGE_COMPLETE);
	assert_true(c->drift);
	assert_non_null(strstr(c->drift_detail, "ca_cert holds"));
	fca_observed_dispose(&o);
}

static void test_unmanaged(void **unused)
{
	struct fca_observed o;

	/* no document at all */
	fca_observed_init(&o);
	slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_CURRENT, 'a');
	slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_NEXT, 'b');
	fca_observed_derive(&o);
	assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].stage, FCA_STAGE_STAGED);
	assert_false(o.cas[FCA_CA_APPLE_SCEP].managed);
	assert_false(o.cas[FCA_CA_APPLE_SCEP].drift);
	assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].gens[FCA_SLOT_CURRENT].generation, 0);
	assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].gens[FCA_SLOT_NEXT].generation, 0);
	assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].max_generation, 0);
	fca_observed_dispose(&o);

	/* a document that knows only another CA; has_document = 0 hides even a filled state */
	fca_observed_init(&o);
	doc_gen(&o, FCA_CA_HOST_IDENTITY, 1, 'a', 0, 0);
	doc_gen(&o, FCA_CA_APPLE_SCEP, 3, 'b', 0, 0);
	slot(&o, FCA_CA_CONDITIONAL_ACCESS_IDP, FCA_SLOT_CURRENT, 'a');
	slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_CURRENT, 'b');
	fca_observed_derive(&o);
	assert_false(o.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].managed);
	assert_false(o.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].drift);
	assert_int_equal(o.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].gens[FCA_SLOT_CURRENT].generation, 0);
	assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].gens[FCA_SLOT_CURRENT].generation, 3);
	o.has_document = 0;
	fca_observed_derive(&o);
	assert_false(o.cas[FCA_CA_APPLE_SCEP].managed);
	assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].gens[FCA_SLOT_CURRENT].generation, 0);
	assert_int_equal(o.cas[FCA_CA_APPLE_SCEP].max_generation, 0);
	fca_observed_dispose(&o);
	fca_observed_dispose(NULL);
}

/* Issue 8 item 5: the PEM blocks of a cert row, as every Fleet reader sees them (the first only). */
static void test_pem_block_count(void **unused)
{
	static const char one[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	static const char two[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
				  "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
	static const char key[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
				  "-----BEGIN RSA PRIVATE KEY-----\nCCCC\n-----END RSA PRIVATE KEY-----";
	static const char inline_[] = "x -----BEGIN CERTIFICATE-----";

	assert_int_equal(fca_pem_block_count(one, strlen(one)), 1);
	assert_int_equal(fca_pem_block_count(two, strlen(two)), 2);
	assert_int_equal(fca_pem_block_count(key, strlen(key)), 2);
	assert_int_equal(fca_pem_block_count(two, strlen(one) + 5), 1); /* the second is cut off */
	assert_int_equal(fca_pem_block_count(inline_, strlen(inline_)), 0);
	assert_int_equal(fca_pem_block_count("", 0), 0);
	assert_int_equal(fca_pem_block_count(NULL, 10), 0);
}

/* Issue 8 items 5 and 6: a damaged row (set by the engine) makes its CA corrupt, and only it. */
static void test_damaged_row(void **unused)
{
	struct fca_observed o;
	const struct fca_obs_ca *c;

	fca_observed_init(&o);
	doc_gen(&o, FCA_CA_HOST_IDENTITY, 1, 'a', 0, 0);
	doc_gen(&o, FCA_CA_CONDITIONAL_ACCESS, 1, 'b', 0, 0);
	slot(&o, FCA_CA_HOST_IDENTITY, FCA_SLOT_CURRENT, 'a');
	slot(&o, FCA_CA_CONDITIONAL_ACCESS, FCA_SLOT_CURRENT, 'b');
	snprintf(o.cas[FCA_CA_HOST_IDENTITY].gens[FCA_SLOT_CURRENT].damage, 320,
		 "host_identity_ca_cert: md5_checksum is not the MD5 of its value");
	fca_observed_derive(&o);
	c = &o.cas[FCA_CA_HOST_IDENTITY];
	assert_int_equal(c->stage, FCA_STAGE_CORRUPT);
	assert_non_null(strstr(c->problem, "host_identity_ca_cert: md5_checksum is not the MD5 of its value; the row "
					   "is damaged"));
	assert_non_null(strstr(c->problem, "history row"));
	assert_int_equal(c->gens[FCA_SLOT_CURRENT].generation, 1); /* still labelled, never acted on */
	assert_int_equal(o.cas[FCA_CA_CONDITIONAL_ACCESS].stage, FCA_STAGE_COMPLETE);
	assert_string_equal(o.cas[FCA_CA_CONDITIONAL_ACCESS].problem, "");
	fca_observed_dispose(&o);

	/* damage wins over the other explanations, on any slot; an unmanaged CA too */
	fca_observed_init(&o);
	slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_CURRENT, 'a');
	slot(&o, FCA_CA_APPLE_SCEP, FCA_SLOT_NEXT, 'b');
	o.cas[FCA_CA_APPLE_SCEP].gens[FCA_SLOT_NEXT].cert_ok = 0;
	snprintf(o.cas[FCA_CA_APPLE_SCEP].gens[FCA_SLOT_NEXT].damage, 320,
		 "ca_cert_next: cannot decrypt (GCM tag mismatch) although other rows decrypt with this server key");
	fca_observed_derive(&o);
	c = &o.cas[FCA_CA_APPLE_SCEP];
	assert_int_equal(c->stage, FCA_STAGE_CORRUPT);
	assert_non_null(strstr(c->problem, "ca_cert_next: cannot decrypt (GCM tag mismatch) although"));
	assert_null(strstr(c->problem, "FLEET_SERVER_PRIVATE_KEY"));
	fca_observed_dispose(&o);
}

static void doc_retire(struct fca_observed *o, enum fca_ca_id ca, char fp, int64_t at)
{
	char sha[65];

	memset(sha, fp, 64);
	sha[64] = '\0';
	fca_state_find(&o->state, ca, sha)->retired_at = at;
}

/* Issue 8 item 5: a retired certificate back in a live row is drift, not the generation it was. */
static void test_retired_copy_is_drift(void **unused)
{
	static const enum fca_slot slots[] = {FCA_SLOT_CURRENT, FCA_SLOT_NEXT, FCA_SLOT_PREVIOUS};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		struct fca_observed o;
		const struct fca_obs_ca *c;
		enum fca_slot s = slots[i];

		fca_observed_init(&o);
		doc_gen(&o, FCA_CA_CONDITIONAL_ACCESS_IDP, 1, 'a', 0, 0);
		doc_gen(&o, FCA_CA_CONDITIONAL_ACCESS_IDP, 2, 'b', 100, 200);
		doc_retire(&o, FCA_CA_CONDITIONAL_ACCESS_IDP, 'a', 1796342400); /* 2026-12-04 */
		if (s != FCA_SLOT_CURRENT)
			slot(&o, FCA_CA_CONDITIONAL_ACCESS_IDP, FCA_SLOT_CURRENT, 'b');
		slot(&o, FCA_CA_CONDITIONAL_ACCESS_IDP, s, 'a');
		fca_observed_derive(&o);
		c = &o.cas[FCA_CA_CONDITIONAL_ACCESS_IDP];
		assert_true(c->managed);
		assert_true(c->drift);
		assert_int_equal(c->gens[s].generation, 0);
		assert_int_equal(c->gens[s].retired_generation, 1);
		assert_int_equal(c->gens[s].activated_at, 0);
		assert_non_null(strstr(c->drift_detail, "of generation 1, which fleetca retired on 2026-12-04"));
		assert_non_null(strstr(c->drift_detail, c->gens[s].cert_asset));
		assert_int_not_equal(c->stage, FCA_STAGE_CORRUPT);
		if (s != FCA_SLOT_CURRENT)
			assert_int_equal(c->gens[FCA_SLOT_CURRENT].generation, 2);
		fca_observed_dispose(&o);
	}
}

/* Issue 8 item 5: the document contradicts the rows: the CA stops with an explanation. */
static void test_document_contradicts_rows(void **unused)
{
	static const struct {
		char cur, next, prev; /* fingerprints, 0 = no row */
		const char *problem;  /* substring, or NULL: not a contradiction */
	} cases[] = {
	    {'b', 'a', 0,
	     "host_identity_ca_cert_next (sha256 aaaaaaaaaaaaaaaa...) as generation 1, but generation 2 signs"},
	    {'b', 'c', 0, NULL},
	    {'a', 0, 'b',
	     "host_identity_ca_cert_previous (sha256 bbbbbbbbbbbbbbbb...) as generation 2, but generation 1 signs"},
	    {'b', 0, 'a', NULL},
	    {'b', 'b', 0, "host_identity_ca_cert and host_identity_ca_cert_next hold the same certificate"},
	    {'b', 0, 'b', "host_identity_ca_cert and host_identity_ca_cert_previous hold the same certificate"},
	    {'b', 'd', 0, "as generation 2, but generation 2 signs"}, /* a renewal of the signing generation */
	    {'b', 'z', 0, NULL},				      /* unknown: drift, not a contradiction */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fca_observed o;
		const struct fca_obs_ca *c;

		fca_observed_init(&o);
		doc_gen(&o, FCA_CA_HOST_IDENTITY, 1, 'a', 0, 0);
		doc_gen(&o, FCA_CA_HOST_IDENTITY, 2, 'b', 100, 200);
		doc_gen(&o, FCA_CA_HOST_IDENTITY, 3, 'c', 300, 0);
		doc_gen(&o, FCA_CA_HOST_IDENTITY, 2, 'd', 100, 200);
		slot(&o, FCA_CA_HOST_IDENTITY, FCA_SLOT_CURRENT, cases[i].cur);
		if (cases[i].next)
			slot(&o, FCA_CA_HOST_IDENTITY, FCA_SLOT_NEXT, cases[i].next);
		if (cases[i].prev)
			slot(&o, FCA_CA_HOST_IDENTITY, FCA_SLOT_PREVIOUS, cases[i].prev);
		fca_observed_derive(&o);
		c = &o.cas[FCA_CA_HOST_IDENTITY];
		if (cases[i].problem) {
			if (c->stage != FCA_STAGE_CORRUPT || !strstr(c->problem, cases[i].problem))
				fail_msg("case %zu: stage %s, problem \"%s\", wanted corrupt with \"%s\"", i,
					 fca_stage_name(c->stage), c->problem, cases[i].problem);
			assert_non_null(strstr(c->problem, "by hand"));
		} else if (c->stage == FCA_STAGE_CORRUPT) {
			fail_msg("case %zu: corrupt: %s", i, c->problem);
		}
		fca_observed_dispose(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slot_combinations),
	    cmocka_unit_test(test_corrupt_rows),
	    cmocka_unit_test(test_generation_mapping),
	    cmocka_unit_test(test_drift),
	    cmocka_unit_test(test_unmanaged),
	    cmocka_unit_test(test_pem_block_count),
	    cmocka_unit_test(test_damaged_row),
	    cmocka_unit_test(test_retired_copy_is_drift),
	    cmocka_unit_test(test_document_contradicts_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
