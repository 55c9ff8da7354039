/* What a change to the desired-state file asks for, per CA (plan --git-base). Pure. */
#include <stdio.h>
#include <string.h>

#include "fleetca/change.h"

static const char *const field_names[FCA_CHANGE_FIELD_COUNT] = {
    "generation", "stage", "subject", "key", "validity", "renew_before", "adopt", "suspend", "named",
};

static const char *const policy_names[FCA_CHANGE_POLICY_FIELD_COUNT] = {
    "min_overlap", "clock_skew", "drain", "fleet_server_trusts_previous", "activities.sink",
};

const char *fca_change_field_name(unsigned bit_index)
{
	return bit_index < FCA_CHANGE_FIELD_COUNT ? field_names[bit_index] : NULL;
}

const char *fca_change_policy_field_name(unsigned bit_index)
{
	return bit_index < FCA_CHANGE_POLICY_FIELD_COUNT ? policy_names[bit_index] : NULL;
}

static unsigned ca_fields(const struct fca_desired_ca *b, const struct fca_desired_ca *h)
{
	unsigned f = 0;

	if (b->present != h->present)
		return FCA_CHANGE_NAMED | (b->present ? 0u : FCA_CHANGE_GENERATION | FCA_CHANGE_STAGE);
	if (!b->present)
		return 0;
	f |= b->generation != h->generation ? FCA_CHANGE_GENERATION : 0;
	f |= b->stage != h->stage ? FCA_CHANGE_STAGE : 0;
	f |= memcmp(&b->subject, &h->subject, sizeof(b->subject)) != 0 ? FCA_CHANGE_SUBJECT : 0;
	f |= b->key_bits != h->key_bits || b->key_keep != h->key_keep ? FCA_CHANGE_KEY : 0;
	f |= b->validity != h->validity ? FCA_CHANGE_VALIDITY : 0;
	f |= b->renew_before != h->renew_before ? FCA_CHANGE_RENEW_BEFORE : 0;
	f |= b->adopt != h->adopt ? FCA_CHANGE_ADOPT : 0;
	f |= b->suspend != h->suspend ? FCA_CHANGE_SUSPEND : 0;
	return f;
}

void fca_change_compute(struct fca_change *out, const struct fca_desired *base, const struct fca_desired *head,
			const char *base_commit, const char *base_ref)
{
	static const struct fca_desired_ca none; /* a CA the base does not name */

	memset(out, 0, sizeof(*out));
	out->base_absent = base == NULL;
	/* a commit id and a ref from struct fca_source, of the same sizes; shown to a person only */
	snprintf(out->base_commit, sizeof(out->base_commit), "%s", base_commit ? base_commit : "");
	snprintf(out->base_ref, sizeof(out->base_ref), "%s", base_ref ? base_ref : "");
	if (base) {
		const struct fca_policy *bp = &base->policy, *hp = &head->policy;
		out->policy_fields |= bp->min_overlap != hp->min_overlap ? 1u : 0;
		out->policy_fields |= bp->clock_skew != hp->clock_skew ? 2u : 0;
		out->policy_fields |= bp->drain != hp->drain || strcmp(bp->reason, hp->reason) ? 4u : 0;
		out->policy_fields |= bp->fleet_server_trusts_previous != hp->fleet_server_trusts_previous ? 8u : 0;
		out->policy_fields |= base->sink != head->sink ? 16u : 0;
	}
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_desired_ca *b = base ? &base->cas[i] : &none, *h = &head->cas[i];
		struct fca_change_ca *c = &out->cas[i];

		c->base_present = b->present;
		c->head_present = h->present;
		c->considered = b->present || h->present;
		c->base_generation = b->present ? b->generation : 0;
		c->base_stage = b->present ? b->stage : FCA_STAGE_NONE;
		c->base_suspend = b->present && b->suspend;
		c->head_generation = h->present ? h->generation : 0;
		c->head_stage = h->present ? h->stage : FCA_STAGE_NONE;
		c->head_suspend = h->present && h->suspend;
		c->fields = ca_fields(b, h);
	}
}
