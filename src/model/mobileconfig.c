/*
 * The trust profile as an XML plist. Pure: the DER bytes and fingerprints come from the caller
 * (src/io/crypto.c). Deterministic: no clock, no random UUID.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/mobileconfig.h"

#define PROFILE_MAX (1024 * 1024) /* Fleet's upload limit */

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void FCA_PRINTF(2, 3) add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap ? b->cap * 2 : 8192;
			char *p;
			while (cap < b->len + (size_t)n + 1)
				cap *= 2;
			if (cap > PROFILE_MAX + 1 || !(p = realloc(b->p, cap))) {
				b->failed = 1;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
}

/* Text for XML: the catalog's names and titles hold no markup, but escape anyway. */
static void add_text(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': add(b, "&amp;"); break;
		case '<': add(b, "&lt;"); break;
		case '>': add(b, "&gt;"); break;
		default: add(b, "%c", *s);
		}
	}
}

static void add_base64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[5];

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		q[0] = tab[v >> 18 & 63];
		q[1] = tab[v >> 12 & 63];
		q[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		q[4] = '\0';
		add(b, "%s", q);
	}
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 16 bytes -> an RFC 4122 style UUID string (version 5 and variant bits set: name-based). */
static void uuid_of(char out[37], unsigned char u[16])
{
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x50);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", u[0], u[1], u[2],
		 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* The first 16 bytes of a fingerprint, or FCA_EINVALID when it is not 64 lowercase hex digits. */
static int fp_bytes(unsigned char u[16], const char *hex)
{
	if (!hex || strlen(hex) != 64)
		return FCA_EINVALID;
	for (int i = 0; i < 64; i++)
		if (hexval(hex[i]) < 0)
			return FCA_EINVALID;
	for (int i = 0; i < 16; i++)
		u[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	return FCA_OK;
}

void fca_mobileconfig_identifier(char *out, size_t n, const struct fca_ca_def *def)
{
	snprintf(out, n, FCA_MOBILECONFIG_ID_PREFIX "%s", def->name);
}

int fca_mobileconfig_build(char **out, size_t *out_len, const struct fca_ca_def *def,
			   const struct fca_mobileconfig_cert *certs, size_t n)
{
	const struct fca_mobileconfig_cert *sorted[FCA_MOBILECONFIG_MAX_CERTS];
	struct buf b = { NULL, 0, 0, 0 };
	unsigned char top[16], u[16];
	char ident[128], uuid[37];
	int r;

	*out = NULL;
	*out_len = 0;
	if (n == 0 || n > FCA_MOBILECONFIG_MAX_CERTS)
		return fca_error_set(FCA_EINVALID, "%s: a trust profile holds 1 to %d certificates, not %zu", def->name,
				     FCA_MOBILECONFIG_MAX_CERTS, n);
	/* Sorted by fingerprint: the bytes depend on the set, not on the order given. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		if (fp_bytes(u, certs[i].sha256_hex) != FCA_OK || !certs[i].der || certs[i].der_len == 0)
			return fca_error_set(FCA_EINVALID, "%s: certificate %zu has no fingerprint or no DER", def->name, i);
		for (; j > 0 && strcmp(sorted[j - 1]->sha256_hex, certs[i].sha256_hex) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = &certs[i];
	}
	/* The profile's UUID: the XOR of the fingerprints' first bytes, and the CA, under a fixed salt
	 * so that it differs from every payload's UUID. */
	memset(top, 0x5a, sizeof(top));
	for (size_t i = 0; i < n; i++) {
		(void)fp_bytes(u, sorted[i]->sha256_hex);
		for (int k = 0; k < 16; k++)
			top[k] ^= u[k];
	}
	top[15] ^= (unsigned char)(def->id + 1);
	fca_mobileconfig_identifier(ident, sizeof(ident), def);

	add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
		"<plist version=\"1.0\">\n<dict>\n\t<key>PayloadContent</key>\n\t<array>\n");
	for (size_t i = 0; i < n; i++) {
		const char *fp = sorted[i]->sha256_hex;
		(void)fp_bytes(u, fp);
		uuid_of(uuid, u);
		add(&b, "\t\t<dict>\n\t\t\t<key>PayloadCertificateFileName</key>\n\t\t\t<string>");
		add_text(&b, def->name);
		add(&b, "-%.16s.cer</string>\n\t\t\t<key>PayloadContent</key>\n\t\t\t<data>", fp);
		add_base64(&b, sorted[i]->der, sorted[i]->der_len);
		add(&b, "</data>\n\t\t\t<key>PayloadDescription</key>\n\t\t\t<string>Trusts the ");
		add_text(&b, def->title);
		add(&b, " certificate with SHA-256 %s</string>\n", fp);
		add(&b, "\t\t\t<key>PayloadDisplayName</key>\n\t\t\t<string>");
		add_text(&b, def->title);
		add(&b, " %.16s</string>\n\t\t\t<key>PayloadIdentifier</key>\n\t\t\t<string>", fp);
		add_text(&b, ident);
		add(&b, ".%.16s</string>\n"
			"\t\t\t<key>PayloadType</key>\n\t\t\t<string>com.apple.security.root</string>\n"
			"\t\t\t<key>PayloadUUID</key>\n\t\t\t<string>%s</string>\n"
			"\t\t\t<key>PayloadVersion</key>\n\t\t\t<integer>1</integer>\n\t\t</dict>\n",
		    fp, uuid);
	}
	uuid_of(uuid, top);
	add(&b, "\t</array>\n\t<key>PayloadDescription</key>\n\t<string>Managed by fleetca: the live generations of the ");
	add_text(&b, def->title);
	add(&b, ".</string>\n\t<key>PayloadDisplayName</key>\n\t<string>fleetca trust: ");
	add_text(&b, def->title);
	add(&b, "</string>\n\t<key>PayloadIdentifier</key>\n\t<string>");
	add_text(&b, ident);
	add(&b, "</string>\n\t<key>PayloadScope</key>\n\t<string>System</string>\n"
		"\t<key>PayloadType</key>\n\t<string>Configuration</string>\n"
		"\t<key>PayloadUUID</key>\n\t<string>%s</string>\n"
		"\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n</dict>\n</plist>\n",
	    uuid);
	if (b.failed) {
		r = b.len + 1 >= PROFILE_MAX ? fca_error_set(FCA_EINVALID, "%s: the trust profile would exceed 1 MB", def->name)
					     : fca_error_set(FCA_ENOMEM, "out of memory");
		free(b.p);
		return r;
	}
	*out = b.p;
	*out_len = b.len;
	return FCA_OK;
}
