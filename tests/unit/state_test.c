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

	/* ids that are not "<ca>:<generation>:<kind>" are never folded: the limit holds */
	fca_state_init(&s);
	for (int i = 0; i < FCA_STATE_MAX_TRANSITIONS; i++) {
		snprintf(id, sizeof(id), "custom-%d", i + 1);
		assert_int_equal(fca_state_record_transition(&s, id, i, &n), FCA_OK);
	}
	assert_int_equal(fca_state_record_transition(&s, "apple_scep:1:adopt", 1, &n), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "more than 1024 transitions"));
	/* an existing id still counts up at the limit */
	assert_int_equal(fca_state_record_transition(&s, "custom-1", 5, &n), FCA_OK);
	assert_int_equal(n, 1);
	fca_state_dispose(&s);

	/* a full list of transitions of generations the document no longer describes is folded first */
	fca_state_init(&s);
	struct fca_state_gen cur = gen(FCA_CA_HOST_IDENTITY, 2000, 'c');
	assert_int_equal(fca_state_add_gen(&s, &cur), FCA_OK);
	for (int i = 0; i < FCA_STATE_MAX_TRANSITIONS; i++) {
		snprintf(id, sizeof(id), "host_identity:%d:stage", i + 1);
		assert_int_equal(fca_state_record_transition(&s, id, i, &n), FCA_OK);
	}
	assert_int_equal(fca_state_record_transition(&s, "host_identity:2000:activate", 1, &n), FCA_OK);
	assert_int_equal(s.ntransitions, 1);
	assert_int_equal(s.history[FCA_CA_HOST_IDENTITY].transitions, FCA_STATE_MAX_TRANSITIONS);
	fca_state_dispose(&s);
}

static void test_outbox(void **unused)
{
	struct fca_state s;

	fca_state_init(&s);
	assert_int_equal(fca_state_outbox_add(&s, "apple_scep:2:stage#0", "staged_ca_certificate",
					      strdup("{\"ca\":\"apple_scep\"}"), 10),
			 FCA_OK);
	assert_int_equal(
	    fca_state_outbox_add(&s, "apple_scep:2:activate#0", "activated_ca_certificate", strdup("{}"), 20), FCA_OK);
	assert_int_equal(fca_state_outbox_add(&s, "apple_scep:2:retire#0", "retired_ca_certificate", NULL, 30), FCA_OK);
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
	assert_int_equal(
	    fca_state_outbox_add(&s, "apple_scep:1:adopt#0", "adopted_ca_certificate", strdup("{\"generation\":1}"), 5),
	    FCA_OK);
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

/* n rotations of host_identity as the executor records them: gen n signs, n-1 is _previous. */
static void rotations(struct fca_state *s, int n)
{
	char id[FCA_STEP_ID_MAX];

	for (int g = 1; g <= n; g++) {
		struct fca_state_gen e = gen(FCA_CA_HOST_IDENTITY, g, 'a');
		snprintf(e.sha256, sizeof(e.sha256), "%064d", g);
		e.created_at = e.staged_at = 100 * g;
		e.activated_at = e.signed_at = 100 * g + 10;
		e.retired_at = g <= n - 2 ? 100 * (g + 2) : 0;
		assert_int_equal(fca_state_add_gen(s, &e), FCA_OK);
		snprintf(id, sizeof(id), "host_identity:%d:stage", g);
		assert_int_equal(fca_state_record_transition(s, id, 100 * g, NULL), FCA_OK);
		snprintf(id, sizeof(id), "host_identity:%d:activate", g);
		assert_int_equal(fca_state_record_transition(s, id, 100 * g + 10, NULL), FCA_OK);
		if (g <= n - 1) {
			snprintf(id, sizeof(id), "host_identity:%d:retire", g + 1);
			assert_int_equal(fca_state_record_transition(s, id, 100 * (g + 2), NULL), FCA_OK);
		}
	}
}

static void test_compact_rotations(void **unused)
{
	struct fca_state s, again;
	struct fca_state_gen apple = gen(FCA_CA_APPLE_SCEP, 1, 'f');
	char sha[65];

	fca_state_init(&s);
	assert_int_equal(fca_state_add_gen(&s, &apple), FCA_OK);
	rotations(&s, 20);
	assert_int_equal(fca_state_record_transition(&s, "custom step", 5, NULL), FCA_OK);
	/* an undelivered activity of an old generation keeps its transition (and is never dropped) */
	assert_int_equal(
	    fca_state_outbox_add(&s, "host_identity:3:stage#0", "staged_ca_certificate", strdup("{}"), 300), FCA_OK);
	assert_int_equal(s.ntransitions, 20 + 20 + 19 + 1);
	/* folded: gens 1-14, and 40 transitions (of 59: 18 of gens 15-20, and host_identity:3:stage) */
	assert_int_equal(fca_state_compact(&s), 14 + 40);
	/* kept: apple's, gens 20 (signing) and 19 (_previous), and the 4 retired before them */
	assert_int_equal(s.ngens, 1 + 2 + FCA_STATE_KEEP_PAST);
	for (int g = 15; g <= 20; g++) {
		snprintf(sha, sizeof(sha), "%064d", g);
		assert_non_null(fca_state_find(&s, FCA_CA_HOST_IDENTITY, sha));
	}
	snprintf(sha, sizeof(sha), "%064d", 14);
	assert_null(fca_state_find(&s, FCA_CA_HOST_IDENTITY, sha));
	assert_non_null(fca_state_find(&s, FCA_CA_APPLE_SCEP, apple.sha256));
	/* transitions of the kept generations (15's retire is "16:retire"), the outbox's, the custom one */
	for (size_t i = 0; i < s.ntransitions; i++) {
		const char *t = s.transitions[i].step_id;
		int g = 0;
		if (!strcmp(t, "custom step") || !strcmp(t, "host_identity:3:stage"))
			continue;
		assert_int_equal(sscanf(t, "host_identity:%d:", &g), 1);
		assert_true(g >= 15);
	}
	assert_int_equal(s.ntransitions, 6 * 3 + 2);
	assert_int_equal(s.noutbox, 1);
	/* what was folded is counted; the highest generation and the CA stay known */
	const struct fca_state_history *h = &s.history[FCA_CA_HOST_IDENTITY];
	assert_int_equal(h->generations, 14);
	assert_int_equal(h->max_generation, 14);
	assert_int_equal(h->transitions, 40);
	assert_int_equal(h->oldest_at, 100);
	assert_int_equal(h->newest_at, 1600);
	assert_int_equal(s.history[FCA_CA_APPLE_SCEP].generations, 0);
	assert_int_equal(fca_state_max_generation(&s, FCA_CA_HOST_IDENTITY), 20);
	/* the "has it signed" fallback (documents from before signed_at) still finds its transition */
	snprintf(sha, sizeof(sha), "%064d", 15);
	struct fca_state_gen *g15 = fca_state_find(&s, FCA_CA_HOST_IDENTITY, sha);
	g15->signed_at = g15->activated_at = 0;
	assert_true(fca_state_gen_signed(&s, g15));
	/* idempotent */
	assert_int_equal(fca_state_copy(&again, &s), FCA_OK);
	assert_int_equal(fca_state_compact(&again), 0);
	assert_int_equal(again.ngens, s.ngens);
	assert_int_equal(again.ntransitions, s.ntransitions);
	assert_memory_equal(again.history, s.history, sizeof(s.history));
	fca_state_dispose(&again);
	/* more rotations fold into the same summary */
	fca_state_dispose(&s);

	fca_state_init(&s);
	rotations(&s, 300);
	assert_true(fca_state_compact(&s) > 0);
	assert_int_equal(s.ngens, 2 + FCA_STATE_KEEP_PAST);
	assert_int_equal(s.history[FCA_CA_HOST_IDENTITY].generations, 300 - 2 - FCA_STATE_KEEP_PAST);
	fca_state_dispose(&s);
}

/* A CA's history alone keeps it known, and its max generation. */
static void test_compact_knows_folded_ca(void **unused)
{
	struct fca_state s;

	fca_state_init(&s);
	s.history[FCA_CA_CONDITIONAL_ACCESS].generations = 3;
	s.history[FCA_CA_CONDITIONAL_ACCESS].max_generation = 7;
	assert_true(fca_state_knows_ca(&s, FCA_CA_CONDITIONAL_ACCESS));
	assert_int_equal(fca_state_max_generation(&s, FCA_CA_CONDITIONAL_ACCESS), 7);
	assert_false(fca_state_knows_ca(&s, FCA_CA_HOST_IDENTITY));
	fca_state_dispose(&s);
}

/* Renewals append: only the last certificate of a generation can be live; the replaced ones fold. */
static void test_compact_renewals(void **unused)
{
	struct fca_state s;
	char sha[65];

	fca_state_init(&s);
	for (int i = 0; i < 30; i++) {
		struct fca_state_gen e = gen(FCA_CA_CONDITIONAL_ACCESS, 1, 'a');
		snprintf(e.sha256, sizeof(e.sha256), "%064d", i);
		e.created_at = 10 + i;
		assert_int_equal(fca_state_add_gen(&s, &e), FCA_OK);
		assert_int_equal(fca_state_record_transition(&s, "conditional_access:1:renew", 10 + i, NULL), FCA_OK);
	}
	assert_int_equal(fca_state_compact(&s), 30 - 1 - FCA_STATE_KEEP_PAST);
	assert_int_equal(s.ngens, 1 + FCA_STATE_KEEP_PAST);
	snprintf(sha, sizeof(sha), "%064d", 29);
	assert_non_null(fca_state_find(&s, FCA_CA_CONDITIONAL_ACCESS, sha));
	assert_int_equal(s.gens[s.ngens - 1].created_at, 39); /* order kept */
	assert_int_equal(s.ntransitions, 1);		      /* generation 1 is still described */
	assert_int_equal(s.transitions[0].count, 30);
	fca_state_dispose(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_dispose),
	    cmocka_unit_test(test_add_find_max),
	    cmocka_unit_test(test_add_gen_invalid),
	    cmocka_unit_test(test_gens_limit),
	    cmocka_unit_test(test_record_transition),
	    cmocka_unit_test(test_transitions_limit),
	    cmocka_unit_test(test_outbox),
	    cmocka_unit_test(test_outbox_limit),
	    cmocka_unit_test(test_copy),
	    cmocka_unit_test(test_compact_rotations),
	    cmocka_unit_test(test_compact_knows_folded_ca),
	    cmocka_unit_test(test_compact_renewals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
