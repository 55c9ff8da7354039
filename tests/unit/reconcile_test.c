/* The reconcile loop's wait: interval, exponential backoff capped at × 4, jitter within bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fleetca/reconcile.h"

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(fca_reconcile_delay_ms(900, 0, 0, 0.5), 900000);
	assert_int_equal(fca_reconcile_delay_ms(900, 1, 0, 0.5), 900000);
	assert_int_equal(fca_reconcile_delay_ms(900, 2, 0, 0.5), 1800000);
	assert_int_equal(fca_reconcile_delay_ms(900, 3, 0, 0.5), 3600000);
	assert_int_equal(fca_reconcile_delay_ms(900, 4, 0, 0.5), 3600000); /* capped at × 4 */
	assert_int_equal(fca_reconcile_delay_ms(900, 1000, 0, 0.5), 3600000);
	assert_int_equal(fca_reconcile_delay_ms(1, 0, 0, 0.5), 1000);
}

static void test_jitter(void **state)
{
	(void)state;
	assert_int_equal(fca_reconcile_delay_ms(100, 0, 10, 0.5), 100000);
	assert_int_equal(fca_reconcile_delay_ms(100, 0, 10, 0.0), 90000);
	assert_true(fca_reconcile_delay_ms(100, 0, 10, 0.999999) <= 110000);
	assert_true(fca_reconcile_delay_ms(100, 0, 10, 0.999999) > 109990);
	assert_int_equal(fca_reconcile_delay_ms(100, 3, 50, 0.0), 200000); /* 400s - 50% */
	assert_int_equal(fca_reconcile_delay_ms(100, 0, 10, 7.0), 100000); /* out of range: no jitter */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
