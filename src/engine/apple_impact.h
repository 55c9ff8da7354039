/* What an Apple SCEP CA step would break: enrollments' newest certificates and
 * the FileVault escrows Fleet can decrypt today. Internal to src/engine. */
#ifndef FLEETCA_ENGINE_APPLE_IMPACT_H
#define FLEETCA_ENGINE_APPLE_IMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/observed.h"
#include "fleetca/secret.h"
#include "fleetca/store.h"

/* The most associations held in memory (a slot is 40 bytes, the table at most 3/4 full). */
#define FCA_ASSOC_MAX (8u << 20)

/* One certificate of nano_cert_auth_associations, by the SHA-256 of its DER. */
struct fca_assoc {
	unsigned char sha256[32];
	uint32_t newest; /* enrollments whose newest certificate it is */
	uint32_t used;	 /* the slot holds a certificate */
};

struct fca_assoc_map {
	struct fca_assoc *v;
	size_t cap, n; /* cap: a power of two */
};

void fca_assoc_map_init(struct fca_assoc_map *m);
void fca_assoc_map_dispose(struct fca_assoc_map *m);
/* Reads every association (fca_store_scan_cert_assocs). The store's error is kept as it is. */
int fca_assoc_map_load(struct fca_assoc_map *m, struct fca_store *s) FCA_MUST_USE;
/* The certificate's entry, or NULL when no enrollment names it. */
const struct fca_assoc *fca_assoc_map_find(const struct fca_assoc_map *m, const unsigned char sha256[32]);

/*
 * Counts, into ca->escrows_decryptable, the FileVault escrows today's Fleet decrypts with the
 * signing ca_key (the rows are the live rows observe read). A table or row that cannot be read
 * leaves the count not made, with the reason in ca->escrows_note; only out-of-memory is an error.
 */
int fca_engine_count_escrows_today(struct fca_obs_ca *ca, struct fca_store *s, const struct fca_secret *aes_key,
				   const struct fca_asset_rows *rows) FCA_MUST_USE;

#endif
