/* A certificate row's facts as the state document keeps them (src/model/certinfo.c): what is written
 * reads back, tied to its row's md5_checksum; expiry is judged at read time; a line the writer
 * would not produce is refused, so the row is then decrypted and parsed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/certinfo.h"

#define MD5_A "0123456789ABCDEF0123456789ABCDEF"
#define MD5_B "FEDCBA9876543210FEDCBA9876543210"
#define NOW   ((int64_t)1796378400) /* 2026-12-05 */

static struct fca_cert_info sample(void)
{
	struct fca_cert_info c;

	memset(&c, 0, sizeof(c));
	snprintf(c.subject, sizeof(c.subject), "CN=Fleet Host Identity CA,O=Fleet \xc3\xa9,C=");
	for (size_t i = 0; i < 97; i++)
		c.subject_der[i] = (unsigned char)(i * 37 + 1);
	c.subject_der_len = 97;
	for (size_t i = 0; i < 32; i++) {
		c.sha256[i] = (unsigned char)(0xa0 + i);
		c.spki_sha256[i] = (unsigned char)i;
	}
	c.has_spki = 1;
	for (size_t i = 0; i < 32; i++)
		snprintf(c.sha256_hex + 2 * i, 3, "%02x", c.sha256[i]);
	for (size_t i = 0; i < 20; i++)
		c.ski[i] = (unsigned char)(200 - i);
	c.ski_len = 20;
	snprintf(c.serial_hex, sizeof(c.serial_hex), "01d2f3");
	c.not_before = 1700000000;
	c.not_after = NOW + 10 * 365 * 86400LL;
	snprintf(c.key_type, sizeof(c.key_type), "RSA");
	c.key_bits = 2048;
	c.defects = FCA_DEFECT_EMPTY_COUNTRY;
	return c;
}

static void assert_same_facts(const struct fca_cert_info *got, const struct fca_cert_info *want)
{
	assert_string_equal(got->subject, want->subject);
	assert_int_equal(got->subject_der_len, want->subject_der_len);
	assert_memory_equal(got->subject_der, want->subject_der, want->subject_der_len);
	assert_int_equal(got->has_spki, want->has_spki);
	assert_memory_equal(got->spki_sha256, want->spki_sha256, 32);
	assert_memory_equal(got->sha256, want->sha256, 32);
	assert_string_equal(got->sha256_hex, want->sha256_hex);
	assert_int_equal(got->ski_len, want->ski_len);
	assert_memory_equal(got->ski, want->ski, want->ski_len);
	assert_string_equal(got->serial_hex, want->serial_hex);
	assert_int_equal(got->not_before, want->not_before);
	assert_int_equal(got->not_after, want->not_after);
	assert_string_equal(got->key_type, want->key_type);
	assert_int_equal(got->key_bits, want->key_bits);
}

static void round_trip(void **state)
{
	struct fca_cert_info c = sample(), got;
	char line[FCA_CERT_FACTS_MAX];

	(void)state;
	assert_int_equal(fca_cert_facts_encode(line, MD5_A, &c), 0);
	assert_null(strchr(line, '\n'));
	assert_int_equal(fca_cert_facts_decode(&got, line, MD5_A, NOW), 1);
	assert_same_facts(&got, &c);
	assert_int_equal(got.defects, FCA_DEFECT_EMPTY_COUNTRY);
	/* another row's checksum: not this line */
	assert_int_equal(fca_cert_facts_decode(&got, line, MD5_B, NOW), 0);

	/* empty fields: no SPKI digest, SKI, serial, subject DER or subject */
	c.has_spki = 0;
	memset(c.spki_sha256, 0, 32);
	c.ski_len = 0;
	c.serial_hex[0] = '\0';
	c.subject_der_len = 0;
	c.subject[0] = '\0';
	assert_int_equal(fca_cert_facts_encode(line, MD5_A, &c), 0);
	assert_int_equal(fca_cert_facts_decode(&got, line, MD5_A, NOW), 1);
	assert_same_facts(&got, &c);

	/* the longest subject and subject DER fit */
	memset(c.subject, 'x', sizeof(c.subject) - 1);
	c.subject[sizeof(c.subject) - 1] = '\0';
	memset(c.subject_der, 0xff, FCA_NAME_DER_MAX);
	c.subject_der_len = FCA_NAME_DER_MAX;
	c.ski_len = sizeof(c.ski);
	memset(c.serial_hex, 'f', sizeof(c.serial_hex) - 1);
	c.serial_hex[sizeof(c.serial_hex) - 1] = '\0';
	assert_int_equal(fca_cert_facts_encode(line, MD5_A, &c), 0);
	assert_int_equal(fca_cert_facts_decode(&got, line, MD5_A, NOW), 1);
	assert_same_facts(&got, &c);
}

/* Expiry is not kept: it is computed against the reader's now, as fca_crypto_cert_inspect does. */
static void expiry_is_judged_when_read(void **state)
{
	struct fca_cert_info c = sample(), got;
	char line[FCA_CERT_FACTS_MAX];

	(void)state;
	c.defects |= FCA_DEFECT_EXPIRING; /* as inspected at some earlier now */
	assert_int_equal(fca_cert_facts_encode(line, MD5_A, &c), 0);
	assert_int_equal(fca_cert_facts_decode(&got, line, MD5_A, NOW), 1);
	assert_int_equal(got.defects, FCA_DEFECT_EMPTY_COUNTRY);
	assert_int_equal(fca_cert_facts_decode(&got, line, MD5_A, c.not_after - 86400), 1);
	assert_int_equal(got.defects, FCA_DEFECT_EMPTY_COUNTRY | FCA_DEFECT_EXPIRING);
	assert_int_equal(fca_cert_facts_decode(&got, line, MD5_A, c.not_after), 1);
	assert_int_equal(got.defects, FCA_DEFECT_EMPTY_COUNTRY | FCA_DEFECT_EXPIRED);
}

static void refuses_what_it_would_not_write(void **state)
{
	struct fca_cert_info c = sample(), got;
	char line[FCA_CERT_FACTS_MAX], bad[FCA_CERT_FACTS_MAX + 8];
	static const char *const lines[] = {
	    "",
	    "f1",
	    "f2 " MD5_A,
	    "f1 0123456789abcdef0123456789abcdef " /* a lowercase checksum */
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 2 RSA 2048 0 - - - - -",
	    "f1 " MD5_A " A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF 1 2 RSA 2048 0 - - - - -",
	    "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 2 RSA 2048 16 - - - - -",
	    "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 2 RSA 2048 0 - - - -",
	    "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 2 RSA 2048 0 - - - - - -",
	    "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 x RSA 2048 0 - - - - -",
	    "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 2 - 2048 0 - - - - -",
	    "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 2 RSA 2048 0 - - abc - -",
	    "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 2 RSA 2048 0 - - - QUJ -",
	    "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf 1 2 RSA 2048 0 - - - - AA==",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(fca_cert_facts_decode(&got, lines[i], MD5_A, NOW), -1);
	/* the well-formed line those are variants of */
	assert_int_equal(fca_cert_facts_decode(&got,
					       "f1 " MD5_A " a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbc"
					       "bdbebf 1 2 RSA 2048 0 - - - - -",
					       MD5_A, NOW),
			 1);
	/* cut anywhere inside a field but the subject's: refused */
	assert_int_equal(fca_cert_facts_encode(line, MD5_A, &c), 0);
	for (size_t cut = 0; cut < (size_t)(strrchr(line, ' ') - line); cut++) {
		memcpy(bad, line, cut);
		bad[cut] = '\0';
		assert_int_equal(fca_cert_facts_decode(&got, bad, MD5_A, NOW), -1);
	}
	/* no terminator within the maximum */
	memset(bad, 'f', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	assert_int_equal(fca_cert_facts_decode(&got, bad, MD5_A, NOW), -1);
	/* what does not fit is not written */
	assert_int_equal(fca_cert_facts_encode(line, "short", &c), -1);
	c.key_type[0] = '\0';
	assert_int_equal(fca_cert_facts_encode(line, MD5_A, &c), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(expiry_is_judged_when_read),
	    cmocka_unit_test(refuses_what_it_would_not_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
