/*
 * libFuzzer target for the certificate parsers: fca_crypto_cert_inspect (full parse, defects) and
 * fca_crypto_cert_aki / fca_crypto_cert_ids (the drain scan's fast path). Whenever the full parse
 * accepts an input whose extensions all decode, the fast path must report the same Authority Key
 * Identifier, the same issuer Name bytes and the same SHA-256: abort() if not. (With an
 * undecodable extension OpenSSL reports no AKI at all, while the fast path still reads it: that
 * certificate then counts as live for its CA, which only delays a retirement.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fca_cert_info info;
	unsigned char aki[64];
	size_t aki_len = 0;
	char *buf;
	int full, fast;

	if (size > 64 * 1024)
		return 0;
	/* an exact-size copy, so that any read past the end is caught by the sanitizers */
	if (!(buf = malloc(size ? size : 1)))
		return 0;
	memcpy(buf, data, size);
	full = fca_crypto_cert_inspect(&info, buf, size, 1796378400, "fuzz");
	fast = fca_crypto_cert_aki(aki, &aki_len, buf, size);
	if (full == FCA_OK && !info.malformed_extensions &&
	    (fast != FCA_OK || aki_len != info.aki_len || memcmp(aki, info.aki, aki_len) != 0))
		abort();
	if (full == FCA_OK && !info.malformed_extensions) {
		struct fca_issued_ids ids;
		if (fca_crypto_cert_ids(&ids, buf, size, 1) != FCA_OK || ids.aki_len != info.aki_len ||
		    memcmp(ids.aki, info.aki, ids.aki_len) != 0 || ids.issuer_len != info.issuer_der_len ||
		    memcmp(ids.issuer, info.issuer_der, ids.issuer_len) != 0 ||
		    memcmp(ids.sha256, info.sha256, 32) != 0)
			abort();
	}
	free(buf);
	return 0;
}
