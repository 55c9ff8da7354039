/*
 * The Fleet API (src/io/fleet_api.c, the only file that includes curl/curl.h): delivers fleetca's
 * activities with POST {FLEET_URL}/api/v1/fleet/activities (README "Activities").
 */
#ifndef FLEETCA_FLEET_API_H
#define FLEETCA_FLEET_API_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/error.h"

struct fca_fleet_api;

/*
 * Opens the API as cfg says (read once by the CLI: include/fleetca/config.h):
 *   url        https://host[:port][/prefix]; http:// is refused for every host
 *   token      the API token (a secret: never logged)
 *   ca_file    PEM bundle of the CAs to trust ("" = the system's)
 *   proxy      the only proxy used; "" = none, whatever http_proxy, https_proxy and ALL_PROXY say
 *   timeout_ms whole-request timeout; connect: min(10s, it)
 * TLS peer and host verification are always on. FCA_ENOTFOUND when url is "" (nothing
 * configured); FCA_EAUTH when the token is missing; FCA_EINVALID for a URL fleetca refuses.
 */
struct fca_api_config;
int fca_fleet_api_open(struct fca_fleet_api **out, const struct fca_api_config *cfg) FCA_MUST_USE;
void fca_fleet_api_free(struct fca_fleet_api *a);
/*
 * POSTs {"type": type, "details": details_json} with Idempotency-Key: idempotency_key, waiting at
 * most max_ms (0: the configured timeout) for the whole request.
 *   FCA_OK         a 2xx whose body is Fleet's JSON answer ({"activity": {"type": type, …}}), or a
 *                  409 whose JSON errors[] names the Idempotency-Key (Fleet has it already): delivered
 *   FCA_ECONNECT   5xx, timeout, connection refused or closed, a reply that is not HTTP, a 2xx that
 *                  is not Fleet's (an HTML login page, a proxy's empty 201): try again later
 *   FCA_EAUTH      401/403: the token was refused
 *   FCA_EINVALID   any other status (the message names it and Fleet's "message")
 *   FCA_ERROR      TLS verification failed, or another failure that retrying will not fix
 * *http_status is the status received (0 when none).
 */
int fca_fleet_api_post_activity(struct fca_fleet_api *a, const char *idempotency_key, const char *type,
				const char *details_json, int64_t max_ms, long *http_status) FCA_MUST_USE;

/*
 * Parses a duration for the API's knobs: "<n>ms" or anything fca_duration_parse accepts. Sets
 * *ms, at most one hour.
 */
int fca_fleet_api_parse_ms(int64_t *ms, const char *s) FCA_MUST_USE;

#endif
