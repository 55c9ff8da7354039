/* src/model/mobileconfig.c: the trust profile's bytes (DESIGN §5.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/mobileconfig.h"

#define SHA_A "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define SHA_B "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const unsigned char der_a[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };       /* base64 MAMCAQE= */
static const unsigned char der_b[] = { 0x30, 0x04, 0x02, 0x02, 0x01, 0x02 }; /* base64 MAQCAgEC */

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_both_certs_and_names(void **st)
{
	const struct fca_ca_def *def = fca_catalog_get(FCA_CA_APPLE_SCEP);
	struct fca_mobileconfig_cert c[2] = { { SHA_B, der_b, sizeof(der_b) }, { SHA_A, der_a, sizeof(der_a) } };
	char *x = NULL, id[64];
	size_t len = 0;

	(void)st;
	assert_int_equal(fca_mobileconfig_build(&x, &len, def, c, 2), FCA_OK);
	assert_int_equal(strlen(x), len);
	assert_int_equal(count(x, "<string>com.apple.security.root</string>"), 2);
	assert_non_null(strstr(x, "<data>MAMCAQE=</data>"));
	assert_non_null(strstr(x, "<data>MAQCAgEC</data>"));
	/* sorted by fingerprint: A before B whatever the order given */
	assert_true(strstr(x, "MAMCAQE=") < strstr(x, "MAQCAgEC"));
	assert_non_null(strstr(x, "<key>PayloadIdentifier</key>\n\t<string>com.fleetca.trust.apple_scep</string>"));
	assert_non_null(strstr(x, "<string>fleetca trust: Apple SCEP CA</string>"));
	assert_null(strstr(x, "com.fleetdm"));
	assert_null(strstr(x, "Fleet root certificate authority (CA)"));
	/* payload UUIDs come from the fingerprints (version 5 and variant bits set) */
	assert_non_null(strstr(x, "<string>0F1E2D3C-4B5A-5978-8796-A5B4C3D2E1F0</string>"));
	fca_mobileconfig_identifier(id, sizeof(id), def);
	assert_string_equal(id, "com.fleetca.trust.apple_scep");
	free(x);
}

static void test_deterministic(void **st)
{
	const struct fca_ca_def *def = fca_catalog_get(FCA_CA_APPLE_SCEP);
	struct fca_mobileconfig_cert ab[2] = { { SHA_A, der_a, sizeof(der_a) }, { SHA_B, der_b, sizeof(der_b) } };
	struct fca_mobileconfig_cert ba[2] = { { SHA_B, der_b, sizeof(der_b) }, { SHA_A, der_a, sizeof(der_a) } };
	char *x = NULL, *y = NULL, *z = NULL, *w = NULL;
	size_t lx, ly, lz, lw;

	(void)st;
	assert_int_equal(fca_mobileconfig_build(&x, &lx, def, ab, 2), FCA_OK);
	assert_int_equal(fca_mobileconfig_build(&y, &ly, def, ba, 2), FCA_OK);
	assert_int_equal(lx, ly);
	assert_memory_equal(x, y, lx);
	/* another set, another CA: other bytes and another profile UUID */
	assert_int_equal(fca_mobileconfig_build(&z, &lz, def, ab, 1), FCA_OK);
	assert_int_equal(count(z, "com.apple.security.root"), 1);
	assert_int_equal(fca_mobileconfig_build(&w, &lw, fca_catalog_get(FCA_CA_HOST_IDENTITY), ab, 2), FCA_OK);
	assert_string_not_equal(strrchr(x, '-'), strrchr(w, '-'));
	assert_non_null(strstr(w, "com.fleetca.trust.host_identity"));
	free(x);
	free(y);
	free(z);
	free(w);
}

static void test_rejects(void **st)
{
	const struct fca_ca_def *def = fca_catalog_get(FCA_CA_APPLE_SCEP);
	struct fca_mobileconfig_cert c[4] = { { SHA_A, der_a, sizeof(der_a) }, { "abc", der_a, sizeof(der_a) },
					      { SHA_B, NULL, 0 }, { SHA_B, der_b, sizeof(der_b) } };
	char *x = NULL;
	size_t len;

	(void)st;
	assert_int_equal(fca_mobileconfig_build(&x, &len, def, c, 0), FCA_EINVALID);
	assert_int_equal(fca_mobileconfig_build(&x, &len, def, c, 4), FCA_EINVALID);
	assert_int_equal(fca_mobileconfig_build(&x, &len, def, c + 1, 1), FCA_EINVALID);
	assert_int_equal(fca_mobileconfig_build(&x, &len, def, c + 2, 1), FCA_EINVALID);
	assert_null(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_certs_and_names),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
