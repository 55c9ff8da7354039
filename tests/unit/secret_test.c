/* Secret buffers and where secrets come from (src/core/secret.c): a value or a file, never both;
 * a named file that cannot be read is an error naming it (never an empty secret); a FIFO is refused
 * at once; the environment's copy of a value is wiped. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fleetca/secret.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fca-secret-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *file_with(const char *name, const char *content)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	fclose(f);
	return path;
}

static void test_value_is_copied_and_wiped_from_the_environment(void **state)
{
	struct fca_secret s = FCA_SECRET_INIT;
	(void)state;
	unsetenv("FCA_T_PATH");
	setenv("FCA_T", "s3cret-value", 1);
	assert_int_equal(
	    fca_secret_from_value(&s, getenv("FCA_T"), getenv("FCA_T_PATH"), "FCA_T", "FCA_T_PATH", "the test secret"),
	    FCA_OK);
	assert_int_equal(s.len, 12);
	assert_memory_equal(s.data, "s3cret-value", 12);
	assert_int_equal(s.data[s.len], '\0');
	fca_secret_dispose(&s);
	assert_null(s.data);
	fca_secret_dispose(&s); /* twice is fine */
	fca_secret_dispose(NULL);
}

static void test_file_trailing_newlines_removed(void **state)
{
	struct fca_secret s = FCA_SECRET_INIT;
	(void)state;
	unsetenv("FCA_T");
	setenv("FCA_T_PATH", file_with("pw", "pass word\r\n\n"), 1);
	assert_int_equal(
	    fca_secret_from_value(&s, getenv("FCA_T"), getenv("FCA_T_PATH"), "FCA_T", "FCA_T_PATH", "the test secret"),
	    FCA_OK);
	assert_int_equal(s.len, 9);
	assert_string_equal((const char *)s.data, "pass word");
	fca_secret_dispose(&s);
}

static void test_neither_is_enotfound_both_is_an_error(void **state)
{
	struct fca_secret s = FCA_SECRET_INIT;
	(void)state;
	unsetenv("FCA_T");
	unsetenv("FCA_T_PATH");
	assert_int_equal(
	    fca_secret_from_value(&s, getenv("FCA_T"), getenv("FCA_T_PATH"), "FCA_T", "FCA_T_PATH", "the test secret"),
	    FCA_ENOTFOUND);
	assert_non_null(strstr(fca_error_message(), "set FCA_T or FCA_T_PATH"));
	setenv("FCA_T", "v", 1);
	setenv("FCA_T_PATH", file_with("both", "w"), 1);
	assert_int_equal(
	    fca_secret_from_value(&s, getenv("FCA_T"), getenv("FCA_T_PATH"), "FCA_T", "FCA_T_PATH", "the test secret"),
	    FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "both FCA_T and FCA_T_PATH are set"));
	assert_null(s.data);
	fca_error_clear();
}

static void test_missing_file_is_an_error_naming_it(void **state)
{
	struct fca_secret s = FCA_SECRET_INIT;
	char path[128];
	(void)state;
	unsetenv("FCA_T");
	snprintf(path, sizeof(path), "%s/nope", dir);
	setenv("FCA_T_PATH", path, 1);
	/* not ENOTFOUND: the caller must not take it for "no password" */
	assert_int_equal(
	    fca_secret_from_value(&s, getenv("FCA_T"), getenv("FCA_T_PATH"), "FCA_T", "FCA_T_PATH", "the test secret"),
	    FCA_ERROR);
	assert_non_null(strstr(fca_error_message(), path));
	assert_non_null(strstr(fca_error_message(), "No such file or directory"));
	assert_null(s.data);
	fca_error_clear();
}

static void test_fifo_and_directory_refused_at_once(void **state)
{
	struct fca_secret s = FCA_SECRET_INIT;
	char fifo[128];
	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(5); /* a blocking open would hang here: the alarm fails the test instead */
	assert_int_equal(fca_secret_read_file(&s, fifo, "the test secret"), FCA_EINVALID);
	alarm(0);
	assert_non_null(strstr(fca_error_message(), "is not a regular file"));
	assert_int_equal(fca_secret_read_file(&s, dir, "the test secret"), FCA_EINVALID);
	assert_null(s.data);
	fca_error_clear();
}

static void test_size_cap(void **state)
{
	struct fca_secret s = FCA_SECRET_INIT;
	(void)state;
	assert_int_equal(fca_secret_alloc(&s, FCA_SECRET_MAX + 1), FCA_EINVALID);
	assert_null(s.data);
	assert_int_equal(fca_secret_alloc(&s, 10), FCA_OK);
	assert_true(s.cap >= 10);
	assert_int_equal(s.data[0], '\0');
	fca_secret_dispose(&s);
	fca_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_value_is_copied_and_wiped_from_the_environment),
	    cmocka_unit_test(test_file_trailing_newlines_removed),
	    cmocka_unit_test(test_neither_is_enotfound_both_is_an_error),
	    cmocka_unit_test(test_missing_file_is_an_error_naming_it),
	    cmocka_unit_test(test_fifo_and_directory_refused_at_once),
	    cmocka_unit_test(test_size_cap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
