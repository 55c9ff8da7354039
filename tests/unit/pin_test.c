/* src/model/pin.c: the pin of a desired state, and that nothing in it is cut short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/error.h"
#include "fleetca/pin.h"

static const char *value(const struct fca_pin *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].key, key))
			return p->e[i].value;
	return NULL;
}

static void test_build(void **unused)
{
	struct fca_desired d;
	struct fca_pin p;

	fca_desired_init(&d);
	assert_int_equal(fca_pin_build(&p, &d, "ca-rotation.yml", "0123456789abcdef0123456789abcdef01234567"), FCA_OK);
	assert_string_equal(value(&p, "source.path"), "ca-rotation.yml");
	assert_string_equal(value(&p, "source.commit"), "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(value(&p, "policy.drain"), "wait");
}

/* The longest value that fits is kept whole; one byte more is an error naming the entry, never a shorter value. */
static void test_long_source_path(void **unused)
{
	struct fca_desired d;
	struct fca_pin p;
	char path[FCA_PIN_VALUE_MAX + 1];

	fca_desired_init(&d);
	memset(path, 'p', FCA_PIN_VALUE_MAX - 1);
	path[FCA_PIN_VALUE_MAX - 1] = '\0';
	assert_int_equal(fca_pin_build(&p, &d, path, ""), FCA_OK);
	assert_string_equal(value(&p, "source.path"), path);

	path[FCA_PIN_VALUE_MAX - 1] = 'p';
	path[FCA_PIN_VALUE_MAX] = '\0';
	fca_error_clear();
	assert_int_equal(fca_pin_build(&p, &d, path, ""), FCA_EINVALID);
	assert_int_equal(fca_error_code(), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "source.path"));
}

static void test_set_too_long(void **unused)
{
	struct fca_pin p;
	char v[FCA_PIN_VALUE_MAX + 1];

	memset(&p, 0, sizeof(p));
	memset(v, 'v', FCA_PIN_VALUE_MAX);
	v[FCA_PIN_VALUE_MAX] = '\0';
	assert_int_equal(fca_pin_set(&p, "source.path", v), FCA_EINVALID);
	assert_int_equal(p.n, 0);
	v[FCA_PIN_VALUE_MAX - 1] = '\0';
	assert_int_equal(fca_pin_set(&p, "source.path", v), FCA_OK);
	assert_string_equal(value(&p, "source.path"), v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_long_source_path),
	    cmocka_unit_test(test_set_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
