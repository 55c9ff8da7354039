/* The "details" object of fleetca's Fleet activities, as compact sorted JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleetca/activity.h"
#include "fleetca/timeutil.h"

static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }

int fca_activity_details_json(char **out, const struct fca_activity *a)
{
	json_t *d = json_object(), *assets = json_array(), *src = json_object();
	char t[32];
	int r = FCA_OK;

	*out = NULL;
	if (!d || !assets || !src) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->nassets; i++)
		json_array_append_new(assets, json_string(a->assets[i]));
	json_object_set_new(d, "ca", json_string(a->ca));
	/* Fleet's UI shows "<actor> staged ca certificate <ca_name>". */
	if (a->ca_title) {
		char name[160];
		snprintf(name, sizeof(name), "%s, generation %d", a->ca_title,
			 a->named_generation > 0 ? a->named_generation : a->generation);
		json_object_set_new(d, "ca_name", json_string(name));
	}
	json_object_set(d, "assets", assets);
	json_object_set_new(d, "generation", json_integer(a->generation));
	json_object_set_new(d, "previous_generation",
			    a->previous_generation > 0 ? json_integer(a->previous_generation) : json_null());
	json_object_set_new(d, "sha256_fingerprint", str_or_null(a->sha256));
	json_object_set_new(d, "subject", str_or_null(a->subject));
	if (a->not_after > 0) {
		fca_time_rfc3339(t, sizeof(t), a->not_after);
		json_object_set_new(d, "not_after", json_string(t));
	} else {
		json_object_set_new(d, "not_after", json_null());
	}
	json_object_set_new(src, "path", str_or_null(a->source_path));
	json_object_set_new(src, "commit", str_or_null(a->source_commit));
	json_object_set_new(src, "ref", str_or_null(a->source_ref));
	json_object_set(d, "source", src);
	json_object_set_new(d, "step_id", json_string(a->step_id));
	json_object_set_new(d, "forced", json_boolean(a->forced));
	json_object_set_new(d, "reason", str_or_null(a->reason));
	if (!(*out = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS)))
		r = fca_error_set(FCA_ENOMEM, "out of memory");
out:
	json_decref(assets);
	json_decref(src);
	json_decref(d);
	return r;
}
