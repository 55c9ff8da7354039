/* The CA catalog: the one static table of what fleetca knows about Fleet's four CAs. */
#ifndef FLEETCA_CATALOG_H
#define FLEETCA_CATALOG_H

#include <stddef.h>

enum fca_ca_id {
	FCA_CA_APPLE_SCEP = 0,
	FCA_CA_HOST_IDENTITY,
	FCA_CA_CONDITIONAL_ACCESS,
	FCA_CA_CONDITIONAL_ACCESS_IDP,
	FCA_CA_COUNT
};

/* Who must trust a new generation before it may sign. */
enum fca_trust {
	FCA_TRUST_NONE = 0,	  /* host_identity: nobody external */
	FCA_TRUST_HUMAN,	  /* load balancer / IdP: an admin uploads the bundle */
	FCA_TRUST_APPLE_VERIFIER, /* the Fleet server's Apple SCEP verifier: one root, by subject bytes and key */
};

/* The live slots of a CA's rows. */
enum fca_slot { FCA_SLOT_CURRENT = 0, FCA_SLOT_NEXT, FCA_SLOT_PREVIOUS, FCA_SLOT_COUNT };

#define FCA_ASSET_NAME_MAX    64
#define FCA_MAX_ISSUED_TABLES 2

struct fca_ca_def {
	enum fca_ca_id id;
	const char *name;	/* YAML id: "apple_scep" */
	const char *title;	/* "Apple SCEP CA" */
	const char *cert_asset; /* "ca_cert" */
	const char *key_asset;	/* "ca_key" */
	/* Fleet's default subject for this CA (depot.NewCACert's options); fleetca adds Country "US". */
	const char *cn, *o, *ou, *c;
	/* Issued-certificate tables; the first entry may have an older name (pre-2026 schema). */
	const char *issued_tables[FCA_MAX_ISSUED_TABLES];
	const char *issued_tables_old[FCA_MAX_ISSUED_TABLES];
	enum fca_trust trust;
	int has_escrows; /* FileVault escrows are encrypted to this CA (apple_scep) */
};

const struct fca_ca_def *fca_catalog_get(enum fca_ca_id id);
/* Returns the CA for a YAML id, or NULL. */
const struct fca_ca_def *fca_catalog_find(const char *name);
/* "ca_cert", "ca_cert_next", "ca_key_previous", …; buf needs FCA_ASSET_NAME_MAX. */
void fca_catalog_asset(char *buf, size_t n, const struct fca_ca_def *ca, int key, enum fca_slot slot);
/* Every asset name of every CA in every slot (24 names), for one SELECT. */
size_t fca_catalog_all_assets(const char *out[], size_t max);

#define FCA_STATE_ASSET "fleetca_state"

#endif
