/* `plan --offline`: what the desired-state file asks for, per CA, without reading a row. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fleetca/catalog.h"
#include "fleetca/render.h"
#include "fleetca/timeutil.h"

static int offline_table(FILE *f, const struct fca_desired *d, int markdown)
{
	char v[32], rb[32], key[32];

	if (markdown)
		fprintf(f,
			"### fleetca plan (offline: what `%s` asks for)\n\n| CA | target | key | validity | notes |\n"
			"|---|---|---|---|---|\n",
			d->path);
	else
		fprintf(f, "Offline: no database was read; this is what %s asks for.\n\n", d->path);
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_desired_ca *c = &d->cas[i];
		const struct fca_ca_def *def = fca_catalog_get((enum fca_ca_id)i);
		if (!c->present)
			continue;
		fca_duration_format(v, sizeof(v), c->validity);
		fca_duration_format(rb, sizeof(rb), c->renew_before);
		if (c->key_keep) /* constants and an int, for a person */
			snprintf(key, sizeof(key), "the signing key (keep)");
		else
			snprintf(key, sizeof(key), "RSA-%d", c->key_bits);
		if (markdown)
			fprintf(f, "| `%s` | gen %d %s | %s | %s | %s%s%s |\n", def->name, c->generation,
				fca_stage_name(c->stage), key, v, c->suspend ? "suspended " : "",
				c->adopt ? "adopt " : "", c->renew_before ? "renews before expiry" : "");
		else
			fprintf(f, "  %-24s gen %d %-9s %s, validity %s%s%s%s%s\n", def->name, c->generation,
				fca_stage_name(c->stage), key, v, c->renew_before ? ", renew_before " : "",
				c->renew_before ? rb : "", c->suspend ? ", suspended" : "", c->adopt ? ", adopt" : "");
	}
	if (fflush(f) != 0 || ferror(f))
		return fca_error_set(FCA_ERROR, "cannot write the plan: %s", strerror(errno));
	return FCA_OK;
}

int fca_render_offline_text(FILE *f, const struct fca_desired *d)
{
	return offline_table(f, d, 0);
}

int fca_render_offline_markdown(FILE *f, const struct fca_desired *d)
{
	return offline_table(f, d, 1);
}
