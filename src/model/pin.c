/* The desired state a saved plan was made from (include/fleetca/pin.h). Pure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fleetca/buf.h"
#include "fleetca/catalog.h"
#include "fleetca/pin.h"
#include "fleetca/timeutil.h"

int fca_pin_set(struct fca_pin *p, const char *key, const char *value)
{
	struct fca_pin_entry *e = NULL;
	size_t klen = strlen(key), vlen = strlen(value);

	if (klen >= FCA_PIN_KEY_MAX || vlen >= FCA_PIN_VALUE_MAX)
		return fca_error_set(FCA_EINVALID, "desired-state entry %.64s is too long", key);
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].key, key))
			e = &p->e[i];
	if (!e) {
		if (p->n >= FCA_PIN_MAX)
			return fca_error_set(FCA_EINVALID, "too many desired-state entries (at most %d)", FCA_PIN_MAX);
		e = &p->e[p->n++];
	}
	memcpy(e->key, key, klen + 1); /* both lengths checked above */
	memcpy(e->value, value, vlen + 1);
	return FCA_OK;
}

/* Sets key to the formatted value; a value longer than FCA_PIN_VALUE_MAX - 1 is an error naming the key. */
static int FCA_PRINTF(3, 0) vput(struct fca_pin *p, const char *key, const char *fmt, va_list ap)
{
	char v[FCA_PIN_VALUE_MAX];
	struct fca_buf b;

	fca_buf_init_fixed(&b, v, sizeof(v));
	if (fca_buf_vprintf(&b, fmt, ap) != FCA_OK)
		return fca_error_set(FCA_EINVALID, "desired-state entry %.64s: its value is longer than %d bytes", key,
				     FCA_PIN_VALUE_MAX - 1);
	return fca_pin_set(p, key, v);
}

static int FCA_PRINTF(3, 4) put(struct fca_pin *p, const char *key, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vput(p, key, fmt, ap);
	va_end(ap);
	return r;
}

/* put() for "cas.<name>.<field>". */
static int FCA_PRINTF(4, 5)
    put_ca(struct fca_pin *p, const struct fca_ca_def *def, const char *field, const char *fmt, ...)
{
	char k[FCA_PIN_KEY_MAX];
	struct fca_buf kb;
	va_list ap;
	int r;

	fca_buf_init_fixed(&kb, k, sizeof(k));
	if (fca_buf_printf(&kb, "cas.%s.%s", def->name, field) != FCA_OK)
		return fca_error_set(FCA_EINVALID, "desired-state entry cas.%.32s.%s: the key is longer than %d bytes",
				     def->name, field, FCA_PIN_KEY_MAX - 1);
	va_start(ap, fmt);
	r = vput(p, k, fmt, ap);
	va_end(ap);
	return r;
}

/* A duration as the YAML file spells it ("10y"): fca_duration_format's longest fits in 32 bytes. */
static const char *duration(char buf[32], int64_t secs)
{
	fca_duration_format(buf, 32, secs);
	return buf;
}

static const char *drain_name(enum fca_drain d)
{
	return d == FCA_DRAIN_FORCE ? "force" : "wait";
}

static const char *sink_name(enum fca_sink s)
{
	switch (s) {
	case FCA_SINK_API:
		return "api";
	case FCA_SINK_NONE:
		return "none";
	default:
		return "db";
	}
}

int fca_pin_build(struct fca_pin *out, const struct fca_desired *d, const char *source_path, const char *source_commit)
{
	char dur[32];
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = put(out, "source.path", "%s", source_path ? source_path : "")) != 0 ||
	    (r = put(out, "source.commit", "%s", source_commit ? source_commit : "")) != 0 ||
	    (r = put(out, "policy.min_overlap", "%s", duration(dur, d->policy.min_overlap))) != 0 ||
	    (r = put(out, "policy.clock_skew", "%s", duration(dur, d->policy.clock_skew))) != 0 ||
	    (r = put(out, "policy.drain", "%s", drain_name(d->policy.drain))) != 0 ||
	    (r = put(out, "policy.reason", "%s", d->policy.reason)) != 0 ||
	    (r = put(out, "policy.fleet_server_trusts_previous", "%s",
		     d->policy.fleet_server_trusts_previous ? "true" : "false")) != 0 ||
	    (r = put(out, "activities.sink", "%s", sink_name(d->sink))) != 0)
		return r;
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_ca_def *def = fca_catalog_get((enum fca_ca_id)i);
		const struct fca_desired_ca *c = &d->cas[i];
		struct fca_subject sub;

		if ((r = put_ca(out, def, "named", "%s", c->present ? "true" : "false")) != 0)
			return r;
		if (!c->present)
			continue;
		fca_desired_subject(&sub, c, def);
		if ((r = put_ca(out, def, "generation", "%d", c->generation)) != 0 ||
		    (r = put_ca(out, def, "stage", "%s", fca_stage_name(c->stage))) != 0 ||
		    (r = put_ca(out, def, "subject", "CN=%s,OU=%s,O=%s,C=%s", sub.cn, sub.ou, sub.o, sub.c)) != 0 ||
		    (r = c->key_keep ? put_ca(out, def, "key", "keep")
				     : put_ca(out, def, "key", "rsa-%d", c->key_bits)) != 0 ||
		    (r = put_ca(out, def, "validity", "%s", duration(dur, c->validity))) != 0 ||
		    (r = put_ca(out, def, "renew_before", "%s", duration(dur, c->renew_before))) != 0 ||
		    (r = put_ca(out, def, "adopt", "%s", c->adopt ? "true" : "false")) != 0 ||
		    (r = put_ca(out, def, "suspend", "%s", c->suspend ? "true" : "false")) != 0)
			return r;
	}
	return FCA_OK;
}

static const char *lookup(const struct fca_pin *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].key, key))
			return p->e[i].value;
	return NULL;
}

static void FCA_PRINTF(3, 4) say(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fca_text_vappend(why, n, "; ", fmt, ap);
	va_end(ap);
}

size_t fca_pin_compare(const struct fca_pin *planned, const struct fca_pin *now, char *why, size_t n)
{
	size_t diffs = 0;

	if (n)
		why[0] = '\0';
	for (size_t i = 0; i < planned->n; i++) {
		const char *v = lookup(now, planned->e[i].key);
		if (v && !strcmp(v, planned->e[i].value))
			continue;
		diffs++;
		if (!v)
			say(why, n, "%s: \"%s\" in the plan, not set now", planned->e[i].key, planned->e[i].value);
		else
			say(why, n, "%s: \"%s\" in the plan, \"%s\" now", planned->e[i].key, planned->e[i].value, v);
	}
	for (size_t i = 0; i < now->n; i++)
		if (!lookup(planned, now->e[i].key)) {
			diffs++;
			say(why, n, "%s: not in the plan, \"%s\" now", now->e[i].key, now->e[i].value);
		}
	return diffs;
}
