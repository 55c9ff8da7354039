/*
 * A transition's activity as Fleet records it (model type), made into its "details" JSON by
 * fca_json_activity_details (include/fleetca/json.h). Fleet's UI names the subject of a generic
 * activity by the first details key ending in "_name", so the details carry a "ca_name".
 */
#ifndef FLEETCA_ACTIVITY_H
#define FLEETCA_ACTIVITY_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/error.h"

struct fca_activity {
	const char *ca;	      /* YAML id: "apple_scep" */
	const char *ca_title; /* "Apple SCEP CA" */
	int named_generation; /* the generation the activity is about, in ca_name (retire: the old one) */
	const char *assets[8];
	size_t nassets;
	int generation, previous_generation;
	const char *sha256, *subject;
	int64_t not_after;
	const char *source_path, *source_commit, *source_ref;
	const char *step_id;
	int forced;
	const char *reason;
};

#endif
