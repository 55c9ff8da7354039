/*
 * The Fleet API (src/io/fleet_api.c, the only file that includes curl/curl.h): delivers fleetca's
 * activities with POST {FLEET_URL}/api/v1/fleet/activities (README "Activities").
 */
#ifndef FLEETCA_FLEET_API_H
#define FLEETCA_FLEET_API_H

#include <stdint.h>

#include "fleetca/error.h"

struct fca_fleet_api;

/*
 * Reads the configuration from the environment:
 *   FLEET_URL                      https://host[:port][/prefix]; http:// only for 127.0.0.1, ::1, localhost
 *   FLEET_API_TOKEN or FLEETCA_API_TOKEN_PATH   the API token (a secret: never logged)
 *   FLEETCA_API_CA_FILE            PEM bundle of the CAs to trust (default: the system's)
 *   FLEETCA_API_TIMEOUT            whole-request timeout, "30s" (default) or "<n>ms"; connect: min(10s, it)
 * TLS peer and host verification are always on. FCA_ENOTFOUND when FLEET_URL is unset (nothing
 * configured); FCA_EAUTH when the token is missing; FCA_EINVALID for a URL fleetca refuses.
 */
int fca_fleet_api_open_env(struct fca_fleet_api **out) FCA_MUST_USE;
void fca_fleet_api_free(struct fca_fleet_api *a);
/* "https://fleet.example.com:8080": scheme, host and port, for messages. */
const char *fca_fleet_api_origin(const struct fca_fleet_api *a);

/*
 * POSTs {"type": type, "details": details_json} with Idempotency-Key: idempotency_key.
 *   FCA_OK         200/201, or 409 (Fleet already has an activity with that key): delivered
 *   FCA_ECONNECT   5xx, timeout, connection refused or closed, a reply that is not HTTP: try again later
 *   FCA_EAUTH      401/403: the token was refused
 *   FCA_EINVALID   any other status (the message names it and Fleet's "message")
 *   FCA_ERROR      TLS verification failed, or another failure that retrying will not fix
 * *http_status is the status received (0 when none).
 */
int fca_fleet_api_post_activity(struct fca_fleet_api *a, const char *idempotency_key, const char *type,
				const char *details_json, long *http_status) FCA_MUST_USE;

/*
 * Parses a duration for the API's knobs: "<n>ms" or anything fca_duration_parse accepts. Sets
 * *ms, at most one hour.
 */
int fca_fleet_api_parse_ms(int64_t *ms, const char *s) FCA_MUST_USE;

#endif
