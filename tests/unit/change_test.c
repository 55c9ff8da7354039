/* src/model/change.c and src/render/change.c: what a change to the desired-state file asks per CA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/change.h"
#include "fleetca/render.h"
#include "fleetca/yaml.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

static void parse(struct fca_desired *d, const char *yml)
{
	struct fca_diags dg;

	assert_int_equal(fca_yaml_parse_desired(d, &dg, "t.yml", yml, strlen(yml)), FCA_OK);
}

static char *render(const struct fca_change *ch, int markdown)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (markdown)
		assert_int_equal(fca_render_change_markdown(f, ch, "ca-rotation.yml"), FCA_OK);
	else
		assert_int_equal(fca_render_change_text(f, ch, "ca-rotation.yml", 0), FCA_OK);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_moves_and_settings(void **unused)
{
	struct fca_desired b, h;
	struct fca_change ch;
	char *t, *m;

	parse(&b, "version: 1\ncas:\n  apple_scep: {generation: 1}\n  host_identity: {generation: 1}\n"
		  "  conditional_access_idp: {generation: 1}\n");
	parse(&h,
	      "version: 1\npolicy: {min_overlap: 1d}\ncas:\n  apple_scep: {generation: 2, stage: staged}\n"
	      "  host_identity: {generation: 1}\n  conditional_access: {generation: 2, stage: staged, validity: 5y}\n");
	fca_change_compute(&ch, &b, &h, COMMIT, "origin/main");
	assert_int_equal(ch.base_absent, 0);
	assert_string_equal(ch.base_commit, COMMIT);
	assert_int_equal(ch.cas[FCA_CA_APPLE_SCEP].fields, FCA_CHANGE_GENERATION | FCA_CHANGE_STAGE);
	assert_int_equal(ch.cas[FCA_CA_HOST_IDENTITY].fields, 0);
	assert_true(ch.cas[FCA_CA_HOST_IDENTITY].considered);
	assert_int_equal(ch.cas[FCA_CA_CONDITIONAL_ACCESS].fields,
			 FCA_CHANGE_NAMED | FCA_CHANGE_GENERATION | FCA_CHANGE_STAGE);
	assert_int_equal(ch.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].fields, FCA_CHANGE_NAMED);
	assert_int_equal(ch.cas[FCA_CA_CONDITIONAL_ACCESS_IDP].head_present, 0);
	assert_int_equal(ch.policy_fields, 1u);

	t = render(&ch, 0);
	assert_non_null(strstr(t, "against ca-rotation.yml at 0123456789ab (the merge base with origin/main)"));
	assert_non_null(strstr(t, "apple_scep:             gen 1 complete → gen 2 staged (this change)\n"));
	assert_non_null(strstr(t, "host_identity:          unchanged (gen 1 complete)\n"));
	assert_non_null(strstr(t, "conditional_access:     not named → gen 2 staged (this change)\n"));
	assert_non_null(strstr(t, "conditional_access_idp: gen 1 complete → not named: left alone from now on"));
	assert_non_null(strstr(t, "policy:                 min_overlap changed (this change)\n"));
	free(t);
	m = render(&ch, 1);
	assert_non_null(strstr(m, "| CA | merge base | this change | what changes |\n|---|---|---|---|\n"));
	assert_non_null(strstr(m, "| `apple_scep` | gen 1 complete | **gen 2 staged** | target moves |\n"));
	assert_non_null(strstr(m, "| `host_identity` | gen 1 complete | gen 1 complete | unchanged |\n"));
	assert_non_null(
	    strstr(m, "| `conditional_access_idp` | gen 1 complete | **not named** | no longer named: left alone |\n"));
	free(m);
}

static void test_settings_only_and_new_file(void **unused)
{
	struct fca_desired b, h;
	struct fca_change ch;
	char *t;

	parse(&b, "version: 1\ncas:\n  host_identity: {generation: 1}\n");
	parse(&h, "version: 1\ncas:\n  host_identity: {generation: 1, key: rsa-3072, suspend: true}\n");
	fca_change_compute(&ch, &b, &h, COMMIT, "main");
	assert_int_equal(ch.cas[FCA_CA_HOST_IDENTITY].fields, FCA_CHANGE_KEY | FCA_CHANGE_SUSPEND);
	assert_int_equal(ch.policy_fields, 0);
	t = render(&ch, 0);
	assert_non_null(strstr(t, "host_identity: gen 1 complete, suspended; key, suspend changed (this change)\n"));
	assert_null(strstr(t, "policy"));
	free(t);

	fca_change_compute(&ch, NULL, &h, COMMIT, "main");
	assert_int_equal(ch.base_absent, 1);
	assert_int_equal(ch.cas[FCA_CA_HOST_IDENTITY].fields,
			 FCA_CHANGE_NAMED | FCA_CHANGE_GENERATION | FCA_CHANGE_STAGE);
	assert_false(ch.cas[FCA_CA_APPLE_SCEP].considered);
	t = render(&ch, 0);
	assert_non_null(
	    strstr(t, "This change adds ca-rotation.yml (it is not at 0123456789ab, the merge base with main)"));
	assert_non_null(strstr(t, "host_identity: not named → gen 1 complete, suspended (this change)\n"));
	assert_null(strstr(t, "apple_scep"));
	free(t);
	assert_string_equal(fca_change_field_name(8), "named");
	assert_null(fca_change_field_name(FCA_CHANGE_FIELD_COUNT));
	assert_null(fca_change_policy_field_name(FCA_CHANGE_POLICY_FIELD_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_moves_and_settings),
	    cmocka_unit_test(test_settings_only_and_new_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
