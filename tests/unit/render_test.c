/* The plan renderers (text, JSON, markdown) over plans built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/catalog.h"
#include "fleetca/consequence.h"
#include "fleetca/render.h"
#include "fleetca/timeutil.h"

static struct fca_plan plan;
static struct fca_observed obs;

static void add_write(struct fca_step *s, char op, const char *asset, int gen)
{
	struct fca_row_write *w = &s->writes[s->nwrites++];

	w->op = op;
	snprintf(w->asset, sizeof(w->asset), "%s", asset);
	w->generation = gen;
}

static struct fca_step *add_step(enum fca_ca_id ca, enum fca_step_kind k, int gen, enum fca_gate gate)
{
	struct fca_step *s = &plan.steps[plan.nsteps++];

	s->ca = ca;
	s->kind = k;
	s->generation = gen;
	s->gate = gate;
	snprintf(s->step_id, sizeof(s->step_id), "%s:%d:%s", fca_catalog_get(ca)->name, gen, fca_step_kind_name(k));
	return s;
}

static void set_ca(enum fca_ca_id ca, int ng, enum fca_stage ns, int tg, enum fca_stage ts)
{
	struct fca_plan_ca *c = &plan.cas[ca];

	c->considered = 1;
	c->now_generation = ng;
	c->now_stage = ns;
	c->target_generation = tg;
	c->target_stage = ts;
}

static void set_subject(struct fca_step *s)
{
	const struct fca_ca_def *d = fca_catalog_get(s->ca);

	snprintf(s->subject.cn, sizeof(s->subject.cn), "%s", d->cn);
	snprintf(s->subject.o, sizeof(s->subject.o), "%s", d->o);
	snprintf(s->subject.ou, sizeof(s->subject.ou), "%s", d->ou);
	snprintf(s->subject.c, sizeof(s->subject.c), "%s", d->c);
	s->key_bits = 2048;
	s->validity = (int64_t)3650 * 86400;
}

/* apple_scep complete gen 1 -> active gen 2 (stage ready, activate waiting); host_identity renew ready. */
static void plan_rotation(void)
{
	struct fca_step *s;

	memset(&plan, 0, sizeof(plan));
	memset(&obs, 0, sizeof(obs));
	plan.now = fca_time_from_utc(2026, 11, 27, 10, 0, 0);
	set_ca(FCA_CA_APPLE_SCEP, 1, FCA_STAGE_COMPLETE, 2, FCA_STAGE_ACTIVE);
	plan.cas[FCA_CA_APPLE_SCEP].warnings = FCA_WARN_APPLE_VERIFIER;
	set_ca(FCA_CA_HOST_IDENTITY, 1, FCA_STAGE_COMPLETE, 1, FCA_STAGE_COMPLETE);

	s = add_step(FCA_CA_APPLE_SCEP, FCA_STEP_STAGE, 2, FCA_GATE_OPEN);
	s->from_generation = 1;
	s->from_stage = FCA_STAGE_COMPLETE;
	s->to_stage = FCA_STAGE_STAGED;
	add_write(s, '+', "ca_cert_next", 2);
	add_write(s, '+', "ca_key_next", 2);
	set_subject(s);

	s = add_step(FCA_CA_APPLE_SCEP, FCA_STEP_ACTIVATE, 2, FCA_GATE_WAIT);
	s->from_generation = 1;
	s->from_stage = FCA_STAGE_STAGED;
	s->to_stage = FCA_STAGE_ACTIVE;
	snprintf(s->gate_reason, sizeof(s->gate_reason), "staged 2d of min_overlap 7d");
	s->opens_at = fca_time_from_utc(2026, 12, 4, 10, 0, 0);
	add_write(s, '-', "ca_cert_next", 2);
	add_write(s, '-', "ca_key_next", 2);
	add_write(s, '~', "ca_cert", 2);
	add_write(s, '~', "ca_key", 2);
	add_write(s, '+', "ca_cert_previous", 1);
	add_write(s, '+', "ca_key_previous", 1);
	s->disruption.applies = s->disruption.new_key = s->disruption.new_subject = 1;
	s->disruption.devices_known = s->disruption.escrows_known = 1;
	s->disruption.devices = 14;
	s->disruption.escrows = 8;

	s = add_step(FCA_CA_HOST_IDENTITY, FCA_STEP_RENEW, 1, FCA_GATE_OPEN);
	s->from_generation = 1;
	s->from_stage = FCA_STAGE_COMPLETE;
	s->to_stage = FCA_STAGE_COMPLETE;
	add_write(s, '~', "host_identity_ca_cert", 1);
	set_subject(s);
	s->key_bits = 0; /* renew keeps the key: taken from the observed certificate */
	obs.cas[FCA_CA_HOST_IDENTITY].gens[FCA_ROLE_SIGNING].cert_ok = 1;
	snprintf(obs.cas[FCA_CA_HOST_IDENTITY].gens[FCA_ROLE_SIGNING].cert.key_type, 16, "RSA");
	obs.cas[FCA_CA_HOST_IDENTITY].gens[FCA_ROLE_SIGNING].cert.key_bits = 2048;
	/* renew keeps the current subject, empty Country and all (not the YAML's defaults) */
	snprintf(obs.cas[FCA_CA_HOST_IDENTITY].gens[FCA_ROLE_SIGNING].cert.subject, 512,
		 "CN=Fleet Host Identity CA,OU=SCEP CA,O=Local Certificate Authority,C=");

	snprintf(obs.basis[0].name, sizeof(obs.basis[0].name), "ca_cert");
	snprintf(obs.basis[0].md5, sizeof(obs.basis[0].md5), "0123456789ABCDEF0123456789ABCDEF");
	snprintf(obs.basis[1].name, sizeof(obs.basis[1].name), "ca_key");
	snprintf(obs.basis[1].md5, sizeof(obs.basis[1].md5), "FEDCBA9876543210FEDCBA9876543210");
	obs.nbasis = 2;
	plan.nready = 2;
	plan.nwaiting = 1;
}

/* apple_scep active gen 2 -> complete, retire held back by live certificates; plus a suspended and an error CA. */
static void plan_retire(void)
{
	struct fca_step *s;

	memset(&plan, 0, sizeof(plan));
	memset(&obs, 0, sizeof(obs));
	plan.now = fca_time_from_utc(2026, 12, 20, 8, 30, 0);
	set_ca(FCA_CA_APPLE_SCEP, 2, FCA_STAGE_ACTIVE, 2, FCA_STAGE_COMPLETE);
	plan.cas[FCA_CA_APPLE_SCEP].warnings = FCA_WARN_ESCROW | FCA_WARN_DRIFT;
	snprintf(obs.cas[FCA_CA_APPLE_SCEP].drift_detail, sizeof(obs.cas[0].drift_detail),
		 "ca_cert_previous has sha256 ab12…");
	set_ca(FCA_CA_CONDITIONAL_ACCESS, 1, FCA_STAGE_COMPLETE, 2, FCA_STAGE_STAGED);
	plan.cas[FCA_CA_CONDITIONAL_ACCESS].suspended = 1;
	snprintf(plan.cas[FCA_CA_CONDITIONAL_ACCESS].note, sizeof(plan.cas[0].note), "suspended in the YAML");
	set_ca(FCA_CA_CONDITIONAL_ACCESS_IDP, 3, FCA_STAGE_COMPLETE, 2, FCA_STAGE_COMPLETE);
	snprintf(plan.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].error, sizeof(plan.cas[0].error),
		 "generation 2 < 3: the old key is retired");
	plan.has_error = 1;

	s = add_step(FCA_CA_APPLE_SCEP, FCA_STEP_RETIRE, 2, FCA_GATE_WAIT);
	s->from_generation = 2;
	s->from_stage = FCA_STAGE_ACTIVE;
	s->to_stage = FCA_STAGE_COMPLETE;
	snprintf(s->gate_reason, sizeof(s->gate_reason), "12 live certificates | 2 escrows of gen 1");
	s->opens_at = fca_time_from_utc(2027, 3, 1, 0, 0, 0);
	add_write(s, '-', "ca_cert_previous", 1);
	add_write(s, '-', "ca_key_previous", 1);
	s->drain_live = s->drain_unexpired = 12;
	s->drain_last_expiry = s->opens_at;
	s->escrows = 2;
	for (int i = 0; i < 3; i++) {
		struct fca_blocker *b = &s->blockers[s->nblockers++];
		snprintf(b->table, sizeof(b->table), i ? "wstep_certificates" : "identity_certificates");
		snprintf(b->serial, sizeof(b->serial), "%02x", 0x1a + i);
		snprintf(b->who, sizeof(b->who), "host %d", 100 + i);
		b->not_valid_after = fca_time_from_utc(2027, 1 + i, 1, 0, 0, 0);
	}
	plan.nwaiting = 1;
}

static void plan_empty(void)
{
	memset(&plan, 0, sizeof(plan));
	memset(&obs, 0, sizeof(obs));
	plan.now = fca_time_from_utc(2026, 11, 27, 10, 0, 0);
	set_ca(FCA_CA_HOST_IDENTITY, 1, FCA_STAGE_COMPLETE, 1, FCA_STAGE_COMPLETE);
}

enum fmt { TEXT, TEXT_COLOR, JSON, MARKDOWN };

/* Renders into a malloc'd string. */
static char *render(enum fmt fm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	assert_non_null(f);
	switch (fm) {
	case TEXT:
		r = fca_render_plan_text(f, &plan, &obs, 0);
		break;
	case TEXT_COLOR:
		r = fca_render_plan_text(f, &plan, &obs, 1);
		break;
	case JSON:
		r = fca_render_plan_json(f, &plan, &obs);
		break;
	default:
		r = fca_render_plan_markdown(f, &plan, &obs);
		break;
	}
	assert_int_equal(fclose(f), 0);
	assert_int_equal(r, FCA_OK);
	assert_non_null(buf);
	return buf;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected to find\n%s\nin\n%s", needle, hay);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The words of the consequence lines, as every format must show them. */
#define FLEET_ROOT "Fleet re-installs its root CA profile (com.fleetdm.caroot) on every Apple host when ca_cert changes"
#define OKTA_LB_NEW                                                                                                    \
	"the Okta Apple profile and the load balancer's trust store need the new certificate: "                        \
	"`fleetca export --ca conditional_access`"
#define IDP_NEW "the identity provider needs the new signing certificate: `fleetca export --ca conditional_access_idp`"

static void test_text_rotation(void **st)
{
	static const char want[] =
	    "3 steps: 2 ready, 1 waiting\n"
	    "\n"
	    "apple_scep     gen 1 complete → gen 2 active\n"
	    "  warning: Apple SCEP verifier: today's Fleet verifies devices against the first "
	    "certificate of ca_cert alone, by its exact subject and key; a new key or subject there disconnects "
	    "every enrolled device the old one issued a certificate to (it must re-enroll) unless the server "
	    "honours ca_cert_previous, and a new key strands FileVault escrows unless it also decrypts with "
	    "ca_key_previous (policy.fleet_server_trusts_previous states that it does)\n"
	    "  + apple_scep:2:stage     ready\n"
	    "      + ca_cert_next  (gen 2)\n"
	    "      + ca_key_next   (gen 2)\n"
	    "      subject   CN=Fleet,OU=SCEP CA,O=scep-ca,C=US\n"
	    "      key       RSA-2048\n"
	    "      validity  10y\n"
	    "  ~ apple_scep:2:activate  waiting: staged 2d of min_overlap 7d, opens 2026-12-04 10:00 UTC\n"
	    "      - ca_cert_next      (gen 2)\n"
	    "      - ca_key_next       (gen 2)\n"
	    "      ~ ca_cert           (gen 2)\n"
	    "      ~ ca_key            (gen 2)\n"
	    "      + ca_cert_previous  (gen 1)\n"
	    "      + ca_key_previous   (gen 1)\n"
	    "      impact    14 enrolled Apple devices would fail check-in on a Fleet that trusts one root and "
	    "would have to re-enroll, and 8 FileVault escrows could no longer be decrypted (new key and subject)\n"
	    "      trust     " FLEET_ROOT "\n"
	    "\n"
	    "host_identity  gen 1 complete → gen 1 complete\n"
	    "  ~ host_identity:1:renew  ready\n"
	    "      ~ host_identity_ca_cert  (gen 1)\n"
	    "      subject   CN=Fleet Host Identity CA,OU=SCEP CA,O=Local Certificate Authority,C=\n"
	    "      key       RSA-2048 (same key)\n"
	    "      validity  10y\n";
	char *out;

	(void)st;
	plan_rotation();
	out = render(TEXT);
	assert_string_equal(out, want);
	assert_null(strchr(out, '\033'));
	free(out);

	out = render(TEXT_COLOR);
	assert_contains(out, "\033[32mready\033[0m");
	assert_contains(out, "\033[33mwaiting: staged 2d");
	free(out);
}

static void test_text_retire_suspended_error(void **st)
{
	char *out;

	(void)st;
	plan_retire();
	out = render(TEXT);
	assert_null(strchr(out, '\033'));
	assert_contains(out, "1 step: 0 ready, 1 waiting, 1 error\n");
	assert_contains(out, "\napple_scep              gen 2 active → gen 2 complete\n");
	assert_contains(out, "  - apple_scep:2:retire  waiting: 12 live certificates | 2 escrows of gen 1, opens "
			     "2027-03-01 00:00 UTC\n");
	assert_contains(out, "      - ca_cert_previous  (gen 1)\n");
	assert_contains(out, "      drain     12 live certificates of the old generation, the last expires "
			     "2027-03-01 00:00 UTC\n");
	assert_contains(out, "      escrows   2 FileVault recovery keys encrypted to the old generation\n");
	assert_null(strstr(out, "in use"));
	assert_contains(out, "      blockers  table                  serial  who       not valid after\n"
			     "                identity_certificates  1a      host 100  2027-01-01 00:00 UTC\n"
			     "                wstep_certificates     1b      host 101  2027-02-01 00:00 UTC\n"
			     "                wstep_certificates     1c      host 102  2027-03-01 00:00 UTC\n"
			     "                … and 9 more\n");
	assert_contains(out, "  warning: drift: a live row of apple_scep was changed outside fleetca "
			     "(ca_cert_previous has sha256 ab12…); no step runs");
	assert_contains(out, "  warning: FileVault escrows: 2 recovery keys are encrypted to an older generation");
	assert_contains(out, "\nconditional_access      gen 1 complete → gen 2 staged  (suspended)\n"
			     "  note: suspended in the YAML\n");
	assert_contains(out, "\nconditional_access_idp  gen 3 complete → gen 2 complete\n"
			     "  error: generation 2 < 3: the old key is retired\n");
	free(out);

	out = render(TEXT_COLOR);
	assert_contains(out, "\033[31merror:\033[0m generation 2");
	free(out);
}

/* by enrollment, the drain says what is in use and what is merely unexpired. */
static void test_drain_by_enrollment(void **st)
{
	char *out;

	(void)st;
	plan_retire();
	plan.steps[0].by_enrollment = 1;
	plan.steps[0].drain_live = 7;
	plan.steps[0].drain_unexpired = 9;
	out = render(TEXT);
	assert_contains(out,
			"      drain     7 in use, 9 unexpired certificates of the old generation, the last in use "
			"expires 2027-03-01 00:00 UTC\n");
	free(out);
	out = render(JSON);
	assert_contains(out, "\"live\": 7,\n        \"unexpired\": 9,\n        \"by_enrollment\": true,");
	free(out);
	plan.steps[0].drain_live = 0;
	plan.steps[0].nblockers = 0;
	out = render(TEXT);
	assert_contains(out, "      drain     0 in use, 9 unexpired certificates of the old generation\n");
	free(out);
}

static void test_text_empty(void **st)
{
	char *out;

	(void)st;
	plan_empty();
	out = render(TEXT);
	assert_string_equal(out, "No changes. Fleet's CAs match the desired state.\n\n"
				 "host_identity  gen 1 complete, as desired\n");
	free(out);
}

static void test_text_gates(void **st)
{
	struct fca_step *s;
	char *out;

	(void)st;
	plan_empty();
	set_ca(FCA_CA_CONDITIONAL_ACCESS, 1, FCA_STAGE_STAGED, 2, FCA_STAGE_COMPLETE);
	s = add_step(FCA_CA_CONDITIONAL_ACCESS, FCA_STEP_ACTIVATE, 2, FCA_GATE_HUMAN);
	snprintf(s->gate_reason, sizeof(s->gate_reason), "upload the bundle to the load balancer");
	add_step(FCA_CA_CONDITIONAL_ACCESS, FCA_STEP_RETIRE, 2, FCA_GATE_OPEN);
	s = add_step(FCA_CA_APPLE_SCEP, FCA_STEP_RETIRE, 2, FCA_GATE_CLOSED);
	snprintf(s->gate_reason, sizeof(s->gate_reason), "3 certificates without expiry");
	set_ca(FCA_CA_APPLE_SCEP, 2, FCA_STAGE_ACTIVE, 2, FCA_STAGE_COMPLETE);
	out = render(TEXT);
	assert_contains(out, "3 steps: 0 ready, 3 waiting\n");
	assert_contains(out, "conditional_access:2:activate  needs a human: upload the bundle to the load balancer\n");
	assert_contains(out, "conditional_access:2:retire    after conditional_access:2:activate\n");
	assert_contains(out, "apple_scep:2:retire            blocked: 3 certificates without expiry\n");
	free(out);
	out = render(TEXT_COLOR);
	assert_contains(out, "\033[31mneeds a human:");
	assert_contains(out, "\033[31mblocked:");
	assert_contains(out, "\033[33mafter ");
	free(out);
}

static void test_json_rotation(void **st)
{
	char *out, *s2 = NULL;

	(void)st;
	plan_rotation();
	out = render(JSON);
	assert_int_equal(
	    strncmp(out, "{\n  \"format_version\": 1,\n  \"generated_at\": \"2026-11-27T10:00:00Z\",\n", 67), 0);
	assert_contains(out, "\"summary\": {\n    \"steps\": 3,\n    \"ready\": 2,\n    \"waiting\": 1,\n    "
			     "\"errors\": 0,\n    \"stuck\": 0\n  }");
	assert_contains(out, "\"warnings\": [\n        \"apple_verifier\"\n      ]");
	assert_contains(out, "\"step_id\": \"apple_scep:2:activate\"");
	assert_contains(out, "\"opens_at\": \"2026-12-04T10:00:00Z\"");
	assert_contains(out, "\"op\": \"soft_delete\"");
	assert_contains(out, "\"op\": \"replace\"");
	assert_contains(out, "\"subject\": \"CN=Fleet,OU=SCEP CA,O=scep-ca,C=US\"");
	assert_contains(out, "\"validity_seconds\": 315360000");
	assert_contains(out, "\"asset\": \"ca_key\",\n      \"md5\": \"FEDCBA9876543210FEDCBA9876543210\"");
	assert_int_equal(count(out, "\"ready\": true"), 2);
	assert_int_equal(count(out, "\"ready\": false"), 1);
	assert_int_equal(count(out, "\"drain\": null"), 3);
	assert_contains(out,
			"\"disruption\": {\n        \"new_key\": true,\n        \"new_subject\": true,\n"
			"        \"devices\": 14,\n        \"devices_not_counted\": null,\n        \"escrows\": 8,\n"
			"        \"escrows_not_counted\": null,\n        \"asserted_trusts_previous\": false\n      }");
	assert_int_equal(count(out, "\"disruption\": null"), 2);
	/* the activation changes ca_cert: Fleet re-installs its root; stage and host_identity's renew set off nothing
	 */
	assert_contains(
	    out, "\"consequence\": {\n        \"kind\": \"fleet_reinstalls_root\",\n        \"text\": \"" FLEET_ROOT
		 "\"\n      }\n    }");
	assert_int_equal(count(out, "\"consequence\": null"), 2);
	assert_int_equal(count(out, FLEET_ROOT), 1);
	assert_int_equal(out[strlen(out) - 1], '\n');

	assert_int_equal(fca_render_plan_json_string(&s2, &plan, &obs), FCA_OK);
	assert_string_equal(s2, out);
	free(s2);
	free(out);
}

static void test_json_retire(void **st)
{
	char *out;

	(void)st;
	plan_retire();
	out = render(JSON);
	assert_contains(out, "\"errors\": 1");
	assert_contains(out, "\"warnings\": [\n        \"drift\",\n        \"escrow\"\n      ]");
	assert_contains(out, "\"drift\": true");
	assert_contains(out, "\"suspended\": true");
	assert_contains(out, "\"error\": \"generation 2 < 3: the old key is retired\"");
	assert_contains(out, "\"live\": 12,\n        \"unexpired\": 12,\n        \"by_enrollment\": false,");
	assert_contains(out, "\"last_expiry\": \"2027-03-01T00:00:00Z\"");
	assert_contains(out, "\"who\": \"host 101\"");
	assert_contains(out, "\"new_certificate\": null");
	assert_contains(out, "\"basis\": []");
	assert_int_equal(count(out, "\"serial\":"), 3);
	free(out);
}

static void test_markdown_rotation(void **st)
{
	char *out;
	const char *table;

	(void)st;
	plan_rotation();
	out = render(MARKDOWN);
	assert_int_equal(strncmp(out, "### fleetca plan: 3 steps (2 ready, 1 waiting)\n", 47), 0);
	table = strstr(out, "| CA | now | target | next step | gate |\n|---|---|---|---|---|\n");
	assert_non_null(table);
	assert_int_equal(count(out, "\n| "), 3); /* header + apple_scep + host_identity */
	assert_contains(out, "| apple_scep | gen 1 complete | gen 2 active | apple_scep:2:stage | ready |\n");
	assert_contains(out, "| host_identity | gen 1 complete | gen 1 complete | host_identity:1:renew | ready |\n");
	assert_contains(out, "> [!WARNING]\n> **apple_scep**: Apple SCEP verifier");
	assert_contains(out,
			"> [!CAUTION]\n> **apple_scep:2:activate**: 14 enrolled Apple devices would fail check-in "
			"on a Fleet that trusts one root and would have to re-enroll, and 8 FileVault escrows could "
			"no longer be decrypted (new key and subject)\n");
	assert_contains(out, "    impact    14 enrolled Apple devices would fail check-in");
	assert_contains(out, "<details><summary>apple_scep: gen 1 complete → gen 2 active, 2 steps</summary>\n\n"
			     "```text\n+ apple_scep:2:stage     ready\n");
	assert_contains(out,
			"~ apple_scep:2:activate  waiting: staged 2d of min_overlap 7d, opens 2026-12-04 10:00 UTC\n");
	/* a callout reviewers see, and the line in the step's details */
	assert_contains(out, "(policy.fleet_server_trusts_previous states that it does)\n\n> [!NOTE]\n"
			     "> **apple_scep** `apple_scep:2:activate`: " FLEET_ROOT "\n\n<details>");
	assert_contains(out, "\n    + ca_key_previous   (gen 1)\n    impact    14 enrolled Apple devices would fail "
			     "check-in on a Fleet that trusts one root and would have to re-enroll, and 8 FileVault "
			     "escrows could no longer be decrypted (new key and subject)\n    trust     " FLEET_ROOT
			     "\n```\n");
	assert_int_equal(count(out, "[!NOTE]"), 1);
	assert_int_equal(count(out, FLEET_ROOT), 2);
	assert_int_equal(count(out, "<details>"), 2);
	assert_int_equal(count(out, "</details>"), 2);
	assert_int_equal(count(out, "```"), 4);
	free(out);
}

static void test_markdown_escapes(void **st)
{
	char *out;

	(void)st;
	plan_retire();
	snprintf(plan.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].error, sizeof(plan.cas[0].error),
		 "generation 2 < 3 | see <script>");
	/* a backtick run in a reason must not close the fence */
	snprintf(plan.cas[FCA_CA_CONDITIONAL_ACCESS].note, sizeof(plan.cas[0].note), "use ```fleetca export```");
	out = render(MARKDOWN);
	assert_int_equal(strncmp(out, "### fleetca plan: 1 step (0 ready, 1 waiting, 1 error)\n", 55), 0);
	assert_int_equal(count(out, "\n| "), 4);
	assert_contains(out, "| apple_scep | gen 2 active | gen 2 complete | apple_scep:2:retire | waiting: 12 live "
			     "certificates \\| 2 escrows of gen 1, opens 2027-03-01 00:00 UTC |\n");
	assert_contains(out, "| conditional_access | gen 1 complete | gen 2 staged | none | suspended |\n");
	assert_contains(out, "| conditional_access_idp | gen 3 complete | gen 2 complete | none | **error**: "
			     "generation 2 &lt; 3 \\| see &lt;script> |\n");
	assert_null(strstr(out, "<script>"));
	assert_contains(out, "> [!CAUTION]\n> **conditional_access_idp**: generation 2 &lt; 3 \\| see &lt;script>\n");
	assert_contains(out, "> [!WARNING]\n> **apple_scep**: drift: a live row of apple_scep was changed outside "
			     "fleetca (ca_cert_previous has sha256 ab12…)");
	assert_contains(out, ">\n> **apple_scep**: FileVault escrows: 2 recovery keys");
	assert_contains(out, "````text\nnote: use ```fleetca export```\n````\n");
	assert_contains(out, "blockers  table                  serial  who       not valid after\n");
	free(out);
}

static void test_markdown_empty(void **st)
{
	char *out;

	(void)st;
	plan_empty();
	out = render(MARKDOWN);
	assert_int_equal(strncmp(out, "### fleetca plan: no changes\n\nFleet's CAs match the desired state.\n", 67), 0);
	assert_contains(out, "| host_identity | gen 1 complete | gen 1 complete | none | nothing to do |\n");
	assert_contains(out, "<details><summary>host_identity: gen 1 complete → gen 1 complete, 0 steps</summary>\n\n"
			     "Nothing to do.\n\n</details>\n");
	assert_null(strstr(out, "[!WARNING]"));
	free(out);
}

static void test_forced_drain_and_human_trust(void **st)
{
	struct fca_step *s;
	char *out;

	(void)st;
	plan_empty();
	set_ca(FCA_CA_CONDITIONAL_ACCESS, 2, FCA_STAGE_ACTIVE, 2, FCA_STAGE_COMPLETE);
	plan.cas[FCA_CA_CONDITIONAL_ACCESS].warnings = FCA_WARN_FORCED_DRAIN | FCA_WARN_HUMAN_TRUST;
	s = add_step(FCA_CA_CONDITIONAL_ACCESS, FCA_STEP_RETIRE, 2, FCA_GATE_OPEN);
	s->forced = 1;
	snprintf(s->gate_reason, sizeof(s->gate_reason), "lost laptops \xff, see INC-42");
	s->drain_live = 1;
	out = render(MARKDOWN);
	assert_contains(out,
			"> [!WARNING]\n> **conditional_access**: forced drain: the old generation is retired while "
			"certificates it issued are still live (reason: lost laptops \xff, see INC-42)\n>\n"
			"> **conditional_access**: human trust: ");
	assert_contains(out, "`fleetca export --ca conditional_access --bundle`");
	assert_contains(out, "| conditional_access:2:retire | ready (drain forced) |");
	free(out);
	out = render(TEXT);
	assert_contains(out, "      forced    drain: force: lost laptops");
	free(out);
	/* invalid UTF-8 in a reason does not break the JSON document */
	out = render(JSON);
	assert_contains(out, "\"reason\": \"lost laptops ?, see INC-42\"");
	assert_contains(out, "\"forced\": true");
	assert_contains(out, "\"warnings\": [\n        \"forced_drain\",\n        \"human_trust\"\n      ]");
	free(out);
}

/* The impact line's words: not counted, the admin's statement, a kept key, one of each. */
static void test_disruption_words(void **st)
{
	struct fca_disruption *dd;
	char *out;

	(void)st;
	plan_rotation();
	dd = &plan.steps[1].disruption;
	dd->devices_known = dd->escrows_known = 0;
	snprintf(dd->devices_why, sizeof(dd->devices_why), "reading nano_cert_auth_associations: denied");
	snprintf(dd->escrows_why, sizeof(dd->escrows_why), "the host_disk_encryption_keys or hosts table is missing");
	out = render(TEXT);
	assert_contains(out,
			"      impact    enrolled Apple devices that would fail check-in on a Fleet that trusts one "
			"root and would have to re-enroll: not counted (reading nano_cert_auth_associations: denied), "
			"and FileVault escrows that could no longer be decrypted: not counted (the "
			"host_disk_encryption_keys or hosts table is missing) (new key and subject)\n");
	assert_null(strstr(out, "asserted"));
	free(out);
	out = render(JSON);
	assert_contains(out, "\"devices\": null,\n        \"devices_not_counted\": \"reading "
			     "nano_cert_auth_associations: denied\",\n        \"escrows\": null,");
	free(out);

	dd->devices_known = dd->escrows_known = 1;
	dd->devices = 1;
	dd->escrows = 0;
	dd->new_key = 0;
	dd->asserted = 1;
	out = render(TEXT);
	assert_contains(out,
			"      impact    1 enrolled Apple device would fail check-in on a Fleet that trusts one root "
			"and would have to re-enroll, and 0 FileVault escrows could no longer be decrypted (new "
			"subject, same key)\n"
			"      asserted  fleet_server_trusts_previous: true — your statement that this Fleet trusts "
			"ca_cert_previous; no released Fleet does\n");
	free(out);
	out = render(MARKDOWN);
	assert_contains(out,
			"**: 1 enrolled Apple device would fail check-in on a Fleet that trusts one root and would "
			"have to re-enroll, and 0 FileVault escrows could no longer be decrypted (new subject, same "
			"key)\n>\n> fleet_server_trusts_previous: true — your statement that this Fleet trusts "
			"ca_cert_previous; no released Fleet does\n");
	free(out);
	out = render(JSON);
	assert_contains(out, "\"new_key\": false");
	assert_contains(out, "\"asserted_trusts_previous\": true");
	free(out);
	dd->new_key = 1;
	dd->new_subject = 0;
	out = render(TEXT);
	assert_contains(out, "could no longer be decrypted (new key, same subject)\n");
	free(out);
}

static void write_sample(const char *name);

/* key: keep: the stage step names the signing key it keeps. */
static void test_key_keep_words(void **st)
{
	struct fca_obs_gen *g = &obs.cas[FCA_CA_APPLE_SCEP].gens[FCA_ROLE_SIGNING];
	char *out;

	(void)st;
	plan_rotation();
	plan.steps[0].key_keep = 1;
	plan.steps[0].key_bits = 0;
	g->cert_ok = 1;
	snprintf(g->cert.key_type, sizeof(g->cert.key_type), "RSA");
	g->cert.key_bits = 2048;
	out = render(TEXT);
	assert_contains(out, "      subject   CN=Fleet,OU=SCEP CA,O=scep-ca,C=US\n"
			     "      key       RSA-2048, the signing generation's (key: keep)\n");
	free(out);
	out = render(JSON);
	assert_contains(out, "\"key\": \"RSA-2048\",\n        \"key_kept\": true,");
	assert_contains(out,
			"\"key\": \"RSA-2048\",\n        \"key_kept\": true,\n        \"validity_seconds\": 315360000");
	free(out);
	write_sample("key-keep");
}

/* conditional_access, its IdP and host_identity each activate gen 2. */
static void plan_human_trust(void)
{
	static const enum fca_ca_id cas[] = {FCA_CA_CONDITIONAL_ACCESS, FCA_CA_CONDITIONAL_ACCESS_IDP,
					     FCA_CA_HOST_IDENTITY};
	char asset[FCA_ASSET_NAME_MAX];

	plan_empty();
	for (size_t i = 0; i < sizeof(cas) / sizeof(cas[0]); i++) {
		const struct fca_ca_def *def = fca_catalog_get(cas[i]);
		struct fca_step *s;

		set_ca(cas[i], 1, FCA_STAGE_STAGED, 2, FCA_STAGE_ACTIVE);
		s = add_step(cas[i], FCA_STEP_ACTIVATE, 2, FCA_GATE_OPEN);
		s->from_generation = 1;
		s->from_stage = FCA_STAGE_STAGED;
		s->to_stage = FCA_STAGE_ACTIVE;
		fca_catalog_asset(asset, sizeof(asset), def, 0, FCA_SLOT_CURRENT);
		add_write(s, '~', asset, 2);
	}
	plan.cas[FCA_CA_CONDITIONAL_ACCESS].warnings = FCA_WARN_HUMAN_TRUST;
	plan.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].warnings = FCA_WARN_HUMAN_TRUST;
	plan.nready = 3;
}

/* The activation of a CA that others trust says who needs the certificate and the export, in each format. */
static void test_human_trust_consequences(void **st)
{
	char *out;

	(void)st;
	plan_human_trust();
	out = render(TEXT);
	assert_contains(out, "  ~ conditional_access:2:activate      ready\n"
			     "      ~ conditional_access_ca_cert  (gen 2)\n"
			     "      trust     " OKTA_LB_NEW "\n");
	assert_contains(out, "  ~ conditional_access_idp:2:activate  ready\n"
			     "      ~ conditional_access_idp_cert  (gen 2)\n"
			     "      trust     " IDP_NEW "\n");
	assert_contains(out, "  ~ host_identity:2:activate           ready\n"
			     "      ~ host_identity_ca_cert  (gen 2)\n\n");
	assert_int_equal(count(out, "      trust     "), 2);
	assert_null(strstr(out, "com.fleetdm.caroot"));
	free(out);

	out = render(JSON);
	assert_contains(
	    out, "\"consequence\": {\n        \"kind\": \"admin_updates_trust\",\n        \"text\": \"" OKTA_LB_NEW
		 "\"\n      }");
	assert_contains(out,
			"\"consequence\": {\n        \"kind\": \"admin_updates_trust\",\n        \"text\": \"" IDP_NEW
			"\"\n      }");
	assert_int_equal(count(out, "\"consequence\": null"), 1); /* host_identity */
	free(out);

	out = render(MARKDOWN);
	assert_contains(out,
			"\n> [!NOTE]\n> **conditional_access** `conditional_access:2:activate`: " OKTA_LB_NEW "\n");
	assert_contains(out,
			"\n> [!NOTE]\n> **conditional_access_idp** `conditional_access_idp:2:activate`: " IDP_NEW "\n");
	assert_contains(out,
			"```text\n~ conditional_access:2:activate  ready\n    ~ conditional_access_ca_cert  (gen 2)\n"
			"    trust     " OKTA_LB_NEW "\n```\n");
	assert_contains(out, "\n    trust     " IDP_NEW "\n```\n");
	assert_int_equal(count(out, "[!NOTE]"), 2);
	free(out);
}

/* Every (CA, step kind): only a change of the signing certificate of a CA that others trust has one. */
static void test_consequence_table(void **st)
{
	static const struct {
		enum fca_ca_id ca;
		enum fca_step_kind kind;
		enum fca_consequence_kind want;
		const char *text;
	} cases[] = {
	    {FCA_CA_APPLE_SCEP, FCA_STEP_ACTIVATE, FCA_CONSEQUENCE_FLEET_ROOT, FLEET_ROOT},
	    {FCA_CA_APPLE_SCEP, FCA_STEP_ROLLBACK, FCA_CONSEQUENCE_FLEET_ROOT, FLEET_ROOT},
	    {FCA_CA_APPLE_SCEP, FCA_STEP_RENEW, FCA_CONSEQUENCE_FLEET_ROOT, FLEET_ROOT},
	    {FCA_CA_CONDITIONAL_ACCESS, FCA_STEP_ACTIVATE, FCA_CONSEQUENCE_ADMIN_TRUST, OKTA_LB_NEW},
	    {FCA_CA_CONDITIONAL_ACCESS, FCA_STEP_ROLLBACK, FCA_CONSEQUENCE_ADMIN_TRUST,
	     "the Okta Apple profile and the load balancer's trust store need the restored certificate: "
	     "`fleetca export --ca conditional_access`"},
	    {FCA_CA_CONDITIONAL_ACCESS, FCA_STEP_RENEW, FCA_CONSEQUENCE_ADMIN_TRUST,
	     "the Okta Apple profile and the load balancer's trust store need the renewed certificate: "
	     "`fleetca export --ca conditional_access`"},
	    {FCA_CA_CONDITIONAL_ACCESS_IDP, FCA_STEP_ACTIVATE, FCA_CONSEQUENCE_ADMIN_TRUST, IDP_NEW},
	    {FCA_CA_CONDITIONAL_ACCESS_IDP, FCA_STEP_ROLLBACK, FCA_CONSEQUENCE_ADMIN_TRUST,
	     "the identity provider needs the restored signing certificate: `fleetca export --ca "
	     "conditional_access_idp`"},
	    {FCA_CA_CONDITIONAL_ACCESS_IDP, FCA_STEP_RENEW, FCA_CONSEQUENCE_ADMIN_TRUST,
	     "the identity provider needs the renewed signing certificate: `fleetca export --ca "
	     "conditional_access_idp`"},
	};
	static const enum fca_step_kind kinds[] = {FCA_STEP_ADOPT,  FCA_STEP_STAGE,    FCA_STEP_ACTIVATE,
						   FCA_STEP_RETIRE, FCA_STEP_ROLLBACK, FCA_STEP_ABANDON,
						   FCA_STEP_RENEW};
	struct fca_consequence cq;
	struct fca_step s;
	size_t found = 0;

	(void)st;
	for (int ca = 0; ca < FCA_CA_COUNT; ca++) {
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			size_t c;
			memset(&s, 0, sizeof(s));
			s.ca = (enum fca_ca_id)ca;
			s.kind = kinds[k];
			for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
				if (cases[c].ca == s.ca && cases[c].kind == s.kind)
					break;
			if (c == sizeof(cases) / sizeof(cases[0])) {
				assert_int_equal(fca_consequence_of(&cq, &s), 0);
				assert_int_equal(cq.kind, FCA_CONSEQUENCE_NONE);
				assert_null(cq.text);
				assert_null(cq.name);
				continue;
			}
			found++;
			assert_int_equal(fca_consequence_of(&cq, &s), 1);
			assert_int_equal(cq.kind, cases[c].want);
			assert_string_equal(cq.text, cases[c].text);
			assert_string_equal(cq.name, cases[c].want == FCA_CONSEQUENCE_FLEET_ROOT
							 ? "fleet_reinstalls_root"
							 : "admin_updates_trust");
		}
	}
	assert_int_equal(found, sizeof(cases) / sizeof(cases[0]));
}

/* Writes the JSON of hand-made plans for tests/integration/test_plan_schema.py to validate. */
static void write_sample(const char *name)
{
	const char *dir = getenv("FCA_BINARY_DIR");
	char path[1024], *text = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/render-sample-plan-%s.json", dir && *dir ? dir : ".", name);
	assert_int_equal(fca_render_plan_json_string(&text, &plan, &obs), FCA_OK);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	free(text);
}

static void test_write_schema_samples(void **st)
{
	(void)st;
	plan_rotation();
	write_sample("rotation");
	plan_retire();
	write_sample("retire");
	plan_rotation();
	plan.steps[1].disruption.devices_known = 0;
	snprintf(plan.steps[1].disruption.devices_why, sizeof(plan.steps[1].disruption.devices_why), "not scanned");
	plan.steps[1].disruption.asserted = 1;
	write_sample("disruption-not-counted");
	plan_empty();
	write_sample("empty");
	plan_human_trust();
	write_sample("human-trust");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_rotation),
	    cmocka_unit_test(test_text_retire_suspended_error),
	    cmocka_unit_test(test_text_empty),
	    cmocka_unit_test(test_drain_by_enrollment),
	    cmocka_unit_test(test_text_gates),
	    cmocka_unit_test(test_json_rotation),
	    cmocka_unit_test(test_json_retire),
	    cmocka_unit_test(test_markdown_rotation),
	    cmocka_unit_test(test_markdown_escapes),
	    cmocka_unit_test(test_markdown_empty),
	    cmocka_unit_test(test_forced_drain_and_human_trust),
	    cmocka_unit_test(test_disruption_words),
	    cmocka_unit_test(test_key_keep_words),
	    cmocka_unit_test(test_human_trust_consequences),
	    cmocka_unit_test(test_consequence_table),
	    cmocka_unit_test(test_write_schema_samples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
