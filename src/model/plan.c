/* The plan's vocabulary (include/fleetca/plan.h): step and gate names, and when a step is ready. */
#include "fleetca/plan.h"

static const struct {
	const char *name, *activity;
} step_names[] = {
    [FCA_STEP_ADOPT] = {"adopt", "adopted_ca_certificate"},
    [FCA_STEP_STAGE] = {"stage", "staged_ca_certificate"},
    [FCA_STEP_ACTIVATE] = {"activate", "activated_ca_certificate"},
    [FCA_STEP_RETIRE] = {"retire", "retired_ca_certificate"},
    [FCA_STEP_ROLLBACK] = {"rollback", "rolled_back_ca_certificate"},
    [FCA_STEP_ABANDON] = {"abandon", "abandoned_ca_certificate"},
    [FCA_STEP_RENEW] = {"renew", "renewed_ca_certificate"},
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
	case FCA_GATE_OPEN:
		return "open";
	case FCA_GATE_WAIT:
		return "wait";
	case FCA_GATE_CLOSED:
		return "closed";
	default:
		return "human";
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
