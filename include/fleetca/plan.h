/* The planner: (desired, observed, now) -> ordered steps with gates. Pure: no I/O, no clock. */
#ifndef FLEETCA_PLAN_H
#define FLEETCA_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/desired.h"
#include "fleetca/observed.h"

enum fca_step_kind {
	FCA_STEP_ADOPT = 0,
	FCA_STEP_STAGE,
	FCA_STEP_ACTIVATE,
	FCA_STEP_RETIRE,
	FCA_STEP_ROLLBACK,
	FCA_STEP_ABANDON,
	FCA_STEP_RENEW,
};
const char *fca_step_kind_name(enum fca_step_kind k);	  /* "stage" */
const char *fca_step_activity_type(enum fca_step_kind k); /* "staged_ca_certificate" */

enum fca_gate {
	FCA_GATE_OPEN = 0,
	FCA_GATE_WAIT,	 /* closed; opens by itself at opens_at (overlap, drain with known expiry) */
	FCA_GATE_CLOSED, /* closed; no known date (escrows, drain of certs without expiry) */
	FCA_GATE_HUMAN,	 /* closed until a person changes the YAML or the policy */
};
const char *fca_gate_name(enum fca_gate g); /* "open", "wait", "closed", "human" */

/* One row change: '+' insert, '-' soft-delete, '~' soft-delete then insert under the same name. */
struct fca_row_write {
	char op;
	char asset[FCA_ASSET_NAME_MAX];
	int generation; /* the generation the row holds after the write (for '-': the one removed) */
};

#define FCA_STEP_MAX_WRITES 8

/*
 * What an apple_scep step that changes the first certificate of ca_cert (its subject bytes or its
 * key: activate, rollback) would break on a Fleet that trusts one root (every released Fleet:
 * docs/architecture.md, section 7). A count not made says why; the step is then held.
 */
struct fca_disruption {
	int applies;		  /* the step changes the subject bytes or the key */
	int new_key, new_subject; /* what changes (1 when it cannot be known: fail closed) */
	int devices_known;
	uint64_t devices;      /* enrolled Apple devices that would fail check-in and re-enroll */
	char devices_why[512]; /* why not counted */
	int escrows_known;
	uint64_t escrows; /* FileVault escrows that could no longer be decrypted */
	char escrows_why[512];
	int asserted; /* policy.fleet_server_trusts_previous: true (the admin's statement) */
};

struct fca_step {
	enum fca_ca_id ca;
	enum fca_step_kind kind;
	int generation;	     /* the generation the step is about (the new one for stage/activate/…) */
	int from_generation; /* the generation signing before the step */
	enum fca_stage from_stage, to_stage;
	char step_id[FCA_STEP_ID_MAX]; /* "<ca>:<generation>:<step>" */
	struct fca_row_write writes[FCA_STEP_MAX_WRITES];
	size_t nwrites;
	enum fca_gate gate;
	char gate_reason[384];
	int64_t opens_at; /* FCA_GATE_WAIT: when it opens */
	int forced;	  /* drain: force opened the gate */
	/* stage / renew: what the new certificate will be */
	struct fca_subject subject;
	int key_bits; /* 0: the signing key (renew; stage with key_keep) */
	int key_keep; /* stage: key: keep, a new certificate on the signing generation's key */
	int64_t validity;
	/* drain facts for retire, and for abandon of a generation that signed (drain_gated) */
	int drain_gated;     /* the step has the drain gate (retire; abandon of a generation that signed) */
	char discards[320];  /* abandon of a generation that signed: what the revert throws away, in words */
	uint64_t drain_live; /* in use: what holds the retirement back */
	uint64_t drain_unexpired;
	int by_enrollment; /* in use = an enrollment's newest certificate (apple_scep) */
	int64_t drain_last_expiry;
	uint64_t escrows;
	struct fca_blocker blockers[FCA_MAX_BLOCKERS];
	size_t nblockers;
	/* Fail closed: why the drain could not be counted ("" = counted; the gate is then closed and
	 * the run stops, fca_plan_uncounted), and what was read but could not be parsed (never a 0). */
	char drain_not_counted[512];
	uint64_t drain_unparsed;   /* live issued certificates of the CA: which generation issued them is unknown */
	uint64_t escrows_unparsed; /* apple_scep: escrows whose CMS could not be parsed */
	struct fca_disruption disruption; /* applies == 0 for every other step */
};

enum fca_plan_warning {
	FCA_WARN_DRIFT = 1u << 0,
	FCA_WARN_APPLE_VERIFIER = 1u << 1, /* apple_scep activation of a new key or subject */
	FCA_WARN_FORCED_DRAIN = 1u << 2,
	FCA_WARN_HUMAN_TRUST = 1u << 3, /* LB / IdP must trust the new generation first */
	FCA_WARN_CORRUPT = 1u << 4,
	FCA_WARN_ESCROW = 1u << 5, /* FileVault escrows to an older generation */
};

struct fca_plan_ca {
	int considered; /* named in the YAML */
	int suspended;
	enum fca_stage now_stage; /* observed */
	int now_generation;	  /* observed signing generation (0 unknown) */
	enum fca_stage target_stage;
	int target_generation;
	unsigned warnings;
	char note[512];	 /* why nothing is planned, or what a human must do */
	char error[384]; /* the YAML asks for something impossible */
};

#define FCA_PLAN_MAX_STEPS 64

struct fca_plan {
	int64_t now;
	struct fca_step steps[FCA_PLAN_MAX_STEPS];
	size_t nsteps;
	struct fca_plan_ca cas[FCA_CA_COUNT];
	size_t nready, nwaiting; /* ready = gate open and every earlier step of its CA ready */
	int has_error;
};

/*
 * Builds the plan. Returns FCA_OK (even when a CA has an error: see has_error and cas[].error),
 * or FCA_EINVALID for inputs that make no sense at all.
 */
int fca_plan_build(struct fca_plan *out, const struct fca_desired *d, const struct fca_observed *o,
		   int64_t now) FCA_MUST_USE;

/*
 * 1 when the CA is stuck: a human must decide before anything is done to it (drift without an
 * adopt step planned, including an unmanaged CA with foreign _next/_previous rows; or corrupt).
 */
int fca_plan_ca_stuck(const struct fca_plan *p, enum fca_ca_id ca);

/*
 * The stuck-CA judgement (src/model/stuck.c), the one plan, apply and reconcile report: each CA
 * fca_plan_ca_stuck names, corrupt (an error: exit 1) or drifted without adopt: true (a person
 * must decide: exit 3), with the sentence to print ("apple_scep has drifted (...): nothing is done
 * to it until a person decides"). Returns the worst kind (corrupt over drift). Pure.
 */
enum fca_stuck_kind { FCA_STUCK_NONE = 0, FCA_STUCK_DRIFT, FCA_STUCK_CORRUPT };
struct fca_stuck {
	enum fca_stuck_kind kind; /* the worst of ca[] */
	enum fca_stuck_kind ca[FCA_CA_COUNT];
	char why[FCA_CA_COUNT][1024]; /* for each stuck CA */
};
enum fca_stuck_kind fca_plan_stuck(struct fca_stuck *out, const struct fca_plan *p, const struct fca_observed *o);

/*
 * The CAs the plan is an error for (plan exits 1, its JSON summary.errors): the desired state is
 * impossible (cas[].error), the rows are corrupt (fca_plan_stuck), or a gate cannot be checked
 * (a step's drain_not_counted, fca_plan_uncounted). Pure.
 */
size_t fca_plan_errors(const struct fca_plan *p);

/* 1 when a CA the YAML names is where the YAML wants it: no step, no error, no drift, and its
 * observed generation and stage are the target (1 for a CA the YAML does not name). */
int fca_plan_ca_at_target(const struct fca_plan *p, enum fca_ca_id ca);

/* 1 when every CA the YAML names is at its target (fca_plan_ca_at_target). */
int fca_plan_settled(const struct fca_plan *p);

/* 1 when the step is ready: its gate and every earlier gate of its CA are open. */
int fca_plan_step_ready(const struct fca_plan *p, size_t i);

/* 1 when a step changes the Apple CA's first certificate: the engine should count what it would
 * break (fca_observe_opts scan_devices, scan_escrows_today) and plan again. */
/* The first step whose gate needs a count that could not be made (drain_not_counted), or -1: the
 * run must stop before any change, naming what could not be read. */
long fca_plan_uncounted(const struct fca_plan *p);
int fca_plan_wants_impact(const struct fca_plan *p);

/*
 * For status: what moving apple_scep's live _next (activate) or _previous (rollback) generation
 * into ca_cert would break. Returns 1 and fills *d, *kind and *generation (the generation that would
 * sign) when that changes the subject bytes or the key; 0 otherwise.
 */
int fca_plan_apple_disruption(struct fca_disruption *d, enum fca_step_kind *kind, int *generation,
			      const struct fca_observed *o);

#endif
