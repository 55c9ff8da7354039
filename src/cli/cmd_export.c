#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "fleetca/config.h"
#include "fleetca/engine.h"
#include "fleetca/export.h"
#include "fleetca/file.h"
#include "fleetca/timeutil.h"

static void list_ids(FILE *f)
{
	fprintf(f, "valid ids:");
	for (int i = 0; i < FCA_CA_COUNT; i++)
		fprintf(f, " %s", fca_catalog_get((enum fca_ca_id)i)->name);
	fprintf(f, "\n");
}

static void summary(FILE *f, const char *ca, const struct fca_export_cert *c)
{
	char na[32];

	fca_time_rfc3339(na, sizeof(na), c->info.not_after);
	if (c->generation)
		fprintf(f, "fleetca: %s gen %d (%s, %s): %s, not after %s, sha256 %s\n", ca, c->generation,
			fca_role_name(c->role), c->asset, c->info.subject, na, c->info.sha256_hex);
	else
		fprintf(f, "fleetca: %s gen ? (%s, %s, unknown to fleetca: drift): %s, not after %s, sha256 %s\n", ca,
			fca_role_name(c->role), c->asset, c->info.subject, na, c->info.sha256_hex);
}

static int write_out(const char *path, const struct fca_export *e, int bundle, const struct fca_export_cert *one)
{
	char *buf;
	size_t n = 0;
	int r;

	if (!path) {
		int ok = 1;
		for (size_t i = 0; i < e->n; i++)
			if (bundle || &e->certs[i] == one)
				ok = ok &&
				     fwrite(e->certs[i].pem, 1, e->certs[i].pem_len, stdout) == e->certs[i].pem_len;
		if (fflush(stdout) != 0 || ferror(stdout) || !ok)
			return fca_error_set(FCA_ERROR, "cannot write the certificates to standard output");
		return FCA_OK;
	}
	for (size_t i = 0; i < e->n; i++)
		if (bundle || &e->certs[i] == one)
			n += e->certs[i].pem_len;
	if (!(buf = malloc(n + 1)))
		return fca_error_set(FCA_ENOMEM, "--out: out of memory");
	n = 0;
	for (size_t i = 0; i < e->n; i++)
		if (bundle || &e->certs[i] == one) {
			memcpy(buf + n, e->certs[i].pem, e->certs[i].pem_len);
			n += e->certs[i].pem_len;
		}
	/* Certificates are public: 0644, for the load balancer or IdP that reads them. */
	r = fca_file_replace(path, buf, n, 0644, "--out");
	free(buf);
	return r;
}

static int check_generation(const char *cmd, const char *v)
{
	char *end;
	long g = strtol(v, &end, 10);
	if (!*v || *end || g < 1 || g > 1000000)
		return cli_usage_error(cmd, "--generation must be a whole number from 1, not '%s'", v);
	return FCA_EXIT_OK;
}

int cmd_export(int argc, char **argv)
{
	struct fca_export e;
	struct fca_store *s = NULL;
	struct fca_secret key = FCA_SECRET_INIT;
	struct fca_config cfg = {.server_key_code = 0};
	const struct fca_ca_def *def = NULL;
	const struct fca_export_cert *one = NULL;
	const char *ca = NULL, *out_path = NULL;
	long generation = 0;
	int bundle = 0, rc = FCA_EXIT_ERROR;

	memset(&e, 0, sizeof(e));
	const char *gen_arg = NULL;
	const struct cli_opt table[] = {
	    {0, "ca", "ID", &ca, NULL, "apple_scep, host_identity, conditional_access or conditional_access_idp", NULL,
	     NULL},
	    {0, NULL, NULL, NULL, NULL, "the signing generation", "(default)", NULL},
	    {0, "generation", "N", &gen_arg, NULL, "generation N, which must be live (signing, next or previous)", NULL,
	     check_generation},
	    {0, "bundle", NULL, NULL, &bundle, "every live generation, concatenated: signing, next, previous", NULL,
	     NULL},
	    {0, "out", "FILE", &out_path, NULL, "write to FILE (replaced atomically) instead of stdout", NULL, NULL},
	    {0},
	};
	const struct cli_cmd cmd = {
	    "export",
	    "usage: fleetca export --ca ID [--generation N | --bundle] [--out FILE]\n\n"
	    "Prints the PEM certificate of a CA's live generations: what a load balancer (conditional_access)\n"
	    "or an identity provider (conditional_access_idp) must trust before a new generation may sign.\n"
	    "Certificates only: no private key is ever read. The PEM has no comments or other text (load\n"
	    "balancers dislike them); a one-line summary of each certificate goes to stderr instead.\n\n",
	    table,
	    19,
	    "\nDuring a rotation of conditional_access or conditional_access_idp: once gen N+1 is staged,\n"
	    "upload 'fleetca export --ca ID --bundle' to the load balancer or the IdP, then move the YAML\n"
	    "on to 'stage: active' in a reviewed pull request.\n\n"
	    "Needs FLEET_MYSQL_* (read-only is enough) and FLEET_SERVER_PRIVATE_KEY to decrypt.\n"
	    "Exit codes: 0 printed, 1 error (unknown CA, generation not live, no certificate).\n",
	};

	if ((rc = cli_parse(&cmd, argc, argv)) != CLI_CONTINUE)
		return rc;
	rc = FCA_EXIT_ERROR;
	if (gen_arg) {
		char *end;
		generation = strtol(gen_arg, &end, 10);
		if (!*gen_arg || *end || generation < 1 || generation > 1000000)
			return cli_usage_error("export", "--generation must be a whole number from 1, not '%s'",
					       gen_arg);
	}
	if (!ca) {
		fprintf(stderr, "fleetca export: which CA? give --ca ID\n");
		list_ids(stderr);
		return FCA_EXIT_ERROR;
	}
	if (!(def = fca_catalog_find(ca))) {
		fprintf(stderr, "fleetca: error: unknown CA '%s'\n", ca);
		list_ids(stderr);
		return FCA_EXIT_ERROR;
	}
	if (bundle && generation)
		return cli_usage_error("export", "--generation and --bundle exclude each other");
	if (cli_open(&cfg, 30, &key, &s) != 0 || fca_engine_export(&e, s, &key, def->id, fca_now()) != 0) {
		rc = cli_fail();
		goto out;
	}
	if (generation) {
		if (!(one = fca_export_find(&e, (int)generation))) {
			fprintf(stderr, "fleetca: error: %s generation %ld is not live; live generations:", def->name,
				generation);
			for (size_t i = 0; i < e.n; i++)
				if (e.certs[i].generation)
					fprintf(stderr, " %d (%s)", e.certs[i].generation,
						fca_role_name(e.certs[i].role));
				else
					fprintf(stderr, " ? (%s, unknown to fleetca)", fca_role_name(e.certs[i].role));
			fprintf(stderr, "\n");
			goto out;
		}
	} else if (!bundle) {
		one = &e.certs[0];
		if (one->role != FCA_ROLE_SIGNING) {
			fprintf(stderr, "fleetca: error: %s has no signing certificate (stage %s): use --bundle\n",
				def->name, fca_stage_name(e.stage));
			goto out;
		}
	}
	if (e.stage == FCA_STAGE_CORRUPT)
		fprintf(stderr,
			"fleetca: warning: %s is corrupt (see 'fleetca status'); exporting its live rows as they are\n",
			def->name);
	for (size_t i = 0; i < e.n; i++)
		if (bundle || &e.certs[i] == one)
			summary(stderr, def->name, &e.certs[i]);
	if (write_out(out_path, &e, bundle, one) != 0) {
		rc = cli_fail();
		goto out;
	}
	rc = FCA_EXIT_OK;
out:
	fca_export_dispose(&e);
	fca_secret_dispose(&key);
	fca_config_dispose(&cfg);
	fca_store_free(s);
	return rc;
}
