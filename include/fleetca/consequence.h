/*
 * What a step sets off outside fleetca's rows, for trust on devices and in other systems
 *: Fleet re-installing its root CA profile on every Apple host, or a trust store that
 * an admin must update with `fleetca export`. fleetca uploads no profiles of its own; the plan says
 * what follows instead. The one home of these words: every renderer shows them from here. Pure.
 */
#ifndef FLEETCA_CONSEQUENCE_H
#define FLEETCA_CONSEQUENCE_H

#include "fleetca/plan.h"

enum fca_consequence_kind {
	FCA_CONSEQUENCE_NONE = 0,
	FCA_CONSEQUENCE_FLEET_ROOT,  /* Fleet does it: com.fleetdm.caroot follows the first block of ca_cert */
	FCA_CONSEQUENCE_ADMIN_TRUST, /* a person must: the Okta Apple profile, the load balancer, the IdP */
};

struct fca_consequence {
	enum fca_consequence_kind kind;
	const char *name; /* the JSON plan's "kind": "fleet_reinstalls_root", "admin_updates_trust" */
	const char *text; /* one sentence for people, static */
};

/*
 * The consequence of step s, once it has run: the steps that change a CA's signing certificate
 * (activate, rollback, renew) of apple_scep, conditional_access and conditional_access_idp. Returns
 * 1 and fills *out, or 0 (out->kind FCA_CONSEQUENCE_NONE, name and text NULL) when there is none.
 */
int fca_consequence_of(struct fca_consequence *out, const struct fca_step *s);

#endif
