/* A plan saved by `fleetca plan --out`, as `apply --plan` reads it back (src/io/planfile.c). */
#ifndef FLEETCA_PLANFILE_H
#define FLEETCA_PLANFILE_H

#include <stddef.h>

#include "fleetca/observed.h"
#include "fleetca/plan.h"

/* Reads the saved plan's step ids and the row checksums (basis) it was made from. */
int fca_planfile_load(const char *path, struct fca_observed *basis, char (*steps)[FCA_STEP_ID_MAX], size_t max,
		      size_t *nsteps) FCA_MUST_USE;

#endif
