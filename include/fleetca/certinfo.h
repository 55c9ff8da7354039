/* What fleetca knows about one certificate, filled by src/io/crypto.c (pure data, no OpenSSL). */
#ifndef FLEETCA_CERTINFO_H
#define FLEETCA_CERTINFO_H

#include <stddef.h>
#include <stdint.h>

enum fca_defect {
	FCA_DEFECT_EMPTY_COUNTRY = 1u << 0, /* C= with an empty value (Fleet #38699) */
	FCA_DEFECT_EMPTY_RDN = 1u << 1,	    /* another RDN attribute with an empty value */
	FCA_DEFECT_WEAK_KEY = 1u << 2,	    /* RSA under 2048 bits */
	FCA_DEFECT_NOT_CA = 1u << 3,	    /* basicConstraints CA:FALSE or absent */
	FCA_DEFECT_EXPIRED = 1u << 4,
	FCA_DEFECT_EXPIRING = 1u << 5, /* less than a year left */
};
#define FCA_DEFECT_COUNT 6
/* "empty_country", … for bit i */
const char *fca_defect_name(unsigned bit_index);
/* One sentence: what it means and what to do. */
const char *fca_defect_advice(unsigned bit_index);

/* The longest subject or issuer Name kept as DER bytes; a longer one is kept as unknown (len 0). */
#define FCA_NAME_DER_MAX 1024

struct fca_cert_info {
	char subject[512]; /* RFC 4514: "CN=Fleet,OU=SCEP CA,O=scep-ca,C=" */
	char issuer[512];
	/* The Names as encoded in the certificate: Go's chain building (Fleet's verifier) compares these bytes. */
	unsigned char subject_der[FCA_NAME_DER_MAX];
	size_t subject_der_len; /* 0 = unknown (longer than FCA_NAME_DER_MAX) */
	unsigned char issuer_der[FCA_NAME_DER_MAX];
	size_t issuer_der_len;
	/* SHA-256 of the SubjectPublicKeyInfo DER: two certificates hold the same key when these match. */
	unsigned char spki_sha256[32];
	int has_spki;
	unsigned char sha256[32];
	char sha256_hex[65]; /* lowercase, no separators */
	unsigned char ski[64];
	size_t ski_len;
	unsigned char aki[64];
	size_t aki_len;
	char serial_hex[84]; /* lowercase */
	int64_t not_before, not_after;
	char key_type[16]; /* "RSA", "EC" */
	int key_bits;
	int is_ca;
	int self_signed;
	int malformed_extensions; /* OpenSSL could not decode an extension (its AKI/SKI then read as absent) */
	unsigned defects;	  /* enum fca_defect bits */
};

/*
 * A certificate row's facts, kept in the state document so that a run whose rows have not changed
 * need not decrypt and parse them again: one line of text, tied to the row's md5_checksum (the
 * value's MD5: a different ciphertext is a different line). It holds what planning and rendering
 * read (fingerprint, subject and its DER, serial, validity, SKI, key type and size, SPKI digest,
 * the defects but expiry); issuer, AKI, is_ca and self_signed are not kept (read as 0).
 */
#define FCA_CERT_FACTS_MAX 2560
/* Writes the line for a certificate row (md5_hex: its md5_checksum, 32 hex digits): 0, or -1 when
 * it would not fit (the row is then simply not cached). */
int fca_cert_facts_encode(char out[FCA_CERT_FACTS_MAX], const char *md5_hex, const struct fca_cert_info *info);
/* 1 and *info filled (expiry defects computed for now) when line is well-formed and names md5_hex;
 * 0 when it names another row; -1 when it is not a line fca_cert_facts_encode writes. */
int fca_cert_facts_decode(struct fca_cert_info *info, const char *line, const char *md5_hex, int64_t now);

#endif
