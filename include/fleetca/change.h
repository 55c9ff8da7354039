/*
 * What a change to the desired-state file asks for, per CA: the file at the merge base of a pull
 * request against the file in the change (`plan --git-base REF`). Pure: no I/O.
 */
#ifndef FLEETCA_CHANGE_H
#define FLEETCA_CHANGE_H

#include "fleetca/desired.h"

/* The settings of a CA that differ between base and head (bits of fca_change_ca.fields). */
enum fca_change_field {
	FCA_CHANGE_GENERATION = 1u << 0,
	FCA_CHANGE_STAGE = 1u << 1,
	FCA_CHANGE_SUBJECT = 1u << 2,
	FCA_CHANGE_KEY = 1u << 3,
	FCA_CHANGE_VALIDITY = 1u << 4,
	FCA_CHANGE_RENEW_BEFORE = 1u << 5,
	FCA_CHANGE_ADOPT = 1u << 6,
	FCA_CHANGE_SUSPEND = 1u << 7,
	FCA_CHANGE_NAMED = 1u << 8, /* named in one file only */
};
#define FCA_CHANGE_FIELD_COUNT 9
/* "generation", "stage", "subject", "key", … "named" for bit index i; NULL past the end. */
const char *fca_change_field_name(unsigned bit_index);

struct fca_change_ca {
	int considered;			/* named at the base, in the change, or both */
	int base_present, head_present; /* named in each file */
	int base_generation, head_generation;
	enum fca_stage base_stage, head_stage;
	int base_suspend, head_suspend;
	unsigned fields; /* enum fca_change_field bits; 0 = unchanged */
};

/* Policy settings that differ (bits of fca_change.policy_fields). */
#define FCA_CHANGE_POLICY_FIELD_COUNT 5
/* "min_overlap", "clock_skew", "drain", "fleet_server_trusts_previous", "activities.sink" */
const char *fca_change_policy_field_name(unsigned bit_index);

struct fca_change {
	int base_absent;      /* the file does not exist at the base: every CA it names is new */
	char base_commit[41]; /* the merge base */
	char base_ref[256];   /* the ref given to --git-base */
	unsigned policy_fields;
	struct fca_change_ca cas[FCA_CA_COUNT];
};

/* base NULL: the file is new in the change. base_commit and base_ref describe the base (may be NULL). */
void fca_change_compute(struct fca_change *out, const struct fca_desired *base, const struct fca_desired *head,
			const char *base_commit, const char *base_ref);

#endif
