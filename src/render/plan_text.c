/* The plan as aligned text for people, and the helpers the other renderers share. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fleetca/buf.h"
#include "fleetca/catalog.h"
#include "fleetca/consequence.h"
#include "fleetca/render.h"
#include "fleetca/timeutil.h"
#include "render/render_int.h"

#define C_RESET	 "\033[0m"
#define C_BOLD	 "\033[1m"
#define C_RED	 "\033[31m"
#define C_GREEN	 "\033[32m"
#define C_YELLOW "\033[33m"

static const char *tone_color(enum fca_render_tone t)
{
	switch (t) {
	case FCA_TONE_READY:
		return C_GREEN;
	case FCA_TONE_WAIT:
		return C_YELLOW;
	default:
		return C_RED;
	}
}

void fca_render__counts(struct fca_render_counts *c, const struct fca_plan *p)
{
	memset(c, 0, sizeof(*c));
	c->steps = p->nsteps < FCA_PLAN_MAX_STEPS ? p->nsteps : FCA_PLAN_MAX_STEPS;
	for (size_t i = 0; i < c->steps; i++)
		c->ready += fca_plan_step_ready(p, i) ? 1 : 0;
	c->waiting = c->steps - c->ready;
	for (int ca = 0; ca < FCA_CA_COUNT; ca++)
		if (p->cas[ca].considered && p->cas[ca].error[0])
			c->errors++;
}

size_t fca_render__stuck_words(char *buf, size_t n, const struct fca_plan *p)
{
	size_t count = 0;

	if (n)
		buf[0] = '\0';
	for (int ca = 0; ca < FCA_CA_COUNT; ca++) {
		if (!fca_plan_ca_stuck(p, (enum fca_ca_id)ca))
			continue;
		if (n) /* a headline: "..." marks a cut */
			fca_text_append(buf, n, ", ", "%s %s",
					p->cas[ca].now_stage == FCA_STAGE_CORRUPT ? "corrupt" : "drift on",
					fca_catalog_get((enum fca_ca_id)ca)->name);
		count++;
	}
	return count;
}

/* Text for a person (a cut would be harmless): the callers' 600 bytes hold "waiting: ", a gate_reason[384] and a time.
 */
enum fca_render_tone fca_render__gate(char *buf, size_t n, const struct fca_plan *p, size_t i)
{
	const struct fca_step *s = &p->steps[i];
	char when[40];

	switch (s->gate) {
	case FCA_GATE_OPEN:
		if (fca_plan_step_ready(p, i)) {
			snprintf(buf, n, "ready%s", s->forced ? " (drain forced)" : "");
			return FCA_TONE_READY;
		}
		/* the gate is open, but an earlier step of the CA is not */
		for (size_t j = 0; j < i; j++)
			if (p->steps[j].ca == s->ca && p->steps[j].gate != FCA_GATE_OPEN) {
				snprintf(buf, n, "after %s", p->steps[j].step_id);
				return FCA_TONE_WAIT;
			}
		snprintf(buf, n, "after the earlier steps");
		return FCA_TONE_WAIT;
	case FCA_GATE_WAIT:
		if (s->opens_at > 0) {
			fca_time_human(when, sizeof(when), s->opens_at);
			snprintf(buf, n, "waiting: %s%sopens %s", s->gate_reason, s->gate_reason[0] ? ", " : "", when);
		} else {
			snprintf(buf, n, "waiting: %s", s->gate_reason[0] ? s->gate_reason : "the gate is closed");
		}
		return FCA_TONE_WAIT;
	case FCA_GATE_CLOSED:
		snprintf(buf, n, "blocked: %s", s->gate_reason[0] ? s->gate_reason : "the gate is closed");
		return FCA_TONE_BAD;
	default:
		snprintf(buf, n, "needs a human: %s", s->gate_reason[0] ? s->gate_reason : "see the notes");
		return FCA_TONE_BAD;
	}
}

/* '+' adopt/stage, '~' activate/rollback/renew, '-' retire/abandon. */
static char mark(enum fca_step_kind k)
{
	switch (k) {
	case FCA_STEP_ADOPT:
	case FCA_STEP_STAGE:
		return '+';
	case FCA_STEP_RETIRE:
	case FCA_STEP_ABANDON:
		return '-';
	default:
		return '~';
	}
}

/* "unmanaged (complete)" is the longest, 21 bytes: the callers' 64 never cut it. */
void fca_render__genstage(char *buf, size_t n, int generation, enum fca_stage stage)
{
	if (stage == FCA_STAGE_NONE || stage == FCA_STAGE_CORRUPT)
		snprintf(buf, n, "%s", fca_stage_name(stage));
	else if (generation <= 0)
		snprintf(buf, n, "unmanaged (%s)", fca_stage_name(stage));
	else
		snprintf(buf, n, "gen %d %s", generation, fca_stage_name(stage));
}

/* Appends "KEY=value" with RFC 4514 escaping; stops at the buffer's end (sized so it never does: render_int.h). */
static size_t rdn(char *buf, size_t n, size_t off, const char *key, const char *v)
{
	size_t len = strlen(v);

	if (off + 1 >= n)
		return off;
	off += (size_t)snprintf(buf + off, n - off, "%s%s=", off ? "," : "", key);
	for (size_t i = 0; i < len && off + 3 < n; i++) {
		char c = v[i];
		if (strchr("\"+,;<>\\", c) || (i == 0 && (c == '#' || c == ' ')) || (i == len - 1 && c == ' '))
			buf[off++] = '\\';
		buf[off++] = c;
	}
	buf[off < n ? off : n - 1] = '\0';
	return off < n ? off : n - 1;
}

void fca_render__subject(char *buf, size_t n, const struct fca_step *s, const struct fca_observed *o)
{
	const struct fca_ca_def *def = fca_catalog_get(s->ca);
	size_t off = 0;

	if (n == 0)
		return;
	buf[0] = '\0';
	/* renew reissues the signing certificate as it is: its subject does not change */
	if (s->kind == FCA_STEP_RENEW && o && (unsigned)s->ca < FCA_CA_COUNT &&
	    o->cas[s->ca].gens[FCA_SLOT_CURRENT].cert_ok) {
		fca_text_append(buf, n, "", "%s", o->cas[s->ca].gens[FCA_SLOT_CURRENT].cert.subject);
		return;
	}
	off = rdn(buf, n, off, "CN", s->subject.cn[0] || !def ? s->subject.cn : def->cn);
	off = rdn(buf, n, off, "OU", s->subject.ou[0] || !def ? s->subject.ou : def->ou);
	off = rdn(buf, n, off, "O", s->subject.o[0] || !def ? s->subject.o : def->o);
	(void)rdn(buf, n, off, "C", s->subject.c[0] || !def ? s->subject.c : def->c);
}

/* At most key_type[16] and an int, 27 bytes: the callers' 600 never cut it. */
void fca_render__key(char *buf, size_t n, const struct fca_step *s, const struct fca_observed *o)
{
	const struct fca_obs_gen *g;

	if (s->key_bits > 0) {
		snprintf(buf, n, "RSA-%d", s->key_bits);
		return;
	}
	buf[0] = '\0';
	if (o && (s->kind == FCA_STEP_RENEW || s->key_keep) && (unsigned)s->ca < FCA_CA_COUNT) {
		g = &o->cas[s->ca].gens[FCA_ROLE_SIGNING];
		if (g->cert_ok && g->cert.key_type[0] && g->cert.key_bits > 0)
			snprintf(buf, n, "%s-%d", g->cert.key_type, g->cert.key_bits);
	}
}

const char fca_render__asserted[] = "fleet_server_trusts_previous: true — your statement that this Fleet trusts "
				    "ca_cert_previous; no released Fleet does";

/* A sentence for a person: a buffer too short for it ends with "..." (fca_text_append). */
void fca_render__disruption(char *buf, size_t n, const struct fca_disruption *d)
{
	if (n == 0)
		return;
	buf[0] = '\0';
	if (d->devices_known)
		fca_text_append(buf, n, "",
				"%" PRIu64 " enrolled Apple device%s would fail check-in on a Fleet that trusts one "
				"root and would have to re-enroll",
				d->devices, d->devices == 1 ? "" : "s");
	else
		fca_text_append(buf, n, "",
				"enrolled Apple devices that would fail check-in on a Fleet that trusts one root and "
				"would have to re-enroll: not counted (%.*s)",
				(int)sizeof(d->devices_why), d->devices_why);
	if (d->escrows_known)
		fca_text_append(buf, n, "", ", and %" PRIu64 " FileVault escrow%s could no longer be decrypted",
				d->escrows, d->escrows == 1 ? "" : "s");
	else
		fca_text_append(buf, n, "",
				", and FileVault escrows that could no longer be decrypted: not counted (%.*s)",
				(int)sizeof(d->escrows_why), d->escrows_why);
	fca_text_append(buf, n, "", " (%s)",
			d->new_key && d->new_subject ? "new key and subject"
			: d->new_key		     ? "new key, same subject"
						     : "new subject, same key");
}

static const char *const warning_names[FCA_RENDER_WARN_COUNT] = {
    "drift", "apple_verifier", "forced_drain", "human_trust", "corrupt", "escrow",
};

const char *fca_render__warning_name(unsigned i)
{
	return i < FCA_RENDER_WARN_COUNT ? warning_names[i] : "unknown";
}

static const struct fca_step *find_step(const struct fca_plan *p, enum fca_ca_id ca, enum fca_step_kind k)
{
	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++)
		if (p->steps[i].ca == ca && p->steps[i].kind == k)
			return &p->steps[i];
	return NULL;
}

/* Sentences for a person: a cut is harmless (the callers' 600 bytes hold the longest, with problem[384]). */
void fca_render__warning_text(char *buf, size_t n, unsigned bit, const struct fca_plan *p, const struct fca_observed *o,
			      enum fca_ca_id ca)
{
	const struct fca_ca_def *def = fca_catalog_get(ca);
	const struct fca_obs_ca *oc = o && def ? &o->cas[ca] : NULL;
	const struct fca_step *s;
	const char *name = def ? def->name : "?";
	uint64_t esc = 0;

	switch (1u << bit) {
	case FCA_WARN_DRIFT:
		/* foreign _next/_previous rows on a CA fleetca never adopted */
		if (oc && !oc->managed && !oc->drift &&
		    (oc->stage == FCA_STAGE_STAGED || oc->stage == FCA_STAGE_ACTIVE)) {
			snprintf(buf, n,
				 "drift: %s has live %s rows fleetca did not make and no record of this CA; no step "
				 "runs on it until a person has inspected them and soft-deleted the pair that does not "
				 "belong",
				 name, oc->stage == FCA_STAGE_STAGED ? "_next" : "_previous");
			break;
		}
		snprintf(buf, n,
			 "drift: a live row of %s was changed outside fleetca%s%.256s%s; no step runs on this CA "
			 "until the YAML says adopt: true for it",
			 name, oc && oc->drift_detail[0] ? " (" : "", oc ? oc->drift_detail : "",
			 oc && oc->drift_detail[0] ? ")" : "");
		break;
	case FCA_WARN_APPLE_VERIFIER:
		snprintf(
		    buf, n,
		    "Apple SCEP verifier: today's Fleet verifies devices against the first "
		    "certificate of ca_cert alone, by its exact subject and key; a new key or subject there "
		    "disconnects every enrolled device the old one issued a certificate to (it must re-enroll) "
		    "unless the server honours ca_cert_previous, and a new key strands FileVault escrows unless it "
		    "also decrypts with ca_key_previous (policy.fleet_server_trusts_previous states that it does)");
		break;
	case FCA_WARN_FORCED_DRAIN:
		s = find_step(p, ca, FCA_STEP_RETIRE);
		snprintf(
		    buf, n,
		    "forced drain: the old generation is retired while certificates it issued are still live%s%s%s",
		    s && s->gate_reason[0] ? " (reason: " : "", s && s->gate_reason[0] ? s->gate_reason : "",
		    s && s->gate_reason[0] ? ")" : "");
		break;
	case FCA_WARN_HUMAN_TRUST:
		snprintf(buf, n,
			 "human trust: whoever relies on %s (load balancer or identity provider) must trust the new "
			 "generation before it activates; upload `fleetca export --ca %s --bundle` first",
			 name, name);
		break;
	case FCA_WARN_CORRUPT:
		snprintf(buf, n, "corrupt: %s",
			 oc && oc->problem[0] ? oc->problem
					      : "the rows do not form a known stage; fleetca refuses to touch this CA");
		break;
	case FCA_WARN_ESCROW:
		if (oc)
			for (int r = 0; r < FCA_SLOT_COUNT; r++)
				if (r != FCA_ROLE_SIGNING)
					esc += oc->gens[r].escrows;
		s = find_step(p, ca, FCA_STEP_RETIRE);
		if (s && s->escrows > esc)
			esc = s->escrows;
		if (esc)
			snprintf(buf, n,
				 "FileVault escrows: %" PRIu64 " recovery key%s encrypted to an older generation; "
				 "they block retire and need the old ca_key to decrypt",
				 esc, esc == 1 ? " is" : "s are");
		else
			snprintf(buf, n,
				 "FileVault escrows are encrypted to an older generation; they block retire and "
				 "need the old ca_key to decrypt");
		break;
	default:
		snprintf(buf, n, "unknown warning");
	}
}

int fca_render__id_width(const struct fca_plan *p, int ca)
{
	int w = 0;

	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++) {
		int len = (int)strnlen(p->steps[i].step_id, sizeof(p->steps[i].step_id));
		if ((ca < 0 || (int)p->steps[i].ca == ca) && len > w)
			w = len;
	}
	return w;
}

static void put_label(FILE *f, int indent, const char *label)
{
	fprintf(f, "%*s%-10s", indent, "", label);
}

static void render_drain(FILE *f, const struct fca_step *s, int indent)
{
	/* retire drains the old generation; abandon the one it throws away */
	const char *whose = s->kind == FCA_STEP_ABANDON ? "the abandoned generation" : "the old generation";
	char when[40];
	size_t nb = s->nblockers < FCA_MAX_BLOCKERS ? s->nblockers : FCA_MAX_BLOCKERS;
	int wt = 5, ws = 6, ww = 3;

	put_label(f, indent, "drain");
	if (s->drain_not_counted[0]) {
		fprintf(f, "not counted: %s\n", s->drain_not_counted);
		return;
	}
	if (s->by_enrollment) {
		/* only an enrollment's newest certificate is in use */
		fprintf(f, "%" PRIu64 " in use, %" PRIu64 " unexpired certificate%s of %s", s->drain_live,
			s->drain_unexpired, s->drain_unexpired == 1 ? "" : "s", whose);
		if (s->drain_live > 0 && s->drain_last_expiry > 0) {
			fca_time_human(when, sizeof(when), s->drain_last_expiry);
			fprintf(f, ", the last in use expires %s", when);
		}
		fprintf(f, "\n");
	} else if (s->drain_live == 0) {
		fprintf(f, "no live certificate of %s remains\n", whose);
	} else {
		fprintf(f, "%" PRIu64 " live certificate%s of %s", s->drain_live, s->drain_live == 1 ? "" : "s", whose);
		if (s->drain_last_expiry > 0) {
			fca_time_human(when, sizeof(when), s->drain_last_expiry);
			fprintf(f, ", the last expires %s", when);
		}
		fprintf(f, "\n");
	}
	if (s->drain_unparsed > 0) {
		put_label(f, indent, "unknown");
		fprintf(f, "%" PRIu64 " live issued certificate%s that could not be parsed (issuer unknown)\n",
			s->drain_unparsed, s->drain_unparsed == 1 ? "" : "s");
	}
	if (s->escrows_unparsed > 0) {
		put_label(f, indent, "unknown");
		fprintf(f, "%" PRIu64 " FileVault escrow%s that could not be parsed (recipient unknown)\n",
			s->escrows_unparsed, s->escrows_unparsed == 1 ? "" : "s");
	}
	if (s->escrows > 0) {
		put_label(f, indent, "escrows");
		fprintf(f, "%" PRIu64 " FileVault recovery key%s encrypted to %s\n", s->escrows,
			s->escrows == 1 ? "" : "s", whose);
	}
	if (s->forced) {
		put_label(f, indent, "forced");
		fprintf(f, "drain: force%s%s\n", s->gate_reason[0] ? ": " : "", s->gate_reason);
	}
	if (nb == 0)
		return;
	for (size_t i = 0; i < nb; i++) {
		int a = (int)strnlen(s->blockers[i].table, sizeof(s->blockers[i].table));
		int b = (int)strnlen(s->blockers[i].serial, sizeof(s->blockers[i].serial));
		int c = (int)strnlen(s->blockers[i].who, sizeof(s->blockers[i].who));
		wt = a > wt ? a : wt;
		ws = b > ws ? b : ws;
		ww = c > ww ? c : ww;
	}
	put_label(f, indent, "blockers");
	fprintf(f, "%-*s  %-*s  %-*s  %s\n", wt, "table", ws, "serial", ww, "who", "not valid after");
	for (size_t i = 0; i < nb; i++) {
		const struct fca_blocker *b = &s->blockers[i];
		if (b->not_valid_after > 0)
			fca_time_human(when, sizeof(when), b->not_valid_after);
		else
			snprintf(when, sizeof(when), "unknown"); /* a constant that fits */
		fprintf(f, "%*s%-10s%-*.*s  %-*.*s  %-*.*s  %s\n", indent, "", "", wt, (int)sizeof(b->table), b->table,
			ws, (int)sizeof(b->serial), b->serial, ww, (int)sizeof(b->who), b->who, when);
	}
	if (s->drain_live > nb)
		fprintf(f, "%*s%-10s… and %" PRIu64 " more\n", indent, "", "", s->drain_live - nb);
}

void fca_render__ca_steps(FILE *f, const struct fca_plan *p, const struct fca_observed *o, enum fca_ca_id ca, int color,
			  int indent, int id_width)
{
	char gate[600], buf[600];

	for (size_t i = 0; i < p->nsteps && i < FCA_PLAN_MAX_STEPS; i++) {
		const struct fca_step *s = &p->steps[i];
		struct fca_consequence cq;
		enum fca_render_tone tone;
		int aw = 0;

		if (s->ca != ca)
			continue;
		tone = fca_render__gate(gate, sizeof(gate), p, i);
		fprintf(f, "%*s%c %-*.*s  %s%s%s\n", indent, "", mark(s->kind), id_width, (int)sizeof(s->step_id),
			s->step_id, color ? tone_color(tone) : "", gate, color ? C_RESET : "");
		for (size_t w = 0; w < s->nwrites && w < FCA_STEP_MAX_WRITES; w++) {
			int len = (int)strnlen(s->writes[w].asset, sizeof(s->writes[w].asset));
			aw = len > aw ? len : aw;
		}
		for (size_t w = 0; w < s->nwrites && w < FCA_STEP_MAX_WRITES; w++)
			fprintf(f, "%*s%c %-*.*s  (gen %d)\n", indent + 4, "", s->writes[w].op ? s->writes[w].op : '?',
				aw, (int)sizeof(s->writes[w].asset), s->writes[w].asset, s->writes[w].generation);
		if (s->kind == FCA_STEP_STAGE || s->kind == FCA_STEP_RENEW) {
			fca_render__subject(buf, sizeof(buf), s, o);
			put_label(f, indent + 4, "subject");
			fprintf(f, "%s\n", buf);
			fca_render__key(buf, sizeof(buf), s, o);
			put_label(f, indent + 4, "key");
			fprintf(f, "%s%s\n", buf[0] ? buf : "the current key",
				s->key_keep ? (buf[0] ? ", the signing generation's (key: keep)" : " (key: keep)")
				: s->kind == FCA_STEP_RENEW && buf[0] ? " (same key)"
								      : "");
			fca_duration_format(buf, sizeof(buf), s->validity);
			put_label(f, indent + 4, "validity");
			fprintf(f, "%s\n", buf);
		}
		if (s->kind == FCA_STEP_RETIRE || s->drain_gated)
			render_drain(f, s, indent + 4);
		if (s->discards[0]) {
			put_label(f, indent + 4, "discards");
			fprintf(f, "%.*s\n", (int)sizeof(s->discards), s->discards);
		}
		if (s->disruption.applies) {
			char line[1024];
			fca_render__disruption(line, sizeof(line), &s->disruption);
			put_label(f, indent + 4, "impact");
			fprintf(f, "%s\n", line);
			if (s->disruption.asserted) {
				put_label(f, indent + 4, "asserted");
				fprintf(f, "%s\n", fca_render__asserted);
			}
		}
		if (fca_consequence_of(&cq, s)) {
			put_label(f, indent + 4, "trust");
			fprintf(f, "%s\n", cq.text);
		}
	}
}

int fca_render_plan_text(FILE *f, const struct fca_plan *p, const struct fca_observed *o, int color)
{
	struct fca_render_counts c;
	char now[64], target[64], line[600], sw[200];
	int name_w = 0, id_w = fca_render__id_width(p, -1);
	size_t stuck;

	fca_render__counts(&c, p);
	stuck = fca_render__stuck_words(sw, sizeof(sw), p);
	if (c.steps == 0 && c.errors == 0 && !stuck && fca_plan_settled(p))
		fprintf(f, "No changes. Fleet's CAs match the desired state.\n");
	else if (c.steps == 0 && c.errors == 0 && !stuck)
		fprintf(f, "No step can run yet, but not every CA is at its target (see below).\n");
	else {
		fprintf(f, "%zu step%s: %zu ready, %zu waiting", c.steps, c.steps == 1 ? "" : "s", c.ready, c.waiting);
		if (c.errors)
			fprintf(f, ", %s%zu error%s%s", color ? C_RED : "", c.errors, c.errors == 1 ? "" : "s",
				color ? C_RESET : "");
		if (stuck)
			fprintf(f, "; %sstuck: %s (a human must decide)%s", color ? C_YELLOW : "", sw,
				color ? C_RESET : "");
		fprintf(f, "\n");
	}

	for (int ca = 0; ca < FCA_CA_COUNT; ca++) {
		int len = (int)strlen(fca_catalog_get((enum fca_ca_id)ca)->name);
		if (p->cas[ca].considered && len > name_w)
			name_w = len;
	}
	for (int ca = 0; ca < FCA_CA_COUNT; ca++) {
		const struct fca_plan_ca *pc = &p->cas[ca];

		if (!pc->considered)
			continue;
		size_t nsteps_ca = 0;
		for (size_t i = 0; i < p->nsteps; i++)
			nsteps_ca += p->steps[i].ca == (enum fca_ca_id)ca;
		fca_render__genstage(now, sizeof(now), pc->now_generation, pc->now_stage);
		fca_render__genstage(target, sizeof(target), pc->target_generation, pc->target_stage);
		if (!nsteps_ca && !pc->error[0] && !pc->warnings && !pc->note[0] && !pc->suspended) {
			fprintf(f, "\n%s%-*s%s  %s, as desired\n", color ? C_BOLD : "", name_w,
				fca_catalog_get((enum fca_ca_id)ca)->name, color ? C_RESET : "", now);
			continue;
		}
		fprintf(f, "\n%s%-*s%s  %s → %s%s\n", color ? C_BOLD : "", name_w,
			fca_catalog_get((enum fca_ca_id)ca)->name, color ? C_RESET : "", now, target,
			pc->suspended ? "  (suspended)" : "");
		if (pc->error[0])
			fprintf(f, "  %serror:%s %.*s\n", color ? C_RED : "", color ? C_RESET : "",
				(int)sizeof(pc->error), pc->error);
		for (unsigned b = 0; b < FCA_RENDER_WARN_COUNT; b++)
			if (pc->warnings & (1u << b)) {
				fca_render__warning_text(line, sizeof(line), b, p, o, (enum fca_ca_id)ca);
				fprintf(f, "  %swarning:%s %s\n", color ? C_YELLOW : "", color ? C_RESET : "", line);
			}
		if (pc->note[0])
			fprintf(f, "  note: %.*s\n", (int)sizeof(pc->note), pc->note);
		fca_render__ca_steps(f, p, o, (enum fca_ca_id)ca, color, 2, id_w);
	}
	if (fflush(f) != 0 || ferror(f))
		return fca_error_set(FCA_ERROR, "cannot write the plan: %s", strerror(errno));
	return FCA_OK;
}
