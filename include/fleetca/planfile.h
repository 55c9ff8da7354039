/* A plan saved by `fleetca plan --out`, as `apply --plan` reads it back (src/io/planfile.c). */
#ifndef FLEETCA_PLANFILE_H
#define FLEETCA_PLANFILE_H

#include <stddef.h>

#include "fleetca/observed.h"
#include "fleetca/pin.h"
#include "fleetca/plan.h"

/*
 * Reads the saved plan's step ids, the row checksums (basis) and the desired state (pin) it was
 * made from. A plan without its desired state (made before plans were pinned) is refused.
 */
int fca_planfile_load(const char *path, struct fca_observed *basis, char (*steps)[FCA_STEP_ID_MAX], size_t max,
		      size_t *nsteps, struct fca_pin *pin) FCA_MUST_USE;

#endif
