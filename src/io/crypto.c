/*
 * The OpenSSL adapter. Fleet's envelope (AES-256-GCM, nonce || ciphertext || tag, no AAD), the
 * certificate facts fleetca reports, and CA generation with Fleet's parameters. OpenSSL errors are
 * translated here, once, into fca_error messages.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fleetca/buf.h"
#include "fleetca/crypto.h"
#include "fleetca/encoding.h"
#include "fleetca/timeutil.h"
#include "fleetca/version.h"

/*
 * OSSL_GUARD(call, what): runs an OpenSSL call that returns 0 or NULL on failure (and 1 or a pointer
 * on success); on failure sets r to the error "<what>: <call> failed: <OpenSSL's reason>" and jumps
 * to the function's out label. Every OpenSSL failure that is an error goes through it, so each
 * message names the call that failed (s2n-tls's RESULT_GUARD_OSSL, in this file's goto-out style).
 */
#define OSSL_GUARD(call, what)                                                                                         \
	do {                                                                                                           \
		if (!(call)) {                                                                                         \
			r = ossl_failed(#call, (what));                                                                \
			goto out;                                                                                      \
		}                                                                                                      \
	} while (0)

static int ossl_failed(const char *call, const char *what);

/* Drains OpenSSL's error queue into a short string for a message. */
static const char *ossl_reason(void)
{
	static _Thread_local char buf[256];
	unsigned long e = ERR_get_error(), last = e;

	while (e) {
		last = e;
		e = ERR_get_error();
	}
	if (!last)
		return "no detail from OpenSSL";
	ERR_error_string_n(last, buf, sizeof(buf));
	return buf;
}

static int ossl_failed(const char *call, const char *what)
{
	const char *eq = strstr(call, " = ");
	char name[64];
	size_t n;

	/* "EVP_DecryptInit_ex(ctx, …) == 1" and "k = EVP_RSA_gen(…)" name the function called */
	if (eq && eq < call + strcspn(call, "("))
		call = eq + 3;
	n = strcspn(call, "(");
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, call, n);
	name[n] = '\0';
	return fca_error_set(FCA_ERROR, "%s: %s failed: %s", what, name, ossl_reason());
}

int fca_crypto_server_key(struct fca_secret *aes_key, const struct fca_secret *server_key)
{
	aes_key->data = NULL;
	if (!server_key->data || server_key->len < FCA_SERVER_KEY_BYTES)
		return fca_error_set(FCA_EINVALID,
				     "the server private key is %zu bytes; Fleet requires at least %d "
				     "(FLEET_SERVER_PRIVATE_KEY): use the exact key this Fleet server runs with",
				     server_key->data ? server_key->len : (size_t)0, FCA_SERVER_KEY_BYTES);
	return fca_secret_set(aes_key, server_key->data, FCA_SERVER_KEY_BYTES);
}

/*
 * A converged run decrypts one row and checksums a few: AES-256-GCM and MD5 are its only algorithms.
 * OpenSSL 3.0's first fetch of a cipher builds every cipher of the provider into its method store
 * (about 6 M instructions and 50 page faults: more than the rest of a converged run), and the first
 * digest fetch every digest. So, once per process:
 * - AES-256-GCM is OpenSSL's built-in implementation (EVP_aes_256_gcm(): AES-NI and carry-less
 *   multiplication where the CPU has them), reached through a duplicate of its method so that
 *   OpenSSL runs it without a fetch. Where that is not allowed or not there (a FIPS configuration:
 *   its provider must do the work; an OpenSSL without the legacy methods), the provider's, fetched.
 * - MD5 is OpenSSL's one-shot MD5(), which needs no provider: Fleet's md5_checksum is a checksum of
 *   the stored bytes, not security, and a FIPS configuration does not forbid it.
 * The deprecated calls are confined to the two functions below.
 */
static struct {
	EVP_CIPHER *gcm; /* duplicated or fetched, kept for the process */
	int fetched;	 /* gcm is the provider's */
} algs;

static const EVP_CIPHER *gcm_cipher(void)
{
	if (algs.gcm)
		return algs.gcm;
#if OPENSSL_VERSION_MAJOR < 4
	if (!EVP_default_properties_is_fips_enabled(NULL)) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		algs.gcm = EVP_CIPHER_meth_dup(EVP_aes_256_gcm());
#pragma GCC diagnostic pop
	}
#endif
	if (!algs.gcm) {
		ERR_clear_error();
		algs.gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
		algs.fetched = algs.gcm != NULL;
	}
	return algs.gcm;
}

/* The error when AES-256-GCM cannot be had: what, and what to do. */
static int gcm_unavailable(const char *what)
{
	if (EVP_default_properties_is_fips_enabled(NULL))
		return fca_error_set(FCA_ERROR,
				     "%s: OpenSSL's configuration asks for FIPS-approved algorithms, and no provider "
				     "gives AES-256-GCM (%s): install and configure the FIPS provider, or run fleetca "
				     "under a configuration without default_properties = fips=yes (OPENSSL_CONF)",
				     what, ossl_reason());
	return fca_error_set(FCA_ERROR, "%s: OpenSSL gives no AES-256-GCM (%s): check OPENSSL_CONF and its providers",
			     what, ossl_reason());
}

const char *fca_crypto_gcm_implementation(void)
{
	if (!gcm_cipher())
		return "none";
	return algs.fetched ? "provider" : "built-in";
}

void fca_crypto_init(void)
{
	/* No OpenSSL cleanup at exit (a fifth of a converged run's own work): the process ends there,
	 * fleetca's secrets are wiped when released, and a core dump is disabled. This must be the
	 * process's first initialisation of OpenSSL to count (it is: before the store's client library). */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

int fca_crypto_decrypt(struct fca_secret *out, const struct fca_secret *aes_key, const unsigned char *in, size_t len,
		       const char *asset)
{
	EVP_CIPHER_CTX *ctx = NULL;
	const EVP_CIPHER *gcm;
	int r = FCA_ERROR, n = 0, fin = 0;
	size_t ct_len;

	out->data = NULL;
	if (len < FCA_GCM_NONCE + FCA_GCM_TAG)
		return fca_error_set(FCA_EINVALID,
				     "%s: stored value is %zu bytes, shorter than AES-GCM's nonce and tag (28): "
				     "the row is truncated or was not written by Fleet",
				     asset, len);
	if (aes_key->len != FCA_SERVER_KEY_BYTES)
		return fca_error_set(FCA_EINVALID, "%s: server key is not 32 bytes", asset);
	ct_len = len - FCA_GCM_NONCE - FCA_GCM_TAG;
	if ((r = fca_secret_alloc(out, ct_len)) != 0)
		return r;
	r = FCA_ERROR;
	if (!(ctx = EVP_CIPHER_CTX_new())) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	if (!(gcm = gcm_cipher())) {
		r = gcm_unavailable(asset);
		goto out;
	}
	OSSL_GUARD(EVP_DecryptInit_ex(ctx, gcm, NULL, NULL, NULL) == 1, asset);
	OSSL_GUARD(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, FCA_GCM_NONCE, NULL) == 1, asset);
	OSSL_GUARD(EVP_DecryptInit_ex(ctx, NULL, NULL, aes_key->data, in) == 1, asset);
	OSSL_GUARD(EVP_DecryptUpdate(ctx, out->data, &n, in + FCA_GCM_NONCE, (int)ct_len) == 1, asset);
	OSSL_GUARD(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, FCA_GCM_TAG, (void *)(in + len - FCA_GCM_TAG)) == 1,
		   asset);
	if (EVP_DecryptFinal_ex(ctx, out->data + n, &fin) != 1) {
		ERR_clear_error();
		r = fca_error_set(FCA_EAUTH,
				  "%s: cannot decrypt (GCM tag mismatch): is FLEET_SERVER_PRIVATE_KEY the key this "
				  "Fleet server uses?",
				  asset);
		goto out;
	}
	out->len = (size_t)(n + fin);
	out->data[out->len] = '\0';
	r = FCA_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (r != FCA_OK)
		fca_secret_dispose(out);
	return r;
}

int fca_crypto_encrypt(unsigned char **out, size_t *out_len, const struct fca_secret *aes_key, const unsigned char *in,
		       size_t len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	const EVP_CIPHER *gcm;
	unsigned char *buf = NULL;
	int r = FCA_ERROR, n = 0, fin = 0;

	*out = NULL;
	if (aes_key->len != FCA_SERVER_KEY_BYTES)
		return fca_error_set(FCA_EINVALID, "server key is not 32 bytes");
	if (len > (size_t)INT32_MAX - 64)
		return fca_error_set(FCA_EINVALID, "value too large to encrypt");
	if (!(buf = malloc(len + FCA_GCM_NONCE + FCA_GCM_TAG)) || !(ctx = EVP_CIPHER_CTX_new())) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = fca_crypto_random(buf, FCA_GCM_NONCE)) != 0)
		goto out;
	r = FCA_ERROR;
	if (!(gcm = gcm_cipher())) {
		r = gcm_unavailable("AES-GCM encryption");
		goto out;
	}
	OSSL_GUARD(EVP_EncryptInit_ex(ctx, gcm, NULL, NULL, NULL) == 1, "AES-GCM encryption");
	OSSL_GUARD(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, FCA_GCM_NONCE, NULL) == 1, "AES-GCM encryption");
	OSSL_GUARD(EVP_EncryptInit_ex(ctx, NULL, NULL, aes_key->data, buf) == 1, "AES-GCM encryption");
	OSSL_GUARD(EVP_EncryptUpdate(ctx, buf + FCA_GCM_NONCE, &n, in, (int)len) == 1, "AES-GCM encryption");
	OSSL_GUARD(EVP_EncryptFinal_ex(ctx, buf + FCA_GCM_NONCE + n, &fin) == 1, "AES-GCM encryption");
	OSSL_GUARD(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, FCA_GCM_TAG, buf + FCA_GCM_NONCE + n + fin) == 1,
		   "AES-GCM encryption");
	*out_len = FCA_GCM_NONCE + (size_t)(n + fin) + FCA_GCM_TAG;
	*out = buf;
	buf = NULL;
	r = FCA_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return r;
}

/* Fleet's md5_checksum: a checksum of the stored bytes, not security (see gcm_cipher above). */
void fca_crypto_md5_hex(char out[33], const unsigned char *p, size_t n)
{
	unsigned char md[MD5_DIGEST_LENGTH];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	MD5(p, n, md);
#pragma GCC diagnostic pop
	fca_hex_encode(out, md, sizeof(md), 1);
}

/*
 * SHA-256 with one fetched method and one context, kept for the process: a scan hashes each of a
 * million certificates, and EVP_Digest would allocate a context and look the method up for each
 * (a fifth of the scan's own CPU). 1 on success.
 */
static int sha256(unsigned char out[32], const void *p, size_t n)
{
	static EVP_MD *md;
	static EVP_MD_CTX *ctx;
	unsigned int l = 0;

	if ((!md && !(md = EVP_MD_fetch(NULL, "SHA256", NULL))) || (!ctx && !(ctx = EVP_MD_CTX_new())))
		return 0;
	return EVP_DigestInit_ex2(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, p, n) == 1 &&
	       EVP_DigestFinal_ex(ctx, out, &l) == 1 && l == 32;
}

void fca_crypto_sha256_hex(char out[65], const unsigned char *p, size_t n)
{
	unsigned char md[32];

	out[0] = '\0';
	if (sha256(md, p, n))
		fca_hex_encode(out, md, 32, 0);
}

int fca_crypto_random(unsigned char *buf, size_t n)
{
	int r = FCA_ERROR;

	if (n > INT_MAX)
		return fca_error_set(FCA_EINVALID, "%zu random bytes asked for at once", n);
	OSSL_GUARD(RAND_bytes(buf, (int)n) == 1, "drawing random bytes (no randomness available)");
	r = FCA_OK;
out:
	return r;
}

int fca_crypto_uuid4(char out[37])
{
	unsigned char b[16];
	char h[33];
	int r;

	if ((r = fca_crypto_random(b, sizeof(b))) != 0)
		return r;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	fca_hex_encode(h, b, 16, 0);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
	return FCA_OK;
}

static X509 *parse_cert(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

static EVP_PKEY *parse_key(const struct fca_secret *key_pem)
{
	BIO *b = BIO_new_mem_buf(key_pem->data, (int)key_pem->len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

static int64_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return fca_time_from_utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void name_rfc4514(char *buf, size_t n, const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long l;

	buf[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		l = BIO_get_mem_data(b, &p);
		if (l > 0 && p) /* for display only (names are compared by their DER): a long one ends in "..." */
			fca_text_append(buf, n, "", "%.*s", (int)l, p);
	}
	BIO_free(b);
}

static unsigned name_defects(const X509_NAME *name)
{
	unsigned d = 0;

	for (int i = 0; i < X509_NAME_entry_count(name); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		if (ASN1_STRING_length(v) == 0)
			d |= OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == NID_countryName ? FCA_DEFECT_EMPTY_COUNTRY
											   : FCA_DEFECT_EMPTY_RDN;
	}
	return d;
}

/* The Name's DER as the certificate holds it (OpenSSL keeps the parsed encoding); 0 when too long. */
static size_t name_der(unsigned char out[FCA_NAME_DER_MAX], const X509_NAME *name)
{
	const unsigned char *der = NULL;
	size_t n = 0;

	if (!name || X509_NAME_get0_der(name, &der, &n) != 1 || n > FCA_NAME_DER_MAX)
		return 0;
	memcpy(out, der, n);
	return n;
}

/* SHA-256 of the SubjectPublicKeyInfo DER. */
static int spki_sha256(unsigned char md[32], X509 *x)
{
	unsigned char *der = NULL;
	unsigned int l = 0;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der), ok;

	ok = n > 0 && EVP_Digest(der, (size_t)n, md, &l, EVP_sha256(), NULL) == 1;
	OPENSSL_free(der);
	return ok;
}

int fca_crypto_cert_inspect(struct fca_cert_info *info, const char *pem, size_t len, int64_t now, const char *asset)
{
	X509 *x = NULL;
	EVP_PKEY *pub;
	const ASN1_OCTET_STRING *ski, *aki;
	BIGNUM *bn = NULL;
	char *sh = NULL;
	unsigned int mdlen = 0;
	uint32_t flags;
	int r = FCA_ERROR;

	memset(info, 0, sizeof(*info));
	if (!(x = parse_cert(pem, len))) {
		ERR_clear_error();
		r = fca_error_set(FCA_EINVALID,
				  "%s: the decrypted value is not a PEM certificate: the row is damaged or holds "
				  "something else; restore it from a backup or its history row",
				  asset);
		goto out;
	}
	name_rfc4514(info->subject, sizeof(info->subject), X509_get_subject_name(x));
	name_rfc4514(info->issuer, sizeof(info->issuer), X509_get_issuer_name(x));
	info->subject_der_len = name_der(info->subject_der, X509_get_subject_name(x));
	info->issuer_der_len = name_der(info->issuer_der, X509_get_issuer_name(x));
	info->has_spki = spki_sha256(info->spki_sha256, x);
	OSSL_GUARD(X509_digest(x, EVP_sha256(), info->sha256, &mdlen) == 1 && mdlen == 32, asset);
	fca_hex_encode(info->sha256_hex, info->sha256, 32, 0);
	if ((ski = X509_get0_subject_key_id(x)) && (size_t)ASN1_STRING_length(ski) <= sizeof(info->ski)) {
		info->ski_len = (size_t)ASN1_STRING_length(ski);
		memcpy(info->ski, ASN1_STRING_get0_data(ski), info->ski_len);
	}
	if ((aki = X509_get0_authority_key_id(x)) && (size_t)ASN1_STRING_length(aki) <= sizeof(info->aki)) {
		info->aki_len = (size_t)ASN1_STRING_length(aki);
		memcpy(info->aki, ASN1_STRING_get0_data(aki), info->aki_len);
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) && (sh = BN_bn2hex(bn))) {
		snprintf(info->serial_hex, sizeof(info->serial_hex), "%s", sh);
		for (char *c = info->serial_hex; *c; c++)
			if (*c >= 'A' && *c <= 'F')
				*c = (char)(*c - 'A' + 'a');
	}
	info->not_before = asn1_time(X509_get0_notBefore(x));
	info->not_after = asn1_time(X509_get0_notAfter(x));
	if ((pub = X509_get0_pubkey(x))) {
		int id = EVP_PKEY_get_base_id(pub);
		snprintf(info->key_type, sizeof(info->key_type), "%s",
			 id == EVP_PKEY_RSA	  ? "RSA"
			 : id == EVP_PKEY_EC	  ? "EC"
			 : id == EVP_PKEY_ED25519 ? "Ed25519"
						  : "other");
		info->key_bits = EVP_PKEY_get_bits(pub);
		if (id == EVP_PKEY_RSA && info->key_bits < 2048)
			info->defects |= FCA_DEFECT_WEAK_KEY;
	}
	flags = X509_get_extension_flags(x);
	info->is_ca = (flags & EXFLAG_CA) != 0;
	info->self_signed = (flags & EXFLAG_SS) != 0;
	info->malformed_extensions = (flags & EXFLAG_INVALID) != 0;
	info->defects |= name_defects(X509_get_subject_name(x));
	if (!info->is_ca)
		info->defects |= FCA_DEFECT_NOT_CA;
	if (info->not_after <= now)
		info->defects |= FCA_DEFECT_EXPIRED;
	else if (info->not_after - now < (int64_t)365 * 86400)
		info->defects |= FCA_DEFECT_EXPIRING;
	r = FCA_OK;
out:
	OPENSSL_free(sh);
	BN_free(bn);
	X509_free(x);
	return r;
}

int fca_crypto_key_matches(const struct fca_secret *key_pem, const char *cert_pem, size_t cert_len, const char *asset)
{
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int r = FCA_ERROR;

	if (!(x = parse_cert(cert_pem, cert_len))) {
		ERR_clear_error();
		r = fca_error_set(FCA_EINVALID, "%s: certificate does not parse", asset);
		goto out;
	}
	if (!(k = parse_key(key_pem))) {
		ERR_clear_error();
		r = fca_error_set(FCA_EINVALID, "%s: the decrypted value is not a PEM private key: the row is damaged",
				  asset);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(x), k) != 1) {
		ERR_clear_error();
		r = fca_error_set(FCA_EINVALID, "%s: the private key does not match its certificate", asset);
		goto out;
	}
	r = FCA_OK;
out:
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

/* The fast path of fca_crypto_cert_ids: base64-decode one plain PEM certificate into a stack buffer
 * (a line at a time, through a table: no branch per character) and walk its DER to the issuer Name and the
 * authorityKeyIdentifier's keyIdentifier (and hash the DER when asked). It only handles the strict, canonical shape
 * (one "CERTIFICATE" block, no PEM headers, minimal DER lengths, a well-formed Certificate/TBSCertificate/Extensions
 * structure, at most one AKI extension that decodes); on anything else it returns -1 and the caller does the full
 * OpenSSL parse, so its answers are the full parse's answers. Returns 1 with the AKI (aki_len 0 when absent) and the
 * issuer on success. */
#define AKI_PEM_MAX 8192
#define AKI_DER_MAX (AKI_PEM_MAX / 4 * 3)

struct der {
	const unsigned char *p, *end;
};

/* Reads one DER TLV with a one-byte tag; definite, minimal lengths only. */
static int der_next(struct der *d, unsigned char *tag, struct der *val)
{
	size_t len = 0, n;

	if (d->end - d->p < 2)
		return -1;
	*tag = *d->p++;
	if ((*tag & 0x1f) == 0x1f)
		return -1;
	n = *d->p++;
	if (n & 0x80) {
		n &= 0x7f;
		if (n == 0 || n > 3 || (size_t)(d->end - d->p) < n || d->p[0] == 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | *d->p++;
		if (len < 0x80)
			return -1;
	} else {
		len = n;
	}
	if ((size_t)(d->end - d->p) < len)
		return -1;
	val->p = d->p;
	val->end = d->p + len;
	d->p += len;
	return 0;
}

static int der_expect(struct der *d, unsigned char want, struct der *val)
{
	unsigned char tag;

	return der_next(d, &tag, val) == 0 && tag == want ? 0 : -1;
}

static int aki_from_ext_value(const struct der *ev, unsigned char aki[64], size_t *aki_len)
{
	struct der d = *ev, seq, v;
	unsigned char tag;

	if (der_expect(&d, 0x30, &seq) != 0 || d.p != d.end)
		return -1;
	*aki_len = 0;
	if (seq.p == seq.end)
		return 1;
	if (der_next(&seq, &tag, &v) != 0)
		return -1;
	if (tag != 0x80) /* no keyIdentifier: only the issuer/serial forms, which the walk leaves to OpenSSL */
		return -1;
	if (seq.p != seq.end || (size_t)(v.end - v.p) > 64)
		return -1;
	*aki_len = (size_t)(v.end - v.p);
	memcpy(aki, v.p, *aki_len);
	return 1;
}

static int ids_from_der(const unsigned char *der, size_t len, struct fca_issued_ids *ids)
{
	static const unsigned char aki_oid[] = {0x55, 0x1d, 0x23};
	struct der all = {der, der + len}, cert, tbs, v, exts, list, ext, oid, ev, found = {NULL, NULL};
	const unsigned char *issuer = NULL;
	unsigned char tag;

	if (der_expect(&all, 0x30, &cert) != 0 || all.p != all.end)
		return -1;
	if (der_expect(&cert, 0x30, &tbs) != 0 || der_expect(&cert, 0x30, &v) != 0 ||
	    der_expect(&cert, 0x03, &v) != 0 || cert.p != cert.end)
		return -1;
	if (der_next(&tbs, &tag, &v) != 0)
		return -1;
	if (tag == 0xa0) { /* [0] EXPLICIT version: INTEGER 0..2, then the serial */
		if (v.end - v.p != 3 || v.p[0] != 0x02 || v.p[1] != 0x01 || v.p[2] > 2 || der_next(&tbs, &tag, &v) != 0)
			return -1;
	}
	if (tag != 0x02)
		return -1;
	/* signature, issuer, validity, subject, subjectPublicKeyInfo; the issuer kept whole (tag and
	 * length too), as X509_NAME_get0_der gives it */
	for (int i = 0; i < 5; i++) {
		const unsigned char *start = tbs.p;
		if (der_expect(&tbs, 0x30, &v) != 0)
			return -1;
		if (i == 1) {
			if ((size_t)(v.end - start) > FCA_NAME_DER_MAX)
				return -1;
			issuer = start;
			ids->issuer_len = (size_t)(v.end - start);
		}
	}
	memcpy(ids->issuer, issuer, ids->issuer_len);
	ids->aki_len = 0;
	while (tbs.p != tbs.end) {
		if (der_next(&tbs, &tag, &exts) != 0)
			return -1;
		if (tag == 0x81 || tag == 0x82) /* issuerUniqueID, subjectUniqueID */
			continue;
		if (tag != 0xa3 || tbs.p != tbs.end)
			return -1;
		if (der_expect(&exts, 0x30, &list) != 0 || exts.p != exts.end)
			return -1;
		while (list.p != list.end) {
			if (der_expect(&list, 0x30, &ext) != 0 || der_expect(&ext, 0x06, &oid) != 0)
				return -1;
			if (der_next(&ext, &tag, &ev) != 0)
				return -1;
			if (tag == 0x01 && der_next(&ext, &tag, &ev) != 0) /* critical */
				return -1;
			if (tag != 0x04 || ext.p != ext.end)
				return -1;
			if ((size_t)(oid.end - oid.p) == sizeof(aki_oid) && !memcmp(oid.p, aki_oid, sizeof(aki_oid))) {
				if (found.p)
					return -1; /* a repeated AKI: OpenSSL's answer is the one that counts */
				found = ev;
			}
		}
	}
	return found.p ? aki_from_ext_value(&found, ids->aki, &ids->aki_len) : 1;
}

/* The base64 lines between the BEGIN and END lines, cut with memchr and decoded a line at a time by
 * the table (fca_base64_decode_groups): only the canonical shape, lines of 4 to 76 characters, a
 * multiple of 4 each, ending in LF or CRLF, the padding in the last group of the last one. Leaves
 * *p at the END line. The byte count, or -1 for anything else (OpenSSL's PEM reader then decides). */
static long pem_body_decode(unsigned char *der, size_t cap, const char **p, const char *e)
{
	const char *q = *p, *nl, *le;
	size_t n = 0, l, k;

	while (q < e && *q != '-') {
		if (!(nl = memchr(q, '\n', (size_t)(e - q))))
			return -1;
		le = nl > q && nl[-1] == '\r' ? nl - 1 : nl;
		l = (size_t)(le - q);
		if (l == 0 || l > 76 || l % 4 || cap - n < l / 4 * 3)
			return -1; /* blank or long lines, partial groups: leave them to OpenSSL */
		if (le[-1] != '=') {
			if (fca_base64_decode_groups(der + n, q, l) != FCA_OK)
				return -1;
			n += l / 4 * 3;
			q = nl + 1;
			continue;
		}
		/* the padded group ends the body: the END line must follow */
		if (fca_base64_decode_groups(der + n, q, l - 4) != FCA_OK)
			return -1;
		n += (l - 4) / 4 * 3;
		if (fca_base64_decode(der + n, cap - n, &k, le - 4, 4) != FCA_OK)
			return -1;
		n += k;
		q = nl + 1;
		if (q >= e || *q != '-')
			return -1;
	}
	*p = q;
	return (long)n;
}

static int ids_fast(struct fca_issued_ids *ids, const char *pem, size_t len, int want_sha256)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
	unsigned char der[AKI_DER_MAX + 4];
	const char *p = pem, *e = pem + len;
	long n;

	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if ((size_t)(e - p) < sizeof(begin) - 1 || memcmp(p, begin, sizeof(begin) - 1))
		return -1;
	p += sizeof(begin) - 1;
	if (p < e && *p == '\r')
		p++;
	if (p >= e || *p++ != '\n')
		return -1;
	if ((n = pem_body_decode(der, AKI_DER_MAX, &p, e)) <= 0)
		return -1;
	if ((size_t)(e - p) < sizeof(end) - 1 || memcmp(p, end, sizeof(end) - 1))
		return -1;
	if (ids_from_der(der, (size_t)n, ids) != 1)
		return -1;
	if (want_sha256 && !sha256(ids->sha256, der, (size_t)n))
		return -1;
	return 1;
}

/* The full parse: the first certificate block as OpenSSL's PEM reader finds it, its bytes hashed as
 * they are (the fast path hashes the same bytes), then decoded. */
static int ids_full(struct fca_issued_ids *ids, const char *pem, size_t len, int want_sha256)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	unsigned char *data = NULL;
	const unsigned char *p;
	long dlen = 0;
	X509 *x = NULL;
	const ASN1_OCTET_STRING *a;
	int r = FCA_EINVALID;

	if (!b || PEM_bytes_read_bio(&data, &dlen, NULL, PEM_STRING_X509, b, NULL, NULL) != 1 || dlen <= 0)
		goto out;
	p = data;
	if (!(x = d2i_X509(NULL, &p, dlen)))
		goto out;
	/* the certificate's bytes: what d2i read, not what the PEM block may hold after them */
	if (want_sha256 && !sha256(ids->sha256, data, (size_t)(p - data)))
		goto out;
	if ((a = X509_get0_authority_key_id(x)) && (size_t)ASN1_STRING_length(a) <= sizeof(ids->aki)) {
		ids->aki_len = (size_t)ASN1_STRING_length(a);
		memcpy(ids->aki, ASN1_STRING_get0_data(a), ids->aki_len);
	}
	ids->issuer_len = name_der(ids->issuer, X509_get_issuer_name(x));
	r = FCA_OK;
out:
	ERR_clear_error();
	X509_free(x);
	OPENSSL_free(data);
	BIO_free(b);
	return r;
}

int fca_crypto_cert_ids(struct fca_issued_ids *ids, const char *pem, size_t len, int want_sha256)
{
	memset(ids, 0, sizeof(*ids));
	if (ids_fast(ids, pem, len, want_sha256) == 1)
		return FCA_OK;
	memset(ids, 0, sizeof(*ids));
	if (ids_full(ids, pem, len, want_sha256) != FCA_OK) {
		memset(ids, 0, sizeof(*ids));
		return fca_error_set(FCA_EINVALID, "issued certificate does not parse as PEM");
	}
	return FCA_OK;
}

int fca_crypto_cert_aki(unsigned char aki[64], size_t *aki_len, const char *pem, size_t len)
{
	struct fca_issued_ids ids;
	int r = fca_crypto_cert_ids(&ids, pem, len, 0);

	*aki_len = ids.aki_len;
	memcpy(aki, ids.aki, ids.aki_len);
	return r;
}

int fca_crypto_cert_signed_by(const char *cert_pem, size_t cert_len, const char *ca_pem, size_t ca_len)
{
	X509 *x = parse_cert(cert_pem, cert_len), *ca = parse_cert(ca_pem, ca_len);
	int ok = 0;

	if (x && ca)
		ok = X509_verify(x, X509_get0_pubkey(ca)) == 1;
	ERR_clear_error();
	X509_free(x);
	X509_free(ca);
	return ok;
}

/* Fleet's SKI: the first 20 bytes of SHA-256 over the PKCS#1 RSAPublicKey DER (the BIT STRING's
 * contents), as Fleet computes it for the CAs it makes; md gets all 32 bytes. */
static int fleet_ski(unsigned char md[32], X509 *x, const char *what)
{
	const ASN1_BIT_STRING *bits;
	unsigned int l = 0;
	int r = FCA_ERROR;

	OSSL_GUARD(bits = X509_get0_pubkey_bitstr(x), what);
	OSSL_GUARD(
	    EVP_Digest(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), md, &l, EVP_sha256(), NULL) == 1,
	    what);
	r = FCA_OK;
out:
	return r;
}

int fca_crypto_fleet_ski(unsigned char out[20], const char *cert_pem, size_t len)
{
	X509 *x = parse_cert(cert_pem, len);
	unsigned char md[32];
	int r;

	if (!x) {
		ERR_clear_error();
		return fca_error_set(FCA_EINVALID, "certificate does not parse");
	}
	if ((r = fleet_ski(md, x, "computing Fleet's SKI")) == FCA_OK)
		memcpy(out, md, 20);
	X509_free(x);
	return r;
}

/* Fleet's SKI of x's key as an OCTET STRING (*out is the caller's to free). */
static int fleet_ski_octets(ASN1_OCTET_STRING **out, X509 *x, const char *what)
{
	unsigned char md[32];
	ASN1_OCTET_STRING *os = NULL;
	int r;

	*out = NULL;
	if ((r = fleet_ski(md, x, what)) != 0)
		return r;
	r = FCA_ERROR;
	OSSL_GUARD(os = ASN1_OCTET_STRING_new(), what);
	OSSL_GUARD(ASN1_OCTET_STRING_set(os, md, 20), what);
	*out = os;
	os = NULL;
	r = FCA_OK;
out:
	ASN1_OCTET_STRING_free(os);
	return r;
}

/* The SKI and the AKI's keyIdentifier of x set to ski, or to Fleet's SKI of x's key when ski is NULL. */
static int set_key_ids(X509 *x, const ASN1_OCTET_STRING *ski, const char *what)
{
	ASN1_OCTET_STRING *own = NULL;
	AUTHORITY_KEYID *akid = NULL;
	int r = FCA_ERROR;

	if (!ski) {
		if ((r = fleet_ski_octets(&own, x, what)) != 0)
			goto out;
		r = FCA_ERROR;
		ski = own;
	}
	OSSL_GUARD(X509_add1_ext_i2d(x, NID_subject_key_identifier, (ASN1_OCTET_STRING *)ski, 0, X509V3_ADD_REPLACE) ==
		       1,
		   what);
	OSSL_GUARD(akid = AUTHORITY_KEYID_new(), what);
	OSSL_GUARD(akid->keyid = ASN1_OCTET_STRING_dup(ski), what);
	OSSL_GUARD(X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_REPLACE) == 1, what);
	r = FCA_OK;
out:
	AUTHORITY_KEYID_free(akid);
	ASN1_OCTET_STRING_free(own);
	return r;
}

/* A fresh random positive serial of 128 bits, never 0 or 1 (every Fleet-made CA has serial 1). */
static int set_random_serial(X509 *x, const char *what)
{
	BIGNUM *bn = NULL;
	int r = FCA_ERROR;

	OSSL_GUARD(bn = BN_new(), what);
	do {
		OSSL_GUARD(BN_rand(bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1, what);
	} while (BN_is_zero(bn) || BN_is_one(bn));
	OSSL_GUARD(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)), what);
	r = FCA_OK;
out:
	BN_free(bn);
	return r;
}

static int add_ext(X509 *x, int nid, const char *value, const char *what)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e = NULL;
	int r = FCA_ERROR;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	OSSL_GUARD(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value), what);
	OSSL_GUARD(X509_add_ext(x, e, -1), what);
	r = FCA_OK;
out:
	X509_EXTENSION_free(e);
	return r;
}

static int add_name(X509_NAME *n, const char *field, const char *v, int type, const char *what)
{
	int r = FCA_ERROR;

	if (v && *v)
		OSSL_GUARD(X509_NAME_add_entry_by_txt(n, field, type, (const unsigned char *)v, -1, -1, 0), what);
	r = FCA_OK;
out:
	return r;
}

static int set_validity(X509 *x, int64_t nb, int64_t na, const char *what)
{
	int r = FCA_ERROR;

	OSSL_GUARD(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb), what);
	OSSL_GUARD(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na), what);
	r = FCA_OK;
out:
	return r;
}

static int cert_to_pem(char **out, size_t *out_len, X509 *x)
{
	const char *what = "encoding the certificate";
	BIO *b = NULL;
	char *p = NULL;
	long l;
	int r = FCA_ERROR;

	OSSL_GUARD(b = BIO_new(BIO_s_mem()), what);
	OSSL_GUARD(PEM_write_bio_X509(b, x) == 1, what);
	OSSL_GUARD(BIO_get_mem_data(b, &p) > 0, what);
	l = BIO_get_mem_data(b, &p);
	if (!(*out = malloc((size_t)l + 1))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, p, (size_t)l);
	(*out)[l] = '\0';
	*out_len = (size_t)l;
	r = FCA_OK;
out:
	BIO_free(b);
	return r;
}

/* PKCS#1 "RSA PRIVATE KEY" PEM into a secret; the BIO's copy is wiped before it is freed. */
static int key_to_pem(struct fca_secret *out, EVP_PKEY *k)
{
	const char *what = "encoding the private key";
	BIO *b = NULL;
	BUF_MEM *bm = NULL;
	int r = FCA_ERROR;

	out->data = NULL;
	OSSL_GUARD(b = BIO_new(BIO_s_mem()), what);
	OSSL_GUARD(PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL) == 1, what);
	OSSL_GUARD(BIO_get_mem_ptr(b, &bm) == 1 && bm, what);
	r = fca_secret_set(out, bm->data, bm->length);
out:
	if (bm && bm->data)
		OPENSSL_cleanse(bm->data, bm->max);
	BIO_free(b);
	return r;
}

/* The parts of a self-signed CA certificate of spec that do not depend on its key: version, a fresh
 * random serial, subject and issuer, validity, basic constraints (CA:TRUE, pathlen 0) and key
 * usage, as Fleet makes them (docs/architecture.md). */
static int ca_cert_template(X509 **out, const struct fca_ca_spec *spec)
{
	const char *what = "building the CA certificate";
	X509 *x = NULL;
	X509_NAME *name = NULL;
	int r = FCA_ERROR;

	*out = NULL;
	OSSL_GUARD(x = X509_new(), what);
	OSSL_GUARD(name = X509_NAME_new(), what);
	if ((r = add_name(name, "C", spec->subject.c, MBSTRING_ASC, what)) != 0 ||
	    (r = add_name(name, "O", spec->subject.o, MBSTRING_UTF8, what)) != 0 ||
	    (r = add_name(name, "OU", spec->subject.ou, MBSTRING_UTF8, what)) != 0 ||
	    (r = add_name(name, "CN", spec->subject.cn, MBSTRING_UTF8, what)) != 0)
		goto out;
	r = FCA_ERROR;
	OSSL_GUARD(X509_set_version(x, X509_VERSION_3), what);
	if ((r = set_random_serial(x, what)) != 0)
		goto out;
	r = FCA_ERROR;
	OSSL_GUARD(X509_set_subject_name(x, name), what);
	OSSL_GUARD(X509_set_issuer_name(x, name), what);
	if ((r = set_validity(x, spec->not_before, spec->not_after, what)) != 0 ||
	    (r = add_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", what)) != 0 ||
	    (r = add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign", what)) != 0)
		goto out;
	*out = x;
	x = NULL;
	r = FCA_OK;
out:
	X509_NAME_free(name);
	X509_free(x);
	return r;
}

/* Puts key k into a template: the public key, Fleet's SKI and AKI (ski NULL means Fleet's SKI of
 * the key), and the SHA-256 self-signature. */
static int ca_cert_finish(X509 *x, EVP_PKEY *k, const ASN1_OCTET_STRING *ski)
{
	const char *what = "building the CA certificate";
	int r = FCA_ERROR;

	OSSL_GUARD(X509_set_pubkey(x, k), what);
	if ((r = set_key_ids(x, ski, what)) != 0)
		goto out;
	r = FCA_ERROR;
	OSSL_GUARD(X509_sign(x, k, EVP_sha256()), what);
	r = FCA_OK;
out:
	return r;
}

/* A self-signed CA certificate of spec on key k, with a fresh random serial; ski NULL means Fleet's
 * SKI of the key. */
static int build_ca_cert(X509 **out, EVP_PKEY *k, const struct fca_ca_spec *spec, const ASN1_OCTET_STRING *ski)
{
	int r;

	if ((r = ca_cert_template(out, spec)) != 0)
		return r;
	if ((r = ca_cert_finish(*out, k, ski)) != 0) {
		X509_free(*out);
		*out = NULL;
	}
	return r;
}

/*
 * RSA key generation, in the background. A key is a random search for two primes: 60 to 700 ms at
 * 2048 bits on one core here, and most of a stage step. Each of up to FCA_KEYGEN_MAX_SEARCHES threads
 * (one per CPU this process may run on) runs a whole, independent OpenSSL key generation; the first
 * key found is the key, and the generation callback stops the other searches. Every search is an
 * ordinary OpenSSL key generation with its own randomness from OpenSSL's DRBG; only the wait is
 * shorter (the fastest of n searches, not one) and steadier. The executor starts the
 * searches as soon as its plan has a stage step, so they also run while it takes the lock and looks
 * at the rows again. The key stays in OpenSSL's memory (freed with RSA_free's clearing frees) until
 * fca_crypto_generate_ca writes it into a secret buffer on the calling thread.
 */
#define FCA_KEYGEN_MAX_SEARCHES 4

struct keygen_search {
	struct fca_keygen *kg;
	pthread_t thread;
	EVP_PKEY *key;	  /* set by the search that found the first key */
	char reason[256]; /* why a search failed (OpenSSL's words), when it was not stopped */
};

struct fca_keygen {
	int bits;
	int nsearches;
	int joined;
	int spent;	 /* its key was taken */
	atomic_int done; /* 1 once a key exists or the generation was cancelled: the searches stop */
	struct keygen_search searches[FCA_KEYGEN_MAX_SEARCHES];
};

/* OpenSSL calls this as a search goes; 0 stops it. */
static int keygen_continue(EVP_PKEY_CTX *ctx)
{
	struct fca_keygen *kg = EVP_PKEY_CTX_get_app_data(ctx);

	return !atomic_load_explicit(&kg->done, memory_order_relaxed);
}

static void *keygen_search_run(void *arg)
{
	struct keygen_search *ks = arg;
	struct fca_keygen *kg = ks->kg;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;
	int expected = 0;

	if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, kg->bits) == 1) {
		EVP_PKEY_CTX_set_app_data(ctx, kg);
		EVP_PKEY_CTX_set_cb(ctx, keygen_continue);
		if (EVP_PKEY_generate(ctx, &k) == 1 &&
		    atomic_compare_exchange_strong_explicit(&kg->done, &expected, 1, memory_order_acq_rel,
							    memory_order_relaxed)) {
			ks->key = k;
			k = NULL;
		}
	}
	if (!ks->key && !atomic_load(&kg->done))
		snprintf(ks->reason, sizeof(ks->reason), "%s", ossl_reason());
	ERR_clear_error();
	EVP_PKEY_free(k); /* a key found after the first: not used */
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

/* The CPUs this process may run on (its affinity mask, so taskset and cpusets count), at least 1. */
static int usable_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return n;
	return 1;
}

int fca_crypto_keygen_start(struct fca_keygen **out, int bits, int searches)
{
	struct fca_keygen *kg;
	sigset_t all, old;

	*out = NULL;
	if (bits < 2048 || bits > 8192)
		return fca_error_set(FCA_EINVALID, "RSA key size %d is out of range (2048..8192)", bits);
	if (searches <= 0)
		searches = usable_cpus();
	if (searches > FCA_KEYGEN_MAX_SEARCHES)
		searches = FCA_KEYGEN_MAX_SEARCHES;
	if (!(kg = calloc(1, sizeof(*kg))))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	kg->bits = bits;
	atomic_init(&kg->done, 0);
	/* The searches take no signals: the main thread's handlers and interrupted calls stay its own. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < searches; i++) {
		struct keygen_search *ks = &kg->searches[kg->nsearches];
		ks->kg = kg;
		if (pthread_create(&ks->thread, NULL, keygen_search_run, ks) != 0)
			break; /* fewer searches; none at all: fca_crypto_generate_ca searches on its own thread */
		kg->nsearches++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = kg;
	return FCA_OK;
}

int fca_crypto_keygen_searches(const struct fca_keygen *kg)
{
	return kg ? kg->nsearches : 0;
}

static void keygen_join(struct fca_keygen *kg)
{
	if (kg->joined)
		return;
	for (int i = 0; i < kg->nsearches; i++)
		pthread_join(kg->searches[i].thread, NULL);
	kg->joined = 1;
}

void fca_crypto_keygen_free(struct fca_keygen *kg)
{
	if (!kg)
		return;
	atomic_store(&kg->done, 1);
	keygen_join(kg);
	for (int i = 0; i < kg->nsearches; i++)
		EVP_PKEY_free(kg->searches[i].key);
	free(kg);
}

/* Waits for kg's key and takes it; with no search running, searches on this thread. */
static int keygen_take(EVP_PKEY **key, struct fca_keygen *kg)
{
	const char *what = "RSA key generation";
	int r = FCA_ERROR;

	*key = NULL;
	if (kg->nsearches == 0) {
		kg->spent = 1;
		OSSL_GUARD(*key = EVP_RSA_gen((unsigned)kg->bits), what);
		return FCA_OK;
	}
	keygen_join(kg);
	for (int i = 0; i < kg->nsearches && !*key; i++) {
		*key = kg->searches[i].key;
		kg->searches[i].key = NULL;
	}
	kg->spent = 1;
	if (*key)
		return FCA_OK;
	for (int i = 0; i < kg->nsearches; i++)
		if (kg->searches[i].reason[0])
			return fca_error_set(FCA_ERROR, "%s: EVP_PKEY_generate failed: %s", what,
					     kg->searches[i].reason);
	r = fca_error_set(FCA_ERROR, "%s: every search stopped without a key or a reason", what);
out:
	return r;
}

int fca_crypto_generate_ca(struct fca_secret *key_pem, char **cert_pem, size_t *cert_len,
			   const struct fca_ca_spec *spec, struct fca_keygen *started)
{
	struct fca_keygen *own = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int r = FCA_ERROR;

	key_pem->data = NULL;
	*cert_pem = NULL;
	if (!started || started->spent || started->bits != spec->key_bits) {
		if ((r = fca_crypto_keygen_start(&own, spec->key_bits, 0)) != 0)
			return r;
		started = own;
	}
	/* what does not need the key is done while the key is being found */
	if ((r = ca_cert_template(&x, spec)) != 0 || (r = keygen_take(&k, started)) != 0 ||
	    (r = ca_cert_finish(x, k, NULL)) != 0 || (r = key_to_pem(key_pem, k)) != 0 ||
	    (r = cert_to_pem(cert_pem, cert_len, x)) != 0)
		goto out;
	r = FCA_OK;
out:
	if (r != FCA_OK)
		fca_secret_dispose(key_pem);
	X509_free(x);
	EVP_PKEY_free(k);
	fca_crypto_keygen_free(own);
	return r;
}

/*
 * The certificate and key a new certificate is made from, parsed and checked to belong together;
 * the messages say "<who>: the <cert_name> does not parse" and so on.
 */
static int load_pair(X509 **cert, EVP_PKEY **key, const char *cert_pem, size_t cert_len,
		     const struct fca_secret *key_pem, const char *who, const char *cert_name, const char *key_name)
{
	int r = FCA_EINVALID;

	*key = NULL;
	if (!(*cert = parse_cert(cert_pem, cert_len))) {
		r = fca_error_set(FCA_EINVALID, "%s: the %s does not parse", who, cert_name);
		goto out;
	}
	if (!(*key = parse_key(key_pem))) {
		r = fca_error_set(FCA_EINVALID, "%s: the %s does not parse", who, key_name);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(*cert), *key) != 1) {
		r = fca_error_set(FCA_EINVALID, "%s: the %s does not match the %s", who, key_name, cert_name);
		goto out;
	}
	r = FCA_OK;
out:
	ERR_clear_error();
	if (r != FCA_OK) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	return r;
}

int fca_crypto_new_ca_same_key(char **cert_pem, size_t *cert_len, const struct fca_secret *key_pem,
			       const char *old_cert_pem, size_t old_len, const struct fca_ca_spec *spec)
{
	X509 *old = NULL, *x = NULL;
	EVP_PKEY *k = NULL;
	ASN1_OCTET_STRING *fleet = NULL;
	const ASN1_OCTET_STRING *ski;
	int r = FCA_ERROR;

	*cert_pem = NULL;
	if ((r = load_pair(&old, &k, old_cert_pem, old_len, key_pem, "key: keep", "signing certificate",
			   "signing key")) != 0)
		goto out;
	/* the same key, the same SKI bytes (Fleet's SKI of the key when the old one has none) */
	if (!(ski = X509_get0_subject_key_id(old))) {
		if ((r = fleet_ski_octets(&fleet, old, "key: keep: computing the SKI")) != 0)
			goto out;
		ski = fleet;
	}
	if ((r = build_ca_cert(&x, k, spec, ski)) != 0)
		goto out;
	r = cert_to_pem(cert_pem, cert_len, x);
out:
	ASN1_OCTET_STRING_free(fleet);
	X509_free(x);
	X509_free(old);
	EVP_PKEY_free(k);
	return r;
}

#define REISSUE "renew: reissuing the CA certificate"

int fca_crypto_renew_ca(char **cert_pem, size_t *cert_len, const struct fca_secret *key_pem, const char *old_cert_pem,
			size_t old_len, int64_t not_before, int64_t not_after)
{
	X509 *old = NULL, *x = NULL;
	EVP_PKEY *k = NULL;
	int r = FCA_ERROR;

	*cert_pem = NULL;
	if ((r = load_pair(&old, &k, old_cert_pem, old_len, key_pem, "renew", "current certificate", "private key")) !=
	    0)
		goto out;
	r = FCA_ERROR;
	OSSL_GUARD(x = X509_new(), REISSUE);
	OSSL_GUARD(X509_set_version(x, X509_VERSION_3), REISSUE);
	if ((r = set_random_serial(x, REISSUE)) != 0)
		goto out;
	r = FCA_ERROR;
	OSSL_GUARD(X509_set_subject_name(x, X509_get_subject_name(old)), REISSUE);
	OSSL_GUARD(X509_set_issuer_name(x, X509_get_issuer_name(old)), REISSUE);
	if ((r = set_validity(x, not_before, not_after, REISSUE)) != 0)
		goto out;
	r = FCA_ERROR;
	OSSL_GUARD(X509_set_pubkey(x, k), REISSUE);
	/* Same extensions, bytes and all: SKI, key usage, basic constraints (and AKI if any). */
	for (int i = 0; i < X509_get_ext_count(old); i++)
		OSSL_GUARD(X509_add_ext(x, X509_get_ext(old, i), -1), REISSUE);
	OSSL_GUARD(X509_sign(x, k, EVP_sha256()), REISSUE);
	r = cert_to_pem(cert_pem, cert_len, x);
out:
	X509_free(x);
	X509_free(old);
	EVP_PKEY_free(k);
	return r;
}

/* A CMS envelope as Fleet stores an escrow: base64 of its DER (decoded as Go's StdEncoding). */
static CMS_ContentInfo *cms_from_base64(const char *b64, size_t len)
{
	unsigned char *der = malloc(FCA_BASE64_DECODED_MAX(len) + 1);
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	size_t n;

	if (der && fca_base64_decode(der, FCA_BASE64_DECODED_MAX(len), &n, b64, len) == FCA_OK && n <= LONG_MAX)
		cms = d2i_CMS_ContentInfo(NULL, &p, (long)n);
	free(der);
	return cms;
}

int fca_crypto_cms_recipient_is(const char *b64, size_t len, const char *cert_pem, size_t cert_len)
{
	CMS_ContentInfo *cms = NULL;
	X509 *x = NULL;
	STACK_OF(CMS_RecipientInfo) * ris;
	int r = FCA_EINVALID;

	if (!(x = parse_cert(cert_pem, cert_len)))
		goto out;
	if (!(cms = cms_from_base64(b64, len)) || !(ris = CMS_get0_RecipientInfos(cms)))
		goto out;
	r = 0;
	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS && CMS_RecipientInfo_ktri_cert_cmp(ri, x) == 0) {
			r = 1;
			break;
		}
	}
out:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	X509_free(x);
	return r;
}

/* ---- FileVault escrows Fleet can decrypt today (include/fleetca/crypto.h) ---------------------- */

#define KEYRING_MAX_CERTS 1024

struct fca_escrow_keyring {
	EVP_PKEY *pub;			 /* the signing certificate's key */
	EVP_PKEY *key;			 /* its private half, only once an escrow needs a decryption */
	X509 *certs[KEYRING_MAX_CERTS];	 /* every ca_cert row's first certificate */
	int same_key[KEYRING_MAX_CERTS]; /* its public key is `pub`: Fleet tries it */
	size_t n;
};

int fca_crypto_keyring_new(struct fca_escrow_keyring **out, const char *cert_pem, size_t len)
{
	struct fca_escrow_keyring *kr;
	X509 *x = parse_cert(cert_pem, len);

	*out = NULL;
	if (!x) {
		ERR_clear_error();
		return fca_error_set(FCA_EINVALID, "the signing Apple CA certificate does not parse");
	}
	if (!(kr = calloc(1, sizeof(*kr))) || !(kr->pub = X509_get_pubkey(x))) {
		free(kr);
		X509_free(x);
		return fca_error_set(FCA_ENOMEM, "out of memory");
	}
	X509_free(x);
	*out = kr;
	return FCA_OK;
}

int fca_crypto_keyring_set_key(struct fca_escrow_keyring *kr, const struct fca_secret *key_pem)
{
	EVP_PKEY *k = parse_key(key_pem);

	if (!k || EVP_PKEY_eq(k, kr->pub) != 1) {
		ERR_clear_error();
		EVP_PKEY_free(k);
		return fca_error_set(FCA_EINVALID,
				     "the Apple CA key does not parse or is not the signing certificate's");
	}
	EVP_PKEY_free(kr->key);
	kr->key = k;
	return FCA_OK;
}

int fca_crypto_keyring_add_cert(struct fca_escrow_keyring *kr, const char *pem, size_t len)
{
	X509 *x = parse_cert(pem, len);

	if (!x) {
		ERR_clear_error();
		return FCA_EINVALID;
	}
	if (kr->n >= KEYRING_MAX_CERTS) {
		X509_free(x);
		return fca_error_set(FCA_ERROR, "more than %d ca_cert rows", KEYRING_MAX_CERTS);
	}
	kr->same_key[kr->n] = EVP_PKEY_eq(X509_get0_pubkey(x), kr->pub) == 1;
	kr->certs[kr->n++] = x;
	ERR_clear_error();
	return kr->same_key[kr->n - 1];
}

/* Go's CMS reader matches a recipient by the exact bytes of the certificate's issuer and its serial. */
static int recipient_is(CMS_RecipientInfo *ri, X509 *x)
{
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *sno = NULL;
	const unsigned char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;

	if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS ||
	    CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, &issuer, &sno) != 1 || !issuer || !sno)
		return 0;
	if (X509_NAME_get0_der(issuer, &a, &alen) != 1 || X509_NAME_get0_der(X509_get_issuer_name(x), &b, &blen) != 1)
		return 0;
	return alen == blen && memcmp(a, b, alen) == 0 && ASN1_INTEGER_cmp(sno, X509_get0_serialNumber(x)) == 0;
}

/*
 * Whether the certificate the escrow names as its recipient can tell the rows apart: when another
 * ca_cert row (with another key) has the same issuer and serial (every Fleet-made CA is serial 1
 * with the same subject), only a decryption can say which key the escrow was made for.
 */
static int ambiguous(const struct fca_escrow_keyring *kr, CMS_RecipientInfo *ri)
{
	for (size_t i = 0; i < kr->n; i++)
		if (!kr->same_key[i] && recipient_is(ri, kr->certs[i]))
			return 1;
	return 0;
}

int fca_crypto_keyring_can_decrypt(const struct fca_escrow_keyring *kr, const char *b64, size_t len)
{
	BIO *sink = NULL;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_RecipientInfo) * ris;
	int r = FCA_EINVALID;

	if (!(cms = cms_from_base64(b64, len)) || !(ris = CMS_get0_RecipientInfos(cms)))
		goto out;
	r = 0;
	for (size_t c = 0; c < kr->n && r == 0; c++) {
		if (!kr->same_key[c])
			continue;
		for (int i = 0; i < sk_CMS_RecipientInfo_num(ris) && r == 0; i++) {
			CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
			if (!recipient_is(ri, kr->certs[c]))
				continue;
			if (!ambiguous(kr, ri)) {
				r = 1; /* made for this certificate, whose key is the current one */
				break;
			}
			if (!kr->key) {
				r = FCA_KEYRING_NEEDS_KEY;
				goto out;
			}
			/* Decrypt as Fleet would (key transport, then the content and its padding), into a
			 * sink that keeps nothing: the recovery key is never held. CMS_DEBUG_DECRYPT makes a
			 * wrong key an error instead of a random content key. */
			if (!sink && !(sink = BIO_new(BIO_s_null()))) {
				r = fca_error_set(FCA_ENOMEM, "out of memory");
				goto out;
			}
			r = CMS_decrypt(cms, kr->key, kr->certs[c], NULL, sink, CMS_BINARY | CMS_DEBUG_DECRYPT) == 1;
		}
	}
out:
	ERR_clear_error();
	CMS_ContentInfo_free(cms);
	BIO_free(sink);
	return r;
}

void fca_crypto_keyring_free(struct fca_escrow_keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++)
		X509_free(kr->certs[i]);
	EVP_PKEY_free(kr->key);
	EVP_PKEY_free(kr->pub);
	free(kr);
}

const char *fca_crypto_library_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION_STRING);
}
