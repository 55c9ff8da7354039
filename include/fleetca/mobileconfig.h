/*
 * The trust profile (DESIGN §5.3): an Apple configuration profile (.mobileconfig, an XML plist)
 * with one com.apple.security.root payload per live generation of a CA. Pure (src/model).
 */
#ifndef FLEETCA_MOBILECONFIG_H
#define FLEETCA_MOBILECONFIG_H

#include <stddef.h>

#include "fleetca/catalog.h"
#include "fleetca/error.h"

#define FCA_MOBILECONFIG_MAX_CERTS 3
#define FCA_MOBILECONFIG_ID_PREFIX "com.fleetca.trust." /* not one of Fleet's reserved identifiers */

struct fca_mobileconfig_cert {
	const char *sha256_hex;   /* 64 lowercase hex digits */
	const unsigned char *der;
	size_t der_len;
};

/* "com.fleetca.trust.<ca name>" */
void fca_mobileconfig_identifier(char *out, size_t n, const struct fca_ca_def *def);

/*
 * Builds the profile: PayloadIdentifier com.fleetca.trust.<ca>, PayloadDisplayName
 * "fleetca trust: <title>", payloads sorted by fingerprint, every PayloadUUID derived from the
 * fingerprints, so the same set of certificates always gives the same bytes. *out is malloc'd
 * and NUL-terminated.
 */
int fca_mobileconfig_build(char **out, size_t *out_len, const struct fca_ca_def *def,
			   const struct fca_mobileconfig_cert *certs, size_t n) FCA_MUST_USE;

#endif
