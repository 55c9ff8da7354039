/* The defects fleetca finds in a CA certificate (include/fleetca/certinfo.h), and what to do about each. */
#include "fleetca/certinfo.h"

static const struct { const char *name, *advice; } defects[FCA_DEFECT_COUNT] = {
	{ "empty_country",
	  "the subject has an empty Country (C=), which macOS shows as \"< parser error >\" (Fleet #38699); "
	  "rotate to a new generation (its subject gets C=US; for apple_scep, a released Fleet then "
	  "disconnects the enrolled Macs: fleetca plan counts them)" },
	{ "empty_rdn_value",
	  "a subject attribute has an empty value; rotate to a new generation with a complete subject" },
	{ "weak_key", "the RSA key is shorter than 2048 bits; rotate to a new generation with key: rsa-2048 or larger" },
	{ "not_ca", "the certificate is not marked as a CA (basicConstraints); rotate to a new generation" },
	{ "expired", "the certificate has expired; devices cannot renew against it: renew (same key) or rotate now" },
	{ "expiring_soon", "less than a year of validity remains; set renew_before so fleetca renews it with the same key" },
};

const char *fca_defect_name(unsigned i) { return i < FCA_DEFECT_COUNT ? defects[i].name : "unknown"; }
const char *fca_defect_advice(unsigned i) { return i < FCA_DEFECT_COUNT ? defects[i].advice : ""; }
