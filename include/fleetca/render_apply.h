/* What `fleetca apply --format json` reports: the steps done, and what remains with its gates. */
#ifndef FLEETCA_RENDER_APPLY_H
#define FLEETCA_RENDER_APPLY_H

#include <stdio.h>

#include "fleetca/plan.h"

int fca_render_apply_json(FILE *f, const char (*done)[FCA_STEP_ID_MAX], size_t ndone, const struct fca_plan *remaining,
			  const struct fca_observed *o) FCA_MUST_USE;

#endif
