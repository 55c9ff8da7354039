/* Times and durations (src/core/timeutil.c): every field is range-checked, nothing is read past
 * the end of the input, and formatting never leaves a buffer undefined. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/timeutil.h"

/* Each case in a buffer of exactly its own length (no terminator slack), so ASan catches any
 * read past the end of the string. */
static int parse_exact(int64_t *t, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	int r;

	assert_non_null(p);
	memcpy(p, s, n);
	r = fca_time_parse(t, p);
	free(p);
	return r;
}

static void test_parse_valid(void **state)
{
	static const struct {
		const char *s;
		int64_t want;
	} cases[] = {
	    {"2026-12-04T10:00:00Z", 1796378400},	 {"2026-12-04t10:00:00z", 1796378400},
	    {"2026-12-04 10:00:00", 1796378400},	 {"2026-12-04", 1796342400},
	    {"2026-12-04T10:00:00.123456Z", 1796378400}, {"2026-12-04T12:30:00+02:30", 1796378400},
	    {"2026-12-04T05:00:00-05:00", 1796378400},	 {"1970-01-01T00:00:00Z", 0},
	    {"2024-02-29T00:00:00Z", 1709164800},	 {"2038-01-19T03:14:08Z", (int64_t)2147483648LL},
	    {"2100-01-01T00:00:00Z", 4102444800LL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = -1;
		assert_int_equal(parse_exact(&t, cases[i].s), FCA_OK);
		assert_int_equal(t, cases[i].want);
	}
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "2026",
	    "2026-12",
	    "2026-12-0",
	    "2026-12-04T",
	    "2026-12-04T10",
	    "2026-12-04T10:00",
	    "2026-12-04T10:00:0",
	    "2026-12-04T10:00:00+",
	    "2026-12-04T10:00:00+1",
	    "2026-12-04T10:00:00+01",
	    "2026-12-04T10:00:00+01:",
	    "2026-12-04T10:00:00+01:0",
	    "2026-12-04T10:00:00+1:00",
	    "2026-12-04T10:00:00+24:00",
	    "2026-12-04T10:00:00+01:60",
	    "2026-12-04T10:00:00.Z",
	    "2026-12-04T10:00:00ZZ",
	    "2026-12-04T10:00:00 ",
	    " 2026-12-04",
	    "-026-12-04",
	    "2026--1-04",
	    "2026-12--4",
	    "2026-12-04T-1:00:00",
	    "2026-12-04T10:-1:00",
	    "2026-12-04T10:00:-1",
	    "2026-+1-04",
	    "2026-12-04T+1:00:00",
	    "0000-01-01",
	    "2026-13-01",
	    "2026-00-01",
	    "2026-02-29",
	    "2026-04-31",
	    "2026-12-04T24:00:00Z",
	    "2026-12-04T10:60:00Z",
	    "2026-12-04T10:00:61Z",
	    "2026-12-04X10:00:00",
	    "2026/12/04",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t t = 42;
		if (parse_exact(&t, bad[i]) != FCA_EINVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 42); /* nothing written on failure */
		fca_error_clear();
	}
	assert_int_equal(fca_time_parse(NULL, NULL) == FCA_EINVALID, 1);
	fca_error_clear();
}

static void test_format(void **state)
{
	char buf[32], small[8];
	(void)state;
	fca_time_rfc3339(buf, sizeof(buf), 1796378400);
	assert_string_equal(buf, "2026-12-04T10:00:00Z");
	fca_time_human(buf, sizeof(buf), 1796378400);
	assert_string_equal(buf, "2026-12-04 10:00 UTC");
	fca_time_rfc3339(buf, sizeof(buf), 4102444800LL); /* past 2038 */
	assert_string_equal(buf, "2100-01-01T00:00:00Z");
	/* too small a buffer: a visible marker, terminated, never garbage */
	memset(small, 'x', sizeof(small));
	fca_time_rfc3339(small, sizeof(small), 1796378400);
	assert_string_equal(small, "invalid");
	/* a time gmtime_r cannot break down */
	fca_time_rfc3339(buf, sizeof(buf), INT64_MAX);
	assert_string_equal(buf, "invalid-time");
	/* round trip */
	for (int64_t t = 0; t < 5000000000LL; t += 86399 * 97) {
		int64_t back = -1;
		fca_time_rfc3339(buf, sizeof(buf), t);
		assert_int_equal(fca_time_parse(&back, buf), FCA_OK);
		assert_int_equal(back, t);
	}
}

static void test_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t want;
	} ok[] = {
	    {"0s", 0},	     {"90m", 5400},	 {"72h", 259200},	 {"7d", 604800},
	    {"2w", 1209600}, {"10y", 315360000}, {"100y", 3153600000LL},
	};
	static const char *const bad[] = {"",	"7",   "d",   "-7d",  "+7d",
					  "7x", "7dd", "7 d", "101y", "99999999999999999999s"};
	char buf[32];
	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t v = -1;
		assert_int_equal(fca_duration_parse(&v, ok[i].s), FCA_OK);
		assert_int_equal(v, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 42;
		if (fca_duration_parse(&v, bad[i]) != FCA_EINVALID)
			fail_msg("accepted duration \"%s\"", bad[i]);
		assert_int_equal(v, 42);
		fca_error_clear();
	}
	fca_duration_format(buf, sizeof(buf), 315360000);
	assert_string_equal(buf, "10y");
	fca_duration_format(buf, sizeof(buf), 2 * 86400 + 3 * 3600);
	assert_string_equal(buf, "2d 3h");
	fca_duration_format(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_refuses),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
