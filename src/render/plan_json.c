/* The plan as JSON (schemas/plan.schema.json), for machines and for `plan --out`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleetca/catalog.h"
#include "fleetca/change.h"
#include "fleetca/consequence.h"
#include "fleetca/pin.h"
#include "fleetca/render.h"
#include "fleetca/timeutil.h"
#include "render/render_int.h"

/* Builders collect a failure in *fail instead of checking every call. */
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

/* A bounded char array as a JSON string (invalid UTF-8 would make jansson refuse it: replaced). */
static json_t *str_n(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	json_t *v = json_stringn(s, len);
	char tmp[1024];

	if (v || len >= sizeof(tmp))
		return v ? v : json_string("");
	for (size_t i = 0; i < len; i++)
		tmp[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	return json_stringn(tmp, len);
}
#define STR(field) str_n((field), sizeof(field))

static json_t *str_or_null(const char *s, size_t cap)
{
	return s[0] ? str_n(s, cap) : json_null();
}

static json_t *time_or_null(int64_t t)
{
	char buf[40];

	if (t <= 0)
		return json_null();
	fca_time_rfc3339(buf, sizeof(buf), t);
	return json_string(buf);
}

static json_t *gen_stage(int generation, enum fca_stage stage, int *fail)
{
	json_t *o = json_object();

	if (!o) {
		*fail = 1;
		return NULL;
	}
	put(o, "generation", json_integer(generation), fail);
	put(o, "stage", json_string(fca_stage_name(stage)), fail);
	return o;
}

/* offline: no row was read, so "now" is null */
static json_t *build_ca(const struct fca_plan *p, const struct fca_observed *o, enum fca_ca_id ca, int offline,
			int *fail)
{
	const struct fca_plan_ca *pc = &p->cas[ca];
	json_t *obj = json_object(), *w = json_array();
	if (!obj || !w) {
		json_decref(obj);
		json_decref(w);
		*fail = 1;
		return NULL;
	}
	put(obj, "id", json_string(fca_catalog_get(ca)->name), fail);
	put(obj, "now", offline ? json_null() : gen_stage(pc->now_generation, pc->now_stage, fail), fail);
	put(obj, "target", gen_stage(pc->target_generation, pc->target_stage, fail), fail);
	put(obj, "suspended", json_boolean(pc->suspended), fail);
	put(obj, "drift", json_boolean((pc->warnings & FCA_WARN_DRIFT) || (o && o->cas[ca].drift)), fail);
	put(obj, "stuck", json_boolean(fca_plan_ca_stuck(p, ca)), fail);
	for (unsigned b = 0; b < FCA_RENDER_WARN_COUNT; b++)
		if (pc->warnings & (1u << b))
			push(w, json_string(fca_render__warning_name(b)), fail);
	put(obj, "warnings", w, fail);
	put(obj, "note", str_or_null(pc->note, sizeof(pc->note)), fail);
	put(obj, "error", str_or_null(pc->error, sizeof(pc->error)), fail);
	return obj;
}

json_t *fca_render__disruption_json(const struct fca_disruption *d, int with_asserted)
{
	json_t *o = json_object();
	int fail = !o;

	if (!o)
		return NULL;
	put(o, "new_key", json_boolean(d->new_key), &fail);
	put(o, "new_subject", json_boolean(d->new_subject), &fail);
	put(o, "devices", d->devices_known ? json_integer((json_int_t)d->devices) : json_null(), &fail);
	put(o, "devices_not_counted", d->devices_known ? json_null() : STR(d->devices_why), &fail);
	put(o, "escrows", d->escrows_known ? json_integer((json_int_t)d->escrows) : json_null(), &fail);
	put(o, "escrows_not_counted", d->escrows_known ? json_null() : STR(d->escrows_why), &fail);
	if (with_asserted)
		put(o, "asserted_trusts_previous", json_boolean(d->asserted), &fail);
	if (fail) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *op_name(char op)
{
	switch (op) {
	case '+':
		return "insert";
	case '-':
		return "soft_delete";
	default:
		return "replace";
	}
}

static json_t *build_step(const struct fca_plan *p, const struct fca_observed *o, size_t i, int *fail)
{
	const struct fca_step *s = &p->steps[i];
	const struct fca_ca_def *def = fca_catalog_get(s->ca);
	json_t *obj = json_object(), *gate = json_object(), *writes = json_array();
	struct fca_consequence cq;
	char buf[600];

	if (!obj || !gate || !writes) {
		json_decref(obj);
		json_decref(gate);
		json_decref(writes);
		*fail = 1;
		return NULL;
	}
	put(obj, "step_id", STR(s->step_id), fail);
	put(obj, "ca", json_string(def ? def->name : "unknown"), fail);
	put(obj, "kind", json_string(fca_step_kind_name(s->kind)), fail);
	put(obj, "generation", json_integer(s->generation), fail);
	put(obj, "from_generation", json_integer(s->from_generation), fail);
	put(obj, "from_stage", json_string(fca_stage_name(s->from_stage)), fail);
	put(obj, "to_stage", json_string(fca_stage_name(s->to_stage)), fail);
	put(obj, "ready", json_boolean(fca_plan_step_ready(p, i)), fail);

	put(gate, "state", json_string(fca_gate_name(s->gate)), fail);
	put(gate, "reason", STR(s->gate_reason), fail);
	put(gate, "opens_at", s->gate == FCA_GATE_WAIT ? time_or_null(s->opens_at) : json_null(), fail);
	put(gate, "forced", json_boolean(s->forced), fail);
	put(obj, "gate", gate, fail);

	for (size_t k = 0; k < s->nwrites && k < FCA_STEP_MAX_WRITES; k++) {
		json_t *wo = json_object();
		if (!wo) {
			*fail = 1;
			break;
		}
		put(wo, "op", json_string(op_name(s->writes[k].op)), fail);
		put(wo, "asset", STR(s->writes[k].asset), fail);
		put(wo, "generation", json_integer(s->writes[k].generation), fail);
		push(writes, wo, fail);
	}
	put(obj, "writes", writes, fail);

	if (s->kind == FCA_STEP_STAGE || s->kind == FCA_STEP_RENEW) {
		json_t *nc = json_object();
		if (!nc) {
			*fail = 1;
		} else {
			fca_render__subject(buf, sizeof(buf), s, o);
			put(nc, "subject", str_n(buf, sizeof(buf)), fail);
			fca_render__key(buf, sizeof(buf), s, o);
			put(nc, "key", str_or_null(buf, sizeof(buf)), fail);
			put(nc, "key_kept", json_boolean(s->kind == FCA_STEP_RENEW || s->key_keep), fail);
			put(nc, "validity_seconds", json_integer(s->validity), fail);
			put(obj, "new_certificate", nc, fail);
		}
	} else {
		put(obj, "new_certificate", json_null(), fail);
	}

	if (s->kind == FCA_STEP_RETIRE || s->drain_gated) {
		json_t *d = json_object(), *bl = json_array();
		size_t nb = s->nblockers < FCA_MAX_BLOCKERS ? s->nblockers : FCA_MAX_BLOCKERS;
		if (!d || !bl) {
			json_decref(d);
			json_decref(bl);
			*fail = 1;
		} else {
			int counted = !s->drain_not_counted[0]; /* a count not made is null, never 0 */
			put(d, "live", counted ? json_integer((json_int_t)s->drain_live) : json_null(), fail);
			put(d, "unexpired", counted ? json_integer((json_int_t)s->drain_unexpired) : json_null(), fail);
			put(d, "by_enrollment", json_boolean(s->by_enrollment), fail);
			put(d, "last_expiry", time_or_null(s->drain_last_expiry), fail);
			put(d, "escrows", counted ? json_integer((json_int_t)s->escrows) : json_null(), fail);
			put(d, "not_counted", counted ? json_null() : STR(s->drain_not_counted), fail);
			put(d, "unparseable_certificates", json_integer((json_int_t)s->drain_unparsed), fail);
			put(d, "unparseable_escrows", json_integer((json_int_t)s->escrows_unparsed), fail);
			for (size_t k = 0; k < nb; k++) {
				const struct fca_blocker *b = &s->blockers[k];
				json_t *bo = json_object();
				if (!bo) {
					*fail = 1;
					break;
				}
				put(bo, "table", STR(b->table), fail);
				put(bo, "serial", STR(b->serial), fail);
				put(bo, "who", STR(b->who), fail);
				put(bo, "not_valid_after", time_or_null(b->not_valid_after), fail);
				push(bl, bo, fail);
			}
			put(d, "blockers", bl, fail);
			put(obj, "drain", d, fail);
		}
	} else {
		put(obj, "drain", json_null(), fail);
	}
	put(obj, "discards", str_or_null(s->discards, sizeof(s->discards)), fail);
	put(obj, "disruption", s->disruption.applies ? fca_render__disruption_json(&s->disruption, 1) : json_null(),
	    fail);

	if (fca_consequence_of(&cq, s)) {
		json_t *c = json_object();
		if (!c) {
			*fail = 1;
		} else {
			put(c, "kind", json_string(cq.name), fail);
			put(c, "text", json_string(cq.text), fail);
			put(obj, "consequence", c, fail);
		}
	} else {
		put(obj, "consequence", json_null(), fail);
	}
	return obj;
}

/* The "change" array of `plan --git-base`: one entry per CA named at the base or in the change. */
static json_t *build_change(const struct fca_change *ch, int *fail)
{
	json_t *arr = json_array();

	if (!arr) {
		*fail = 1;
		return NULL;
	}
	for (int ca = 0; ca < FCA_CA_COUNT; ca++) {
		const struct fca_change_ca *c = &ch->cas[ca];
		json_t *obj, *fields;
		if (!c->considered)
			continue;
		if (!(obj = json_object()) || !(fields = json_array())) {
			json_decref(obj);
			*fail = 1;
			break;
		}
		put(obj, "ca", json_string(fca_catalog_get((enum fca_ca_id)ca)->name), fail);
		put(obj, "base", c->base_present ? gen_stage(c->base_generation, c->base_stage, fail) : json_null(),
		    fail);
		put(obj, "head", c->head_present ? gen_stage(c->head_generation, c->head_stage, fail) : json_null(),
		    fail);
		for (unsigned b = 0; b < FCA_CHANGE_FIELD_COUNT; b++)
			if (c->fields & (1u << b))
				push(fields, json_string(fca_change_field_name(b)), fail);
		put(obj, "fields", fields, fail);
		push(arr, obj, fail);
	}
	return arr;
}

int fca_render__json_out(FILE *f, json_t *root, int fail)
{
	int r = FCA_OK;

	if (fail || !root)
		r = fca_error_set(FCA_ENOMEM, "out of memory while rendering JSON");
	else if (json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF ||
		 fflush(f) != 0 || ferror(f))
		r = fca_error_set(FCA_ERROR, "cannot write JSON: %s", strerror(errno));
	json_decref(root);
	return r;
}

static int dump(char **out, json_t *root, int fail)
{
	char *text = NULL, *withnl = NULL;
	size_t len;

	*out = NULL;
	if (fail || !(text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
		return fca_error_set(FCA_ENOMEM, "out of memory while rendering JSON");
	len = strlen(text);
	if (!(withnl = malloc(len + 2))) {
		free(text);
		return fca_error_set(FCA_ENOMEM, "out of memory while rendering JSON");
	}
	memcpy(withnl, text, len);
	withnl[len] = '\n';
	withnl[len + 1] = '\0';
	free(text);
	*out = withnl;
	return FCA_OK;
}

static int write_text(FILE *f, char *text, int r)
{
	if (r == FCA_OK && (fputs(text, f) == EOF || fflush(f) != 0))
		r = fca_error_set(FCA_ERROR, "cannot write the plan: %s", strerror(errno));
	free(text);
	return r;
}

/* A saved plan's "desired": the desired state it was made from (include/fleetca/pin.h). */
static json_t *build_pin(const struct fca_pin *pin, int *fail)
{
	json_t *obj = json_object();

	if (!obj) {
		*fail = 1;
		return NULL;
	}
	for (size_t i = 0; i < pin->n && i < FCA_PIN_MAX; i++)
		put(obj, pin->e[i].key, STR(pin->e[i].value), fail);
	return obj;
}

static int plan_json_string(char **out, const struct fca_plan *p, const struct fca_observed *o,
			    const struct fca_change *ch, const struct fca_pin *pin, int offline)
{
	int r = FCA_ENOMEM, fail = 0;
	json_t *root = NULL, *summary, *cas, *steps, *basis;
	struct fca_render_counts c;
	char now[40];

	*out = NULL;
	fca_render__counts(&c, p);
	if (!(root = json_object()))
		goto out;
	fca_time_rfc3339(now, sizeof(now), p->now);
	put(root, "format_version", json_integer(FCA_PLAN_FORMAT_VERSION), &fail);
	put(root, "generated_at", json_string(now), &fail);
	if (offline)
		put(root, "offline", json_true(), &fail);
	if ((summary = json_object())) {
		put(summary, "steps", json_integer((json_int_t)c.steps), &fail);
		put(summary, "ready", json_integer((json_int_t)c.ready), &fail);
		put(summary, "waiting", json_integer((json_int_t)c.waiting), &fail);
		/* what plan exits 1 for: errors > 0 exactly when it does */
		put(summary, "errors", json_integer((json_int_t)fca_plan_errors(p)), &fail);
		put(summary, "stuck", json_integer((json_int_t)fca_render__stuck_words(NULL, 0, p)), &fail);
	}
	put(root, "summary", summary, &fail);
	if ((cas = json_array()))
		for (int ca = 0; ca < FCA_CA_COUNT; ca++)
			if (p->cas[ca].considered)
				push(cas, build_ca(p, o, (enum fca_ca_id)ca, offline, &fail), &fail);
	put(root, "cas", cas, &fail);
	if ((steps = json_array()))
		for (size_t i = 0; i < c.steps; i++)
			push(steps, build_step(p, o, i, &fail), &fail);
	put(root, "steps", steps, &fail);
	if ((basis = json_array()) && o) {
		size_t nb = o->nbasis < sizeof(o->basis) / sizeof(o->basis[0]) ? o->nbasis
									       : sizeof(o->basis) / sizeof(o->basis[0]);
		for (size_t i = 0; i < nb; i++) {
			json_t *bo = json_object();
			if (!bo) {
				fail = 1;
				break;
			}
			put(bo, "asset", STR(o->basis[i].name), &fail);
			put(bo, "md5", STR(o->basis[i].md5), &fail);
			push(basis, bo, &fail);
		}
	}
	put(root, "basis", basis, &fail);
	if (ch)
		put(root, "change", build_change(ch, &fail), &fail);
	if (pin)
		put(root, "desired", build_pin(pin, &fail), &fail);
	r = dump(out, root, fail);
out:
	if (!root)
		fca_error_set(FCA_ENOMEM, "out of memory while rendering the plan as JSON");
	json_decref(root);
	return r;
}

int fca_render_plan_json_string(char **out, const struct fca_plan *p, const struct fca_observed *o)
{
	return plan_json_string(out, p, o, NULL, NULL, 0);
}

int fca_render_plan_saved_string(char **out, const struct fca_plan *p, const struct fca_observed *o,
				 const struct fca_pin *pin)
{
	return plan_json_string(out, p, o, NULL, pin, 0);
}

int fca_render_plan_json(FILE *f, const struct fca_plan *p, const struct fca_observed *o)
{
	char *text = NULL;
	int r = plan_json_string(&text, p, o, NULL, NULL, 0);

	return write_text(f, text, r);
}

int fca_render_plan_change_json(FILE *f, const struct fca_plan *p, const struct fca_observed *o,
				const struct fca_change *ch)
{
	char *text = NULL;
	int r = plan_json_string(&text, p, o, ch, NULL, 0);

	return write_text(f, text, r);
}

int fca_render_plan_offline_json(FILE *f, const struct fca_desired *d, const struct fca_change *ch,
				 const struct fca_pin *pin, int64_t now)
{
	struct fca_plan *p = calloc(1, sizeof(*p));
	char *text = NULL;
	int r;

	if (!p)
		return fca_error_set(FCA_ENOMEM, "out of memory while rendering the plan as JSON");
	/* what the file asks for, per CA: no step, no basis (no row was read) */
	p->now = now;
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		p->cas[i].considered = d->cas[i].present;
		p->cas[i].suspended = d->cas[i].present && d->cas[i].suspend;
		p->cas[i].target_stage = d->cas[i].stage;
		p->cas[i].target_generation = d->cas[i].generation;
	}
	r = plan_json_string(&text, p, NULL, ch, pin, 1);
	free(p);
	return write_text(f, text, r);
}
