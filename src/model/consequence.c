/*
 * The consequences of steps outside fleetca's rows (docs/architecture.md, section 7). Fleet's
 * readers take the first certificate of a cert row, so only a change of the signing certificate
 * (ca_cert and its kin: activate, rollback, renew) reaches devices and other systems:
 *   apple_scep: Fleet's profile cron rebuilds com.fleetdm.caroot from the first block of ca_cert and
 *     re-installs it on every Apple host; nobody has to act.
 *   conditional_access: the Okta Apple profile the admin deployed embeds that certificate, and the
 *     customer's load balancer verifies device mTLS against its own trust store.
 *   conditional_access_idp: the identity provider checks Fleet's SAML signatures with it.
 *   host_identity: hosts are checked by their stored public key, never against the CA.
 */
#include <stddef.h>

#include "fleetca/consequence.h"

static const char fleet_root[] =
    "Fleet re-installs its root CA profile (com.fleetdm.caroot) on every Apple host when ca_cert changes";

#define OKTA_LB	       "the Okta Apple profile and the load balancer's trust store need the "
#define OKTA_LB_EXPORT " certificate: `fleetca export --ca conditional_access`"
#define IDP	       "the identity provider needs the "
#define IDP_EXPORT     " signing certificate: `fleetca export --ca conditional_access_idp`"

/* Per step kind that changes the signing certificate: what that certificate is, after the step. */
static const char *const okta_lb[] = {
    [FCA_STEP_ACTIVATE] = OKTA_LB "new" OKTA_LB_EXPORT,
    [FCA_STEP_ROLLBACK] = OKTA_LB "restored" OKTA_LB_EXPORT,
    [FCA_STEP_RENEW] = OKTA_LB "renewed" OKTA_LB_EXPORT,
};
static const char *const idp[] = {
    [FCA_STEP_ACTIVATE] = IDP "new" IDP_EXPORT,
    [FCA_STEP_ROLLBACK] = IDP "restored" IDP_EXPORT,
    [FCA_STEP_RENEW] = IDP "renewed" IDP_EXPORT,
};

int fca_consequence_of(struct fca_consequence *out, const struct fca_step *s)
{
	out->kind = FCA_CONSEQUENCE_NONE;
	out->name = NULL;
	out->text = NULL;
	if (s->kind != FCA_STEP_ACTIVATE && s->kind != FCA_STEP_ROLLBACK && s->kind != FCA_STEP_RENEW)
		return 0;
	switch (s->ca) {
	case FCA_CA_APPLE_SCEP:
		out->kind = FCA_CONSEQUENCE_FLEET_ROOT;
		out->name = "fleet_reinstalls_root";
		out->text = fleet_root;
		return 1;
	case FCA_CA_CONDITIONAL_ACCESS:
	case FCA_CA_CONDITIONAL_ACCESS_IDP:
		out->kind = FCA_CONSEQUENCE_ADMIN_TRUST;
		out->name = "admin_updates_trust";
		out->text = s->ca == FCA_CA_CONDITIONAL_ACCESS ? okta_lb[s->kind] : idp[s->kind];
		return 1;
	default:
		return 0;
	}
}
