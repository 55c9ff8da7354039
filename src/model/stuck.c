/*
 * What a plan leaves for a person (fca_plan_stuck) and what makes it an error (fca_plan_errors):
 * the one judgement plan, apply and reconcile report and take their exit code from. Pure.
 */
#include <stdio.h>
#include <string.h>

#include "fleetca/plan.h"

enum fca_stuck_kind fca_plan_stuck(struct fca_stuck *out, const struct fca_plan *p, const struct fca_observed *o)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const char *name = fca_catalog_get((enum fca_ca_id)i)->name;
		const struct fca_obs_ca *oc = &o->cas[i];

		if (!fca_plan_ca_stuck(p, (enum fca_ca_id)i))
			continue;
		if (oc->stage == FCA_STAGE_CORRUPT) {
			out->ca[i] = FCA_STUCK_CORRUPT;
			/* why[] is a sentence for a person: a cut is harmless */
			snprintf(out->why[i], sizeof(out->why[i]), "%s is corrupt, nothing was planned for it: %.*s",
				 name, (int)sizeof(oc->problem), oc->problem);
			out->kind = FCA_STUCK_CORRUPT;
			continue;
		}
		/* managed drift names the row; foreign rows on an unmanaged CA are in the plan's note */
		out->ca[i] = FCA_STUCK_DRIFT;
		snprintf(out->why[i], sizeof(out->why[i]),
			 "%s has drifted (%.*s): nothing is done to it until a person decides", name,
			 oc->drift ? (int)sizeof(oc->drift_detail) : (int)sizeof(p->cas[i].note),
			 oc->drift ? oc->drift_detail : p->cas[i].note);
		if (out->kind == FCA_STUCK_NONE)
			out->kind = FCA_STUCK_DRIFT;
	}
	return out->kind;
}

size_t fca_plan_errors(const struct fca_plan *p)
{
	size_t n = 0;

	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_plan_ca *pc = &p->cas[i];
		int bad = pc->considered && pc->error[0];

		/* corrupt rows (what fca_plan_ca_stuck calls corrupt: not a suspended CA) */
		bad |= fca_plan_ca_stuck(p, (enum fca_ca_id)i) && pc->now_stage == FCA_STAGE_CORRUPT;
		/* a gate that could not be checked (fca_plan_uncounted) */
		for (size_t s = 0; s < p->nsteps && s < FCA_PLAN_MAX_STEPS && !bad; s++)
			bad = p->steps[s].ca == (enum fca_ca_id)i && p->steps[s].drain_not_counted[0];
		n += bad ? 1 : 0;
	}
	return n;
}
