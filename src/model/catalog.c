#include <stdio.h>
#include <string.h>

#include "fleetca/catalog.h"

static const struct fca_ca_def catalog[FCA_CA_COUNT] = {
    [FCA_CA_APPLE_SCEP] =
	{
	    .id = FCA_CA_APPLE_SCEP,
	    .name = "apple_scep",
	    .title = "Apple SCEP CA",
	    .cert_asset = "ca_cert",
	    .key_asset = "ca_key",
	    .cn = "Fleet",
	    .o = "scep-ca",
	    .ou = "SCEP CA",
	    .c = "US",
	    .issued_tables = {"identity_certificates", "wstep_certificates"},
	    .issued_tables_old = {"scep_certificates", "wstep_certificates"},
	    .trust = FCA_TRUST_APPLE_VERIFIER,
	    .has_escrows = 1,
	},
    [FCA_CA_HOST_IDENTITY] =
	{
	    .id = FCA_CA_HOST_IDENTITY,
	    .name = "host_identity",
	    .title = "Host identity CA",
	    .cert_asset = "host_identity_ca_cert",
	    .key_asset = "host_identity_ca_key",
	    .cn = "Fleet Host Identity CA",
	    .o = "Local Certificate Authority",
	    .ou = "SCEP CA",
	    .c = "US",
	    .issued_tables = {"host_identity_scep_certificates", NULL},
	    .issued_tables_old = {"host_identity_scep_certificates", NULL},
	    .trust = FCA_TRUST_NONE,
	},
    [FCA_CA_CONDITIONAL_ACCESS] =
	{
	    .id = FCA_CA_CONDITIONAL_ACCESS,
	    .name = "conditional_access",
	    .title = "Conditional access SCEP CA",
	    .cert_asset = "conditional_access_ca_cert",
	    .key_asset = "conditional_access_ca_key",
	    .cn = "Fleet conditional access CA",
	    .o = "Local certificate authority",
	    .ou = "SCEP CA",
	    .c = "US",
	    .issued_tables = {"conditional_access_scep_certificates", NULL},
	    .issued_tables_old = {"conditional_access_scep_certificates", NULL},
	    .trust = FCA_TRUST_HUMAN,
	},
    [FCA_CA_CONDITIONAL_ACCESS_IDP] =
	{
	    .id = FCA_CA_CONDITIONAL_ACCESS_IDP,
	    .name = "conditional_access_idp",
	    .title = "Conditional access IdP signing certificate",
	    .cert_asset = "conditional_access_idp_cert",
	    .key_asset = "conditional_access_idp_key",
	    .cn = "Fleet conditional access IdP",
	    .o = "Local certificate authority",
	    .ou = "SCEP CA",
	    .c = "US",
	    .issued_tables = {NULL, NULL},
	    .issued_tables_old = {NULL, NULL},
	    .trust = FCA_TRUST_HUMAN,
	},
};

const struct fca_ca_def *fca_catalog_get(enum fca_ca_id id)
{
	if ((int)id < 0 || id >= FCA_CA_COUNT)
		return NULL;
	return &catalog[id];
}

const struct fca_ca_def *fca_catalog_find(const char *name)
{
	for (int i = 0; i < FCA_CA_COUNT; i++)
		if (strcmp(catalog[i].name, name) == 0)
			return &catalog[i];
	return NULL;
}

/* "", "_next", "_previous" */
static const char *slot_suffix(enum fca_slot slot)
{
	switch (slot) {
	case FCA_SLOT_NEXT:
		return "_next";
	case FCA_SLOT_PREVIOUS:
		return "_previous";
	default:
		return "";
	}
}

void fca_catalog_asset(char *buf, size_t n, const struct fca_ca_def *ca, int key, enum fca_slot slot)
{
	/* at most 27 + 9 bytes: the callers' FCA_ASSET_NAME_MAX never cuts it */
	snprintf(buf, n, "%s%s", key ? ca->key_asset : ca->cert_asset, slot_suffix(slot));
}

size_t fca_catalog_all_assets(const char *out[], size_t max)
{
	static char names[FCA_CA_COUNT * 2 * FCA_SLOT_COUNT][FCA_ASSET_NAME_MAX];
	size_t n = 0;

	for (int c = 0; c < FCA_CA_COUNT; c++)
		for (int s = 0; s < FCA_SLOT_COUNT; s++)
			for (int k = 0; k < 2; k++) {
				if (n >= max)
					return n;
				fca_catalog_asset(names[n], sizeof(names[n]), &catalog[c], k, (enum fca_slot)s);
				out[n] = names[n];
				n++;
			}
	return n;
}
