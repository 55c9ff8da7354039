/* Export: the certificates (never the keys) of a CA's live generations, for LBs and IdPs. */
#ifndef FLEETCA_EXPORT_H
#define FLEETCA_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/certinfo.h"
#include "fleetca/observed.h"
#include "fleetca/secret.h"
#include "fleetca/store.h"

struct fca_export_cert {
	int generation;	    /* from the state document; an unmanaged CA's signing cert counts as 1 */
	enum fca_role role; /* signing, next, previous */
	char asset[FCA_ASSET_NAME_MAX];
	char *pem; /* one PEM block, no comments or other text, ending in '\n' (malloc'd) */
	size_t pem_len;
	struct fca_cert_info info;
};

struct fca_export {
	enum fca_ca_id ca;
	enum fca_stage stage;
	int managed;				      /* the state document knows this CA */
	int drift;				      /* a live cert the document does not know (generation 0) */
	struct fca_export_cert certs[FCA_SLOT_COUNT]; /* live generations: signing, next, previous */
	size_t n;
};

/*
 * Reads the live certificate rows of one CA and decrypts them (the key rows are never read).
 * FCA_ENOTFOUND when the CA has no certificate in Fleet; FCA_EINVALID when a live row does not
 * hold a parseable certificate; FCA_ECONFLICT when the rows changed while they were read.
 */
int fca_engine_export(struct fca_export *out, struct fca_store *s, const struct fca_secret *aes_key, enum fca_ca_id ca,
		      int64_t now) FCA_MUST_USE;
void fca_export_dispose(struct fca_export *e);

/* The live certificate of a generation, or NULL. */
const struct fca_export_cert *fca_export_find(const struct fca_export *e, int generation);

#endif
