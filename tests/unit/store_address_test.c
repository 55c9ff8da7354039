/* The MySQL adapter's pure parts (src/io/store.c): FLEET_MYSQL_ADDRESS parsing, the run lock's name
 * (MySQL refuses a GET_LOCK name longer than 64 characters) and the read timeout that must outlast
 * --lock-timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/store.h"

static void parses(const char *addr, const char *proto, int tls, const char *host, unsigned port, int socket)
{
	struct fca_mysql_endpoint ep;
	assert_int_equal(fca_store_parse_address(&ep, addr, proto, tls), FCA_OK);
	assert_string_equal(ep.host, host);
	assert_int_equal(ep.port, port);
	if (socket)
		assert_string_equal(ep.socket, addr);
	else
		assert_null(ep.socket);
}

static void refuses(const char *addr, const char *words)
{
	struct fca_mysql_endpoint ep;
	assert_int_equal(fca_store_parse_address(&ep, addr, "tcp", 0), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), words));
	fca_error_clear();
}

static void test_addresses_parse(void **state)
{
	(void)state;
	parses("db.internal:3307", "tcp", 0, "db.internal", 3307, 0);
	parses("db.internal", "tcp", 0, "db.internal", 3306, 0);
	parses("[::1]:3306", "tcp", 0, "::1", 3306, 0);
	parses("[fd00::12]:13306", "tcp", 1, "fd00::12", 13306, 0);
	parses("[::1]", "tcp", 0, "::1", 3306, 0);
	parses("::1", "tcp", 0, "::1", 3306, 0);
	parses("10.0.0.5:3306", "", 0, "10.0.0.5", 3306, 0);
	parses("/run/mysqld/mysqld.sock", "tcp", 0, "localhost", 3306, 1);
	parses("/run/mysqld/mysqld.sock", "unix", 1, "localhost", 3306, 1);
	parses("relative.sock", "unix", 0, "localhost", 3306, 1);
}

static void test_localhost_is_tcp_loopback_unless_tls(void **state)
{
	(void)state;
	/* as Fleet's Go driver: TCP to 127.0.0.1, not the socket */
	parses("localhost:3306", "tcp", 0, "127.0.0.1", 3306, 0);
	parses("localhost", "tcp", 0, "127.0.0.1", 3306, 0);
	/* with TLS the certificate names "localhost": that is the name verified */
	parses("localhost:3306", "tcp", 1, "localhost", 3306, 0);
	parses("localhost", "tcp", 1, "localhost", 3306, 0);
}

static void test_bad_addresses_are_refused(void **state)
{
	(void)state;
	refuses("db:0", "the port is not a number 1-65535");
	refuses("db:65536", "the port is not a number 1-65535");
	refuses("db:33o6", "the port is not a number 1-65535");
	refuses("db:", "the port is not a number 1-65535");
	refuses("db:-1", "the port is not a number 1-65535");
	refuses(":3306", "the host is missing");
	refuses("[::1", "[address]:port");
	refuses("[::1]3306", "[address]:port");
	refuses("[]:3306", "[address]:port");
	refuses("", "empty");
}

static void test_lock_name_is_within_64_characters(void **state)
{
	char name[300], other[300];
	char db64[65], db64b[65];
	(void)state;

	/* a short name keeps today's lock name: an older binary running beside a newer one excludes it */
	fca_store_lock_name(name, sizeof(name), "fleet");
	assert_string_equal(name, "fleetca:fleet");
	memset(db64, 'd', 56);
	db64[56] = '\0';
	fca_store_lock_name(name, sizeof(name), db64);
	assert_int_equal(strlen(name), 64);
	assert_memory_equal(name + 8, db64, 56);
	/* longer: the first 23 characters, '~', 32 hex digits of SHA-256(database) */
	memset(db64, 'a', 64);
	db64[64] = '\0';
	fca_store_lock_name(name, sizeof(name), db64);
	assert_int_equal(strlen(name), 64);
	assert_string_equal(name, "fleetca:aaaaaaaaaaaaaaaaaaaaaaa~ffe054fe7ae0cb6dc65c3af9b61d5209");
	memcpy(db64b, db64, sizeof(db64));
	db64b[63] = 'b';
	fca_store_lock_name(other, sizeof(other), db64b);
	assert_int_equal(strlen(other), 64);
	assert_string_not_equal(name, other);
	/* MySQL counts characters: a UTF-8 name is cut on a character boundary */
	fca_store_lock_name(name, sizeof(name),
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_int_equal(strlen(name), 8 + 23 * 2 + 1 + 32);
	assert_int_equal(name[8 + 46], '~');
}

static void test_read_timeout_outlasts_the_lock_timeout(void **state)
{
	(void)state;
	assert_int_equal(fca_store_read_timeout(30), FCA_STORE_READ_TIMEOUT_MIN);
	assert_int_equal(fca_store_read_timeout(0), FCA_STORE_READ_TIMEOUT_MIN);
	assert_int_equal(fca_store_read_timeout(300), 300 + FCA_STORE_READ_TIMEOUT_MARGIN);
	assert_true(fca_store_read_timeout(3600) > 3600);
	for (int t = 0; t < 100000; t += 97)
		assert_true(fca_store_read_timeout(t) >= (unsigned)t + FCA_STORE_READ_TIMEOUT_MARGIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addresses_parse),
	    cmocka_unit_test(test_localhost_is_tcp_loopback_unless_tls),
	    cmocka_unit_test(test_bad_addresses_are_refused),
	    cmocka_unit_test(test_lock_name_is_within_64_characters),
	    cmocka_unit_test(test_read_timeout_outlasts_the_lock_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
