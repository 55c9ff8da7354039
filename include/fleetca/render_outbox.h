/* What `fleetca outbox` shows: the activities not yet delivered. */
#ifndef FLEETCA_RENDER_OUTBOX_H
#define FLEETCA_RENDER_OUTBOX_H

#include <stdio.h>

#include "fleetca/state.h"

/* One aligned line per entry (key, type, created_at, attempts), or a sentence when none. */
int fca_render_outbox_text(FILE *f, const struct fca_state *st) FCA_MUST_USE;
/*
 * {"format_version": 1, "pending": [{"idempotency_key", "type", "created_at", "attempts", "details"}],
 *  "delivered": n (only when delivered >= 0), "error": message or null}
 */
int fca_render_outbox_json(FILE *f, const struct fca_state *st, long delivered, const char *error) FCA_MUST_USE;

#endif
