/*
 * Trust distribution to Apple devices (DESIGN §5.3, README "Trust profiles"). For a CA with
 * distribute: profile, the profile uploaded to Fleet holds exactly its live generations:
 *   - staged or active (two generations live): uploaded once gen N+1 is staged;
 *   - complete (one live) after a retire or an abandon: replaced by one holding that one alone.
 * Fleet refuses a second profile with the same PayloadIdentifier (409), so a replacement deletes
 * the recorded profile first, then uploads, then records the new one in the state document in its
 * own transaction. The activation gate (src/model/planner.c) reads the delivery counts that
 * fca_engine_observe_profiles puts into the observed state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/crypto.h"
#include "fleetca/engine_profile.h"
#include "fleetca/mobileconfig.h"

int fca_engine_profiles_wanted(const struct fca_desired *d)
{
	for (int i = 0; i < FCA_CA_COUNT; i++)
		if (d->cas[i].present && d->cas[i].distribute_profile && !d->cas[i].suspend)
			return 1;
	return 0;
}

int fca_engine_open_profile_api(struct fca_fleet_api **api, char *note, size_t n)
{
	int r = fca_fleet_api_open_env(api);

	note[0] = '\0';
	if (r == FCA_ENOTFOUND)
		snprintf(note, n, "FLEET_URL is not set (set FLEET_URL and FLEET_API_TOKEN so that fleetca can upload "
				  "it and read its delivery)");
	else if (r != FCA_OK)
		snprintf(note, n, "%s", fca_error_message());
	if (r != FCA_OK)
		fca_error_clear();
	return r;
}

/* The live generations of a CA in slot order; 0 when they cannot go into a profile. */
static size_t live_gens(const struct fca_obs_ca *oc, const struct fca_obs_gen *out[FCA_SLOT_COUNT])
{
	size_t n = 0;

	if (oc->stage != FCA_STAGE_STAGED && oc->stage != FCA_STAGE_ACTIVE && oc->stage != FCA_STAGE_COMPLETE)
		return 0;
	if (!oc->managed || oc->drift)
		return 0;
	for (int sl = 0; sl < FCA_SLOT_COUNT; sl++) {
		const struct fca_obs_gen *g = &oc->gens[sl];
		if (!g->present)
			continue;
		if (!g->cert_ok)
			return 0;
		out[n++] = g;
	}
	return n;
}

/* 1 when the CA's trust profile must be (re)uploaded; fps receives the live fingerprints. */
static int stale(const struct fca_observed *o, const struct fca_desired *d, enum fca_ca_id ca,
		 const struct fca_obs_gen *gens[FCA_SLOT_COUNT], size_t *n)
{
	const struct fca_state_profile *prof = fca_state_profile_find(&o->state, ca);
	const char *fps[FCA_SLOT_COUNT];

	*n = 0;
	if (!d->cas[ca].present || !d->cas[ca].distribute_profile || d->cas[ca].suspend)
		return 0;
	if ((*n = live_gens(&o->cas[ca], gens)) == 0)
		return 0;
	/* One generation live and nothing recorded: no rotation under way, nothing to distribute. */
	if (*n == 1 && !prof)
		return 0;
	for (size_t i = 0; i < *n; i++)
		fps[i] = gens[i]->cert.sha256_hex;
	return !fca_state_profile_holds(prof, fps, *n);
}

int fca_engine_profiles_stale(const struct fca_observed *o, const struct fca_desired *d, unsigned skip)
{
	const struct fca_obs_gen *gens[FCA_SLOT_COUNT];
	size_t n;

	for (int i = 0; i < FCA_CA_COUNT; i++)
		if (!(skip & (1u << i)) && stale(o, d, (enum fca_ca_id)i, gens, &n))
			return 1;
	return 0;
}

void fca_engine_observe_profiles(struct fca_observed *o, const struct fca_desired *d, struct fca_fleet_api *api,
				 const char *api_note)
{
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		struct fca_obs_ca *oc = &o->cas[i];
		const struct fca_state_profile *prof = fca_state_profile_find(&o->state, (enum fca_ca_id)i);
		struct fca_profile_status st;

		if (!d->cas[i].present || !d->cas[i].distribute_profile)
			continue;
		oc->profile_api = api != NULL;
		if (!api) {
			snprintf(oc->profile_note, sizeof(oc->profile_note), "%s", api_note ? api_note : "");
			continue;
		}
		/* The counts matter only to an activation: read them while the CA is staged. */
		if (!prof || oc->stage != FCA_STAGE_STAGED)
			continue;
		if (fca_fleet_api_profile_status(api, prof->profile_uuid, &st) == FCA_OK) {
			oc->profile_status_known = 1;
			oc->profile_verified = st.verified;
			oc->profile_verifying = st.verifying;
			oc->profile_pending = st.pending;
			oc->profile_failed = st.failed;
		} else {
			snprintf(oc->profile_note, sizeof(oc->profile_note), "%s", fca_error_message());
			fca_error_clear();
		}
	}
}

/* The DER of each live certificate, read under the run's lock and checked against its fingerprint. */
static int read_ders(struct fca_store *s, const struct fca_secret *aes, const struct fca_obs_gen *const *gens,
		     size_t n, unsigned char *der[FCA_SLOT_COUNT], size_t der_len[FCA_SLOT_COUNT])
{
	const char *names[FCA_SLOT_COUNT];
	struct fca_asset_rows rows = { NULL, 0 };
	struct fca_secret pem = FCA_SECRET_INIT;
	char fp[65];
	int r;

	for (size_t i = 0; i < n; i++)
		names[i] = gens[i]->cert_asset;
	if ((r = fca_store_read_live(s, &rows, names, n, 0)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct fca_asset_row *row = fca_asset_rows_find(&rows, names[i]);
		if (!row) {
			r = fca_error_set(FCA_ECONFLICT, "%s disappeared while fleetca was building the trust profile: "
							 "run the command again", names[i]);
			goto out;
		}
		if ((r = fca_crypto_decrypt(&pem, aes, row->value, row->value_len, names[i])) != 0 ||
		    (r = fca_crypto_cert_der(&der[i], &der_len[i], (const char *)pem.data, pem.len, names[i])) != 0)
			goto out;
		fca_secret_dispose(&pem);
		fca_crypto_sha256_hex(fp, der[i], der_len[i]);
		if (strcmp(fp, gens[i]->cert.sha256_hex) != 0) {
			r = fca_error_set(FCA_ECONFLICT, "%s changed while fleetca was building the trust profile: run "
							 "the command again", names[i]);
			goto out;
		}
	}
	r = FCA_OK;
out:
	fca_secret_dispose(&pem);
	fca_asset_rows_dispose(&rows);
	return r;
}

/* Records the uploaded profile in the state document, in its own transaction. */
static int record(struct fca_store *s, const struct fca_secret *aes, const struct fca_state_profile *prof, int64_t now)
{
	struct fca_state st;
	int found = 0, r, in_tx = 0;

	fca_state_init(&st);
	if ((r = fca_store_begin(s)) != 0)
		goto out;
	in_tx = 1;
	if ((r = fca_engine_load_state(&st, &found, s, aes, 1)) != 0)
		goto out;
	if (!found) {
		r = fca_error_set(FCA_ECONFLICT, "the state document disappeared while fleetca uploaded the trust "
						 "profile %s: record it by hand or delete it in Fleet", prof->profile_uuid);
		goto out;
	}
	fca_state_profile_set(&st, prof);
	st.updated_at = now;
	if ((r = fca_engine_save_state(s, aes, &st, 1)) != 0 || (r = fca_store_commit(s)) != 0)
		goto out;
	in_tx = 0;
out:
	if (in_tx)
		fca_store_rollback(s);
	fca_state_dispose(&st);
	return r;
}

static int sync_ca(struct fca_store *s, const struct fca_secret *aes, const struct fca_observed *o,
		   enum fca_ca_id ca, const struct fca_obs_gen *const *gens, size_t n, struct fca_fleet_api *api,
		   int64_t now, FILE *progress)
{
	const struct fca_ca_def *def = fca_catalog_get(ca);
	const struct fca_state_profile *old = fca_state_profile_find(&o->state, ca);
	struct fca_mobileconfig_cert certs[FCA_SLOT_COUNT];
	struct fca_state_profile prof;
	unsigned char *der[FCA_SLOT_COUNT] = { NULL };
	size_t der_len[FCA_SLOT_COUNT] = { 0 }, xml_len = 0;
	char *xml = NULL, filename[96];
	int r;

	if ((r = read_ders(s, aes, gens, n, der, der_len)) != 0)
		goto out;
	memset(&prof, 0, sizeof(prof));
	prof.ca = ca;
	for (size_t i = 0; i < n; i++) {
		certs[i].sha256_hex = gens[i]->cert.sha256_hex;
		certs[i].der = der[i];
		certs[i].der_len = der_len[i];
		snprintf(prof.sha256s[i], sizeof(prof.sha256s[i]), "%s", gens[i]->cert.sha256_hex);
	}
	prof.nsha256 = n;
	prof.uploaded_at = now;
	if ((r = fca_mobileconfig_build(&xml, &xml_len, def, certs, n)) != 0)
		goto out;
	snprintf(filename, sizeof(filename), "fleetca-trust-%s.mobileconfig", def->name);
	/* Same PayloadIdentifier: Fleet answers 409 unless the old one is deleted first. Hosts keep
	 * trusting the signing generation meanwhile through Fleet's own CA profile (FLEET-FACTS §11). */
	if (old && (r = fca_fleet_api_delete_profile(api, old->profile_uuid)) != 0)
		goto out;
	if (old && progress)
		fprintf(progress, "deleted trust profile %s of %s\n", old->profile_uuid, def->name);
	if ((r = fca_fleet_api_upload_profile(api, filename, xml, xml_len, prof.profile_uuid,
					      sizeof(prof.profile_uuid))) != 0 ||
	    (r = record(s, aes, &prof, now)) != 0)
		goto out;
	if (progress) {
		fprintf(progress, "uploaded trust profile %s of %s (gen", prof.profile_uuid, def->name);
		for (size_t i = 0; i < n; i++)
			fprintf(progress, "%s %d", i ? "," : "", gens[i]->generation);
		fprintf(progress, ")\n");
		fflush(progress);
	}
out:
	if (r != FCA_OK)
		fca_error_prefix("%s: trust profile", def->name);
	for (size_t i = 0; i < FCA_SLOT_COUNT; i++)
		free(der[i]);
	free(xml);
	return r;
}

int fca_engine_sync_profiles(struct fca_store *s, const struct fca_secret *aes, const struct fca_observed *o,
			     const struct fca_desired *d, struct fca_fleet_api *api, int64_t now, FILE *progress,
			     unsigned *failed, char errors[FCA_CA_COUNT][FCA_PROFILE_ERROR_MAX])
{
	const struct fca_obs_gen *gens[FCA_SLOT_COUNT];
	size_t n;
	int r;

	for (int i = 0; i < FCA_CA_COUNT; i++) {
		if ((*failed & (1u << i)) || !stale(o, d, (enum fca_ca_id)i, gens, &n))
			continue;
		if ((r = sync_ca(s, aes, o, (enum fca_ca_id)i, gens, n, api, now, progress)) == FCA_ENOMEM)
			return r;
		if (r != FCA_OK) { /* this CA's activation stays closed; the others go on */
			*failed |= 1u << i;
			snprintf(errors[i], FCA_PROFILE_ERROR_MAX, "%s", fca_error_message());
			fca_error_clear();
		}
	}
	return FCA_OK;
}
