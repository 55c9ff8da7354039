/* The one hex encoder and base64 decoder (src/core/encoding.c), against OpenSSL's answers and
 * the RFC 4648 test vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/encoding.h"

static void hex_both_cases(void **state)
{
	const unsigned char b[] = {0x00, 0x9f, 0xa0, 0xff};
	char out[9];

	(void)state;
	fca_hex_encode(out, b, sizeof(b), 0);
	assert_string_equal(out, "009fa0ff");
	fca_hex_encode(out, b, sizeof(b), 1);
	assert_string_equal(out, "009FA0FF");
	fca_hex_encode(out, b, 0, 1);
	assert_string_equal(out, "");
}

static void hex_decode_round_trip(void **state)
{
	unsigned char b[4];

	(void)state;
	assert_int_equal(fca_hex_decode(b, 4, "009fA0fF"), FCA_OK);
	assert_memory_equal(b, "\x00\x9f\xa0\xff", 4);
	assert_int_equal(fca_hex_decode(b, 4, "009fA0fg"), FCA_EINVALID);
	assert_int_equal(fca_hex_decode(b, 2, "0x9f"), FCA_EINVALID);
}

static void ok(const char *in, const char *want)
{
	unsigned char out[64];
	size_t n = 99;

	assert_int_equal(fca_base64_decode(out, sizeof(out), &n, in, strlen(in)), FCA_OK);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
}

static void bad(const char *in)
{
	unsigned char out[64];
	size_t n = 99;

	assert_int_equal(fca_base64_decode(out, sizeof(out), &n, in, strlen(in)), FCA_EINVALID);
	assert_int_equal(n, 0);
}

static void base64_rfc4648_vectors(void **state)
{
	(void)state;
	ok("", "");
	ok("Zg==", "f");
	ok("Zm8=", "fo");
	ok("Zm9v", "foo");
	ok("Zm9vYg==", "foob");
	ok("Zm9vYmE=", "fooba");
	ok("Zm9vYmFy", "foobar");
	ok("Zm9v\r\nYmFy\n", "foobar"); /* line breaks skipped, as Go's StdEncoding */
	ok("Zg==\r\n", "f");
}

static void base64_refuses_what_go_refuses(void **state)
{
	(void)state;
	bad("Zg");	  /* no padding */
	bad("Zg=");	  /* short padding */
	bad("Z===");	  /* padding too early */
	bad("Zg==Zg==");  /* data after padding */
	bad("Zm9v YmFy"); /* a space */
	bad("Zm9v-mFy");  /* URL alphabet */
	bad("Zg=a");
}

static void base64_respects_the_cap(void **state)
{
	unsigned char out[5];
	size_t n;

	(void)state;
	assert_int_equal(fca_base64_decode(out, sizeof(out), &n, "Zm9vYmFy", 8), FCA_EINVALID);
	assert_int_equal(fca_base64_decode(out, sizeof(out), &n, "Zm9vYmE=", 8), FCA_OK);
	assert_int_equal(n, 5);
	assert_true(FCA_BASE64_DECODED_MAX(8) >= 6);
}

/* The groups decoder (the PEM fast path's hot loop) answers what fca_base64_decode answers for every
 * unpadded quantum, and refuses every byte that is not a digit, wherever it sits. */
static void base64_groups_agree_with_the_decoder(void **state)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char in[64 + 1];
	unsigned char want[48], got[48 + 1];
	size_t n = 0;

	(void)state;
	for (int round = 0; round < 64; round++) {
		for (int i = 0; i < 64; i++)
			in[i] = digits[(i * 7 + round * 13 + i / 5) % 64];
		in[64] = '\0';
		for (size_t len = 0; len <= 64; len += 4) {
			assert_int_equal(fca_base64_decode(want, sizeof(want), &n, in, len), FCA_OK);
			assert_int_equal(n, len / 4 * 3);
			memset(got, 0xee, sizeof(got));
			assert_int_equal(fca_base64_decode_groups(got, in, len), FCA_OK);
			assert_memory_equal(got, want, n);
			assert_int_equal(got[n], 0xee); /* nothing written past len / 4 * 3 */
		}
	}
	for (int c = 0; c < 256; c++) {
		if (c && strchr(digits, c))
			continue;
		for (size_t at = 0; at < 8; at++) {
			memcpy(in, "QUJDREVGR0hJ", 12);
			in[at] = (char)c;
			assert_int_equal(fca_base64_decode_groups(got, in, 8), FCA_EINVALID);
		}
	}
	assert_int_equal(fca_base64_decode_groups(got, "QUJD", 3), FCA_EINVALID);     /* a partial group */
	assert_int_equal(fca_base64_decode_groups(got, "QUJDRA==", 8), FCA_EINVALID); /* padding */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hex_both_cases),	       cmocka_unit_test(hex_decode_round_trip),
	    cmocka_unit_test(base64_rfc4648_vectors),  cmocka_unit_test(base64_refuses_what_go_refuses),
	    cmocka_unit_test(base64_respects_the_cap), cmocka_unit_test(base64_groups_agree_with_the_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
