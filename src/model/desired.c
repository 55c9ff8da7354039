#include <stdio.h>
#include <string.h>

#include "fleetca/desired.h"

const char *fca_stage_name(enum fca_stage s)
{
	switch (s) {
	case FCA_STAGE_STAGED:
		return "staged";
	case FCA_STAGE_ACTIVE:
		return "active";
	case FCA_STAGE_COMPLETE:
		return "complete";
	case FCA_STAGE_CORRUPT:
		return "corrupt";
	default:
		return "none";
	}
}

void fca_desired_init(struct fca_desired *d)
{
	memset(d, 0, sizeof(*d));
	d->version = 1;
	d->policy.min_overlap = 7 * 86400;
	d->policy.clock_skew = 72 * 3600;
	d->policy.drain = FCA_DRAIN_WAIT;
	d->sink = FCA_SINK_DB;
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		struct fca_desired_ca *c = &d->cas[i];
		c->generation = 1;
		c->stage = FCA_STAGE_COMPLETE;
		c->key_bits = 2048;
		c->validity = (int64_t)10 * 365 * 86400;
		c->renew_before = 0;
	}
}

void fca_desired_subject(struct fca_subject *out, const struct fca_desired_ca *dca, const struct fca_ca_def *def)
{
	/* same-sized fields, or the catalog's short defaults: never cut */
	snprintf(out->cn, sizeof(out->cn), "%s", dca && dca->subject.cn[0] ? dca->subject.cn : def->cn);
	snprintf(out->o, sizeof(out->o), "%s", dca && dca->subject.o[0] ? dca->subject.o : def->o);
	snprintf(out->ou, sizeof(out->ou), "%s", dca && dca->subject.ou[0] ? dca->subject.ou : def->ou);
	snprintf(out->c, sizeof(out->c), "%s", dca && dca->subject.c[0] ? dca->subject.c : def->c);
}

/* A line for a person: a cut is harmless. */
void fca_diag_format(char *buf, size_t n, const char *file, const struct fca_diag *d)
{
	if (d->line > 0)
		snprintf(buf, n, "%s:%d:%d: %s%s%s", file, d->line, d->column, d->key, d->key[0] ? ": " : "", d->msg);
	else
		snprintf(buf, n, "%s: %s%s%s", file, d->key, d->key[0] ? ": " : "", d->msg);
}
