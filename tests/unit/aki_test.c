/* fca_crypto_cert_aki and fca_crypto_cert_ids (the drain scan's per-row parse) answer exactly what
 * a full OpenSSL parse answers (AKI, issuer Name bytes, SHA-256 of the DER): for every issued device
 * certificate in the fleet-dev fixture, for certificates without an AKI, for shapes its fast path
 * leaves to OpenSSL, and for garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fleetca/crypto.h"
#include "fleetca/error.h"
#include "fixture.h"

#define MAX_CERTS 64

static char *certs[MAX_CERTS];
static size_t ncerts;
static char *fixture_sql; /* fleet-dev.sql, for the nano_cert_auth_associations digests */

/* The certificate_pem string of each INSERT into the three issued-certificate tables. */
static int load_certs(void **state)
{
	static const char *const tables[] = {"INSERT INTO identity_certificates ",
					     "INSERT INTO host_identity_scep_certificates ",
					     "INSERT INTO conditional_access_scep_certificates "};
	char *sql;

	(void)state;
	if (!(sql = fixture_read("fleet-dev.sql")))
		return -1;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (char *p = sql; (p = strstr(p, tables[t])) && ncerts < MAX_CERTS; p++) {
			char *b = strstr(p, "'-----BEGIN CERTIFICATE-----"), *e;
			if (!b || !(e = strstr(b, "-----END CERTIFICATE-----")))
				break;
			e += strlen("-----END CERTIFICATE-----");
			if (*e == '\n')
				e++;
			certs[ncerts] = strndup(b + 1, (size_t)(e - b - 1));
			ncerts++;
		}
	}
	fixture_sql = sql;
	return ncerts >= 20 + 10 + 10 ? 0 : -1;
}

static int free_certs(void **state)
{
	(void)state;
	for (size_t i = 0; i < ncerts; i++)
		free(certs[i]);
	free(fixture_sql);
	return 0;
}

/* The reference: the full OpenSSL parse the function used before its fast path. -1: no parse. */
static int full_parse_aki(unsigned char aki[64], size_t *aki_len, const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	const ASN1_OCTET_STRING *a;

	BIO_free(b);
	*aki_len = 0;
	if (!x)
		return -1;
	if ((a = X509_get0_authority_key_id(x)) && (size_t)ASN1_STRING_length(a) <= 64) {
		*aki_len = (size_t)ASN1_STRING_length(a);
		memcpy(aki, ASN1_STRING_get0_data(a), *aki_len);
	}
	X509_free(x);
	return 0;
}

/* The reference issuer bytes (i2d of the parsed Name) and SHA-256 fingerprint of the certificate. */
static int full_parse_ids(unsigned char *issuer, int *issuer_len, unsigned char sha[32], const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	unsigned int l = 0;

	BIO_free(b);
	if (!x)
		return -1;
	*issuer_len = i2d_X509_NAME(X509_get_issuer_name(x), &issuer);
	X509_digest(x, EVP_sha256(), sha, &l);
	X509_free(x);
	return 0;
}

static void assert_same_as_full_parse(const char *pem, size_t len)
{
	unsigned char want[64], got[64], issuer[FCA_NAME_DER_MAX], sha[32];
	size_t want_len = 99, got_len = 99;
	int ref = full_parse_aki(want, &want_len, pem, len), ilen = 0;
	int r = fca_crypto_cert_aki(got, &got_len, pem, len);
	struct fca_issued_ids ids;

	if (ref < 0) {
		assert_int_equal(r, FCA_EINVALID);
		assert_int_equal(got_len, 0);
		fca_error_clear();
		assert_int_equal(fca_crypto_cert_ids(&ids, pem, len, 1), FCA_EINVALID);
		fca_error_clear();
		return;
	}
	assert_int_equal(r, FCA_OK);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	assert_int_equal(fca_crypto_cert_ids(&ids, pem, len, 1), FCA_OK);
	assert_int_equal(ids.aki_len, want_len);
	assert_memory_equal(ids.aki, want, want_len);
	assert_int_equal(full_parse_ids(issuer, &ilen, sha, pem, len), 0);
	assert_int_equal(ids.issuer_len, (size_t)ilen);
	assert_memory_equal(ids.issuer, issuer, (size_t)ilen);
	assert_memory_equal(ids.sha256, sha, 32);
}

static void every_fixture_device_cert_matches_full_parse(void **state)
{
	(void)state;
	assert_true(ncerts >= 40);
	for (size_t i = 0; i < ncerts; i++) {
		unsigned char aki[64];
		size_t n = 0;
		assert_same_as_full_parse(certs[i], strlen(certs[i]));
		/* Fleet's issued certificates all carry a 20-byte AKI */
		assert_int_equal(fca_crypto_cert_aki(aki, &n, certs[i], strlen(certs[i])), FCA_OK);
		assert_int_equal(n, 20);
	}
}

/* The digest is the one nano_cert_auth_associations holds for the device (lowercase hex of the
 * SHA-256 of the DER): every Apple identity certificate of the fixture is found there. */
static void identity_cert_digests_are_the_associations(void **state)
{
	struct fca_issued_ids ids;
	char hex[65], quoted[68];

	(void)state;
	for (size_t i = 0; i < 20; i++) {
		assert_int_equal(fca_crypto_cert_ids(&ids, certs[i], strlen(certs[i]), 1), FCA_OK);
		for (size_t k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", ids.sha256[k]);
		snprintf(quoted, sizeof(quoted), "'%s'", hex);
		if (!strstr(strstr(fixture_sql, "INSERT INTO nano_cert_auth_associations"), quoted))
			fail_msg("identity certificate %zu: sha256 %s is not in nano_cert_auth_associations", i, hex);
	}
}

/* Variants of the fixture PEMs: CRLF line ends, leading blank lines, trailing text, one long base64
 * line (left to OpenSSL), a PEM header (left to OpenSSL), and each truncated at many points. */
static void fixture_variants_match_full_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ncerts; i++) {
		const char *c = certs[i];
		size_t len = strlen(c), o = 0;
		char *v = malloc(2 * len + 128);

		for (size_t j = 0; j < len; j++) { /* CRLF */
			if (c[j] == '\n')
				v[o++] = '\r';
			v[o++] = c[j];
		}
		assert_same_as_full_parse(v, o);

		o = (size_t)sprintf(v, "\n\n%sextra text after the block\n", c); /* around the block */
		assert_same_as_full_parse(v, o);

		o = 0; /* the whole body on one line */
		for (size_t j = 0; j < len; j++) {
			int in_body = j > 27 && j < len - 26;
			if (!(in_body && c[j] == '\n'))
				v[o++] = c[j];
		}
		assert_same_as_full_parse(v, o);

		o = (size_t)sprintf(v, "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n%s", c + 28);
		assert_same_as_full_parse(v, o);

		for (size_t cut = 0; cut < len; cut += 37) /* truncations */
			assert_same_as_full_parse(c, cut);

		memcpy(v, c, len + 1); /* one flipped base64 character in the body */
		v[len / 2] = v[len / 2] == 'A' ? 'B' : 'A';
		assert_same_as_full_parse(v, len);
		free(v);
	}
}

/* The body of certificate c re-wrapped in lines of `width` characters, each ended by `eol`, with
 * `extra` inserted after line `at` (when extra is not NULL) and `tail` after the END line. */
static size_t rewrap(char *v, const char *c, size_t width, const char *eol, size_t at, const char *extra,
		     const char *tail)
{
	const char *b = strchr(c, '\n') + 1, *e = strstr(c, "-----END CERTIFICATE-----");
	size_t o = (size_t)sprintf(v, "-----BEGIN CERTIFICATE-----%s", eol), col = 0, line = 0;

	for (const char *q = b; q < e; q++) {
		if (*q == '\n' || *q == '\r')
			continue;
		v[o++] = *q;
		if (++col == width) {
			o += (size_t)sprintf(v + o, "%s", eol);
			col = 0;
			if (++line == at && extra)
				o += (size_t)sprintf(v + o, "%s", extra);
		}
	}
	if (col)
		o += (size_t)sprintf(v + o, "%s", eol);
	o += (size_t)sprintf(v + o, "-----END CERTIFICATE-----%s", tail);
	return o;
}

/* The line-at-a-time decoder: every line width (those it takes, a multiple of 4 up to 76, and those
 * it leaves to OpenSSL), LF and CRLF, stray whitespace, blank lines, text after the padding, no
 * newline after END, and truncations inside a line: always the full parse's answer. */
static void line_shapes_match_full_parse(void **state)
{
	static const size_t widths[] = {4, 8, 12, 48, 60, 64, 72, 76, 1, 3, 5, 63, 65, 77, 80, 100, 4096};
	static const char *const extras[] = {
	    "\n", "\r\n", " \n", "\t", "====\n", "-----END CERTIFICATE-----\n", "AAAA\r\r\n", "AA==\n", "QUJD\n"};

	(void)state;
	for (size_t i = 0; i < ncerts; i += 7) {
		size_t len = strlen(certs[i]), o;
		char *v = malloc(4 * len + 256);

		for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
			for (int crlf = 0; crlf <= 1; crlf++) {
				o = rewrap(v, certs[i], widths[w], crlf ? "\r\n" : "\n", 0, NULL, crlf ? "\r\n" : "\n");
				assert_same_as_full_parse(v, o);
				o = rewrap(v, certs[i], widths[w], crlf ? "\r\n" : "\n", 0, NULL, "");
				assert_same_as_full_parse(v, o);
				for (size_t cut = o > 40 ? o - 40 : 0; cut < o; cut += 3) /* inside the last lines */
					assert_same_as_full_parse(v, cut);
			}
		for (size_t x = 0; x < sizeof(extras) / sizeof(extras[0]); x++)
			for (size_t at = 1; at <= 20; at += 6) {
				o = rewrap(v, certs[i], 64, "\n", at, extras[x], "\n");
				assert_same_as_full_parse(v, o);
			}
		o = rewrap(v, certs[i], 64, "\n", 0, NULL, "\n"); /* a space at the end of one line */
		memmove(v + 28 + 64 + 2, v + 28 + 64 + 1, o - (28 + 64 + 1));
		v[28 + 64] = ' ';
		v[28 + 64 + 1] = '\n';
		assert_same_as_full_parse(v, o + 1);
		free(v);
	}
}

static char *make_cert_pem(int with_aki, int keyid_form, int with_other_ext)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX ctx;
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"aki test", -1,
				   -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (with_other_ext) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (with_aki) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
							keyid_form ? "keyid:always" : "issuer:always");
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

static void cert_without_aki_gives_empty_aki(void **state)
{
	(void)state;
	for (int other = 0; other <= 1; other++) {
		char *pem = make_cert_pem(0, 0, other);
		unsigned char aki[64];
		size_t n = 99;
		assert_int_equal(fca_crypto_cert_aki(aki, &n, pem, strlen(pem)), FCA_OK);
		assert_int_equal(n, 0);
		assert_same_as_full_parse(pem, strlen(pem));
		free(pem);
	}
}

static void generated_aki_forms_match_full_parse(void **state)
{
	(void)state;
	for (int keyid = 0; keyid <= 1; keyid++) {
		char *pem = make_cert_pem(1, keyid, 1);
		unsigned char aki[64];
		size_t n = 99;
		assert_int_equal(fca_crypto_cert_aki(aki, &n, pem, strlen(pem)), FCA_OK);
		assert_int_equal(n, keyid ? 20 : 0); /* issuer+serial only: no keyIdentifier */
		assert_same_as_full_parse(pem, strlen(pem));
		free(pem);
	}
}

static void garbage_is_rejected(void **state)
{
	static const char *const junk[] = {
	    "",
	    "not a certificate",
	    "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
	    "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n",
	    "-----BEGIN RSA PRIVATE KEY-----\nMAMCAQA=\n-----END RSA PRIVATE KEY-----\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		unsigned char aki[64];
		size_t n = 99;
		assert_int_equal(fca_crypto_cert_aki(aki, &n, junk[i], strlen(junk[i])), FCA_EINVALID);
		assert_int_equal(n, 0);
		fca_error_clear();
		assert_same_as_full_parse(junk[i], strlen(junk[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_fixture_device_cert_matches_full_parse),
	    cmocka_unit_test(identity_cert_digests_are_the_associations),
	    cmocka_unit_test(fixture_variants_match_full_parse),
	    cmocka_unit_test(line_shapes_match_full_parse),
	    cmocka_unit_test(cert_without_aki_gives_empty_aki),
	    cmocka_unit_test(generated_aki_forms_match_full_parse),
	    cmocka_unit_test(garbage_is_rejected),
	};
	return cmocka_run_group_tests(tests, load_certs, free_certs);
}
