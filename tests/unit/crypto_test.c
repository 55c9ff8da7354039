/* Crypto against Fleet's own bytes: every fixture value decrypts, MD5s match, certs inspect right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "fleetca/crypto.h"
#include "fleetca/timeutil.h"
#include "fixture.h"

#define FIXTURE_KEY "fixture-dev-private-key-0123456789abcdef"

struct row {
	int id;
	char name[64];
	unsigned char *value;
	size_t len;
	char md5[33];
	char plain_sha256[65];
};

static struct row rows[32];
static size_t nrows;
static struct fca_secret aes = FCA_SECRET_INIT;

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Picks "(id, 'name', X'hex', …, UNHEX('md5')" out of each mdm_config_assets INSERT. */
static int load_rows(void **state)
{
	char *sql, *p;
	struct fca_secret raw = FCA_SECRET_INIT;

	(void)state;
	if (!(sql = fixture_read("fleet-dev.sql")))
		return -1;
	for (p = sql; (p = strstr(p, "INSERT INTO mdm_config_assets")) && nrows < 32; p++) {
		struct row *r = &rows[nrows];
		char *v = strstr(p, "VALUES ("), *x, *e, *m;
		if (!v)
			break;
		r->id = atoi(v + 8);
		sscanf(strchr(v, '\'') + 1, "%63[^']", r->name);
		x = strstr(v, "X'") + 2;
		e = strchr(x, '\'');
		r->len = (size_t)(e - x) / 2;
		r->value = malloc(r->len);
		for (size_t i = 0; i < r->len; i++)
			r->value[i] = (unsigned char)(hexval(x[2 * i]) << 4 | hexval(x[2 * i + 1]));
		m = strstr(e, "UNHEX('") + 7;
		memcpy(r->md5, m, 32);
		nrows++;
	}
	free(sql);
	if (fca_secret_set(&raw, FIXTURE_KEY, strlen(FIXTURE_KEY)) != 0 || fca_crypto_server_key(&aes, &raw) != 0)
		return -1;
	fca_secret_dispose(&raw);
	return nrows == 12 ? 0 : -1;
}

static int free_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < nrows; i++)
		free(rows[i].value);
	fca_secret_dispose(&aes);
	return 0;
}

static const struct row *find(const char *name, int live_id)
{
	for (size_t i = 0; i < nrows; i++)
		if (!strcmp(rows[i].name, name) && (live_id == 0 || rows[i].id == live_id))
			return &rows[i];
	return NULL;
}

static void every_fixture_value_decrypts_and_md5_matches(void **state)
{
	(void)state;
	for (size_t i = 0; i < nrows; i++) {
		struct fca_secret pt = FCA_SECRET_INIT;
		char md5[33];
		fca_crypto_md5_hex(md5, rows[i].value, rows[i].len);
		assert_string_equal(md5, rows[i].md5);
		assert_int_equal(fca_crypto_decrypt(&pt, &aes, rows[i].value, rows[i].len, rows[i].name), FCA_OK);
		assert_int_equal(pt.len, rows[i].len - 28);
		if (strstr(rows[i].name, "_cert") && strcmp(rows[i].name, "apns_cert"))
			assert_non_null(strstr((char *)pt.data, "-----BEGIN CERTIFICATE-----"));
		if (strstr(rows[i].name, "_key") && strcmp(rows[i].name, "apns_key"))
			assert_non_null(strstr((char *)pt.data, "-----BEGIN RSA PRIVATE KEY-----"));
		fca_secret_dispose(&pt);
	}
}

static void wrong_key_names_asset_and_suggests_key(void **state)
{
	struct fca_secret raw = FCA_SECRET_INIT, bad = FCA_SECRET_INIT, pt = FCA_SECRET_INIT;
	const struct row *r = find("ca_cert", 2);
	(void)state;
	assert_int_equal(fca_secret_set(&raw, "another-fleet-server-key-0123456789abcdef", 41), 0);
	assert_int_equal(fca_crypto_server_key(&bad, &raw), 0);
	assert_int_equal(fca_crypto_decrypt(&pt, &bad, r->value, r->len, "ca_cert"), FCA_EAUTH);
	assert_non_null(strstr(fca_error_message(), "ca_cert: cannot decrypt (GCM tag mismatch)"));
	assert_non_null(strstr(fca_error_message(), "FLEET_SERVER_PRIVATE_KEY"));
	assert_null(pt.data);
	fca_secret_dispose(&raw);
	fca_secret_dispose(&bad);
}

static void short_server_key_is_refused(void **state)
{
	struct fca_secret raw = FCA_SECRET_INIT, k = FCA_SECRET_INIT;
	(void)state;
	assert_int_equal(fca_secret_set(&raw, "only-31-bytes-long-key-aaaaaaaa", 31), 0);
	assert_int_equal(fca_crypto_server_key(&k, &raw), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "is 31 bytes; Fleet requires at least 32"));
	fca_secret_dispose(&raw);
}

static void truncated_ciphertext_is_refused(void **state)
{
	struct fca_secret pt = FCA_SECRET_INIT;
	const struct row *r = find("ca_key", 0);
	(void)state;
	assert_int_equal(fca_crypto_decrypt(&pt, &aes, r->value, 20, "ca_key"), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "ca_key: stored value is 20 bytes"));
	/* cut inside the ciphertext: the tag no longer matches */
	assert_int_equal(fca_crypto_decrypt(&pt, &aes, r->value, r->len - 5, "ca_key"), FCA_EAUTH);
}

static void roundtrip_encrypt_decrypt(void **state)
{
	unsigned char *ct = NULL;
	size_t ctlen = 0;
	struct fca_secret pt = FCA_SECRET_INIT;
	(void)state;
	assert_int_equal(fca_crypto_encrypt(&ct, &ctlen, &aes, (const unsigned char *)"hello fleet", 11), 0);
	assert_int_equal(ctlen, 11 + 28);
	assert_int_equal(fca_crypto_decrypt(&pt, &aes, ct, ctlen, "x"), 0);
	assert_memory_equal(pt.data, "hello fleet", 11);
	fca_secret_dispose(&pt);
	free(ct);
}

/* The provider's AES-256-GCM, fetched: what the envelope's built-in implementation must agree with. */
static int provider_gcm(int enc, const unsigned char *iv, const unsigned char *in, size_t len, unsigned char *out,
			unsigned char tag[16])
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0, ok;

	ok = c && ctx && EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, aes.data, iv, enc) == 1 &&
	     (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1) &&
	     EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1 &&
	     (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return ok && (size_t)(n + fin) == len ? 0 : -1;
}

/* The envelope uses OpenSSL's built-in AES-256-GCM on a host without a FIPS configuration (no provider
 * fetch: a converged run's largest cost): it must agree with the provider's, byte for byte, both
 * ways, at lengths around the 16-byte block, and refuse a changed tag. */
static void builtin_gcm_agrees_with_the_provider(void **state)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 255, 4096, 70001};
	unsigned char *msg = malloc(70001), *out = malloc(70001 + 28), *ct = NULL, tag[16];
	size_t ctlen = 0;
	(void)state;
	assert_non_null(msg);
	assert_non_null(out);
	assert_string_equal(fca_crypto_gcm_implementation(), "built-in");
	for (size_t i = 0; i < 70001; i++)
		msg[i] = (unsigned char)(i * 131 + 7);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct fca_secret pt = FCA_SECRET_INIT;
		size_t len = lens[k];
		/* fleetca encrypts, the provider decrypts */
		assert_int_equal(fca_crypto_encrypt(&ct, &ctlen, &aes, msg, len), 0);
		assert_int_equal(ctlen, len + 28);
		memcpy(tag, ct + 12 + len, 16);
		assert_int_equal(provider_gcm(0, ct, ct + 12, len, out, tag), 0);
		assert_memory_equal(out, msg, len);
		/* the provider encrypts with the same nonce, fleetca decrypts: the same bytes and tag */
		memcpy(out, ct, 12);
		assert_int_equal(provider_gcm(1, ct, msg, len, out + 12, out + 12 + len), 0);
		assert_memory_equal(out, ct, ctlen);
		assert_int_equal(fca_crypto_decrypt(&pt, &aes, out, ctlen, "x"), 0);
		assert_int_equal(pt.len, len);
		assert_memory_equal(pt.data, msg, len);
		fca_secret_dispose(&pt);
		/* a flipped tag bit is refused */
		out[ctlen - 1] ^= 1;
		assert_int_not_equal(fca_crypto_decrypt(&pt, &aes, out, ctlen, "x"), 0);
		free(ct);
		ct = NULL;
	}
	free(msg);
	free(out);
}

/* MD5 without a provider fetch: RFC 1321's test suite. */
static void md5_matches_rfc_1321(void **state)
{
	static const char *const in[] = {
	    "", "a", "abc", "message digest",
	    "12345678901234567890123456789012345678901234567890123456789012345678901234567890"};
	static const char *const want[] = {"D41D8CD98F00B204E9800998ECF8427E", "0CC175B9C0F1B6A831C399E269772661",
					   "900150983CD24FB0D6963F7D28E17F72", "F96B697D7CB7938D525A2F31AAF161D0",
					   "57EDF4A22BE3C955AC49DA2E2107B67A"};
	char hex[33];
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) { /* RFC 1321's test suite */
		fca_crypto_md5_hex(hex, (const unsigned char *)in[i], strlen(in[i]));
		assert_string_equal(hex, want[i]);
	}
}

static void fixture_certs_inspect_as_expected(void **state)
{
	static const struct {
		const char *name;
		const char *subject, *sha256, *ski;
	} want[] = {
	    {"ca_cert",
	     "CN=Fleet,OU=SCEP CA,O=scep-ca,C=", "adbaf30a2f8795fe769d83bd99e8bee4822443cc57853411c6999f77680bea99",
	     "d0e8e4d6c0e7cd95294cbf6237b07ebf0e2e26f1"},
	    {"host_identity_ca_cert", "CN=Fleet Host Identity CA,OU=SCEP CA,O=Local Certificate Authority,C=",
	     "535dd594e59b50342ed93a4b9e3495ce09084dd0f3cd271bf8cb2dbe36d28dee",
	     "2b92c2570257c04f5b55aa001943ab7a5e41b4b7"},
	};
	int64_t now = fca_time_from_utc(2026, 11, 27, 0, 0, 0);
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const struct row *r = find(want[i].name, i == 0 ? 2 : 0);
		struct fca_secret pt = FCA_SECRET_INIT;
		struct fca_cert_info ci;
		char ski[41];
		assert_int_equal(fca_crypto_decrypt(&pt, &aes, r->value, r->len, r->name), 0);
		assert_int_equal(fca_crypto_cert_inspect(&ci, (char *)pt.data, pt.len, now, r->name), 0);
		assert_string_equal(ci.subject, want[i].subject);
		assert_string_equal(ci.sha256_hex, want[i].sha256);
		assert_int_equal(ci.ski_len, 20);
		for (int j = 0; j < 20; j++)
			snprintf(ski + 2 * j, 3, "%02x", ci.ski[j]);
		assert_string_equal(ski, want[i].ski);
		assert_int_equal(ci.aki_len, 0);
		assert_string_equal(ci.serial_hex, "01");
		assert_string_equal(ci.key_type, "RSA");
		assert_int_equal(ci.key_bits, 2048);
		assert_true(ci.is_ca);
		assert_true(ci.defects & FCA_DEFECT_EMPTY_COUNTRY);
		assert_false(ci.defects &
			     (FCA_DEFECT_EXPIRED | FCA_DEFECT_EXPIRING | FCA_DEFECT_NOT_CA | FCA_DEFECT_WEAK_KEY));
		fca_secret_dispose(&pt);
	}
}

static void fixture_keys_match_their_certs_and_not_others(void **state)
{
	struct fca_secret cert = FCA_SECRET_INIT, key = FCA_SECRET_INIT, other = FCA_SECRET_INIT;
	(void)state;
	assert_int_equal(fca_crypto_decrypt(&cert, &aes, find("ca_cert", 2)->value, find("ca_cert", 2)->len, "ca_cert"),
			 0);
	assert_int_equal(fca_crypto_decrypt(&key, &aes, find("ca_key", 0)->value, find("ca_key", 0)->len, "ca_key"), 0);
	assert_int_equal(fca_crypto_decrypt(&other, &aes, find("host_identity_ca_key", 0)->value,
					    find("host_identity_ca_key", 0)->len, "k"),
			 0);
	assert_int_equal(fca_crypto_key_matches(&key, (char *)cert.data, cert.len, "ca_key"), FCA_OK);
	assert_int_equal(fca_crypto_key_matches(&other, (char *)cert.data, cert.len, "ca_key"), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "does not match its certificate"));
	fca_secret_dispose(&cert);
	fca_secret_dispose(&key);
	fca_secret_dispose(&other);
}

static void generated_ca_has_fleet_parameters(void **state)
{
	struct fca_ca_spec spec;
	struct fca_secret key = FCA_SECRET_INIT;
	char *pem = NULL, *pem2 = NULL;
	size_t len = 0, len2 = 0;
	struct fca_cert_info ci, ci2;
	int64_t now = fca_time_from_utc(2026, 11, 27, 0, 0, 0);
	(void)state;
	memset(&spec, 0, sizeof(spec));
	strcpy(spec.subject.cn, "Fleet");
	strcpy(spec.subject.o, "scep-ca");
	strcpy(spec.subject.ou, "SCEP CA");
	strcpy(spec.subject.c, "US");
	spec.key_bits = 2048;
	spec.not_before = now;
	spec.not_after = now + (int64_t)10 * 365 * 86400;
	assert_int_equal(fca_crypto_generate_ca(&key, &pem, &len, &spec, NULL), 0);
	assert_non_null(strstr((char *)key.data, "-----BEGIN RSA PRIVATE KEY-----"));
	assert_int_equal(fca_crypto_cert_inspect(&ci, pem, len, now, "new"), 0);
	assert_string_equal(ci.subject, "CN=Fleet,OU=SCEP CA,O=scep-ca,C=US");
	assert_int_equal(ci.defects, 0);
	assert_true(ci.is_ca);
	assert_true(ci.self_signed);
	assert_int_equal(ci.ski_len, 20);
	assert_int_equal(ci.aki_len, 20);
	assert_memory_equal(ci.aki, ci.ski, 20);
	assert_string_not_equal(ci.serial_hex, "01");
	assert_true(strlen(ci.serial_hex) >= 16);
	assert_int_equal(ci.not_after - ci.not_before, (int64_t)10 * 365 * 86400);
	assert_int_equal(fca_crypto_key_matches(&key, pem, len, "new"), FCA_OK);

	/* renew: same key, subject and SKI; a fresh serial; the new validity */
	assert_int_equal(fca_crypto_renew_ca(&pem2, &len2, &key, pem, len, now + 100, now + 100 + 86400 * 365), 0);
	assert_int_equal(fca_crypto_cert_inspect(&ci2, pem2, len2, now, "renewed"), 0);
	assert_string_equal(ci2.subject, ci.subject);
	assert_memory_equal(ci2.ski, ci.ski, 20);
	assert_string_not_equal(ci2.serial_hex, ci.serial_hex);
	assert_string_not_equal(ci2.sha256_hex, ci.sha256_hex);
	assert_int_equal(ci2.not_after, now + 100 + 86400 * 365);
	assert_int_equal(fca_crypto_key_matches(&key, pem2, len2, "renewed"), FCA_OK);
	free(pem);
	free(pem2);
	fca_secret_dispose(&key);
}

/* A 2048-bit CA certificate from kg (or its own key, as fca_crypto_generate_ca decides), checked to
 * be on the key that comes back with it. */
static void generate_checked(struct fca_secret *key, char **pem, size_t *len, struct fca_cert_info *ci,
			     struct fca_keygen *kg)
{
	struct fca_ca_spec spec;
	int64_t now = fca_time_from_utc(2026, 12, 6, 0, 0, 0);

	memset(&spec, 0, sizeof(spec));
	strcpy(spec.subject.cn, "Fleet");
	spec.key_bits = 2048;
	spec.not_before = now - 600;
	spec.not_after = now + (int64_t)365 * 86400;
	assert_int_equal(fca_crypto_generate_ca(key, pem, len, &spec, kg), 0);
	assert_int_equal(fca_crypto_key_matches(key, *pem, *len, "new"), FCA_OK);
	assert_int_equal(fca_crypto_cert_inspect(ci, *pem, *len, now, "new"), 0);
	assert_string_equal(ci->key_type, "RSA");
	assert_int_equal(ci->key_bits, 2048);
}

/*
 * A key started in the background (as the executor starts it before it takes the lock) is the key
 * of the certificate; once taken it is spent, and the next certificate gets a key of its own.
 */
static void background_key_is_the_certificates_and_is_used_once(void **state)
{
	struct fca_keygen *kg = NULL;
	struct fca_secret key = FCA_SECRET_INIT, key2 = FCA_SECRET_INIT;
	char *pem = NULL, *pem2 = NULL;
	size_t len = 0, len2 = 0;
	struct fca_cert_info ci, ci2;
	(void)state;
	assert_int_equal(fca_crypto_keygen_start(&kg, 2048, 3), 0);
	assert_int_equal(fca_crypto_keygen_searches(kg), 3);
	generate_checked(&key, &pem, &len, &ci, kg);
	/* spent: a second certificate from the same kg has a different key */
	generate_checked(&key2, &pem2, &len2, &ci2, kg);
	assert_memory_not_equal(ci2.spki_sha256, ci.spki_sha256, 32);
	assert_int_not_equal(fca_crypto_key_matches(&key, pem2, len2, "second"), FCA_OK);
	fca_crypto_keygen_free(kg);
	free(pem);
	free(pem2);
	fca_secret_dispose(&key);
	fca_secret_dispose(&key2);
}

/* A key of another size than the certificate's is not used: the certificate gets its own. */
static void background_key_of_another_size_is_not_used(void **state)
{
	struct fca_keygen *kg = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	char *pem = NULL;
	size_t len = 0;
	struct fca_cert_info ci;
	(void)state;
	assert_int_equal(fca_crypto_keygen_start(&kg, 3072, 1), 0);
	assert_int_equal(fca_crypto_keygen_searches(kg), 1);
	generate_checked(&key, &pem, &len, &ci, kg); /* asserts 2048 bits */
	fca_crypto_keygen_free(kg);
	free(pem);
	fca_secret_dispose(&key);
	/* out-of-range sizes are refused before any thread starts */
	assert_int_equal(fca_crypto_keygen_start(&kg, 1024, 0), FCA_EINVALID);
	assert_null(kg);
	assert_non_null(strstr(fca_error_message(), "RSA key size 1024 is out of range (2048..8192)"));
	fca_crypto_keygen_free(NULL);
	assert_int_equal(fca_crypto_keygen_searches(NULL), 0);
}

/*
 * A run that does not use its key (the lock was not granted, the step failed) stops the searches:
 * an 8192-bit key takes tens of seconds to find here; freeing the generation right after starting
 * it returns as soon as every search has seen the stop, well inside the bound below.
 */
static void unused_key_generation_stops_when_freed(void **state)
{
	struct fca_keygen *kg = NULL;
	struct timespec t0, t1;
	(void)state;
	assert_int_equal(fca_crypto_keygen_start(&kg, 8192, 2), 0);
	assert_int_equal(fca_crypto_keygen_searches(kg), 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fca_crypto_keygen_free(kg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
}

/* Issue 8 item 8: a CA valid past 2038 (and past 2049, where X.509 switches to GeneralizedTime). */
static void ca_valid_past_2038(void **state)
{
	struct fca_ca_spec spec;
	struct fca_secret key = FCA_SECRET_INIT;
	char *pem = NULL, *pem2 = NULL;
	size_t len = 0, len2 = 0;
	struct fca_cert_info ci;
	int64_t now = fca_time_from_utc(2030, 1, 1, 0, 0, 0);
	(void)state;
	memset(&spec, 0, sizeof(spec));
	strcpy(spec.subject.cn, "Fleet");
	strcpy(spec.subject.c, "US");
	spec.key_bits = 2048;
	spec.not_before = now - 600;
	spec.not_after = now + (int64_t)10 * 365 * 86400;
	assert_int_equal(fca_crypto_generate_ca(&key, &pem, &len, &spec, NULL), 0);
	assert_int_equal(fca_crypto_cert_inspect(&ci, pem, len, now, "new"), 0);
	assert_int_equal(ci.not_after, now + (int64_t)10 * 365 * 86400);
	assert_true(ci.not_after > FCA_TIME_SQL_TIMESTAMP_MAX);
	assert_int_equal(ci.defects, 0);
	/* renewed for 30 years: NotAfter in 2060 (GeneralizedTime) */
	assert_int_equal(
	    fca_crypto_renew_ca(&pem2, &len2, &key, pem, len, spec.not_before, now + (int64_t)30 * 365 * 86400), 0);
	assert_int_equal(fca_crypto_cert_inspect(&ci, pem2, len2, now, "renewed"), 0);
	assert_int_equal(ci.not_after, now + (int64_t)30 * 365 * 86400);
	assert_int_equal(ci.not_before, spec.not_before);
	free(pem);
	free(pem2);
	fca_secret_dispose(&key);
}

/* Issue 8 item 8: renew_at's TIMESTAMP holds at most 2038-01-19 03:14:07; times print past it. */
static void times_past_2038(void **state)
{
	char b[40];
	int64_t v;
	(void)state;
	assert_int_equal(FCA_TIME_SQL_TIMESTAMP_MAX, fca_time_from_utc(2038, 1, 19, 3, 14, 7));
	assert_int_equal(fca_time_sql_timestamp(0), 0);
	assert_int_equal(fca_time_sql_timestamp(FCA_TIME_SQL_TIMESTAMP_MAX), FCA_TIME_SQL_TIMESTAMP_MAX);
	assert_int_equal(fca_time_sql_timestamp(FCA_TIME_SQL_TIMESTAMP_MAX + 1), FCA_TIME_SQL_TIMESTAMP_MAX);
	assert_int_equal(fca_time_sql_timestamp(fca_time_from_utc(2045, 6, 1, 0, 0, 0)), FCA_TIME_SQL_TIMESTAMP_MAX);
	assert_int_equal(fca_time_sql_timestamp(fca_time_from_utc(2037, 6, 1, 0, 0, 0)),
			 fca_time_from_utc(2037, 6, 1, 0, 0, 0));
	assert_int_equal(fca_time_parse(&v, "2040-02-29T10:00:00Z"), 0);
	assert_int_equal(v, fca_time_from_utc(2040, 2, 29, 10, 0, 0));
	assert_true(v > FCA_TIME_SQL_TIMESTAMP_MAX);
	fca_time_rfc3339(b, sizeof(b), v);
	assert_string_equal(b, "2040-02-29T10:00:00Z");
	fca_time_human(b, sizeof(b), v);
	assert_string_equal(b, "2040-02-29 10:00 UTC");
	assert_int_equal(fca_time_parse(&v, "2106-02-07T06:28:16Z"), 0); /* past 2^32 too */
	assert_int_equal(v, (int64_t)4294967296);
	fca_time_rfc3339(b, sizeof(b), v);
	assert_string_equal(b, "2106-02-07T06:28:16Z");
}

static void fleet_ski_method_matches_fixture(void **state)
{
	/* A fleetca-made cert computes its SKI as Fleet does; prove it on a fixture key by renewing the
	 * fixture CA (which copies the SKI) and by checking a generated cert's SKI is 20 bytes of
	 * SHA-256: both paths must agree with the fixture's SKI for the fixture key. */
	struct fca_secret cert = FCA_SECRET_INIT, key = FCA_SECRET_INIT;
	char *pem = NULL;
	size_t len = 0;
	struct fca_cert_info a, b;
	int64_t now = fca_time_from_utc(2026, 11, 27, 0, 0, 0);
	(void)state;
	assert_int_equal(fca_crypto_decrypt(&cert, &aes, find("ca_cert", 2)->value, find("ca_cert", 2)->len, "c"), 0);
	assert_int_equal(fca_crypto_decrypt(&key, &aes, find("ca_key", 0)->value, find("ca_key", 0)->len, "k"), 0);
	assert_int_equal(fca_crypto_renew_ca(&pem, &len, &key, (char *)cert.data, cert.len, now, now + 86400), 0);
	assert_int_equal(fca_crypto_cert_inspect(&a, (char *)cert.data, cert.len, now, "c"), 0);
	assert_int_equal(fca_crypto_cert_inspect(&b, pem, len, now, "r"), 0);
	assert_memory_equal(a.ski, b.ski, 20);
	{
		unsigned char ski[20];
		assert_int_equal(fca_crypto_fleet_ski(ski, (char *)cert.data, cert.len), 0);
		assert_memory_equal(ski, a.ski, 20); /* our SKI method = the fixture's (Fleet's) SKI */
	}
	assert_true(b.defects & FCA_DEFECT_EMPTY_COUNTRY); /* same subject, defect and all */
	free(pem);
	fca_secret_dispose(&cert);
	fca_secret_dispose(&key);
}

/* key: keep on the fixture's Apple CA: the Country fixed, the same key and SKI, a fresh serial. */
static void new_certificate_on_the_same_key(void **state)
{
	struct fca_secret cert = FCA_SECRET_INIT, key = FCA_SECRET_INIT, other = FCA_SECRET_INIT;
	struct fca_ca_spec spec;
	struct fca_cert_info a, b;
	char *pem = NULL;
	size_t len = 0;
	int64_t now = fca_time_from_utc(2026, 11, 27, 0, 0, 0);

	(void)state;
	assert_int_equal(fca_crypto_decrypt(&cert, &aes, find("ca_cert", 2)->value, find("ca_cert", 2)->len, "c"), 0);
	assert_int_equal(fca_crypto_decrypt(&key, &aes, find("ca_key", 0)->value, find("ca_key", 0)->len, "k"), 0);
	memset(&spec, 0, sizeof(spec));
	strcpy(spec.subject.cn, "Fleet");
	strcpy(spec.subject.o, "scep-ca");
	strcpy(spec.subject.ou, "SCEP CA");
	strcpy(spec.subject.c, "US");
	spec.not_before = now - 600;
	spec.not_after = now + (int64_t)10 * 365 * 86400;
	assert_int_equal(fca_crypto_new_ca_same_key(&pem, &len, &key, (char *)cert.data, cert.len, &spec), FCA_OK);
	assert_int_equal(fca_crypto_cert_inspect(&a, (char *)cert.data, cert.len, now, "old"), 0);
	assert_int_equal(fca_crypto_cert_inspect(&b, pem, len, now, "new"), 0);
	assert_string_equal(b.subject, "CN=Fleet,OU=SCEP CA,O=scep-ca,C=US");
	assert_false(b.defects & FCA_DEFECT_EMPTY_COUNTRY);
	assert_true(b.subject_der_len > 0);
	assert_false(b.subject_der_len == a.subject_der_len &&
		     !memcmp(b.subject_der, a.subject_der, a.subject_der_len));
	assert_memory_equal(b.issuer_der, b.subject_der, b.subject_der_len);
	assert_true(a.has_spki && b.has_spki);
	assert_memory_equal(b.spki_sha256, a.spki_sha256, 32); /* the same key */
	assert_int_equal(b.ski_len, a.ski_len);
	assert_memory_equal(b.ski, a.ski, a.ski_len);
	assert_int_equal(b.aki_len, b.ski_len);
	assert_memory_equal(b.aki, b.ski, b.ski_len);
	assert_string_not_equal(b.serial_hex, a.serial_hex);
	assert_string_not_equal(b.serial_hex, "1");
	assert_true(b.is_ca && b.self_signed);
	assert_int_equal(b.not_before, now - 600);
	assert_int_equal(b.not_after, spec.not_after);
	assert_int_equal(fca_crypto_key_matches(&key, pem, len, "new"), FCA_OK);
	free(pem);
	/* another generation's key is refused */
	assert_int_equal(fca_crypto_decrypt(&other, &aes, find("host_identity_ca_key", 0)->value,
					    find("host_identity_ca_key", 0)->len, "o"),
			 0);
	assert_int_equal(fca_crypto_new_ca_same_key(&pem, &len, &other, (char *)cert.data, cert.len, &spec),
			 FCA_EINVALID);
	assert_null(pem);
	assert_non_null(strstr(fca_error_message(), "does not match the signing certificate"));
	fca_secret_dispose(&cert);
	fca_secret_dispose(&key);
	fca_secret_dispose(&other);
}

/* The escrows of filevault-dev.sql, as Fleet decrypts them: hosts 101-108 (the live ca_cert) yes;
 * 109-110 (the soft-deleted ca_cert of another key, same issuer and serial) no; 111 is not CMS. */
static void escrows_decryptable_with_the_current_key(void **state)
{
	struct fca_secret cert = FCA_SECRET_INIT, hist = FCA_SECRET_INIT, key = FCA_SECRET_INIT;
	struct fca_escrow_keyring *kr = NULL;
	char *sql = fixture_read("filevault-dev.sql"), *p;
	int host = 101;

	(void)state;
	assert_non_null(sql);
	assert_int_equal(fca_crypto_decrypt(&cert, &aes, find("ca_cert", 2)->value, find("ca_cert", 2)->len, "c"), 0);
	assert_int_equal(fca_crypto_decrypt(&hist, &aes, find("ca_cert", 1)->value, find("ca_cert", 1)->len, "h"), 0);
	assert_int_equal(fca_crypto_decrypt(&key, &aes, find("ca_key", 0)->value, find("ca_key", 0)->len, "k"), 0);
	assert_int_equal(fca_crypto_keyring_new(&kr, (char *)cert.data, cert.len), FCA_OK);
	assert_int_equal(fca_crypto_keyring_add_cert(kr, (char *)hist.data, hist.len), 0); /* another key */
	assert_int_equal(fca_crypto_keyring_add_cert(kr, (char *)cert.data, cert.len), 1);
	assert_int_equal(fca_crypto_keyring_add_cert(kr, "not a certificate", 17), FCA_EINVALID);
	/* the same issuer and serial on two keys: only a decryption tells, so the key is asked for */
	p = strstr(sql, "INSERT INTO host_disk_encryption_keys");
	{
		char *b = strstr(p, ", '") + 3;
		assert_int_equal(fca_crypto_keyring_can_decrypt(kr, b, (size_t)(strchr(b, '\'') - b)),
				 FCA_KEYRING_NEEDS_KEY);
	}
	assert_int_equal(fca_crypto_keyring_set_key(kr, &hist), FCA_EINVALID); /* not a key */
	assert_int_equal(fca_crypto_keyring_set_key(kr, &key), FCA_OK);
	fca_secret_dispose(&key);
	for (; (p = strstr(p, "INSERT INTO host_disk_encryption_keys")); p++, host++) {
		char *b = strstr(p, ", '") + 3, *e = strchr(b, '\'');
		int want = host <= 108 ? 1 : host <= 110 ? 0 : FCA_EINVALID;
		int got = fca_crypto_keyring_can_decrypt(kr, b, (size_t)(e - b));
		if (got != want)
			fail_msg("host %d: can_decrypt %d, expected %d", host, got, want);
	}
	assert_int_equal(host, 112);
	/* without the history row nothing is ambiguous: the recipient's certificate has the key, and
	 * the private key is never needed */
	fca_crypto_keyring_free(kr);
	assert_int_equal(fca_crypto_keyring_new(&kr, (char *)cert.data, cert.len), FCA_OK);
	assert_int_equal(fca_crypto_keyring_add_cert(kr, (char *)cert.data, cert.len), 1); /* no key needed */
	p = strstr(strstr(sql,
			  "INSERT INTO host_disk_encryption_keys (host_id, base64_encrypted, base64_encrypted_salt, "
			  "key_slot, decryptable) VALUES (110, '"),
		   "(110, '") +
	    7;
	assert_int_equal(fca_crypto_keyring_can_decrypt(kr, p, (size_t)(strchr(p, '\'') - p)), 1);
	fca_crypto_keyring_free(kr);
	fca_secret_dispose(&cert);
	fca_secret_dispose(&hist);
	free(sql);
}

static void durations_parse_with_ranges(void **state)
{
	int64_t v;
	(void)state;
	assert_int_equal(fca_duration_parse(&v, "7d"), 0);
	assert_int_equal(v, 7 * 86400);
	assert_int_equal(fca_duration_parse(&v, "72h"), 0);
	assert_int_equal(v, 72 * 3600);
	assert_int_equal(fca_duration_parse(&v, "90m"), 0);
	assert_int_equal(v, 90 * 60);
	assert_int_equal(fca_duration_parse(&v, "10y"), 0);
	assert_int_equal(v, (int64_t)3650 * 86400);
	assert_int_equal(fca_duration_parse(&v, "-1d"), FCA_EINVALID);
	assert_int_equal(fca_duration_parse(&v, "7"), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "has no unit"));
	assert_int_equal(fca_duration_parse(&v, "7x"), FCA_EINVALID);
	assert_int_equal(fca_duration_parse(&v, "99999999999999999999d"), FCA_EINVALID);
	assert_int_equal(fca_duration_parse(&v, "101y"), FCA_EINVALID);
	assert_int_equal(fca_time_parse(&v, "2026-12-04T10:00:00Z"), 0);
	assert_int_equal(v, fca_time_from_utc(2026, 12, 4, 10, 0, 0));
	assert_int_equal(v, 1796378400);
	assert_int_equal(fca_time_parse(&v, "2026-02-31T00:00:00Z"), FCA_EINVALID);
	{
		char b[32];
		fca_duration_format(b, sizeof(b), (int64_t)3650 * 86400);
		assert_string_equal(b, "10y");
		fca_duration_format(b, sizeof(b), 7 * 86400 + 3 * 3600);
		assert_string_equal(b, "7d 3h");
		fca_duration_format(b, sizeof(b), 366 * 86400);
		assert_string_equal(b, "366d");
		fca_duration_format(b, sizeof(b), 0);
		assert_string_equal(b, "0s");
	}
	assert_int_equal(fca_time_parse(&v, "2028-02-29T00:00:00Z"), 0);
	assert_int_equal(fca_time_parse(&v, "2027-02-29T00:00:00Z"), FCA_EINVALID);
	assert_int_equal(fca_time_parse(&v, "2026-12-04T10:00:00+02:00"), 0);
	assert_int_equal(v, 1796378400 - 7200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_fixture_value_decrypts_and_md5_matches),
	    cmocka_unit_test(wrong_key_names_asset_and_suggests_key),
	    cmocka_unit_test(short_server_key_is_refused),
	    cmocka_unit_test(truncated_ciphertext_is_refused),
	    cmocka_unit_test(roundtrip_encrypt_decrypt),
	    cmocka_unit_test(builtin_gcm_agrees_with_the_provider),
	    cmocka_unit_test(md5_matches_rfc_1321),
	    cmocka_unit_test(fixture_certs_inspect_as_expected),
	    cmocka_unit_test(fixture_keys_match_their_certs_and_not_others),
	    cmocka_unit_test(generated_ca_has_fleet_parameters),
	    cmocka_unit_test(background_key_is_the_certificates_and_is_used_once),
	    cmocka_unit_test(background_key_of_another_size_is_not_used),
	    cmocka_unit_test(unused_key_generation_stops_when_freed),
	    cmocka_unit_test(ca_valid_past_2038),
	    cmocka_unit_test(times_past_2038),
	    cmocka_unit_test(fleet_ski_method_matches_fixture),
	    cmocka_unit_test(new_certificate_on_the_same_key),
	    cmocka_unit_test(escrows_decryptable_with_the_current_key),
	    cmocka_unit_test(durations_parse_with_ranges),
	};
	return cmocka_run_group_tests(tests, load_rows, free_rows);
}
