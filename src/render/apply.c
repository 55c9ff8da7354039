#include <stdio.h>

#include <jansson.h>

#include "fleetca/render_apply.h"
#include "fleetca/timeutil.h"
#include "render/render_int.h"

int fca_render_apply_json(FILE *f, const char (*done)[FCA_STEP_ID_MAX], size_t ndone, const struct fca_plan *p,
			  const struct fca_observed *o)
{
	json_t *root = json_object(), *applied = json_array(), *waiting = json_array();
	char t[32];
	int r;

	(void)o;
	for (size_t i = 0; i < ndone; i++)
		json_array_append_new(applied, json_string(done[i]));
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct fca_step *s = &p->steps[i];
		json_t *w = json_object();
		json_object_set_new(w, "step_id", json_string(s->step_id));
		json_object_set_new(w, "gate", json_string(fca_gate_name(s->gate)));
		json_object_set_new(w, "reason", json_string(s->gate_reason));
		if (s->opens_at > 0) {
			fca_time_rfc3339(t, sizeof(t), s->opens_at);
			json_object_set_new(w, "opens_at", json_string(t));
		} else {
			json_object_set_new(w, "opens_at", json_null());
		}
		json_object_set_new(w, "disruption",
				    s->disruption.applies ? fca_render__disruption_json(&s->disruption, 1)
							  : json_null());
		json_array_append_new(waiting, w);
	}
	json_object_set_new(root, "format_version", json_integer(1));
	json_object_set_new(root, "applied", applied);
	json_object_set_new(root, "converged", json_boolean(p->nsteps == 0));
	json_object_set_new(root, "remaining", waiting);
	r = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? FCA_OK
									    : fca_error_set(FCA_ERROR, "cannot write JSON");
	fputc('\n', f);
	json_decref(root);
	return r;
}
