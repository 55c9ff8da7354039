/* What `fleetca apply --format json` reports (schemas/apply.schema.json). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "fleetca/render_apply.h"
#include "fleetca/timeutil.h"
#include "render/render_int.h"

static void put(json_t *obj, const char *key, json_t *v, int *fail)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		*fail = 1;
}

static void push(json_t *arr, json_t *v, int *fail)
{
	if (!v || json_array_append_new(arr, v) != 0)
		*fail = 1;
}

static const char *sink_name(enum fca_sink s)
{
	switch (s) {
	case FCA_SINK_DB:
		return "db";
	case FCA_SINK_API:
		return "api";
	default:
		return "none";
	}
}

static json_t *build_delivery(enum fca_sink sink, const struct fca_delivery *dv, int *fail)
{
	json_t *o = json_object();

	if (!o) {
		*fail = 1;
		return NULL;
	}
	put(o, "sink", json_string(sink_name(sink)), fail);
	put(o, "attempted", json_boolean(dv->attempted), fail);
	put(o, "delivered", json_integer((json_int_t)dv->delivered), fail);
	put(o, "pending", json_integer((json_int_t)dv->pending), fail);
	/* a server's text may not be UTF-8: jansson refuses it, so it is replaced */
	if (dv->code == FCA_OK)
		put(o, "error", json_null(), fail);
	else {
		json_t *e = json_stringn(dv->error, strnlen(dv->error, sizeof(dv->error)));
		put(o, "error", e ? e : json_string("(not UTF-8)"), fail);
	}
	put(o, "fatal", json_boolean(dv->fatal), fail);
	return o;
}

int fca_render_apply_json(FILE *f, const char (*done)[FCA_STEP_ID_MAX], size_t ndone, const struct fca_plan *p,
			  enum fca_sink sink, const struct fca_delivery *dv)
{
	json_t *root = json_object(), *applied = json_array(), *waiting = json_array();
	char t[32];
	int fail = !root || !applied || !waiting;

	for (size_t i = 0; i < ndone && applied; i++)
		push(applied, json_string(done[i]), &fail);
	for (size_t i = 0; i < p->nsteps && waiting; i++) {
		const struct fca_step *s = &p->steps[i];
		json_t *w = json_object();
		if (!w) {
			fail = 1;
			break;
		}
		put(w, "step_id", json_string(s->step_id), &fail);
		put(w, "gate", json_string(fca_gate_name(s->gate)), &fail);
		put(w, "reason", json_string(s->gate_reason), &fail);
		if (s->opens_at > 0) {
			fca_time_rfc3339(t, sizeof(t), s->opens_at);
			put(w, "opens_at", json_string(t), &fail);
		} else {
			put(w, "opens_at", json_null(), &fail);
		}
		put(w, "disruption",
		    s->disruption.applies ? fca_render__disruption_json(&s->disruption, 1) : json_null(), &fail);
		push(waiting, w, &fail);
	}
	if (root) {
		put(root, "format_version", json_integer(1), &fail);
		put(root, "applied", applied, &fail);
		put(root, "converged", json_boolean(p->nsteps == 0), &fail);
		put(root, "remaining", waiting, &fail);
		put(root, "delivery", build_delivery(sink, dv, &fail), &fail);
	} else {
		json_decref(applied);
		json_decref(waiting);
	}
	return fca_render__json_out(f, root, fail);
}
