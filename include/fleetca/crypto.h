/* Crypto (src/io/crypto.c, the only file that includes OpenSSL): Fleet's envelope, certificates. */
#ifndef FLEETCA_CRYPTO_H
#define FLEETCA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/certinfo.h"
#include "fleetca/desired.h"
#include "fleetca/error.h"
#include "fleetca/secret.h"

#define FCA_GCM_NONCE	     12
#define FCA_GCM_TAG	     16
#define FCA_SERVER_KEY_BYTES 32

/*
 * Takes Fleet's server private key string (FLEET_SERVER_PRIVATE_KEY) and keeps its first 32
 * bytes as the AES-256 key, as Fleet does. Refuses shorter keys.
 */
int fca_crypto_server_key(struct fca_secret *aes_key, const struct fca_secret *server_key) FCA_MUST_USE;

/* Initialises OpenSSL for a process that will not clean it up at exit: before any other library
 * (the MySQL client) initialises it. Optional, at most once. */
void fca_crypto_init(void);
/* Which AES-256-GCM the envelope uses: "built-in" (OpenSSL's own, without a provider fetch),
 * "provider" (fetched: a FIPS configuration), or "none" (neither could be had). */
const char *fca_crypto_gcm_implementation(void);
/* Decrypts nonce(12) || ciphertext || tag(16) into a secret. asset names the row in errors. */
int fca_crypto_decrypt(struct fca_secret *out, const struct fca_secret *aes_key, const unsigned char *in, size_t len,
		       const char *asset) FCA_MUST_USE;
/* Encrypts with a fresh random nonce; *out is malloc'd (ciphertext is not secret). */
int fca_crypto_encrypt(unsigned char **out, size_t *out_len, const struct fca_secret *aes_key, const unsigned char *in,
		       size_t len) FCA_MUST_USE;

void fca_crypto_md5_hex(char out[33], const unsigned char *p, size_t n); /* uppercase, as Fleet */
void fca_crypto_sha256_hex(char out[65], const unsigned char *p, size_t n);
int fca_crypto_random(unsigned char *buf, size_t n) FCA_MUST_USE;
int fca_crypto_uuid4(char out[37]) FCA_MUST_USE;

/* Parses one PEM certificate and fills info; defects are judged against now. */
int fca_crypto_cert_inspect(struct fca_cert_info *info, const char *pem, size_t len, int64_t now,
			    const char *asset) FCA_MUST_USE;
/* FCA_OK when the PEM private key is the key of the certificate, FCA_EINVALID when not. */
int fca_crypto_key_matches(const struct fca_secret *key_pem, const char *cert_pem, size_t cert_len,
			   const char *asset) FCA_MUST_USE;

/* Fleet's SKI of the certificate's public key: SHA-256(PKCS#1 RSAPublicKey DER)[0:20]. */
int fca_crypto_fleet_ski(unsigned char out[20], const char *cert_pem, size_t len) FCA_MUST_USE;

/* What the scans need of one issued certificate, from a lean parse (a fast DER walk for the shape
 * Fleet writes, else OpenSSL's full parse; both give the same answers). */
struct fca_issued_ids {
	unsigned char aki[64];
	size_t aki_len;				/* 0 when absent */
	unsigned char issuer[FCA_NAME_DER_MAX]; /* the issuer Name's DER, as encoded */
	size_t issuer_len;			/* 0 when longer than FCA_NAME_DER_MAX */
	unsigned char sha256[32];		/* of the certificate's DER (want_sha256 only) */
};
int fca_crypto_cert_ids(struct fca_issued_ids *ids, const char *pem, size_t len, int want_sha256) FCA_MUST_USE;
/* Lean parse for scans: the AKI of an issued certificate (aki_len 0 when absent). */
int fca_crypto_cert_aki(unsigned char aki[64], size_t *aki_len, const char *pem, size_t len) FCA_MUST_USE;
/* 1 when cert_pem's signature verifies with ca_pem's public key, 0 when not. */
int fca_crypto_cert_signed_by(const char *cert_pem, size_t cert_len, const char *ca_pem, size_t ca_len);

struct fca_ca_spec {
	struct fca_subject subject; /* C, O, OU, CN; an empty field is left out */
	int key_bits;		    /* RSA */
	int64_t not_before, not_after;
};

/*
 * An RSA key being generated in the background: `searches` independent OpenSSL key generations on
 * threads of their own (0: one per CPU this process may use, at most 4), the first key found kept
 * and the other searches stopped. Start it as soon as a key will be needed; fca_crypto_generate_ca
 * waits for it. If no thread can be started the key is generated later, on the caller's thread.
 */
struct fca_keygen;
int fca_crypto_keygen_start(struct fca_keygen **kg, int bits, int searches) FCA_MUST_USE;
/* How many searches are running (0 for NULL, or when no thread could be started). */
int fca_crypto_keygen_searches(const struct fca_keygen *kg);
/* Stops the searches, waits for them, and frees kg and any key it holds; NULL is fine. */
void fca_crypto_keygen_free(struct fca_keygen *kg);

/*
 * Generates an RSA key and a self-signed CA certificate in Fleet's shape (RSA, SHA-256,
 * CA:TRUE, Fleet's SKI, and an AKI keyIdentifier equal to it), with a random positive 128-bit serial. The key comes
 * back as PKCS#1 PEM in a secret buffer; the certificate PEM is malloc'd. The key is taken from
 * `started` when it is generating a key of spec's size and its key was not taken yet (free it
 * after), else generated here, the same way.
 */
int fca_crypto_generate_ca(struct fca_secret *key_pem, char **cert_pem, size_t *cert_len,
			   const struct fca_ca_spec *spec, struct fca_keygen *started) FCA_MUST_USE;
/*
 * key: keep: a new self-signed CA certificate of spec (new subject, fresh random serial, its own
 * validity) on the key of old_cert, with old_cert's SKI bytes. The key must be old_cert's.
 */
int fca_crypto_new_ca_same_key(char **cert_pem, size_t *cert_len, const struct fca_secret *key_pem,
			       const char *old_cert_pem, size_t old_len, const struct fca_ca_spec *spec) FCA_MUST_USE;
/*
 * Reissues old_cert with the same key, subject, SKI, key usage and basic constraints, a fresh
 * serial and the given validity.
 */
int fca_crypto_renew_ca(char **cert_pem, size_t *cert_len, const struct fca_secret *key_pem, const char *old_cert_pem,
			size_t old_len, int64_t not_before, int64_t not_after) FCA_MUST_USE;

/* Counts FileVault escrows: 1 when the base64 CMS EnvelopedData has a recipient with the
 * certificate's issuer and serial, 0 when not, FCA_EINVALID when it is not CMS. */
int fca_crypto_cms_recipient_is(const char *b64, size_t len, const char *cert_pem, size_t cert_len);

/*
 * FileVault escrows today's Fleet can decrypt (docs/architecture.md, section 7): with the current Apple CA
 * key only, trying the first certificate of every ca_cert row (live or soft-deleted) whose public
 * key is that key, the recipient found by issuer + serial. The keyring starts from the signing
 * certificate's public key and every row's certificate; the private key is needed only where two
 * rows with different keys share an issuer and serial (every Fleet-made CA is serial 1 with the
 * same subject), and only then does can_decrypt ask for it. Free the keyring once the count is made.
 */
struct fca_escrow_keyring;
#define FCA_KEYRING_NEEDS_KEY 2
int fca_crypto_keyring_new(struct fca_escrow_keyring **out, const char *cert_pem, size_t len) FCA_MUST_USE;
/* The signing key (its PEM stays the caller's, to wipe); FCA_EINVALID when it is not the certificate's. */
int fca_crypto_keyring_set_key(struct fca_escrow_keyring *kr, const struct fca_secret *key_pem) FCA_MUST_USE;
/* Adds one ca_cert row's first certificate: 1 when its key is the keyring's, 0 when not,
 * FCA_EINVALID (no message) when it is not a certificate, FCA_ERROR when the keyring is full. */
int fca_crypto_keyring_add_cert(struct fca_escrow_keyring *kr, const char *pem, size_t len);
/* 1 when Fleet would decrypt the base64 CMS escrow, 0 when not, FCA_EINVALID when it is not CMS,
 * FCA_KEYRING_NEEDS_KEY when only a decryption (into nothing) can tell and the key is not set yet:
 * set it and ask again. */
int fca_crypto_keyring_can_decrypt(const struct fca_escrow_keyring *kr, const char *b64, size_t len);
void fca_crypto_keyring_free(struct fca_escrow_keyring *kr);

#endif
