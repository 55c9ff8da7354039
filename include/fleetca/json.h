/*
 * The JSON adapter (src/io/json.c, the only file below the renderers that knows jansson): every
 * JSON document fleetca reads or writes outside the renderers, each to and from plain structs.
 * No jansson type crosses this header.
 */
#ifndef FLEETCA_JSON_H
#define FLEETCA_JSON_H

#include <stddef.h>

#include "fleetca/activity.h"
#include "fleetca/error.h"
#include "fleetca/observed.h"
#include "fleetca/pin.h"
#include "fleetca/plan.h"
#include "fleetca/state.h"

/* The fleetca_state document: strict, bounded parse; canonical (sorted keys, compact) serialization. */
int fca_state_parse(struct fca_state *out, const char *json, size_t len) FCA_MUST_USE;
int fca_state_serialize(char **out, size_t *len, const struct fca_state *s) FCA_MUST_USE;

/* The "details" object of a fleetca activity, compact with sorted keys (*out: free()). */
int fca_json_activity_details(char **out, const struct fca_activity *a) FCA_MUST_USE;

/*
 * A saved plan (`fleetca plan --out`): its step ids, the row checksums it was made from (basis)
 * and the desired state (pin). path is for messages only.
 */
int fca_json_planfile_parse(const char *path, const char *text, size_t len, struct fca_observed *basis,
			    char (*steps)[FCA_STEP_ID_MAX], size_t max, size_t *nsteps,
			    struct fca_pin *pin) FCA_MUST_USE;

/* The body Fleet's activity endpoint takes: {"type": type, "details": <details_json>} (*out: free()). */
int fca_json_fleet_activity_body(char **out, const char *type, const char *details_json) FCA_MUST_USE;
/* 1 when body is a JSON object whose "activity" object has this "type": what Fleet answers a POST. */
int fca_json_fleet_created(const char *body, size_t len, const char *type);
/* 1 when body is Fleet's JSON error naming this field in errors[].name (a 409 naming the key). */
int fca_json_fleet_error_names(const char *body, size_t len, const char *field);
/*
 * Fleet's JSON error: copies "message" and errors[0].reason (raw, unescaped: the caller escapes
 * them before printing) into msg and reason; "" for what the body does not have. 0 when the body
 * is not a JSON object.
 */
int fca_json_fleet_error(const char *body, size_t len, char *msg, size_t msg_cap, char *reason, size_t reason_cap);

#endif
