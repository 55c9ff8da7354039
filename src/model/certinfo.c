/* The defects fleetca finds in a CA certificate (include/fleetca/certinfo.h), and what to do about each. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/certinfo.h"
#include "fleetca/encoding.h"

static const struct {
	const char *name, *advice;
} defects[FCA_DEFECT_COUNT] = {
    {"empty_country",
     "the subject has an empty Country (C=), which macOS shows as \"< parser error >\" (Fleet #38699); "
     "rotate to a new generation (its subject gets C=US; for apple_scep, a released Fleet then "
     "disconnects the enrolled Macs: fleetca plan counts them)"},
    {"empty_rdn_value", "a subject attribute has an empty value; rotate to a new generation with a complete subject"},
    {"weak_key", "the RSA key is shorter than 2048 bits; rotate to a new generation with key: rsa-2048 or larger"},
    {"not_ca", "the certificate is not marked as a CA (basicConstraints); rotate to a new generation"},
    {"expired", "the certificate has expired; devices cannot renew against it: renew (same key) or rotate now"},
    {"expiring_soon", "less than a year of validity remains; set renew_before so fleetca renews it with the same key"},
};

const char *fca_defect_name(unsigned i)
{
	return i < FCA_DEFECT_COUNT ? defects[i].name : "unknown";
}
const char *fca_defect_advice(unsigned i)
{
	return i < FCA_DEFECT_COUNT ? defects[i].advice : "";
}

/* "f1 MD5 SHA256 NOT_BEFORE NOT_AFTER KEY_TYPE KEY_BITS DEFECTS SPKI SERIAL SKI SUBJECT_DER SUBJECT":
 * hex for digests, serial and SKI, base64 for the subject's DER and its RFC 4514 text, "-" for an
 * empty field, one space between fields. */
#define FACTS_FIELDS   13
#define EXPIRY_DEFECTS (FCA_DEFECT_EXPIRED | FCA_DEFECT_EXPIRING)

int fca_cert_facts_encode(char out[FCA_CERT_FACTS_MAX], const char *md5_hex, const struct fca_cert_info *info)
{
	char spki[65] = "-", ski[2 * sizeof(info->ski) + 1] = "-";
	char der[FCA_BASE64_ENCODED_LEN(FCA_NAME_DER_MAX) + 1] = "-", subj[FCA_BASE64_ENCODED_LEN(512) + 1] = "-";
	size_t slen = strnlen(info->subject, sizeof(info->subject));
	int n;

	if (strlen(md5_hex) != 32 || strlen(info->sha256_hex) != 64 || !info->key_type[0] ||
	    strchr(info->key_type, ' ') || info->subject_der_len > FCA_NAME_DER_MAX ||
	    info->ski_len > sizeof(info->ski) || slen == sizeof(info->subject))
		return -1;
	if (info->has_spki)
		fca_hex_encode(spki, info->spki_sha256, sizeof(info->spki_sha256), 0);
	if (info->ski_len)
		fca_hex_encode(ski, info->ski, info->ski_len, 0);
	if (info->subject_der_len)
		fca_base64_encode(der, info->subject_der, info->subject_der_len);
	if (slen)
		fca_base64_encode(subj, (const unsigned char *)info->subject, slen);
	n = snprintf(out, FCA_CERT_FACTS_MAX, "f1 %s %s %" PRId64 " %" PRId64 " %s %d %u %s %s %s %s %s", md5_hex,
		     info->sha256_hex, info->not_before, info->not_after, info->key_type, info->key_bits,
		     info->defects & ~(unsigned)EXPIRY_DEFECTS, spki, info->serial_hex[0] ? info->serial_hex : "-", ski,
		     der, subj);
	return n > 0 && n < FCA_CERT_FACTS_MAX ? 0 : -1;
}

static int is_hex_lower(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int is_hex_upper(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'F')))
			return 0;
	return 1;
}

static int get_i64(int64_t *v, const char *s, int64_t min, int64_t max)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || end == s || *end || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

static int b64_field(unsigned char *out, size_t cap, size_t *n, const char *s)
{
	*n = 0;
	if (!strcmp(s, "-"))
		return 0;
	return fca_base64_decode(out, cap, n, s, strlen(s)) == FCA_OK && *n > 0 ? 0 : -1;
}

int fca_cert_facts_decode(struct fca_cert_info *info, const char *line, const char *md5_hex, int64_t now)
{
	char buf[FCA_CERT_FACTS_MAX], *f[FACTS_FIELDS], *save = NULL, *tok;
	struct fca_cert_info c;
	unsigned char subj[512];
	size_t n = 0, len;
	int64_t v;

	if ((len = strnlen(line, FCA_CERT_FACTS_MAX)) == FCA_CERT_FACTS_MAX)
		return -1;
	memcpy(buf, line, len + 1);
	if (!(tok = strtok_r(buf, " ", &save)) || strcmp(tok, "f1"))
		return -1;
	while ((tok = strtok_r(NULL, " ", &save)))
		if (n == FACTS_FIELDS - 1 || !(f[n++] = tok))
			return -1;
	if (n != FACTS_FIELDS - 1) /* every field after "f1" */
		return -1;
	if (!is_hex_upper(f[0], 32))
		return -1;
	if (strcmp(f[0], md5_hex))
		return 0;
	memset(&c, 0, sizeof(c));
	if (!is_hex_lower(f[1], 64, 64))
		return -1;
	memcpy(c.sha256_hex, f[1], 65);
	if (fca_hex_decode(c.sha256, 32, c.sha256_hex) != FCA_OK ||
	    get_i64(&c.not_before, f[2], INT64_MIN / 2, INT64_MAX / 2) ||
	    get_i64(&c.not_after, f[3], INT64_MIN / 2, INT64_MAX / 2))
		return -1;
	if (strlen(f[4]) >= sizeof(c.key_type) || !strcmp(f[4], "-"))
		return -1;
	memcpy(c.key_type, f[4], strlen(f[4]) + 1);
	if (get_i64(&v, f[5], 0, 1 << 20))
		return -1;
	c.key_bits = (int)v;
	if (get_i64(&v, f[6], 0, (1 << FCA_DEFECT_COUNT) - 1) || (v & EXPIRY_DEFECTS))
		return -1;
	c.defects = (unsigned)v;
	if (strcmp(f[7], "-")) {
		if (!is_hex_lower(f[7], 64, 64) || fca_hex_decode(c.spki_sha256, 32, f[7]) != FCA_OK)
			return -1;
		c.has_spki = 1;
	}
	if (strcmp(f[8], "-")) {
		if (!is_hex_lower(f[8], 1, sizeof(c.serial_hex) - 1))
			return -1;
		memcpy(c.serial_hex, f[8], strlen(f[8]) + 1);
	}
	if (strcmp(f[9], "-")) {
		if (!is_hex_lower(f[9], 2, 2 * sizeof(c.ski)) || strlen(f[9]) % 2)
			return -1;
		c.ski_len = strlen(f[9]) / 2;
		if (fca_hex_decode(c.ski, c.ski_len, f[9]) != FCA_OK)
			return -1;
	}
	if (b64_field(c.subject_der, sizeof(c.subject_der), &c.subject_der_len, f[10]) ||
	    b64_field(subj, sizeof(subj) - 1, &len, f[11]) || memchr(subj, 0, len))
		return -1;
	memcpy(c.subject, subj, len);
	c.subject[len] = '\0';
	/* as fca_crypto_cert_inspect: expiry is measured against now */
	if (c.not_after <= now)
		c.defects |= FCA_DEFECT_EXPIRED;
	else if (c.not_after - now < (int64_t)365 * 86400)
		c.defects |= FCA_DEFECT_EXPIRING;
	*info = c;
	return 1;
}
