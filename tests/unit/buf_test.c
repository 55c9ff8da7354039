/* The capped, failure-sticky string builder (src/core/buf.c): text past the cap is never cut
 * short silently; the first failure sticks and is reported once, with its limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/buf.h"

static void heap_grows_to_the_cap(void **state)
{
	struct fca_buf b;
	size_t i;

	(void)state;
	fca_buf_init(&b, 1000);
	for (i = 0; i < 100; i++)
		assert_int_equal(fca_buf_printf(&b, "%03zu,", i), FCA_OK);
	assert_int_equal(b.len, 400);
	assert_memory_equal(fca_buf_cstr(&b), "000,001,", 8);
	assert_int_equal(fca_buf_error(&b, "list"), FCA_OK);
	fca_buf_dispose(&b);
	assert_null(b.ptr);
	assert_string_equal(fca_buf_cstr(&b), "");
}

static void past_the_cap_fails_and_sticks(void **state)
{
	struct fca_buf b;

	(void)state;
	fca_buf_init(&b, 10);
	assert_int_equal(fca_buf_puts(&b, "0123456789"), FCA_OK); /* exactly the cap */
	assert_int_equal(fca_buf_puts(&b, "x"), FCA_EINVALID);
	/* sticky: a later append that would fit does nothing, and the text is not a prefix */
	fca_buf_clear(&b);
	assert_int_equal(fca_buf_error(&b, "q"), FCA_OK);
	assert_int_equal(fca_buf_puts(&b, "0123456789abc"), FCA_EINVALID);
	assert_int_equal(fca_buf_puts(&b, "a"), FCA_EINVALID);
	assert_string_equal(fca_buf_cstr(&b), "");
	assert_int_equal(fca_buf_error(&b, "the query"), FCA_EINVALID);
	assert_string_equal(fca_error_message(), "the query: longer than its limit of 10 bytes");
	fca_buf_dispose(&b);
}

static void fixed_storage_never_overflows(void **state)
{
	char arr[8];
	struct fca_buf b;

	(void)state;
	memset(arr, 'Z', sizeof(arr));
	fca_buf_init_fixed(&b, arr, sizeof(arr));
	assert_string_equal(arr, "");
	assert_int_equal(fca_buf_printf(&b, "%s", "1234567"), FCA_OK);
	assert_string_equal(arr, "1234567");
	assert_int_equal(fca_buf_puts(&b, "8"), FCA_EINVALID);
	assert_string_equal(arr, ""); /* a failed text is empty, not cut short */
	assert_int_equal(fca_buf_error(&b, "name"), FCA_EINVALID);
	fca_buf_dispose(&b);
	assert_ptr_equal(b.ptr, arr);
}

static void join_puts_the_separator_between(void **state)
{
	struct fca_buf b;

	(void)state;
	fca_buf_init(&b, 100);
	assert_int_equal(fca_buf_join(&b, "; ", "%s", "a"), FCA_OK);
	assert_int_equal(fca_buf_join(&b, "; ", "%d", 2), FCA_OK);
	assert_int_equal(fca_buf_join(&b, "; ", "%s", "c"), FCA_OK);
	assert_string_equal(fca_buf_cstr(&b), "a; 2; c");
	fca_buf_dispose(&b);
}

static void binary_put_and_printf_mix(void **state)
{
	struct fca_buf b;

	(void)state;
	fca_buf_init(&b, 1 << 20);
	assert_int_equal(fca_buf_put(&b, "ab", 2), FCA_OK);
	assert_int_equal(fca_buf_printf(&b, "%*s", 5000, "z"), FCA_OK);
	assert_int_equal(b.len, 5002);
	assert_int_equal(fca_buf_cstr(&b)[5001], 'z');
	assert_int_equal(fca_buf_cstr(&b)[5002], '\0');
	fca_buf_dispose(&b);
}

static void copy_fits_or_fails_whole(void **state)
{
	char arr[4];

	(void)state;
	assert_int_equal(fca_buf_copy(arr, sizeof(arr), "abc"), FCA_OK);
	assert_string_equal(arr, "abc");
	assert_int_equal(fca_buf_copy(arr, sizeof(arr), "abcd"), FCA_EINVALID);
	assert_string_equal(arr, "");
}

static void FCA_PRINTF(3, 4) append(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fca_text_vappend(dst, size, "; ", fmt, ap);
	va_end(ap);
}

static void reasons_are_joined_and_cut_visibly(void **state)
{
	char why[16] = "";

	(void)state;
	append(why, sizeof(why), "%s", "one");
	append(why, sizeof(why), "%d", 2);
	assert_string_equal(why, "one; 2");
	append(why, sizeof(why), "%s", "three and more");
	assert_string_equal(why, "one; 2; thre...");
	append(why, sizeof(why), "%s", "x"); /* full: nothing more, no overflow */
	assert_string_equal(why, "one; 2; thre...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(heap_grows_to_the_cap),
	    cmocka_unit_test(past_the_cap_fails_and_sticks),
	    cmocka_unit_test(fixed_storage_never_overflows),
	    cmocka_unit_test(join_puts_the_separator_between),
	    cmocka_unit_test(binary_put_and_printf_mix),
	    cmocka_unit_test(copy_fits_or_fails_whole),
	    cmocka_unit_test(reasons_are_joined_and_cut_visibly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
