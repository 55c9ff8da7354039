#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "fleetca/plan.h"
#include "fleetca/render_status.h"
#include "fleetca/timeutil.h"
#include "render/render_int.h"

static const char *c_on(int color, const char *code)
{
	return color ? code : "";
}
#define BOLD(c) c_on(c, "\033[1m")
#define RED(c)	c_on(c, "\033[31m")
#define YEL(c)	c_on(c, "\033[33m")
#define GRN(c)	c_on(c, "\033[32m")
#define OFF(c)	c_on(c, "\033[0m")

/* For a person, at most about 40 bytes: a cut is harmless. */
static void remaining(char *buf, size_t n, int64_t not_after, int64_t now)
{
	char d[32];
	int64_t left = not_after - now;

	if (left <= 0) {
		fca_duration_format(d, sizeof(d), -left);
		snprintf(buf, n, "expired %s ago", d);
		return;
	}
	if (left >= (int64_t)365 * 86400)
		snprintf(buf, n, "%lldy %lldd left", (long long)(left / (365 * 86400)),
			 (long long)(left % (365 * 86400) / 86400));
	else {
		fca_duration_format(d, sizeof(d), left);
		snprintf(buf, n, "%s left", d);
	}
}

static const char *ca_state_word(const struct fca_obs_ca *c)
{
	if (c->stage == FCA_STAGE_NONE)
		return "not set up";
	if (c->drift)
		return "drift";
	return c->managed ? "managed" : "unmanaged";
}

/* The note of a count not made, or NULL when it was made (never a number it did not count). */
static const char *issued_why(const struct fca_obs_ca *c)
{
	return c->issued_scanned ? NULL : c->issued_note[0] ? c->issued_note : "not scanned";
}

static const char *escrows_why(const struct fca_obs_ca *c, int apple)
{
	return !apple || c->escrows_scanned ? NULL : c->escrows_scan_note[0] ? c->escrows_scan_note : "not scanned";
}

static void text_gen(FILE *f, const struct fca_obs_ca *c, const struct fca_obs_gen *g, enum fca_role role, int64_t now,
		     int color, int apple, int issues)
{
	char t[40], left[48];

	fprintf(f, "  %-9s ", fca_role_name(role));
	if (g->generation > 0)
		fprintf(f, "gen %-3d ", g->generation);
	else
		fprintf(f, "gen ?   ");
	if (!g->cert_ok) {
		fprintf(f, "%s%s does not hold a readable certificate%s\n", RED(color), g->cert_asset, OFF(color));
		return;
	}
	fprintf(f, "%s\n", g->cert.subject);
	fca_time_human(t, sizeof(t), g->cert.not_after);
	remaining(left, sizeof(left), g->cert.not_after, now);
	fprintf(f, "  %-9s rows     %s%s%s\n", "", g->cert_asset, g->has_key ? ", " : "",
		g->has_key ? g->key_asset : "");
	fprintf(f, "  %-9s sha256   %s\n", "", g->cert.sha256_hex);
	fprintf(f, "  %-9s expires  %s (%s)\n", "", t, left);
	fprintf(f, "  %-9s key      %s-%d%s\n", "", g->cert.key_type,
		g->key_check == 1 ? g->cert.key_bits : g->cert.key_bits,
		g->key_check == 1   ? ", matches its certificate"
		: g->key_check == 0 ? ", DOES NOT MATCH its certificate"
				    : "");
	if (!issues) /* nothing to count: it signs (SAML), it issues no certificates */
		fprintf(f, "  %-9s issued   none: this CA issues no device certificates\n", "");
	else if (issued_why(c))
		fprintf(f, "  %-9s issued   %snot counted: %s%s\n", "", RED(color), issued_why(c), OFF(color));
	else
		fprintf(f, "  %-9s issued   %" PRIu64 " live certificate%s\n", "", g->issued_live,
			g->issued_live == 1 ? "" : "s");
	if (apple && c->assoc_note[0]) /* which certificates are in use: each enrollment's newest */
		fprintf(f, "  %-9s in use   %snot counted: %s%s\n", "", RED(color), c->assoc_note, OFF(color));
	if (escrows_why(c, apple))
		fprintf(f, "  %-9s escrows  %snot counted: %s%s\n", "", RED(color), escrows_why(c, apple), OFF(color));
	else if (g->escrows)
		fprintf(f, "  %-9s escrows  %" PRIu64 " FileVault recovery key%s encrypted to it\n", "", g->escrows,
			g->escrows == 1 ? "" : "s");
	for (unsigned i = 0; i < FCA_DEFECT_COUNT; i++)
		if (g->cert.defects & (1u << i))
			fprintf(f, "  %-9s %sdefect%s   %s: %s\n", "", YEL(color), OFF(color), fca_defect_name(i),
				fca_defect_advice(i));
}

/* What moving apple_scep's _next or _previous generation into ca_cert would break. */
static void text_disruption(FILE *f, const struct fca_observed *o, int color)
{
	struct fca_disruption d;
	enum fca_step_kind kind;
	char line[1024];
	int gen = 0;

	if (!fca_plan_apple_disruption(&d, &kind, &gen, o))
		return;
	fca_render__disruption(line, sizeof(line), &d);
	fprintf(f, "  %simpact%s    %s gen %d: %s\n", YEL(color), OFF(color),
		kind == FCA_STEP_ACTIVATE ? "activating" : "rolling back to", gen, line);
}

int fca_render_status_text(FILE *f, const struct fca_observed *o, int64_t now, int color)
{
	char t[40];

	fca_time_human(t, sizeof(t), now);
	fprintf(f, "Fleet CAs in database '%s' at %s%s\n", o->database, t,
		o->has_document ? "" : " (not yet managed by fleetca: the first apply adopts them as generation 1)");
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_ca_def *def = fca_catalog_get((enum fca_ca_id)i);
		const struct fca_obs_ca *c = &o->cas[i];
		const char *col = c->stage == FCA_STAGE_CORRUPT ? RED(color) : c->drift ? YEL(color) : GRN(color);

		fprintf(f, "\n%s%-23s%s %-44s %sstage %-8s%s %s\n", BOLD(color), def->name, OFF(color), def->title, col,
			fca_stage_name(c->stage), OFF(color), ca_state_word(c));
		if (c->stage == FCA_STAGE_NONE) {
			fprintf(f, "  no rows: Fleet creates this CA when the feature is first enabled\n");
			continue;
		}
		if (c->stage == FCA_STAGE_CORRUPT && c->problem[0])
			fprintf(f, "  %sproblem%s   %s\n", RED(color), OFF(color), c->problem);
		if (c->drift && c->drift_detail[0])
			fprintf(f, "  %sdrift%s     %s\n", YEL(color), OFF(color), c->drift_detail);
		for (int s = 0; s < FCA_SLOT_COUNT; s++)
			if (c->gens[s].present)
				text_gen(f, c, &c->gens[s], (enum fca_role)s, now, color, i == FCA_CA_APPLE_SCEP,
					 fca_catalog_get((enum fca_ca_id)i)->issued_tables[0] != NULL);
			else if (c->gens[s].has_key)
				fprintf(f, "  %-9s %s%s has no certificate row %s%s\n", fca_role_name((enum fca_role)s),
					RED(color), c->gens[s].key_asset, c->gens[s].cert_asset, OFF(color));
		if (c->issued_scanned && c->issued_unparsed)
			fprintf(f,
				"  %sunknown%s   %" PRIu64 " live issued certificate%s could not be parsed (issuer "
				"unknown: no generation can retire while it remains)\n",
				RED(color), OFF(color), c->issued_unparsed, c->issued_unparsed == 1 ? "" : "s");
		if (i == FCA_CA_APPLE_SCEP && c->escrows_scanned && c->escrows_unparsed)
			fprintf(f,
				"  %sunknown%s   %" PRIu64 " FileVault escrow%s could not be parsed (recipient "
				"unknown)\n",
				RED(color), OFF(color), c->escrows_unparsed, c->escrows_unparsed == 1 ? "" : "s");
		if (i == FCA_CA_APPLE_SCEP)
			text_disruption(f, o, color);
	}
	return FCA_OK;
}

static json_t *jtime(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	fca_time_rfc3339(buf, sizeof(buf), t);
	return json_string(buf);
}

static json_t *json_gen(const struct fca_obs_ca *c, const struct fca_obs_gen *g, enum fca_role role, int apple)
{
	json_t *j = json_object(), *defects = json_array();

	json_object_set_new(j, "role", json_string(fca_role_name(role)));
	json_object_set_new(j, "generation", g->generation > 0 ? json_integer(g->generation) : json_null());
	json_object_set_new(j, "cert_asset", json_string(g->cert_asset));
	json_object_set_new(j, "key_asset", g->has_key ? json_string(g->key_asset) : json_null());
	json_object_set_new(j, "readable", json_boolean(g->cert_ok));
	json_object_set_new(j, "key_matches", g->key_check < 0 ? json_null() : json_boolean(g->key_check));
	if (g->cert_ok) {
		json_object_set_new(j, "subject", json_string(g->cert.subject));
		json_object_set_new(j, "serial", json_string(g->cert.serial_hex));
		json_object_set_new(j, "sha256_fingerprint", json_string(g->cert.sha256_hex));
		json_object_set_new(j, "not_before", jtime(g->cert.not_before));
		json_object_set_new(j, "not_after", jtime(g->cert.not_after));
		json_object_set_new(j, "key_type", json_string(g->cert.key_type));
		json_object_set_new(j, "key_bits", json_integer(g->cert.key_bits));
		for (unsigned i = 0; i < FCA_DEFECT_COUNT; i++)
			if (g->cert.defects & (1u << i))
				json_array_append_new(defects, json_string(fca_defect_name(i)));
	} else {
		json_object_set_new(j, "subject", json_null());
		json_object_set_new(j, "serial", json_null());
		json_object_set_new(j, "sha256_fingerprint", json_null());
		json_object_set_new(j, "not_before", json_null());
		json_object_set_new(j, "not_after", json_null());
		json_object_set_new(j, "key_type", json_null());
		json_object_set_new(j, "key_bits", json_null());
	}
	json_object_set_new(j, "defects", defects);
	json_object_set_new(j, "live_issued_certificates",
			    issued_why(c) ? json_null() : json_integer((json_int_t)g->issued_live));
	json_object_set_new(j, "filevault_escrows",
			    escrows_why(c, apple) ? json_null() : json_integer((json_int_t)g->escrows));
	return j;
}

static json_t *json_disruption(const struct fca_observed *o)
{
	struct fca_disruption d;
	enum fca_step_kind kind;
	json_t *j;
	int gen = 0;

	if (!fca_plan_apple_disruption(&d, &kind, &gen, o) || !(j = fca_render__disruption_json(&d, 0)))
		return json_null();
	json_object_set_new(j, "step", json_string(fca_step_kind_name(kind)));
	json_object_set_new(j, "generation", json_integer(gen));
	return j;
}

int fca_render_status_json(FILE *f, const struct fca_observed *o, int64_t now)
{
	json_t *root = json_object(), *cas = json_array();

	json_object_set_new(root, "format_version", json_integer(FCA_STATUS_FORMAT_VERSION));
	json_object_set_new(root, "generated_at", jtime(now));
	json_object_set_new(root, "database", json_string(o->database));
	json_object_set_new(root, "managed", json_boolean(o->has_document));
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_obs_ca *c = &o->cas[i];
		json_t *jc = json_object(), *gens = json_array();
		json_object_set_new(jc, "id", json_string(fca_catalog_get((enum fca_ca_id)i)->name));
		json_object_set_new(jc, "stage", json_string(fca_stage_name(c->stage)));
		json_object_set_new(jc, "managed", json_boolean(c->managed));
		json_object_set_new(jc, "drift", json_boolean(c->drift));
		json_object_set_new(jc, "problem", c->problem[0] ? json_string(c->problem) : json_null());
		for (int s = 0; s < FCA_SLOT_COUNT; s++)
			if (c->gens[s].present)
				json_array_append_new(
				    gens, json_gen(c, &c->gens[s], (enum fca_role)s, i == FCA_CA_APPLE_SCEP));
		json_object_set_new(jc, "generations", gens);
		json_object_set_new(jc, "issued_not_counted", issued_why(c) ? json_string(issued_why(c)) : json_null());
		json_object_set_new(jc, "unparseable_issued_certificates",
				    issued_why(c) ? json_null() : json_integer((json_int_t)c->issued_unparsed));
		json_object_set_new(jc, "escrows_not_counted",
				    escrows_why(c, i == FCA_CA_APPLE_SCEP) ? json_string(escrows_why(c, 1))
									   : json_null());
		json_object_set_new(jc, "unparseable_escrows",
				    escrows_why(c, i == FCA_CA_APPLE_SCEP)
					? json_null()
					: json_integer((json_int_t)c->escrows_unparsed));
		json_object_set_new(jc, "disruption", i == FCA_CA_APPLE_SCEP ? json_disruption(o) : json_null());
		json_array_append_new(cas, jc);
	}
	json_object_set_new(root, "cas", cas);
	return fca_render__json_out(f, root, 0);
}
