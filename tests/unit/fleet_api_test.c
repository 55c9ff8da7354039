/* src/io/fleet_api.c: FLEET_URL checks that need no server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/config.h"
#include "fleetca/error.h"
#include "fleetca/fleet_api.h"

/* scheme://host:port is where every request URL starts: a host too long for it is refused, never cut. */
static void test_long_host(void **unused)
{
	static struct fca_api_config cfg;
	struct fca_fleet_api *a = NULL;
	char host[400];

	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(cfg.url, sizeof(cfg.url), "https://%s.example.com/", host);
	cfg.timeout_ms = 1000;
	fca_error_clear();
	assert_int_equal(fca_fleet_api_open(&a, &cfg), FCA_EINVALID);
	assert_null(a);
	assert_non_null(strstr(fca_error_message(), "FLEET_URL's scheme, host and port"));

	/* a host that fits gets past the URL to the (here missing) token */
	snprintf(cfg.url, sizeof(cfg.url), "https://%.250s.example.com/", host);
	assert_int_equal(fca_fleet_api_open(&a, &cfg), FCA_EAUTH);
	assert_null(strstr(fca_error_message(), "FLEET_URL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_long_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
