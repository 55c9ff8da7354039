/* Trust profiles for distribute: profile (src/engine/profile.c, DESIGN §5.3). */
#ifndef FLEETCA_ENGINE_PROFILE_H
#define FLEETCA_ENGINE_PROFILE_H

#include <stdint.h>
#include <stdio.h>

#include "fleetca/desired.h"
#include "fleetca/engine.h"
#include "fleetca/fleet_api.h"
#include "fleetca/observed.h"

/* 1 when a CA of the YAML asks for distribute: profile. */
int fca_engine_profiles_wanted(const struct fca_desired *d);
/*
 * Opens the Fleet API for profiles. When it cannot (FLEET_URL unset, no token, a refused URL),
 * note says why, for the gate's reason, and the error is cleared: the gate stays closed.
 */
int fca_engine_open_profile_api(struct fca_fleet_api **api, char *note, size_t n);
/*
 * Fills the profile fields of o->cas[] for the CAs with distribute: profile: whether the API is
 * there (api NULL: api_note says why) and, for a staged CA with a recorded profile, Fleet's
 * delivery counts (an API failure leaves them unknown, with the message in profile_note).
 */
void fca_engine_observe_profiles(struct fca_observed *o, const struct fca_desired *d, struct fca_fleet_api *api,
				 const char *api_note);
#define FCA_PROFILE_ERROR_MAX 512

/* 1 when a CA outside skip (a bit per enum fca_ca_id) has a recorded profile that does not hold
 * exactly its live generations. */
int fca_engine_profiles_stale(const struct fca_observed *o, const struct fca_desired *d, unsigned skip);
/*
 * For each stale CA not yet in *failed: deletes the recorded profile in Fleet, uploads the new one,
 * records it in the state document (one transaction). A CA that fails gets its bit in *failed and
 * its message in errors[ca]; the others go on (its activation gate stays closed). Call under the
 * run's lock, then observe again.
 */
int fca_engine_sync_profiles(struct fca_store *s, const struct fca_secret *aes, const struct fca_observed *o,
			     const struct fca_desired *d, struct fca_fleet_api *api, int64_t now, FILE *progress,
			     unsigned *failed, char errors[FCA_CA_COUNT][FCA_PROFILE_ERROR_MAX]) FCA_MUST_USE;

#endif
