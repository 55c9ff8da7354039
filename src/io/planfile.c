/* Reading a saved plan (`fleetca plan --out`): only what apply needs to trust it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleetca/file.h"
#include "fleetca/planfile.h"

/* A plan holds its steps, the rows it saw and the desired state: far below this. */
#define FCA_PLANFILE_MAX_BYTES (4 * 1024 * 1024)

/* The "desired" object: the desired state the plan was made from, as flat string pairs. */
static int load_pin(const char *path, json_t *root, struct fca_pin *pin)
{
	json_t *obj = json_object_get(root, "desired"), *v;
	const char *k;

	memset(pin, 0, sizeof(*pin));
	if (!json_is_object(obj))
		return fca_error_set(FCA_EINVALID,
				     "%s: the plan does not record the desired state it was made from (a plan saved "
				     "by an older fleetca): make it again with 'fleetca plan --out' and review it",
				     path);
	json_object_foreach(obj, k, v) {
		if (!json_is_string(v))
			return fca_error_set(FCA_EINVALID, "%s: desired.%.64s is not a string", path, k);
		if (fca_pin_set(pin, k, json_string_value(v)) != FCA_OK)
			return fca_error_prefix("%s: desired", path);
	}
	return FCA_OK;
}

int fca_planfile_load(const char *path, struct fca_observed *basis, char (*steps)[FCA_STEP_ID_MAX], size_t max,
		      size_t *nsteps, struct fca_pin *pin)
{
	json_error_t err;
	json_t *root, *v, *arr;
	char *text = NULL;
	size_t i, len;
	int r = FCA_EINVALID;

	*nsteps = 0;
	basis->nbasis = 0;
	/* Regular files only, checked before a blocking read: a FIFO is refused at once. */
	if ((r = fca_file_read(path, FCA_PLANFILE_MAX_BYTES, &text, &len)) != FCA_OK)
		return fca_error_prefix("--plan");
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	free(text);
	r = FCA_EINVALID;
	if (!root)
		return fca_error_set(FCA_EINVALID, "%s:%d:%d: not a fleetca plan: %s", path, err.line, err.column, err.text);
	v = json_object_get(root, "format_version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		fca_error_set(FCA_EINVALID, "%s: not a fleetca plan of format_version 1: make it with 'fleetca plan --out'",
			      path);
		goto out;
	}
	if (load_pin(path, root, pin) != FCA_OK)
		goto out;
	arr = json_object_get(root, "basis");
	if (!json_is_array(arr) || json_array_size(arr) > sizeof(basis->basis) / sizeof(basis->basis[0])) {
		fca_error_set(FCA_EINVALID, "%s: the plan has no valid basis (the rows it was computed from)", path);
		goto out;
	}
	json_array_foreach(arr, i, v) {
		const char *a = json_string_value(json_object_get(v, "asset"));
		const char *m = json_string_value(json_object_get(v, "md5"));
		if (!a || !m || strlen(a) >= FCA_ASSET_NAME_MAX || strlen(m) != 32) {
			fca_error_set(FCA_EINVALID, "%s: basis[%zu] is malformed", path, i);
			goto out;
		}
		snprintf(basis->basis[basis->nbasis].name, FCA_ASSET_NAME_MAX, "%s", a);
		snprintf(basis->basis[basis->nbasis].md5, 33, "%s", m);
		basis->nbasis++;
	}
	arr = json_object_get(root, "steps");
	if (!json_is_array(arr) || json_array_size(arr) > max) {
		fca_error_set(FCA_EINVALID, "%s: the plan has no valid steps list", path);
		goto out;
	}
	json_array_foreach(arr, i, v) {
		const char *id = json_string_value(json_object_get(v, "step_id"));
		if (!id || strlen(id) >= FCA_STEP_ID_MAX) {
			fca_error_set(FCA_EINVALID, "%s: steps[%zu] has no step_id", path, i);
			goto out;
		}
		snprintf(steps[(*nsteps)++], FCA_STEP_ID_MAX, "%s", id);
	}
	r = FCA_OK;
out:
	json_decref(root);
	return r;
}
