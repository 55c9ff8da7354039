/* The YAML adapter (src/io/yaml.c, the only file that knows libyaml): the desired-state file. */
#ifndef FLEETCA_YAML_H
#define FLEETCA_YAML_H

#include <stddef.h>

#include "fleetca/desired.h"

/*
 * Parses a desired-state document. Collects every problem into diags (not just
 * the first) and returns FCA_EINVALID when there is any, FCA_OK otherwise. path is used in
 * messages only.
 */
int fca_yaml_parse_desired(struct fca_desired *out, struct fca_diags *diags, const char *path, const char *buf,
			   size_t len) FCA_MUST_USE;
/* Reads the file (at most 1 MiB) and parses it. */
int fca_yaml_load_desired(struct fca_desired *out, struct fca_diags *diags, const char *path) FCA_MUST_USE;

#endif
