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

	if (strlen(key) >= FCA_PIN_KEY_MAX || strlen(value) >= FCA_PIN_VALUE_MAX)
		return fca_error_set(FCA_EINVALID, "desired-state entry %.64s is too long", key);
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].key, key))
			e = &p->e[i];
	if (!e) {
		if (p->n >= FCA_PIN_MAX)
			return fca_error_set(FCA_EINVALID, "too many desired-state entries (at most %d)", FCA_PIN_MAX);
		e = &p->e[p->n++];
	}
	snprintf(e->key, sizeof(e->key), "%s", key);
	snprintf(e->value, sizeof(e->value), "%s", value);
	return FCA_OK;
}

static void FCA_PRINTF(3, 4) put(struct fca_pin *p, const char *key, const char *fmt, ...)
{
	char v[FCA_PIN_VALUE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (fca_pin_set(p, key, v) != FCA_OK) /* the keys below are bounded: cannot happen */
		fca_error_clear();
}

static void put_duration(struct fca_pin *p, const char *key, int64_t secs)
{
	char buf[32];

	fca_duration_format(buf, sizeof(buf), secs);
	put(p, key, "%s", buf);
}

static const char *drain_name(enum fca_drain d) { return d == FCA_DRAIN_FORCE ? "force" : "wait"; }

static const char *sink_name(enum fca_sink s)
{
	switch (s) {
	case FCA_SINK_API: return "api";
	case FCA_SINK_NONE: return "none";
	default: return "db";
	}
}

void fca_pin_build(struct fca_pin *out, const struct fca_desired *d, const char *source_path, const char *source_commit)
{
	char k[FCA_PIN_KEY_MAX];

	memset(out, 0, sizeof(*out));
	put(out, "source.path", "%s", source_path ? source_path : "");
	put(out, "source.commit", "%s", source_commit ? source_commit : "");
	put_duration(out, "policy.min_overlap", d->policy.min_overlap);
	put_duration(out, "policy.clock_skew", d->policy.clock_skew);
	put(out, "policy.drain", "%s", drain_name(d->policy.drain));
	put(out, "policy.reason", "%s", d->policy.reason);
	put(out, "policy.fleet_server_trusts_previous", "%s", d->policy.fleet_server_trusts_previous ? "true" : "false");
	put(out, "activities.sink", "%s", sink_name(d->sink));
	for (int i = 0; i < FCA_CA_COUNT; i++) {
		const struct fca_ca_def *def = fca_catalog_get((enum fca_ca_id)i);
		const struct fca_desired_ca *c = &d->cas[i];
		struct fca_subject sub;

		snprintf(k, sizeof(k), "cas.%s.named", def->name);
		put(out, k, "%s", c->present ? "true" : "false");
		if (!c->present)
			continue;
		snprintf(k, sizeof(k), "cas.%s.generation", def->name);
		put(out, k, "%d", c->generation);
		snprintf(k, sizeof(k), "cas.%s.stage", def->name);
		put(out, k, "%s", fca_stage_name(c->stage));
		fca_desired_subject(&sub, c, def);
		snprintf(k, sizeof(k), "cas.%s.subject", def->name);
		put(out, k, "CN=%s,OU=%s,O=%s,C=%s", sub.cn, sub.ou, sub.o, sub.c);
		snprintf(k, sizeof(k), "cas.%s.key", def->name);
		if (c->key_keep)
			put(out, k, "keep");
		else
			put(out, k, "rsa-%d", c->key_bits);
		snprintf(k, sizeof(k), "cas.%s.validity", def->name);
		put_duration(out, k, c->validity);
		snprintf(k, sizeof(k), "cas.%s.renew_before", def->name);
		put_duration(out, k, c->renew_before);
		snprintf(k, sizeof(k), "cas.%s.adopt", def->name);
		put(out, k, "%s", c->adopt ? "true" : "false");
		snprintf(k, sizeof(k), "cas.%s.suspend", def->name);
		put(out, k, "%s", c->suspend ? "true" : "false");
	}
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
