/*
 * The desired state a plan was made from, as flat key/value pairs ("cas.host_identity.validity" =
 * "10y"): `plan --out` records it, `apply --plan` refuses to run a plan whose desired state differs
 * from the one it would run now, naming each difference. Pure (src/model/pin.c).
 */
#ifndef FLEETCA_PIN_H
#define FLEETCA_PIN_H

#include <stddef.h>

#include "fleetca/desired.h"

#define FCA_PIN_MAX	  64
#define FCA_PIN_KEY_MAX	  64
#define FCA_PIN_VALUE_MAX (FCA_REASON_MAX + 1)

struct fca_pin_entry {
	char key[FCA_PIN_KEY_MAX];
	char value[FCA_PIN_VALUE_MAX];
};

struct fca_pin {
	struct fca_pin_entry e[FCA_PIN_MAX];
	size_t n;
};

/*
 * Everything a saved plan's steps and gates depend on besides Fleet's rows: the source (path and
 * commit; "" for a working-tree file), the policy, the activity sink, and per CA whether it is named
 * and its generation, stage, subject (with the catalog's defaults), key, validity, renew_before,
 * adopt and suspend. FCA_EINVALID, naming the entry, when a value (the source path, say) is
 * longer than FCA_PIN_VALUE_MAX - 1 bytes: a pin is never cut short.
 */
int fca_pin_build(struct fca_pin *out, const struct fca_desired *d, const char *source_path,
		  const char *source_commit) FCA_MUST_USE;

/* Adds or replaces one entry (for reading a saved plan). Returns FCA_EINVALID when full or too long. */
int fca_pin_set(struct fca_pin *p, const char *key, const char *value) FCA_MUST_USE;

/*
 * Compares the pin a plan was made from with the current one. Returns the number of differences
 * and writes them to why ("cas.host_identity.validity: 5y in the plan, 10y now; …"), "" when none.
 */
size_t fca_pin_compare(const struct fca_pin *planned, const struct fca_pin *now, char *why, size_t n);

#endif
