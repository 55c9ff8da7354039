/*
 * src/model/stuck.c: fca_plan_stuck (which CAs a person must decide about, corrupt over drift, and
 * the sentence each caller prints) and fca_plan_errors (what plan exits 1 for), on plans built by
 * hand: the functions are pure, so no database and no planner is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/plan.h"

static struct fca_plan p;
static struct fca_observed o;
static struct fca_stuck st;

static void reset(void)
{
	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		p.cas[i].considered = 1;
		p.cas[i].now_stage = o.cas[i].stage = FCA_STAGE_COMPLETE;
	}
}

static void corrupt(enum fca_ca_id ca, const char *problem)
{
	p.cas[ca].now_stage = o.cas[ca].stage = FCA_STAGE_CORRUPT;
	p.cas[ca].warnings |= FCA_WARN_CORRUPT;
	snprintf(o.cas[ca].problem, sizeof(o.cas[ca].problem), "%s", problem);
}

static void drift(enum fca_ca_id ca, const char *detail)
{
	p.cas[ca].warnings |= FCA_WARN_DRIFT;
	o.cas[ca].drift = 1;
	snprintf(o.cas[ca].drift_detail, sizeof(o.cas[ca].drift_detail), "%s", detail);
}

static void add_step(enum fca_ca_id ca, enum fca_step_kind kind)
{
	p.steps[p.nsteps].ca = ca;
	p.steps[p.nsteps].kind = kind;
	p.nsteps++;
}

static void test_nothing_stuck(void **unused)
{
	(void)unused;
	reset();
	add_step(FCA_CA_HOST_IDENTITY, FCA_STEP_STAGE);
	assert_int_equal(fca_plan_stuck(&st, &p, &o), FCA_STUCK_NONE);
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		assert_int_equal(st.ca[i], FCA_STUCK_NONE);
		assert_string_equal(st.why[i], "");
	}
	assert_int_equal(fca_plan_errors(&p), 0);
}

static void test_drift_waits_for_a_person(void **unused)
{
	(void)unused;
	reset();
	drift(FCA_CA_APPLE_SCEP, "ca_cert holds a certificate fleetca did not make");
	assert_int_equal(fca_plan_stuck(&st, &p, &o), FCA_STUCK_DRIFT);
	assert_int_equal(st.ca[FCA_CA_APPLE_SCEP], FCA_STUCK_DRIFT);
	assert_string_equal(st.why[FCA_CA_APPLE_SCEP],
			    "apple_scep has drifted (ca_cert holds a certificate fleetca did not make): nothing is "
			    "done to it until a person decides");
	assert_int_equal(fca_plan_errors(&p), 0); /* exit 3, not 1 */

	/* adopt: true plans an adopt step: no longer stuck */
	add_step(FCA_CA_APPLE_SCEP, FCA_STEP_ADOPT);
	assert_int_equal(fca_plan_stuck(&st, &p, &o), FCA_STUCK_NONE);

	/* an unmanaged CA with foreign rows: the plan's note says which */
	reset();
	p.cas[FCA_CA_HOST_IDENTITY].warnings |= FCA_WARN_DRIFT;
	snprintf(p.cas[FCA_CA_HOST_IDENTITY].note, sizeof(p.cas[0].note), "drift: host_identity_ca_cert_next rows");
	assert_int_equal(fca_plan_stuck(&st, &p, &o), FCA_STUCK_DRIFT);
	assert_non_null(strstr(st.why[FCA_CA_HOST_IDENTITY], "(drift: host_identity_ca_cert_next rows)"));

	/* a suspended CA is never stuck */
	p.cas[FCA_CA_HOST_IDENTITY].suspended = 1;
	assert_int_equal(fca_plan_stuck(&st, &p, &o), FCA_STUCK_NONE);
}

static void test_corrupt_is_an_error_over_drift(void **unused)
{
	(void)unused;
	reset();
	drift(FCA_CA_APPLE_SCEP, "x");
	corrupt(FCA_CA_CONDITIONAL_ACCESS, "conditional_access_ca_cert: md5_checksum is not the MD5 of its value");
	assert_int_equal(fca_plan_stuck(&st, &p, &o), FCA_STUCK_CORRUPT);
	assert_int_equal(st.kind, FCA_STUCK_CORRUPT);
	assert_int_equal(st.ca[FCA_CA_APPLE_SCEP], FCA_STUCK_DRIFT);
	assert_int_equal(st.ca[FCA_CA_CONDITIONAL_ACCESS], FCA_STUCK_CORRUPT);
	assert_string_equal(st.why[FCA_CA_CONDITIONAL_ACCESS],
			    "conditional_access is corrupt, nothing was planned for it: conditional_access_ca_cert: "
			    "md5_checksum is not the MD5 of its value");
	assert_int_equal(fca_plan_errors(&p), 1);

	/* not named in the YAML: neither stuck nor an error */
	p.cas[FCA_CA_CONDITIONAL_ACCESS].considered = 0;
	assert_int_equal(fca_plan_stuck(&st, &p, &o), FCA_STUCK_DRIFT);
	assert_int_equal(fca_plan_errors(&p), 0);
}

static void test_errors_count_what_plan_exits_1_for(void **unused)
{
	(void)unused;
	reset();
	snprintf(p.cas[FCA_CA_HOST_IDENTITY].error, sizeof(p.cas[0].error), "generation 1 is retired");
	p.has_error = 1;
	assert_int_equal(fca_plan_errors(&p), 1);
	/* a gate that could not be checked: its CA, once however many steps */
	add_step(FCA_CA_APPLE_SCEP, FCA_STEP_RETIRE);
	add_step(FCA_CA_APPLE_SCEP, FCA_STEP_RETIRE);
	snprintf(p.steps[0].drain_not_counted, sizeof(p.steps[0].drain_not_counted), "no SELECT on a table");
	snprintf(p.steps[1].drain_not_counted, sizeof(p.steps[1].drain_not_counted), "no SELECT on a table");
	assert_int_equal(fca_plan_errors(&p), 2);
	corrupt(FCA_CA_CONDITIONAL_ACCESS_IDP, "broken");
	assert_int_equal(fca_plan_errors(&p), 3);
	/* a suspended corrupt CA is left alone: no error */
	p.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].suspended = 1;
	assert_int_equal(fca_plan_errors(&p), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_stuck),
	    cmocka_unit_test(test_drift_waits_for_a_person),
	    cmocka_unit_test(test_corrupt_is_an_error_over_drift),
	    cmocka_unit_test(test_errors_count_what_plan_exits_1_for),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
