/* Renderers of `fleetca status`: text for people, JSON for machines (schemas/status.schema.json). */
#ifndef FLEETCA_RENDER_STATUS_H
#define FLEETCA_RENDER_STATUS_H

#include <stdint.h>
#include <stdio.h>

#include "fleetca/observed.h"

#define FCA_STATUS_FORMAT_VERSION 1

int fca_render_status_text(FILE *f, const struct fca_observed *o, int64_t now, int color);
int fca_render_status_json(FILE *f, const struct fca_observed *o, int64_t now);

#endif
