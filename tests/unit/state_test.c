/* src/model/state.c: lookups, edits, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/state.h"

static struct fca_state_gen gen(enum fca_ca_id ca, int n, char fill)
{
	struct fca_state_gen g;

	memset(&g, 0, sizeof(g));
	g.ca = ca;
	g.generation = n;
	memset(g.sha256, fill, 64);
	g.sha256[64] = '\0';
	g.staged_at = 1000 * n;
	return g;
}

static void test_init_dispose(void **unused)
{
	struct fca_state s;

	fca_state_init(&s);
	assert_int_equal(s.format_version, FCA_STATE_FORMAT_VERSION);
	assert_int_equal(s.ngens, 0);
	assert_null(s.gens);
	fca_state_dispose(&s);
	fca_state_dispose(NULL);
	assert_int_equal(fca_state_max_generation(&s, FCA_CA_APPLE_SCEP), 0);
	assert_int_equal(fca_state_knows_ca(&s, FCA_CA_APPLE_SCEP), 0);
}

static void test_add_find_max(void **unused)
{
	struct fca_state s;
	struct fca_state_gen g1 = gen(FCA_CA_APPLE_SCEP, 1, 'a'), g3 = gen(FCA_CA_APPLE_SCEP, 3, 'b'),
			     h2 = gen(FCA_CA_HOST_IDENTITY, 2, 'c');
	char other[65];

	fca_state_init(&s);
	assert_int_equal(fca_state_add_gen(&s, &g1), FCA_OK);
	assert_int_equal(fca_state_add_gen(&s, &g3), FCA_OK);
	assert_int_equal(fca_state_add_gen(&s, &h2), FCA_OK);
	assert_int_equal(s.ngens, 3);
	assert_int_equal(fca_state_max_generation(&s, FCA_CA_APPLE_SCEP), 3);
	assert_int_equal(fca_state_max_generation(&s, FCA_CA_HOST_IDENTITY), 2);
	assert_int_equal(fca_state_max_generation(&s, FCA_CA_CONDITIONAL_ACCESS), 0);
	assert_true(fca_state_knows_ca(&s, FCA_CA_HOST_IDENTITY));
	assert_false(fca_state_knows_ca(&s, FCA_CA_CONDITIONAL_ACCESS_IDP));

	assert_non_null(fca_state_find(&s, FCA_CA_APPLE_SCEP, g3.sha256));
	assert_int_equal(fca_state_find(&s, FCA_CA_APPLE_SCEP, g3.sha256)->generation, 3);
	assert_int_equal(fca_state_find_c(&s, FCA_CA_APPLE_SCEP, g3.sha256)->staged_at, 3000);
	/* same fingerprint, other CA: not found */
	assert_null(fca_state_find(&s, FCA_CA_HOST_IDENTITY, g1.sha256));
	memset(other, 'f', 64);
	other[64] = '\0';
	assert_null(fca_state_find_c(&s, FCA_CA_APPLE_SCEP, other));
	assert_null(fca_state_find_c(&s, FCA_CA_APPLE_SCEP, ""));

	/* the same certificate twice: conflict */
	assert_int_equal(fca_state_add_gen(&s, &g1), FCA_ECONFLICT);
	assert_int_equal(s.ngens, 3);
	fca_state_dispose(&s);
}

static void test_add_gen_invalid(void **unused)
{
	struct fca_state s;
	struct fca_state_gen g = gen(FCA_CA_APPLE_SCEP, 0, 'a');

	fca_state_init(&s);
	assert_int_equal(fca_state_add_gen(&s, &g), FCA_EINVALID);
	g = gen(FCA_CA_APPLE_SCEP, 1, 'a');
	g.sha256[10] = '\0';
	assert_int_equal(fca_state_add_gen(&s, &g), FCA_EINVALID);
	g = gen(FCA_CA_COUNT, 1, 'a');
	assert_int_equal(fca_state_add_gen(&s, &g), FCA_EINVALID);
	assert_int_equal(s.ngens, 0);
	fca_state_dispose(&s);
}

static void test_gens_limit(void **unused)
{
	struct fca_state s;

	fca_state_init(&s);
	for (int i = 0; i < FCA_STATE_MAX_GENS; i++) {
		struct fca_state_gen g = gen(FCA_CA_HOST_IDENTITY, i + 1, 'a');

		snprintf(g.sha256, sizeof(g.sha256), "%064x", i);
		assert_int_equal(fca_state_add_gen(&s, &g), FCA_OK);
	}
	struct fca_state_gen extra = gen(FCA_CA_HOST_IDENTITY, 999, 'z');
	assert_int_equal(fca_state_add_gen(&s, &extra), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "more than 256 generations"));
	assert_int_equal(s.ngens, FCA_STATE_MAX_GENS);
	assert_int_equal(fca_state_max_generation(&s, FCA_CA_HOST_IDENTITY), FCA_STATE_MAX_GENS);
	fca_state_dispose(&s);
}

static void test_record_transition(void **unused)
{
	struct fca_state s;
	int n = -1;

	fca_state_init(&s);
	assert_int_equal(fca_state_record_transition(&s, "apple_scep:2:activate", 100, &n), FCA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fca_state_record_transition(&s, "apple_scep:2:stage", 100, &n), FCA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fca_state_record_transition(&s, "apple_scep:2:activate", 200, &n), FCA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fca_state_record_transition(&s, "apple_scep:2:activate", 300, &n), FCA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(s.ntransitions, 2);
	assert_string_equal(s.transitions[0].step_id, "apple_scep:2:activate");
	assert_int_equal(s.transitions[0].count, 3);
	assert_int_equal(s.transitions[0].last_at, 300);
	assert_int_equal(s.transitions[1].count, 1);
	/* n_out may be NULL */
	assert_int_equal(fca_state_record_transition(&s, "apple_scep:2:stage", 400, NULL), FCA_OK);
	assert_int_equal(s.transitions[1].count, 2);

	assert_int_equal(fca_state_record_transition(&s, "", 1, &n), FCA_EINVALID);
	char longid[FCA_STEP_ID_MAX + 10];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(fca_state_record_transition(&s, longid, 1, &n), FCA_EINVALID);
	assert_int_equal(s.ntransitions, 2);
	fca_state_dispose(&s);
}

static void test_transitions_limit(void **unused)
{
	struct fca_state s;
	char id[FCA_STEP_ID_MAX];
	int n;

	fca_state_init(&s);
	for (int i = 0; i < FCA_STATE_MAX_TRANSITIONS; i++) {
		snprintf(id, sizeof(id), "host_identity:%d:stage", i + 1);
		assert_int_equal(fca_state_record_transition(&s, id, i, &n), FCA_OK);
	}
	assert_int_equal(fca_state_record_transition(&s, "apple_scep:1:adopt", 1, &n), FCA_EINVALID);
	/* an existing id still counts up at the limit */
	assert_int_equal(fca_state_record_transition(&s, "host_identity:1:stage", 5, &n), FCA_OK);
	assert_int_equal(n, 1);
	fca_state_dispose(&s);
}

static void test_outbox(void **unused)
{
	struct fca_state s;

	fca_state_init(&s);
	assert_int_equal(fca_state_outbox_add(&s, "apple_scep:2:stage#0", "staged_ca_certificate",
					      strdup("{\"ca\":\"apple_scep\"}"), 10), FCA_OK);
	assert_int_equal(fca_state_outbox_add(&s, "apple_scep:2:activate#0", "activated_ca_certificate",
					      strdup("{}"), 20), FCA_OK);
	assert_int_equal(fca_state_outbox_add(&s, "apple_scep:2:retire#0", "retired_ca_certificate", NULL, 30),
			 FCA_OK);
	assert_int_equal(s.noutbox, 3);
	assert_int_equal(s.outbox[1].created_at, 20);
	assert_int_equal(s.outbox[1].attempts, 0);

	fca_state_outbox_remove(&s, 0);
	assert_int_equal(s.noutbox, 2);
	assert_string_equal(s.outbox[0].idempotency_key, "apple_scep:2:activate#0");
	assert_string_equal(s.outbox[0].details_json, "{}");
	assert_string_equal(s.outbox[1].type, "retired_ca_certificate");
	fca_state_outbox_remove(&s, 5); /* out of range: nothing */
	assert_int_equal(s.noutbox, 2);
	fca_state_outbox_remove(&s, 1);
	assert_int_equal(s.noutbox, 1);
	assert_string_equal(s.outbox[0].type, "activated_ca_certificate");

	/* invalid entries free what they were given (ASan checks the leak) */
	assert_int_equal(fca_state_outbox_add(&s, "", "x", strdup("{}"), 1), FCA_EINVALID);
	assert_int_equal(fca_state_outbox_add(&s, "k#0", "", strdup("{}"), 1), FCA_EINVALID);
	assert_int_equal(s.noutbox, 1);
	fca_state_dispose(&s); /* frees the remaining details_json */
	assert_int_equal(s.noutbox, 0);
}

static void test_outbox_limit(void **unused)
{
	struct fca_state s;
	char key[64];

	fca_state_init(&s);
	for (int i = 0; i < FCA_STATE_MAX_OUTBOX; i++) {
		snprintf(key, sizeof(key), "host_identity:%d:stage#0", i + 1);
		assert_int_equal(fca_state_outbox_add(&s, key, "staged_ca_certificate", strdup("{}"), i), FCA_OK);
	}
	assert_int_equal(fca_state_outbox_add(&s, "x#0", "staged_ca_certificate", strdup("{}"), 1), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "outbox"));
	assert_int_equal(s.noutbox, FCA_STATE_MAX_OUTBOX);
	fca_state_dispose(&s);
}

static void test_copy(void **unused)
{
	struct fca_state s, c;
	struct fca_state_gen g1 = gen(FCA_CA_APPLE_SCEP, 1, 'a');

	fca_state_init(&s);
	s.updated_at = 77;
	assert_int_equal(fca_state_add_gen(&s, &g1), FCA_OK);
	assert_int_equal(fca_state_record_transition(&s, "apple_scep:1:adopt", 5, NULL), FCA_OK);
	assert_int_equal(fca_state_outbox_add(&s, "apple_scep:1:adopt#0", "adopted_ca_certificate",
					      strdup("{\"generation\":1}"), 5), FCA_OK);
	assert_int_equal(fca_state_copy(&c, &s), FCA_OK);
	assert_int_equal(c.updated_at, 77);
	assert_int_equal(c.ngens, 1);
	assert_int_equal(c.ntransitions, 1);
	assert_int_equal(c.noutbox, 1);
	assert_ptr_not_equal(c.outbox[0].details_json, s.outbox[0].details_json);
	assert_string_equal(c.outbox[0].details_json, "{\"generation\":1}");
	/* the copy grows on its own */
	struct fca_state_gen g2 = gen(FCA_CA_APPLE_SCEP, 2, 'b');
	assert_int_equal(fca_state_add_gen(&c, &g2), FCA_OK);
	assert_int_equal(c.ngens, 2);
	assert_int_equal(s.ngens, 1);
	fca_state_dispose(&s);
	assert_int_equal(c.gens[0].generation, 1);
	fca_state_dispose(&c);

	/* an empty document copies to an empty one */
	fca_state_init(&s);
	assert_int_equal(fca_state_copy(&c, &s), FCA_OK);
	assert_int_equal(c.ngens + c.ntransitions + c.noutbox, 0);
	fca_state_dispose(&c);
	fca_state_dispose(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_dispose),    cmocka_unit_test(test_add_find_max),
		cmocka_unit_test(test_add_gen_invalid), cmocka_unit_test(test_gens_limit),
		cmocka_unit_test(test_record_transition), cmocka_unit_test(test_transitions_limit),
		cmocka_unit_test(test_outbox),          cmocka_unit_test(test_outbox_limit),
		cmocka_unit_test(test_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
