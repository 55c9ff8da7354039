#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "fleetca/render_outbox.h"
#include "fleetca/timeutil.h"
#include "render/render_int.h"

int fca_render_outbox_text(FILE *f, const struct fca_state *st)
{
	size_t wk = strlen("IDEMPOTENCY-KEY"), wt = strlen("TYPE");
	char t[32];

	if (st->noutbox == 0) {
		fprintf(f, "No activities waiting: the outbox is empty.\n");
		return ferror(f) ? fca_error_set(FCA_ERROR, "cannot write to stdout") : FCA_OK;
	}
	for (size_t i = 0; i < st->noutbox; i++) {
		size_t k = strlen(st->outbox[i].idempotency_key), y = strlen(st->outbox[i].type);
		wk = k > wk ? k : wk;
		wt = y > wt ? y : wt;
	}
	fprintf(f, "%-*s  %-*s  %-20s  %s\n", (int)wk, "IDEMPOTENCY-KEY", (int)wt, "TYPE", "CREATED", "ATTEMPTS");
	for (size_t i = 0; i < st->noutbox; i++) {
		const struct fca_state_outbox *e = &st->outbox[i];
		fca_time_rfc3339(t, sizeof(t), e->created_at);
		fprintf(f, "%-*s  %-*s  %-20s  %d\n", (int)wk, e->idempotency_key, (int)wt, e->type, t, e->attempts);
	}
	fprintf(f, "\n%zu activit%s waiting.\n", st->noutbox, st->noutbox == 1 ? "y" : "ies");
	return ferror(f) ? fca_error_set(FCA_ERROR, "cannot write to stdout") : FCA_OK;
}

int fca_render_outbox_json(FILE *f, const struct fca_state *st, long delivered, const char *error)
{
	json_t *root = json_object(), *pending = json_array();
	char t[32];

	if (!root || !pending) {
		json_decref(root);
		json_decref(pending);
		return fca_error_set(FCA_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < st->noutbox; i++) {
		const struct fca_state_outbox *e = &st->outbox[i];
		json_t *o = json_object(), *d = e->details_json ? json_loads(e->details_json, 0, NULL) : NULL;
		fca_time_rfc3339(t, sizeof(t), e->created_at);
		json_object_set_new(o, "idempotency_key", json_string(e->idempotency_key));
		json_object_set_new(o, "type", json_string(e->type));
		json_object_set_new(o, "created_at", json_string(t));
		json_object_set_new(o, "attempts", json_integer(e->attempts));
		json_object_set_new(o, "details", d ? d : json_null());
		json_array_append_new(pending, o);
	}
	json_object_set_new(root, "format_version", json_integer(1));
	json_object_set_new(root, "pending", pending);
	if (delivered >= 0)
		json_object_set_new(root, "delivered", json_integer(delivered));
	json_object_set_new(root, "error", error && *error ? json_string(error) : json_null());
	return fca_render__json_out(f, root, 0);
}
