/* Names of the enums that the renderers, the activities and the JSON outputs share. */
#include "fleetca/certinfo.h"
#include "fleetca/observed.h"
#include "fleetca/plan.h"

const char *fca_role_name(enum fca_role r)
{
	switch (r) {
	case FCA_ROLE_NEXT: return "next";
	case FCA_ROLE_PREVIOUS: return "previous";
	default: return "signing";
	}
}

static const struct { const char *name, *activity; } step_names[] = {
	[FCA_STEP_ADOPT] = { "adopt", "adopted_ca_certificate" },
	[FCA_STEP_STAGE] = { "stage", "staged_ca_certificate" },
	[FCA_STEP_ACTIVATE] = { "activate", "activated_ca_certificate" },
	[FCA_STEP_RETIRE] = { "retire", "retired_ca_certificate" },
	[FCA_STEP_ROLLBACK] = { "rollback", "rolled_back_ca_certificate" },
	[FCA_STEP_ABANDON] = { "abandon", "abandoned_ca_certificate" },
	[FCA_STEP_RENEW] = { "renew", "renewed_ca_certificate" },
};

const char *fca_step_kind_name(enum fca_step_kind k)
{
	return (unsigned)k < sizeof(step_names) / sizeof(step_names[0]) ? step_names[k].name : "unknown";
}

const char *fca_step_activity_type(enum fca_step_kind k)
{
	return (unsigned)k < sizeof(step_names) / sizeof(step_names[0]) ? step_names[k].activity : "unknown";
}

const char *fca_gate_name(enum fca_gate g)
{
	switch (g) {
	case FCA_GATE_OPEN: return "open";
	case FCA_GATE_WAIT: return "wait";
	case FCA_GATE_CLOSED: return "closed";
	default: return "human";
	}
}

int fca_plan_step_ready(const struct fca_plan *p, size_t i)
{
	if (i >= p->nsteps)
		return 0;
	for (size_t j = 0; j <= i; j++)
		if (p->steps[j].ca == p->steps[i].ca && p->steps[j].gate != FCA_GATE_OPEN)
			return 0;
	return 1;
}

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
