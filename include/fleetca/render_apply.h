/* What `fleetca apply --format json` reports: the steps done, what remains with its gates, and
 * what delivering the outbox did (schemas/apply.schema.json). */
#ifndef FLEETCA_RENDER_APPLY_H
#define FLEETCA_RENDER_APPLY_H

#include <stdio.h>

#include "fleetca/plan.h"
#include "fleetca/state.h"

int fca_render_apply_json(FILE *f, const char (*done)[FCA_STEP_ID_MAX], size_t ndone, const struct fca_plan *remaining,
			  enum fca_sink sink, const struct fca_delivery *delivery) FCA_MUST_USE;

#endif
