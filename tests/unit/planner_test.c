/*
 * src/model/planner.c, table-driven: observed stage x desired stage x generation delta x gates.
 * Each case builds one CA's observed rows and state document with small helpers, plans, and
 * checks the exact (kind, generation, gate) sequence, warnings, and where given the writes,
 * opens_at, reason, note and error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleetca/buf.h"
#include "fleetca/plan.h"

/* Table rows name only the fields that matter to them; the rest are zero on purpose. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define NOW	((int64_t)1780000000) /* 2026-05-28 */
#define HOUR	((int64_t)3600)
#define DAY	(24 * HOUR)
#define YEAR	(365 * DAY)
#define UNKNOWN (-1) /* age / expiry: the document or the scan does not know it */

enum obs {
	OBS_COMPLETE,	    /* gen L signing; the document knows 1..L */
	OBS_STAGED,	    /* gen L signing, L+1 next (staged `age` ago) */
	OBS_ACTIVE,	    /* gen L signing (activated `age` ago), L-1 previous */
	OBS_CORRUPT,	    /* gen L's cert row without its key row */
	OBS_NONE,	    /* no rows */
	OBS_UNMANAGED,	    /* signing rows, no state document */
	OBS_UNMANAGED_NEXT, /* signing and _next rows, no state document */
	OBS_UNMANAGED_PREV, /* signing and _previous rows, no state document */
	OBS_DRIFT,	    /* the document knows 1..L, the signing row holds something else */
	OBS_DRIFT_NEXT,	    /* gen L signing as known, the _next row unknown */
	OBS_RETIRED_COPY,   /* the document knows 1..L, 1 retired; the signing row holds gen 1's certificate */
};

struct xstep {
	enum fca_step_kind kind;
	int gen; /* 0 ends the list */
	enum fca_gate gate;
};

struct pcase {
	const char *name;
	enum fca_ca_id ca;
	enum obs obs;
	int live;	      /* L */
	int gen;	      /* desired generation */
	enum fca_stage stage; /* desired stage */
	int64_t age;	      /* since staging / activation; 0 = 30 days */
	int trusts, force, adopt, suspend;
	uint64_t drain, escrows; /* on the generation a retire would remove */
	/* apple_scep: what changing ca_cert would break. By default every generation has
	 * its own key and subject and the counts are made (devices, escrows_today, 0 unless given). */
	int same_key, same_subject; /* the non-signing live generation has the signing one's */
	int uncounted;		    /* the engine could not count devices and escrows */
	int keep;		    /* the YAML says key: keep */
	uint64_t devices, escrows_today;
	int by_enrollment;  /* apple_scep: drain counts an enrollment's newest certificates only */
	uint64_t unexpired; /* on the generation a retire would remove; 0 = drain */
	int64_t drain_exp;  /* relative to NOW; UNKNOWN = not known */
	/* the generation an abandon would throw away: live certificates it issued, escrows to it, and
	 * (OBS_STAGED) whether the document says it signed before (a rollback happened) */
	uint64_t drain_new, escrows_new;
	int64_t drain_new_exp; /* relative to NOW; UNKNOWN = not known */
	int signed_next;
	int64_t renew_before, not_after; /* not_after relative to NOW; 0 = 5 years */
	struct xstep steps[FCA_PLAN_MAX_STEPS];
	unsigned warn;		  /* exact */
	const char *error, *note; /* substrings; NULL = must be empty */
	int rstep;		  /* 1-based step for reason / opens_at / forced; 0 = none */
	const char *reason, *reason2;
	int64_t opens; /* opens_at - NOW of rstep; 0 = not checked */
	int forced;
	const char *writes; /* "op asset gen, …" per step, steps joined by " | " */
};

#define S(k, g, gt)                                                                                                    \
	{                                                                                                              \
		FCA_STEP_##k, g, FCA_GATE_##gt                                                                         \
	}
#define HI	   FCA_CA_HOST_IDENTITY
#define AS	   FCA_CA_APPLE_SCEP
#define CA	   FCA_CA_CONDITIONAL_ACCESS
#define IDP	   FCA_CA_CONDITIONAL_ACCESS_IDP
#define STG	   FCA_STAGE_STAGED
#define ACT	   FCA_STAGE_ACTIVE
#define CPL	   FCA_STAGE_COMPLETE
#define RETIRED(g) "generation " #g " is retired: the live generation is 3; history rows remain in mdm_config_assets"

static const struct pcase cases[] = {
    /* ---- observed complete, gen 3 ---- */
    {"complete -2 staged", HI, OBS_COMPLETE, 3, 1, STG, .error = RETIRED(1)},
    {"complete -2 active", HI, OBS_COMPLETE, 3, 1, ACT, .error = RETIRED(1)},
    {"complete -2 complete", HI, OBS_COMPLETE, 3, 1, CPL, .error = RETIRED(1)},
    {"complete -1 staged", HI, OBS_COMPLETE, 3, 2, STG, .error = RETIRED(2)},
    {"complete -1 active", HI, OBS_COMPLETE, 3, 2, ACT, .error = RETIRED(2)},
    {"complete -1 complete", HI, OBS_COMPLETE, 3, 2, CPL, .error = "restoring a retired key is a manual act"},
    {"complete 0 staged", HI, OBS_COMPLETE, 3, 3, STG},
    {"complete 0 active", HI, OBS_COMPLETE, 3, 3, ACT},
    {"complete 0 complete", HI, OBS_COMPLETE, 3, 3, CPL},
    {"complete +1 staged", HI, OBS_COMPLETE, 3, 4, STG, .steps = {S(STAGE, 4, OPEN)},
     .writes = "+host_identity_ca_cert_next 4, +host_identity_ca_key_next 4"},
    {"complete +1 active", HI, OBS_COMPLETE, 3, 4, ACT, .steps = {S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT)}, .rstep = 2,
     .reason = "staged 0s of min_overlap 7d", .opens = 7 * DAY},
    {"complete +1 complete", HI, OBS_COMPLETE, 3, 4, CPL,
     .steps = {S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT)}, .rstep = 3,
     .reason = "active 0s of min_overlap 7d", .opens = 14 * DAY},
    {"complete +2 staged", HI, OBS_COMPLETE, 3, 5, STG,
     .steps = {S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN)}},
    {"complete +2 active", HI, OBS_COMPLETE, 3, 5, ACT,
     .steps = {S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN), S(ACTIVATE, 5, WAIT)},
     .rstep = 5, .opens = 21 * DAY},
    {"complete +2 complete", HI, OBS_COMPLETE, 3, 5, CPL,
     .steps = {S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN), S(ACTIVATE, 5, WAIT),
	       S(RETIRE, 5, WAIT)},
     .rstep = 6, .opens = 28 * DAY},
    {"complete +4 complete: 12 steps, the cap", HI, OBS_COMPLETE, 3, 7, CPL,
     .steps = {S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN), S(ACTIVATE, 5, WAIT),
	       S(RETIRE, 5, WAIT), S(STAGE, 6, OPEN), S(ACTIVATE, 6, WAIT), S(RETIRE, 6, WAIT), S(STAGE, 7, OPEN),
	       S(ACTIVATE, 7, WAIT), S(RETIRE, 7, WAIT)}},
    {"complete +5 complete: over the cap", HI, OBS_COMPLETE, 3, 8, CPL, .error = "takes more than 12 steps"},

    /* ---- observed staged: gen 3 signing, 4 next, staged 30 days ago ---- */
    {"staged -2 staged", HI, OBS_STAGED, 3, 1, STG, .error = RETIRED(1)},
    {"staged -2 active", HI, OBS_STAGED, 3, 1, ACT, .error = RETIRED(1)},
    {"staged -2 complete", HI, OBS_STAGED, 3, 1, CPL, .error = RETIRED(1)},
    {"staged -1 staged", HI, OBS_STAGED, 3, 2, STG, .error = RETIRED(2)},
    {"staged -1 active", HI, OBS_STAGED, 3, 2, ACT, .error = RETIRED(2)},
    {"staged -1 complete", HI, OBS_STAGED, 3, 2, CPL, .error = RETIRED(2)},
    {"staged 0 staged", HI, OBS_STAGED, 3, 3, STG, .steps = {S(ABANDON, 4, OPEN)},
     .writes = "-host_identity_ca_cert_next 4, -host_identity_ca_key_next 4"},
    {"staged 0 active", HI, OBS_STAGED, 3, 3, ACT, .steps = {S(ABANDON, 4, OPEN)}},
    {"staged 0 complete", HI, OBS_STAGED, 3, 3, CPL, .steps = {S(ABANDON, 4, OPEN)}},
    {"staged +1 staged", HI, OBS_STAGED, 3, 4, STG},
    {"staged +1 active", HI, OBS_STAGED, 3, 4, ACT, .steps = {S(ACTIVATE, 4, OPEN)},
     .writes = "~host_identity_ca_cert 4, ~host_identity_ca_key 4, -host_identity_ca_cert_next 4, "
	       "-host_identity_ca_key_next 4, +host_identity_ca_cert_previous 3, +host_identity_ca_key_previous 3"},
    {"staged +1 complete", HI, OBS_STAGED, 3, 4, CPL, .steps = {S(ACTIVATE, 4, OPEN), S(RETIRE, 4, WAIT)}, .rstep = 2,
     .opens = 7 * DAY},
    {"staged +2 staged", HI, OBS_STAGED, 3, 5, STG,
     .steps = {S(ACTIVATE, 4, OPEN), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN)}},
    {"staged +2 active", HI, OBS_STAGED, 3, 5, ACT,
     .steps = {S(ACTIVATE, 4, OPEN), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN), S(ACTIVATE, 5, WAIT)}, .rstep = 4,
     .opens = 14 * DAY},
    {"staged +2 complete", HI, OBS_STAGED, 3, 5, CPL,
     .steps = {S(ACTIVATE, 4, OPEN), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN), S(ACTIVATE, 5, WAIT), S(RETIRE, 5, WAIT)}},

    /* ---- observed active: gen 3 signing (activated 30 days ago), 2 previous ---- */
    {"active -2 staged", HI, OBS_ACTIVE, 3, 1, STG, .error = RETIRED(1)},
    {"active -2 active", HI, OBS_ACTIVE, 3, 1, ACT, .error = RETIRED(1)},
    {"active -2 complete", HI, OBS_ACTIVE, 3, 1, CPL, .error = RETIRED(1)},
    {"active -1 staged", HI, OBS_ACTIVE, 3, 2, STG, .steps = {S(ROLLBACK, 3, OPEN), S(ABANDON, 3, OPEN)},
     .writes = "~host_identity_ca_cert 2, ~host_identity_ca_key 2, -host_identity_ca_cert_previous 2, "
	       "-host_identity_ca_key_previous 2, +host_identity_ca_cert_next 3, +host_identity_ca_key_next 3"
	       " | -host_identity_ca_cert_next 3, -host_identity_ca_key_next 3"},
    {"active -1 active", HI, OBS_ACTIVE, 3, 2, ACT, .steps = {S(ROLLBACK, 3, OPEN), S(ABANDON, 3, OPEN)}},
    {"active -1 complete", HI, OBS_ACTIVE, 3, 2, CPL, .steps = {S(ROLLBACK, 3, OPEN), S(ABANDON, 3, OPEN)}},
    {"active 0 staged", HI, OBS_ACTIVE, 3, 3, STG, .steps = {S(ROLLBACK, 3, OPEN)}},
    {"active 0 active", HI, OBS_ACTIVE, 3, 3, ACT},
    {"active 0 complete", HI, OBS_ACTIVE, 3, 3, CPL, .steps = {S(RETIRE, 3, OPEN)},
     .writes = "-host_identity_ca_cert_previous 2, -host_identity_ca_key_previous 2"},
    {"active +1 staged", HI, OBS_ACTIVE, 3, 4, STG, .steps = {S(RETIRE, 3, OPEN), S(STAGE, 4, OPEN)}},
    {"active +1 active", HI, OBS_ACTIVE, 3, 4, ACT,
     .steps = {S(RETIRE, 3, OPEN), S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT)}},
    {"active +1 complete", HI, OBS_ACTIVE, 3, 4, CPL,
     .steps = {S(RETIRE, 3, OPEN), S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT)}},
    {"active +2 staged", HI, OBS_ACTIVE, 3, 5, STG,
     .steps = {S(RETIRE, 3, OPEN), S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN)}},
    {"active +2 active", HI, OBS_ACTIVE, 3, 5, ACT,
     .steps = {S(RETIRE, 3, OPEN), S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN),
	       S(ACTIVATE, 5, WAIT)}},
    {"active +2 complete", HI, OBS_ACTIVE, 3, 5, CPL,
     .steps = {S(RETIRE, 3, OPEN), S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN),
	       S(ACTIVATE, 5, WAIT), S(RETIRE, 5, WAIT)}},

    /* ---- corrupt and none: nothing, with an explanation ---- */
    {"corrupt 0 complete", HI, OBS_CORRUPT, 3, 3, CPL, .warn = FCA_WARN_CORRUPT,
     .note = "host_identity_ca_cert is live but host_identity_ca_key is missing"},
    {"corrupt +1 staged", HI, OBS_CORRUPT, 3, 4, STG, .warn = FCA_WARN_CORRUPT, .note = "is missing"},
    {"corrupt +1 active", HI, OBS_CORRUPT, 3, 4, ACT, .warn = FCA_WARN_CORRUPT, .note = "is missing"},
    {"corrupt +1 complete", HI, OBS_CORRUPT, 3, 4, CPL, .warn = FCA_WARN_CORRUPT, .note = "restore"},
    {"corrupt -1 complete", HI, OBS_CORRUPT, 3, 2, CPL, .warn = FCA_WARN_CORRUPT, .note = "is missing"},
    {"none staged", HI, OBS_NONE, 0, 1, STG, .note = "Fleet creates the Host identity CA at startup"},
    {"none active", HI, OBS_NONE, 0, 2, ACT, .note = "Fleet creates"},
    {"none complete", AS, OBS_NONE, 0, 1, CPL, .note = "no ca_cert row yet"},

    /* ---- unmanaged: adopt as generation 1, then plan ---- */
    {"unmanaged 0 staged", HI, OBS_UNMANAGED, 1, 1, STG, .steps = {S(ADOPT, 1, OPEN)}, .writes = ""},
    {"unmanaged 0 active", HI, OBS_UNMANAGED, 1, 1, ACT, .steps = {S(ADOPT, 1, OPEN)}},
    {"unmanaged 0 complete", HI, OBS_UNMANAGED, 1, 1, CPL, .steps = {S(ADOPT, 1, OPEN)}},
    {"unmanaged +1 staged", HI, OBS_UNMANAGED, 1, 2, STG, .steps = {S(ADOPT, 1, OPEN), S(STAGE, 2, OPEN)}},
    {"unmanaged +1 active", HI, OBS_UNMANAGED, 1, 2, ACT,
     .steps = {S(ADOPT, 1, OPEN), S(STAGE, 2, OPEN), S(ACTIVATE, 2, WAIT)}},
    {"unmanaged +1 complete", HI, OBS_UNMANAGED, 1, 2, CPL,
     .steps = {S(ADOPT, 1, OPEN), S(STAGE, 2, OPEN), S(ACTIVATE, 2, WAIT), S(RETIRE, 2, WAIT)}},
    {"unmanaged +2 staged", HI, OBS_UNMANAGED, 1, 3, STG,
     .steps = {S(ADOPT, 1, OPEN), S(STAGE, 2, OPEN), S(ACTIVATE, 2, WAIT), S(RETIRE, 2, WAIT), S(STAGE, 3, OPEN)}},
    {"unmanaged apple +1 active: adopt, stage, human gate", AS, OBS_UNMANAGED, 1, 2, ACT,
     .steps = {S(ADOPT, 1, OPEN), S(STAGE, 2, OPEN), S(ACTIVATE, 2, HUMAN)}, .warn = FCA_WARN_APPLE_VERIFIER},
    /* issue 8 item 4: foreign rows on an unmanaged CA are drift (stuck), never "no changes" */
    {"unmanaged with _next rows", HI, OBS_UNMANAGED_NEXT, 1, 2, ACT, .warn = FCA_WARN_DRIFT,
     .note = "drift: host_identity_ca_cert_next rows are live but fleetca has no record of this CA"},
    {"unmanaged with _next rows, 0 complete", HI, OBS_UNMANAGED_NEXT, 1, 1, CPL, .warn = FCA_WARN_DRIFT,
     .note = "inspect them by hand"},
    {"unmanaged with _previous rows", AS, OBS_UNMANAGED_PREV, 1, 1, CPL, .warn = FCA_WARN_DRIFT,
     .note = "ca_cert_previous rows are live"},

    /* ---- drift: the document knows 1..2, the live signing cert is unknown ---- */
    {"drift, no adopt, 0 complete", HI, OBS_DRIFT, 2, 2, CPL, .warn = FCA_WARN_DRIFT,
     .note = "host_identity_ca_cert holds certificate sha256"},
    {"drift, no adopt, +1 complete", HI, OBS_DRIFT, 2, 3, CPL, .warn = FCA_WARN_DRIFT,
     .note = "until its YAML says adopt: true (which records the live certificate as generation 3)"},
    {"drift, no adopt, +1 active", AS, OBS_DRIFT, 2, 3, ACT, .warn = FCA_WARN_DRIFT, .note = "adopt: true"},
    {"drift, adopt, +1 complete", HI, OBS_DRIFT, 2, 3, CPL, .adopt = 1, .warn = FCA_WARN_DRIFT,
     .steps = {S(ADOPT, 3, OPEN)}},
    {"drift, adopt, +1 staged", HI, OBS_DRIFT, 2, 3, STG, .adopt = 1, .warn = FCA_WARN_DRIFT,
     .steps = {S(ADOPT, 3, OPEN)}},
    {"drift, adopt, +2 staged", HI, OBS_DRIFT, 2, 4, STG, .adopt = 1, .warn = FCA_WARN_DRIFT,
     .steps = {S(ADOPT, 3, OPEN), S(STAGE, 4, OPEN)}},
    {"drift, adopt, +2 complete", HI, OBS_DRIFT, 2, 4, CPL, .adopt = 1, .warn = FCA_WARN_DRIFT,
     .steps = {S(ADOPT, 3, OPEN), S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT)}},
    {"drift, adopt, 0 complete: below the adopted one", HI, OBS_DRIFT, 2, 2, CPL, .adopt = 1, .warn = FCA_WARN_DRIFT,
     .error = RETIRED(2)},
    {"drift, adopt, -1 complete", HI, OBS_DRIFT, 2, 1, CPL, .adopt = 1, .warn = FCA_WARN_DRIFT, .error = RETIRED(1)},
    {"drift in _next, adopt", HI, OBS_DRIFT_NEXT, 2, 3, ACT, .adopt = 1, .warn = FCA_WARN_DRIFT,
     .note = "adopt: true accepts only a changed signing certificate"},
    {"drift in _next, no adopt", HI, OBS_DRIFT_NEXT, 2, 3, ACT, .warn = FCA_WARN_DRIFT,
     .note = "host_identity_ca_cert_next holds"},

    /* ---- issue 8 item 5: a retired certificate copied back is drift, never generation 1 signing ---- */
    {"retired copy, no adopt, +1 complete", HI, OBS_RETIRED_COPY, 2, 3, CPL, .warn = FCA_WARN_DRIFT,
     .note = "of generation 1, which fleetca retired on"},
    {"retired copy, no adopt, 0 complete", HI, OBS_RETIRED_COPY, 2, 2, CPL, .warn = FCA_WARN_DRIFT,
     .note = "until its YAML says adopt: true"},
    {"retired copy, adopt, +1 complete", HI, OBS_RETIRED_COPY, 2, 3, CPL, .adopt = 1, .warn = FCA_WARN_DRIFT,
     .note = "adopt: true does not take back a retired generation"},

    /* ---- suspend ---- */
    {"suspended, +1 complete", HI, OBS_COMPLETE, 3, 4, CPL, .suspend = 1, .note = "suspended"},
    {"suspended, corrupt", HI, OBS_CORRUPT, 3, 4, CPL, .suspend = 1, .note = "suspended"},
    {"suspended, drift", AS, OBS_DRIFT, 2, 3, CPL, .suspend = 1, .note = "suspended"},

    /* ---- activate: overlap ---- */
    {"overlap 2d of 7d", HI, OBS_STAGED, 3, 4, ACT, .age = 2 * DAY, .steps = {S(ACTIVATE, 4, WAIT)}, .rstep = 1,
     .reason = "staged 2d of min_overlap 7d", .opens = 5 * DAY},
    {"overlap exactly 7d", HI, OBS_STAGED, 3, 4, ACT, .age = 7 * DAY, .steps = {S(ACTIVATE, 4, OPEN)}},
    {"overlap one second short", HI, OBS_STAGED, 3, 4, ACT, .age = 7 * DAY - 1, .steps = {S(ACTIVATE, 4, WAIT)},
     .rstep = 1, .opens = 1},
    {"staging time unknown", HI, OBS_STAGED, 3, 4, ACT, .age = UNKNOWN, .steps = {S(ACTIVATE, 4, CLOSED)}, .rstep = 1,
     .reason = "does not say when gen 4 was staged"},
    {"overlap wait, then retire counts from the opening", HI, OBS_STAGED, 3, 4, CPL, .age = 2 * DAY,
     .steps = {S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT)}, .rstep = 2, .opens = 12 * DAY},

    /* ---- activate: trust evidence ---- */
    {"apple, server trust not confirmed", AS, OBS_STAGED, 1, 2, ACT, .steps = {S(ACTIVATE, 2, HUMAN)},
     .warn = FCA_WARN_APPLE_VERIFIER, .rstep = 1,
     .reason = "today's Fleet verifies Apple device identity certificates against ca_cert alone",
     .reason2 = "ca_cert_previous/ca_key_previous"},
    {"apple, server trust confirmed", AS, OBS_STAGED, 1, 2, ACT, .trusts = 1, .steps = {S(ACTIVATE, 2, OPEN)},
     .warn = FCA_WARN_APPLE_VERIFIER,
     .writes = "~ca_cert 2, ~ca_key 2, -ca_cert_next 2, -ca_key_next 2, +ca_cert_previous 1, +ca_key_previous 1"},
    {"apple, not confirmed and overlap short: human, both reasons", AS, OBS_STAGED, 1, 2, ACT, .age = 2 * DAY,
     .steps = {S(ACTIVATE, 2, HUMAN)}, .warn = FCA_WARN_APPLE_VERIFIER, .rstep = 1,
     .reason = "staged 2d of min_overlap 7d", .reason2 = "decrypts FileVault escrows", .opens = 5 * DAY},
    {"apple, confirmed, overlap short", AS, OBS_STAGED, 1, 2, ACT, .age = 2 * DAY, .trusts = 1,
     .steps = {S(ACTIVATE, 2, WAIT)}, .warn = FCA_WARN_APPLE_VERIFIER},
    {"apple, complete to complete, confirmed", AS, OBS_COMPLETE, 1, 2, CPL, .trusts = 1,
     .steps = {S(STAGE, 2, OPEN), S(ACTIVATE, 2, WAIT), S(RETIRE, 2, WAIT)}, .warn = FCA_WARN_APPLE_VERIFIER},
    {"apple, complete to complete, not confirmed: later steps still dated", AS, OBS_COMPLETE, 1, 2, CPL,
     .steps = {S(STAGE, 2, OPEN), S(ACTIVATE, 2, HUMAN), S(RETIRE, 2, WAIT)}, .warn = FCA_WARN_APPLE_VERIFIER,
     .rstep = 3, .opens = 14 * DAY},
    {"apple, same key and subject: nothing changes for Fleet, not held", AS, OBS_STAGED, 1, 2, ACT, .same_key = 1,
     .same_subject = 1, .steps = {S(ACTIVATE, 2, OPEN)}},
    {"apple, same key, new subject: held", AS, OBS_STAGED, 1, 2, ACT, .same_key = 1, .devices = 14,
     .steps = {S(ACTIVATE, 2, HUMAN)}, .warn = FCA_WARN_APPLE_VERIFIER, .rstep = 1,
     .reason = "ca_cert alone (its exact subject and key)"},
    {"apple, new key, same subject: held", AS, OBS_STAGED, 1, 2, ACT, .same_subject = 1,
     .steps = {S(ACTIVATE, 2, HUMAN)}, .warn = FCA_WARN_APPLE_VERIFIER},
    {"apple, not counted: closed even with the statement", AS, OBS_STAGED, 1, 2, ACT, .trusts = 1, .uncounted = 1,
     .steps = {S(ACTIVATE, 2, CLOSED)}, .warn = FCA_WARN_APPLE_VERIFIER, .rstep = 1,
     .reason = "what it would break is not counted (devices and escrows; the impact line says why): fleetca "
	       "does not change the subject or key of ca_cert on a count it could not make"},
    {"apple, not counted and not confirmed: human, both reasons", AS, OBS_STAGED, 1, 2, ACT, .uncounted = 1,
     .steps = {S(ACTIVATE, 2, HUMAN)}, .warn = FCA_WARN_APPLE_VERIFIER, .rstep = 1,
     .reason = "policy.fleet_server_trusts_previous: true", .reason2 = "is not counted"},
    {"apple, same key and subject, not counted: nothing to count, open", AS, OBS_STAGED, 1, 2, ACT, .same_key = 1,
     .same_subject = 1, .uncounted = 1, .steps = {S(ACTIVATE, 2, OPEN)}},
    {"apple, rollback puts the old root back: held", AS, OBS_ACTIVE, 3, 2, STG,
     .steps = {S(ROLLBACK, 3, HUMAN), S(ABANDON, 3, OPEN)}, .warn = FCA_WARN_APPLE_VERIFIER, .rstep = 1,
     .reason = "policy.fleet_server_trusts_previous: true"},
    /* ---- issue 8 item 2: a revert cannot silently discard a generation that signed ---- */
    {"revert after activation, certificates of the new generation live: rollback, abandon held", HI, OBS_ACTIVE, 3, 2,
     CPL, .drain_new = 3, .drain_new_exp = 10 * DAY, .steps = {S(ROLLBACK, 3, OPEN), S(ABANDON, 3, WAIT)}, .rstep = 2,
     .reason = "3 live certificates issued by gen 3; the last expires 2026-", .opens = 10 * DAY + 72 * HOUR},
    {"revert after activation, expiry unknown: abandon closed", HI, OBS_ACTIVE, 3, 2, STG, .drain_new = 1,
     .drain_new_exp = UNKNOWN, .steps = {S(ROLLBACK, 3, OPEN), S(ABANDON, 3, CLOSED)}, .rstep = 2,
     .reason = "1 live certificates issued by gen 3, expiry unknown"},
    {"revert after activation, nothing issued: rollback and abandon as before", HI, OBS_ACTIVE, 3, 2, CPL,
     .steps = {S(ROLLBACK, 3, OPEN), S(ABANDON, 3, OPEN)}},
    {"revert after activation, drain: force", HI, OBS_ACTIVE, 3, 2, CPL, .drain_new = 3, .drain_new_exp = DAY,
     .force = 1, .steps = {S(ROLLBACK, 3, OPEN), S(ABANDON, 3, OPEN)}, .warn = FCA_WARN_FORCED_DRAIN, .rstep = 2,
     .forced = 1},
    {"rolled back earlier: the staged generation signed, abandon held", HI, OBS_STAGED, 3, 3, CPL, .signed_next = 1,
     .drain_new = 2, .drain_new_exp = 5 * DAY, .steps = {S(ABANDON, 4, WAIT)}, .rstep = 1,
     .reason = "2 live certificates issued by gen 4", .opens = 5 * DAY + 72 * HOUR},
    {"staged, never signed: abandon as before", HI, OBS_STAGED, 3, 3, CPL, .drain_new = 2, .drain_new_exp = 5 * DAY,
     .steps = {S(ABANDON, 4, OPEN)}},
    {"apple revert: escrows to the new generation hold the abandon", AS, OBS_ACTIVE, 3, 2, CPL, .trusts = 1,
     .escrows_new = 2, .steps = {S(ROLLBACK, 3, OPEN), S(ABANDON, 3, CLOSED)},
     .warn = FCA_WARN_APPLE_VERIFIER | FCA_WARN_ESCROW, .rstep = 2,
     .reason = "2 FileVault escrows are encrypted to gen 3"},
    {"apple, rollback with the statement", AS, OBS_ACTIVE, 3, 3, STG, .trusts = 1, .steps = {S(ROLLBACK, 3, OPEN)},
     .warn = FCA_WARN_APPLE_VERIFIER},
    {"apple, rollback of the same key and subject", AS, OBS_ACTIVE, 3, 3, STG, .same_key = 1, .same_subject = 1,
     .steps = {S(ROLLBACK, 3, OPEN)}},
    {"apple, a second activation in one plan is counted once the first is done", AS, OBS_STAGED, 1, 3, ACT, .trusts = 1,
     .steps = {S(ACTIVATE, 2, OPEN), S(RETIRE, 2, WAIT), S(STAGE, 3, OPEN), S(ACTIVATE, 3, CLOSED)},
     .warn = FCA_WARN_APPLE_VERIFIER, .rstep = 4, .reason = "is not counted (devices and escrows"},
    {"apple, key: keep staged and activated in one plan: held for the new subject", AS, OBS_COMPLETE, 1, 2, ACT,
     .keep = 1, .steps = {S(STAGE, 2, OPEN), S(ACTIVATE, 2, HUMAN)}, .warn = FCA_WARN_APPLE_VERIFIER},
    {"host identity, key: keep", HI, OBS_COMPLETE, 1, 2, ACT, .keep = 1,
     .steps = {S(STAGE, 2, OPEN), S(ACTIVATE, 2, WAIT)}},
    {"apple retire, key kept: escrows to gen 1 stay decryptable", AS, OBS_ACTIVE, 2, 2, CPL, .same_key = 1,
     .escrows = 4, .steps = {S(RETIRE, 2, OPEN)}},
    {"apple, staged target: no activation, no warning", AS, OBS_COMPLETE, 1, 2, STG, .steps = {S(STAGE, 2, OPEN)},
     .writes = "+ca_cert_next 2, +ca_key_next 2"},
    {"conditional access, YAML says active", CA, OBS_STAGED, 1, 2, ACT, .steps = {S(ACTIVATE, 2, OPEN)},
     .warn = FCA_WARN_HUMAN_TRUST},
    {"conditional access, stage and stop", CA, OBS_COMPLETE, 1, 2, STG, .steps = {S(STAGE, 2, OPEN)},
     .warn = FCA_WARN_HUMAN_TRUST, .note = "fleetca export --ca conditional_access --bundle) to the load balancer"},
    {"conditional access, already staged, stays", CA, OBS_STAGED, 1, 2, STG, .warn = FCA_WARN_HUMAN_TRUST,
     .note = "before moving the YAML to stage: active"},
    {"idp, already staged, stays", IDP, OBS_STAGED, 1, 2, STG, .warn = FCA_WARN_HUMAN_TRUST,
     .note = "fleetca export --ca conditional_access_idp --bundle) to the identity provider"},
    {"idp, complete target", IDP, OBS_STAGED, 1, 2, CPL, .steps = {S(ACTIVATE, 2, OPEN), S(RETIRE, 2, WAIT)},
     .warn = FCA_WARN_HUMAN_TRUST},

    /* ---- retire: overlap, drain, escrows ---- */
    {"retire overlap 2d of 7d", HI, OBS_ACTIVE, 3, 3, CPL, .age = 2 * DAY, .steps = {S(RETIRE, 3, WAIT)}, .rstep = 1,
     .reason = "active 2d of min_overlap 7d", .opens = 5 * DAY},
    {"retire, activation time unknown", HI, OBS_ACTIVE, 3, 3, CPL, .age = UNKNOWN, .steps = {S(RETIRE, 3, CLOSED)},
     .rstep = 1, .reason = "does not say when gen 3 was active"},
    {"drain wait", HI, OBS_ACTIVE, 3, 3, CPL, .drain = 5, .drain_exp = 10 * DAY, .steps = {S(RETIRE, 3, WAIT)},
     .rstep = 1, .reason = "5 live certificates issued by gen 2; the last expires 2026-",
     .opens = 10 * DAY + 72 * HOUR},
    {"drain wait and overlap: latest opening, both reasons", HI, OBS_ACTIVE, 3, 3, CPL, .age = 2 * DAY, .drain = 2,
     .drain_exp = 1 * DAY, .steps = {S(RETIRE, 3, WAIT)}, .rstep = 1, .reason = "active 2d of min_overlap 7d",
     .reason2 = "2 live certificates issued by gen 2", .opens = 5 * DAY},
    {"closed overlap then a drain wait: stays closed, dated by the drain", HI, OBS_ACTIVE, 3, 3, CPL, .age = UNKNOWN,
     .drain = 2, .drain_exp = 1 * DAY, .steps = {S(RETIRE, 3, CLOSED)}, .rstep = 1,
     .reason = "does not say when gen 3 was active", .reason2 = "2 live certificates", .opens = 4 * DAY},
    {"drain expiry unknown", HI, OBS_ACTIVE, 3, 3, CPL, .drain = 1, .drain_exp = UNKNOWN,
     .steps = {S(RETIRE, 3, CLOSED)}, .rstep = 1, .reason = "expiry unknown"},
    {"drain force", HI, OBS_ACTIVE, 3, 3, CPL, .drain = 5, .drain_exp = 10 * DAY, .force = 1,
     .steps = {S(RETIRE, 3, OPEN)}, .warn = FCA_WARN_FORCED_DRAIN, .rstep = 1, .forced = 1},
    {"drain force with nothing live: not forced", HI, OBS_ACTIVE, 3, 3, CPL, .force = 1, .steps = {S(RETIRE, 3, OPEN)},
     .rstep = 1, .forced = 0},
    {"drain force does not skip overlap", HI, OBS_ACTIVE, 3, 3, CPL, .age = 2 * DAY, .drain = 5, .drain_exp = 10 * DAY,
     .force = 1, .steps = {S(RETIRE, 3, WAIT)}, .warn = FCA_WARN_FORCED_DRAIN, .rstep = 1, .opens = 5 * DAY,
     .forced = 1},
    {"escrows close the gate", AS, OBS_ACTIVE, 2, 2, CPL, .escrows = 4, .steps = {S(RETIRE, 2, CLOSED)},
     .warn = FCA_WARN_ESCROW, .rstep = 1, .reason = "4 FileVault escrows are encrypted to gen 1"},
    {"escrows and drain: closed, dated by the drain", AS, OBS_ACTIVE, 2, 2, CPL, .escrows = 1, .drain = 3,
     .drain_exp = 20 * DAY, .steps = {S(RETIRE, 2, CLOSED)}, .warn = FCA_WARN_ESCROW, .rstep = 1,
     .reason = "3 live certificates issued by gen 1", .reason2 = "FileVault escrows", .opens = 23 * DAY},
    {"escrows forced", AS, OBS_ACTIVE, 2, 2, CPL, .escrows = 4, .force = 1, .steps = {S(RETIRE, 2, OPEN)},
     .warn = FCA_WARN_ESCROW | FCA_WARN_FORCED_DRAIN, .rstep = 1, .forced = 1},
    {"apple retire by enrollment: what is in use holds it back", AS, OBS_ACTIVE, 2, 2, CPL, .by_enrollment = 1,
     .drain = 7, .unexpired = 9, .drain_exp = 20 * DAY, .steps = {S(RETIRE, 2, WAIT)}, .rstep = 1,
     .reason = "live certificates issued by gen 1: 7 in use, 9 unexpired (one its enrollment has replaced is not "
	       "in use); the last in use expires",
     .opens = 23 * DAY},
    {"apple retire by enrollment: unexpired but replaced opens", AS, OBS_ACTIVE, 2, 2, CPL, .by_enrollment = 1,
     .drain = 0, .unexpired = 9, .steps = {S(RETIRE, 2, OPEN)}},
    {"apple retire, nothing live", AS, OBS_ACTIVE, 2, 2, CPL, .steps = {S(RETIRE, 2, OPEN)},
     .writes = "-ca_cert_previous 1, -ca_key_previous 1"},
    {"drain of the signing gen when activate is in the plan", HI, OBS_STAGED, 3, 4, CPL, .drain = 5,
     .drain_exp = 20 * DAY, .steps = {S(ACTIVATE, 4, OPEN), S(RETIRE, 4, WAIT)}, .rstep = 2,
     .reason = "5 live certificates issued by gen 3", .opens = 23 * DAY},
    {"drain from complete: stage, activate, retire dated by the drain", HI, OBS_COMPLETE, 3, 4, CPL, .drain = 5,
     .drain_exp = 20 * DAY, .steps = {S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT)}, .rstep = 3,
     .opens = 23 * DAY},
    {"after a waiting retire, later gates count from its opening", HI, OBS_ACTIVE, 3, 4, CPL, .age = 2 * DAY,
     .steps = {S(RETIRE, 3, WAIT), S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT)}, .rstep = 4,
     .opens = 19 * DAY},
    {"a later retire uses its own generation's drain facts", HI, OBS_ACTIVE, 3, 5, STG, .drain = 9,
     .drain_exp = 2 * DAY,
     .steps = {S(RETIRE, 3, WAIT), S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN)},
     .rstep = 4, .opens = 2 * DAY + 72 * HOUR + 14 * DAY},
    {"retire of a generation made in this plan has nothing to drain", HI, OBS_COMPLETE, 3, 5, CPL, .drain = 5,
     .drain_exp = 30 * DAY,
     .steps = {S(STAGE, 4, OPEN), S(ACTIVATE, 4, WAIT), S(RETIRE, 4, WAIT), S(STAGE, 5, OPEN), S(ACTIVATE, 5, WAIT),
	       S(RETIRE, 5, WAIT)},
     .rstep = 6, .reason = "active 0s of min_overlap 7d", .opens = 33 * DAY + 14 * DAY},

    /* ---- renew ---- */
    {"renew due", HI, OBS_COMPLETE, 3, 3, CPL, .renew_before = 2 * YEAR, .not_after = YEAR,
     .steps = {S(RENEW, 3, OPEN)}, .writes = "~host_identity_ca_cert 3"},
    {"renew not due", HI, OBS_COMPLETE, 3, 3, CPL, .renew_before = 2 * YEAR, .not_after = 3 * YEAR},
    {"renew off", HI, OBS_COMPLETE, 3, 3, CPL, .not_after = DAY},
    {"renew due while staged", HI, OBS_STAGED, 3, 4, STG, .renew_before = 2 * YEAR, .not_after = YEAR,
     .steps = {S(RENEW, 3, OPEN)}},
    {"renew due while active", AS, OBS_ACTIVE, 3, 3, ACT, .renew_before = 2 * YEAR, .not_after = YEAR,
     .steps = {S(RENEW, 3, OPEN)}},
    {"renew due but a rotation is planned", HI, OBS_COMPLETE, 3, 4, STG, .renew_before = 2 * YEAR, .not_after = YEAR,
     .steps = {S(STAGE, 4, OPEN)}},
    {"renew due but adopt is planned", HI, OBS_UNMANAGED, 1, 1, CPL, .renew_before = 2 * YEAR, .not_after = YEAR,
     .steps = {S(ADOPT, 1, OPEN)}},
    {"renew due on a corrupt CA", HI, OBS_CORRUPT, 3, 3, CPL, .renew_before = 2 * YEAR, .not_after = YEAR,
     .warn = FCA_WARN_CORRUPT, .note = "is missing"},
    {"renew due on a suspended CA", HI, OBS_COMPLETE, 3, 3, CPL, .renew_before = 2 * YEAR, .not_after = YEAR,
     .suspend = 1, .note = "suspended"},
};

/* ---- builders ---------------------------------------------------------------------------- */

static void fingerprint(char out[65], enum fca_ca_id ca, int gen)
{
	snprintf(out, 65, "%060x%02x%02x", 0, (unsigned char)ca, (unsigned char)gen);
}

static void doc_gen(struct fca_observed *o, enum fca_ca_id ca, int gen, int64_t staged, int64_t activated)
{
	struct fca_state_gen g;

	memset(&g, 0, sizeof(g));
	g.ca = ca;
	g.generation = gen;
	fingerprint(g.sha256, ca, gen);
	g.staged_at = staged;
	g.activated_at = activated;
	o->has_document = 1;
	assert_int_equal(fca_state_add_gen(&o->state, &g), FCA_OK);
}

/* Live, intact rows in a slot holding generation gen (0: a certificate nobody knows). */
static struct fca_obs_gen *live(struct fca_observed *o, enum fca_ca_id ca, enum fca_slot s, int gen)
{
	struct fca_obs_gen *g = &o->cas[ca].gens[s];

	g->present = 1;
	g->has_key = 1;
	g->cert_ok = 1;
	g->key_check = 1;
	if (gen > 0)
		fingerprint(g->cert.sha256_hex, ca, gen);
	else
		memset(g->cert.sha256_hex, 'f', 64);
	g->cert.not_after = NOW + 5 * YEAR;
	/* its own key and subject: the generation's number in both */
	g->cert.has_spki = 1;
	memset(g->cert.spki_sha256, 0x40 + gen, sizeof(g->cert.spki_sha256));
	g->cert.subject_der_len =
	    (size_t)snprintf((char *)g->cert.subject_der, sizeof(g->cert.subject_der), "gen %d", gen);
	return g;
}

/* The document knows generations 1..n of the CA, long done, and `at` on generation n. */
static void doc_upto(struct fca_observed *o, enum fca_ca_id ca, int n, int64_t staged_n, int64_t activated_n)
{
	for (int i = 1; i < n; i++)
		doc_gen(o, ca, i, NOW - 400 * DAY, NOW - 390 * DAY);
	doc_gen(o, ca, n, staged_n, activated_n);
}

static void build(struct fca_desired *d, struct fca_observed *o, const struct pcase *c)
{
	struct fca_desired_ca *dc = &d->cas[c->ca];
	int64_t t0 = c->age == UNKNOWN ? 0 : NOW - (c->age ? c->age : 30 * DAY);
	int L = c->live;
	struct fca_obs_gen *old = NULL;

	fca_desired_init(d);
	dc->present = 1;
	dc->generation = c->gen;
	dc->stage = c->stage;
	dc->adopt = c->adopt;
	dc->suspend = c->suspend;
	dc->renew_before = c->renew_before;
	dc->key_keep = c->keep;
	d->policy.fleet_server_trusts_previous = c->trusts;
	if (c->force) {
		d->policy.drain = FCA_DRAIN_FORCE;
		snprintf(d->policy.reason, sizeof(d->policy.reason), "test");
	}

	fca_observed_init(o);
	/* the engine scanned what the drain needs (test_drain_not_counted covers the other case) */
	for (int i = 0; i < FCA_CA_COUNT; i++)
		o->cas[i].issued_scanned = o->cas[i].escrows_scanned = 1;
	switch (c->obs) {
	case OBS_COMPLETE:
		doc_upto(o, c->ca, L, NOW - 100 * DAY, NOW - 90 * DAY);
		old = live(o, c->ca, FCA_SLOT_CURRENT, L);
		break;
	case OBS_STAGED:
		doc_upto(o, c->ca, L, NOW - 100 * DAY, NOW - 90 * DAY);
		doc_gen(o, c->ca, L + 1, t0, 0);
		if (c->signed_next) /* activated once, then rolled back: activated_at cleared */
			o->state.gens[o->state.ngens - 1].signed_at = NOW - 40 * DAY;
		old = live(o, c->ca, FCA_SLOT_CURRENT, L);
		live(o, c->ca, FCA_SLOT_NEXT, L + 1);
		break;
	case OBS_ACTIVE:
		doc_upto(o, c->ca, L, NOW - 100 * DAY, t0);
		live(o, c->ca, FCA_SLOT_CURRENT, L);
		old = live(o, c->ca, FCA_SLOT_PREVIOUS, L - 1);
		break;
	case OBS_CORRUPT:
		doc_upto(o, c->ca, L, NOW - 100 * DAY, NOW - 90 * DAY);
		live(o, c->ca, FCA_SLOT_CURRENT, L)->has_key = 0;
		break;
	case OBS_NONE:
		break;
	case OBS_UNMANAGED:
		old = live(o, c->ca, FCA_SLOT_CURRENT, L);
		break;
	case OBS_UNMANAGED_NEXT:
		live(o, c->ca, FCA_SLOT_CURRENT, L);
		live(o, c->ca, FCA_SLOT_NEXT, L + 1);
		break;
	case OBS_UNMANAGED_PREV:
		live(o, c->ca, FCA_SLOT_CURRENT, L);
		live(o, c->ca, FCA_SLOT_PREVIOUS, L + 1);
		break;
	case OBS_DRIFT:
		doc_upto(o, c->ca, L, NOW - 100 * DAY, NOW - 90 * DAY);
		old = live(o, c->ca, FCA_SLOT_CURRENT, 0);
		break;
	case OBS_DRIFT_NEXT:
		doc_upto(o, c->ca, L, NOW - 100 * DAY, NOW - 90 * DAY);
		live(o, c->ca, FCA_SLOT_CURRENT, L);
		live(o, c->ca, FCA_SLOT_NEXT, 0);
		break;
	case OBS_RETIRED_COPY:
		doc_upto(o, c->ca, L, NOW - 100 * DAY, NOW - 90 * DAY);
		o->state.gens[0].retired_at = NOW - 80 * DAY;
		old = live(o, c->ca, FCA_SLOT_CURRENT, 1);
		break;
	}
	if (c->not_after && o->cas[c->ca].gens[FCA_SLOT_CURRENT].present)
		o->cas[c->ca].gens[FCA_SLOT_CURRENT].cert.not_after = NOW + c->not_after;
	{
		struct fca_obs_ca *oc = &o->cas[c->ca];
		struct fca_obs_gen *cur = &oc->gens[FCA_SLOT_CURRENT];
		for (int sl = FCA_SLOT_NEXT; sl < FCA_SLOT_COUNT; sl++) {
			struct fca_obs_gen *g = &oc->gens[sl];
			if (c->same_key)
				memcpy(g->cert.spki_sha256, cur->cert.spki_sha256, sizeof(g->cert.spki_sha256));
			if (c->same_subject) {
				memcpy(g->cert.subject_der, cur->cert.subject_der, sizeof(g->cert.subject_der));
				g->cert.subject_der_len = cur->cert.subject_der_len;
			}
		}
		cur->devices = c->devices;
		oc->devices_counted = oc->escrows_counted = !c->uncounted;
		oc->escrows_decryptable = c->escrows_today;
		if (c->uncounted) {
			snprintf(oc->devices_note, sizeof(oc->devices_note),
				 "no SELECT on nano_cert_auth_associations");
			snprintf(oc->escrows_note, sizeof(oc->escrows_note), "no SELECT on host_disk_encryption_keys");
		}
	}
	if (old) {
		old->drain_live = c->drain;
		old->drain_unexpired = c->unexpired ? c->unexpired : c->drain;
		o->cas[c->ca].by_enrollment = c->by_enrollment;
		old->drain_last_expiry = c->drain_exp == UNKNOWN ? 0 : c->drain_exp ? NOW + c->drain_exp : 0;
		old->escrows = c->escrows;
		if (c->drain) {
			old->nblockers = 1;
			snprintf(old->blockers[0].table, sizeof(old->blockers[0].table),
				 "host_identity_scep_certificates");
			snprintf(old->blockers[0].serial, sizeof(old->blockers[0].serial), "0a1b");
			snprintf(old->blockers[0].who, sizeof(old->blockers[0].who), "host 42");
			old->blockers[0].not_valid_after = old->drain_last_expiry;
		}
	}
	{
		/* the generation an abandon would remove: the signing one (active) or the next (staged) */
		struct fca_obs_gen *ng = c->obs == OBS_ACTIVE	? &o->cas[c->ca].gens[FCA_SLOT_CURRENT]
					 : c->obs == OBS_STAGED ? &o->cas[c->ca].gens[FCA_SLOT_NEXT]
								: NULL;
		if (ng && (c->drain_new || c->escrows_new)) {
			ng->drain_live = ng->drain_unexpired = c->drain_new;
			ng->drain_last_expiry = c->drain_new_exp == UNKNOWN ? 0 : NOW + c->drain_new_exp;
			ng->escrows = c->escrows_new;
		}
	}
	fca_observed_derive(o);
}

/* "op asset gen, …" for one step. */
static void format_writes(char *buf, size_t n, const struct fca_step *s)
{
	struct fca_buf b;

	fca_buf_init_fixed(&b, buf, n);
	for (size_t i = 0; i < s->nwrites; i++)
		fca_buf_join(&b, ", ", "%c%s %d", s->writes[i].op, s->writes[i].asset, s->writes[i].generation);
	assert_int_equal(b.err, FCA_OK); /* a cut list would compare as another one */
}

static void check_case(size_t ci, const struct pcase *c)
{
	static struct fca_desired d;
	static struct fca_observed o;
	static struct fca_plan p;
	size_t nexp = 0, ready = 0;
	int blocked = 0;

	build(&d, &o, c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	while (c->steps[nexp].gen)
		nexp++;

	const struct fca_plan_ca *pc = &p.cas[c->ca];
	if (p.nsteps != nexp) {
		for (size_t i = 0; i < p.nsteps; i++)
			print_message("  got %s %d %s\n", fca_step_kind_name(p.steps[i].kind), p.steps[i].generation,
				      fca_gate_name(p.steps[i].gate));
		fail_msg("case %zu \"%s\": %zu steps, expected %zu (error \"%s\", note \"%s\")", ci, c->name, p.nsteps,
			 nexp, pc->error, pc->note);
	}
	for (size_t i = 0; i < nexp; i++) {
		const struct fca_step *s = &p.steps[i];
		char id[FCA_STEP_ID_MAX];

		if (s->kind != c->steps[i].kind || s->generation != c->steps[i].gen || s->gate != c->steps[i].gate)
			fail_msg("case %zu \"%s\" step %zu: got %s %d %s (%s), expected %s %d %s", ci, c->name, i + 1,
				 fca_step_kind_name(s->kind), s->generation, fca_gate_name(s->gate), s->gate_reason,
				 fca_step_kind_name(c->steps[i].kind), c->steps[i].gen,
				 fca_gate_name(c->steps[i].gate));
		assert_int_equal(s->ca, c->ca);
		snprintf(id, sizeof(id), "%s:%d:%s", fca_catalog_get(c->ca)->name, s->generation,
			 fca_step_kind_name(s->kind));
		assert_string_equal(s->step_id, id);
		/* each step starts where the previous one left the CA */
		if (i > 0)
			assert_int_equal(s->from_stage, p.steps[i - 1].to_stage);
		if (s->gate == FCA_GATE_OPEN)
			assert_string_equal(s->gate_reason, "");
		else if (!s->gate_reason[0])
			fail_msg("case %zu \"%s\" step %zu: closed gate without a reason", ci, c->name, i + 1);
		if (s->gate == FCA_GATE_WAIT && s->opens_at <= NOW)
			fail_msg("case %zu \"%s\" step %zu: waits for a time already past", ci, c->name, i + 1);
		if (s->kind == FCA_STEP_STAGE || s->kind == FCA_STEP_RENEW) {
			assert_int_equal(s->key_bits, c->keep && s->kind == FCA_STEP_STAGE ? 0 : 2048);
			assert_int_equal(s->key_keep, c->keep && s->kind == FCA_STEP_STAGE);
			assert_string_equal(s->subject.c, "US");
			assert_string_equal(s->subject.cn, fca_catalog_get(c->ca)->cn);
		}
		if (s->gate != FCA_GATE_OPEN)
			blocked = 1;
		if (!blocked)
			ready++;
	}
	assert_int_equal(p.nready, ready);
	assert_int_equal(p.nwaiting, nexp - ready);

	if (pc->warnings != c->warn)
		fail_msg("case %zu \"%s\": warnings 0x%x, expected 0x%x", ci, c->name, pc->warnings, c->warn);
	assert_true(pc->considered);
	assert_int_equal(pc->suspended, c->suspend);
	assert_int_equal(pc->target_generation, c->gen);
	assert_int_equal(pc->target_stage, c->stage);
	assert_int_equal(pc->now_stage, o.cas[c->ca].stage);
	if (c->error) {
		assert_true(p.has_error);
		if (!strstr(pc->error, c->error))
			fail_msg("case %zu \"%s\": error \"%s\" lacks \"%s\"", ci, c->name, pc->error, c->error);
	} else {
		assert_false(p.has_error);
		assert_string_equal(pc->error, "");
	}
	if (c->note) {
		if (!strstr(pc->note, c->note))
			fail_msg("case %zu \"%s\": note \"%s\" lacks \"%s\"", ci, c->name, pc->note, c->note);
	} else {
		assert_string_equal(pc->note, "");
	}
	for (int i = 0; i < FCA_CA_COUNT; i++)
		if (i != (int)c->ca)
			assert_false(p.cas[i].considered);

	if (c->rstep) {
		const struct fca_step *s = &p.steps[c->rstep - 1];

		if (c->reason && !strstr(s->gate_reason, c->reason))
			fail_msg("case %zu \"%s\": reason \"%s\" lacks \"%s\"", ci, c->name, s->gate_reason, c->reason);
		if (c->reason2 && !strstr(s->gate_reason, c->reason2))
			fail_msg("case %zu \"%s\": reason \"%s\" lacks \"%s\"", ci, c->name, s->gate_reason,
				 c->reason2);
		if (c->opens && s->opens_at - NOW != c->opens)
			fail_msg("case %zu \"%s\": opens_at NOW%+lld, expected NOW%+lld", ci, c->name,
				 (long long)(s->opens_at - NOW), (long long)c->opens);
		assert_int_equal(s->forced, c->forced);
	}
	if (c->writes) {
		char got[2048] = "", one[1024];
		size_t len = 0;

		for (size_t i = 0; i < p.nsteps; i++) {
			format_writes(one, sizeof(one), &p.steps[i]);
			len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", i ? " | " : "", one);
		}
		if (strcmp(got, c->writes) != 0)
			fail_msg("case %zu \"%s\": writes\n  got      %s\n  expected %s", ci, c->name, got, c->writes);
	}
	fca_observed_dispose(&o);
}

static void test_table(void **unused)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(i, &cases[i]);
	print_message("%zu planner cases\n", sizeof(cases) / sizeof(cases[0]));
}

/* ---- a few checks that do not fit a row ---------------------------------------------------- */

static struct fca_desired d;
static struct fca_observed o;
static struct fca_plan p;

static void test_drain_facts_copied(void **unused)
{
	const struct pcase c = {"drain", HI, OBS_ACTIVE, 3, 3, CPL, .drain = 5, .drain_exp = 10 * DAY, .escrows = 0};
	const struct fca_step *s;

	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(p.nsteps, 1);
	s = &p.steps[0];
	assert_int_equal(s->drain_live, 5);
	assert_int_equal(s->drain_unexpired, 5);
	assert_false(s->by_enrollment);
	assert_int_equal(s->drain_last_expiry, NOW + 10 * DAY);
	assert_int_equal(s->nblockers, 1);
	assert_string_equal(s->blockers[0].serial, "0a1b");
	assert_string_equal(s->blockers[0].who, "host 42");
	assert_int_equal(s->from_generation, 3);
	assert_int_equal(s->from_stage, FCA_STAGE_ACTIVE);
	assert_int_equal(s->to_stage, FCA_STAGE_COMPLETE);
	assert_int_equal(p.nready, 0);
	assert_int_equal(p.nwaiting, 1);
	fca_observed_dispose(&o);
}

static void test_stage_spec(void **unused)
{
	const struct pcase c = {"stage", AS, OBS_COMPLETE, 1, 2, STG};
	const struct fca_step *s;

	build(&d, &o, &c);
	snprintf(d.cas[AS].subject.o, sizeof(d.cas[AS].subject.o), "Example Corp");
	d.cas[AS].key_bits = 3072;
	d.cas[AS].validity = 5 * YEAR;
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(p.nsteps, 1);
	s = &p.steps[0];
	assert_string_equal(s->step_id, "apple_scep:2:stage");
	assert_string_equal(s->subject.o, "Example Corp");
	assert_string_equal(s->subject.cn, "Fleet");
	assert_string_equal(s->subject.c, "US");
	assert_int_equal(s->key_bits, 3072);
	assert_int_equal(s->validity, 5 * YEAR);
	assert_int_equal(s->from_generation, 1);
	assert_int_equal(s->from_stage, FCA_STAGE_COMPLETE);
	assert_int_equal(s->to_stage, FCA_STAGE_STAGED);
	assert_int_equal(p.cas[AS].now_generation, 1);
	assert_int_equal(p.now, NOW);
	fca_observed_dispose(&o);
}

/* Several CAs: steps come in catalog order, a closed gate on one CA holds no other back. */
static void test_several_cas(void **unused)
{
	const struct pcase a = {"a", AS, OBS_STAGED, 1, 2, ACT};
	struct fca_observed o2;
	struct fca_desired d2;

	/* apple_scep: activation needs a human */
	build(&d, &o, &a);
	/* host_identity: complete gen 1 -> stage gen 2 */
	const struct pcase h = {"h", HI, OBS_COMPLETE, 1, 2, STG};
	build(&d2, &o2, &h);
	o.cas[HI] = o2.cas[HI];
	assert_int_equal(fca_state_add_gen(&o.state, &o2.state.gens[0]), FCA_OK);
	d.cas[HI] = d2.cas[HI];
	/* conditional_access: not in the YAML, left alone */
	o.cas[CA] = o2.cas[HI];
	fca_observed_dispose(&o2);
	fca_observed_derive(&o);

	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(p.nsteps, 2);
	assert_int_equal(p.steps[0].ca, AS);
	assert_int_equal(p.steps[0].gate, FCA_GATE_HUMAN);
	assert_int_equal(p.steps[1].ca, HI);
	assert_int_equal(p.steps[1].gate, FCA_GATE_OPEN);
	assert_int_equal(p.nready, 1);
	assert_int_equal(p.nwaiting, 1);
	assert_false(p.cas[CA].considered);
	assert_false(p.cas[IDP].considered);
	assert_true(p.cas[HI].considered);
	fca_observed_dispose(&o);
}

static void test_invalid_input(void **unused)
{
	const struct pcase c = {"x", HI, OBS_COMPLETE, 1, 1, CPL};

	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(NULL, &d, &o, NOW), FCA_EINVALID);
	assert_int_equal(fca_plan_build(&p, NULL, &o, NOW), FCA_EINVALID);
	d.cas[HI].generation = 0;
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_EINVALID);
	assert_non_null(strstr(fca_error_message(), "host_identity"));
	d.cas[HI].generation = 1;
	d.cas[HI].stage = FCA_STAGE_CORRUPT;
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_EINVALID);
	/* a suspended CA is not checked */
	d.cas[HI].suspend = 1;
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	fca_observed_dispose(&o);
}

/* What an Apple step changing ca_cert would break: the numbers the step carries. */
static void test_disruption_counts(void **unused)
{
	struct pcase c = {"apple", AS, OBS_STAGED, 1, 2, ACT, .devices = 14, .escrows_today = 8};
	const struct fca_disruption *dd;
	struct fca_disruption sd;
	enum fca_step_kind kind;
	int gen = 0;

	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(p.nsteps, 1);
	dd = &p.steps[0].disruption;
	assert_true(dd->applies && dd->new_key && dd->new_subject && !dd->asserted);
	assert_true(dd->devices_known && dd->escrows_known);
	assert_int_equal(dd->devices, 14);
	assert_int_equal(dd->escrows, 8);
	assert_true(fca_plan_wants_impact(&p));
	/* status: the same numbers for the staged generation's activation */
	assert_int_equal(fca_plan_apple_disruption(&sd, &kind, &gen, &o), 1);
	assert_int_equal(kind, FCA_STEP_ACTIVATE);
	assert_int_equal(gen, 2);
	assert_int_equal(sd.devices, 14);
	assert_int_equal(sd.escrows, 8);
	fca_observed_dispose(&o);

	/* key: keep: every escrow stays decryptable; the devices still fail on the new subject */
	c.same_key = 1;
	c.trusts = 1;
	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	dd = &p.steps[0].disruption;
	assert_int_equal(p.steps[0].gate, FCA_GATE_OPEN);
	assert_true(dd->applies && !dd->new_key && dd->new_subject && dd->asserted);
	assert_int_equal(dd->devices, 14);
	assert_true(dd->escrows_known);
	assert_int_equal(dd->escrows, 0);
	fca_observed_dispose(&o);

	/* key: keep staged by this very plan: no key change, no escrow lost, the devices still fail */
	c = (struct pcase){"apple keep", AS, OBS_COMPLETE, 1, 2, ACT, .devices = 14, .escrows_today = 8, .keep = 1};
	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(p.nsteps, 2);
	assert_true(p.steps[0].key_keep);
	dd = &p.steps[1].disruption;
	assert_true(dd->applies && !dd->new_key && dd->new_subject);
	assert_int_equal(dd->devices, 14);
	assert_true(dd->escrows_known);
	assert_int_equal(dd->escrows, 0);
	fca_observed_dispose(&o);
	c = (struct pcase){"apple", AS, OBS_STAGED, 1, 2, ACT, .devices = 14, .escrows_today = 8};

	/* not counted: null with the reason, never a 0 */
	c.same_key = 0;
	c.uncounted = 1;
	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	dd = &p.steps[0].disruption;
	assert_false(dd->devices_known || dd->escrows_known);
	assert_int_equal(dd->devices, 0);
	assert_string_equal(dd->devices_why, "no SELECT on nano_cert_auth_associations");
	assert_string_equal(dd->escrows_why, "no SELECT on host_disk_encryption_keys");
	fca_observed_dispose(&o);

	/* a second activation in one plan: counted once the first is done */
	c = (struct pcase){"apple +2", AS, OBS_STAGED, 1, 3, ACT, .trusts = 1};
	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(p.nsteps, 4);
	assert_string_equal(p.steps[3].disruption.devices_why, "counted once gen 2 signs");
	assert_string_equal(p.steps[3].disruption.escrows_why, "counted once gen 2 signs");
	fca_observed_dispose(&o);

	/* active: status shows the rollback to the previous generation */
	c = (struct pcase){"apple active", AS, OBS_ACTIVE, 3, 3, ACT, .devices = 5, .escrows_today = 2};
	build(&d, &o, &c);
	assert_int_equal(fca_plan_apple_disruption(&sd, &kind, &gen, &o), 1);
	assert_int_equal(kind, FCA_STEP_ROLLBACK);
	assert_int_equal(gen, 2);
	assert_int_equal(sd.devices, 5);
	assert_int_equal(sd.escrows, 2);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(p.nsteps, 0);
	assert_false(fca_plan_wants_impact(&p));
	fca_observed_dispose(&o);

	/* complete, and the other CAs: nothing */
	c = (struct pcase){"apple complete", AS, OBS_COMPLETE, 1, 1, CPL};
	build(&d, &o, &c);
	assert_int_equal(fca_plan_apple_disruption(&sd, &kind, &gen, &o), 0);
	fca_observed_dispose(&o);
	c = (struct pcase){"host identity", HI, OBS_STAGED, 1, 2, ACT};
	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_false(p.steps[0].disruption.applies);
	assert_false(fca_plan_wants_impact(&p));
	fca_observed_dispose(&o);
}

/* The plan is a function of its inputs: the same inputs give the same bytes. */
static void test_pure(void **unused)
{
	static struct fca_plan p2;
	const struct pcase c = {"x", AS, OBS_ACTIVE, 3, 5, CPL, .drain = 2, .drain_exp = DAY, .escrows = 1};

	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(fca_plan_build(&p2, &d, &o, NOW), FCA_OK);
	assert_memory_equal(&p, &p2, sizeof(p));
	fca_observed_dispose(&o);
}

/* Issue 8 item 4: a drifted CA, or an unmanaged one with foreign rows, is stuck and never at its target. */
static void test_stuck_and_at_target(void **unused)
{
	static struct fca_stuck st;
	static const struct {
		struct pcase c;
		int stuck, at_target;
	} t[] = {
	    {{"drift, no adopt", HI, OBS_DRIFT, 2, 2, CPL}, 1, 0},
	    {{"drift in _next, no adopt", HI, OBS_DRIFT_NEXT, 2, 3, ACT}, 1, 0},
	    {{"drift, adopt", HI, OBS_DRIFT, 2, 3, CPL, .adopt = 1}, 0, 0},
	    {{"unmanaged _next", HI, OBS_UNMANAGED_NEXT, 1, 1, CPL}, 1, 0},
	    {{"unmanaged _previous", AS, OBS_UNMANAGED_PREV, 1, 1, CPL}, 1, 0},
	    {{"corrupt", HI, OBS_CORRUPT, 3, 3, CPL}, 1, 0},
	    {{"none", HI, OBS_NONE, 0, 1, CPL}, 0, 0},
	    {{"complete, as desired", HI, OBS_COMPLETE, 3, 3, CPL}, 0, 1},
	    {{"staged, as desired", HI, OBS_STAGED, 3, 4, STG}, 0, 1},
	    {{"active, as desired", HI, OBS_ACTIVE, 3, 3, ACT}, 0, 1},
	    {{"complete, a step planned", HI, OBS_COMPLETE, 3, 4, STG}, 0, 0},
	    {{"suspended drift", AS, OBS_DRIFT, 2, 3, CPL, .suspend = 1}, 0, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		build(&d, &o, &t[i].c);
		assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
		if (fca_plan_ca_stuck(&p, t[i].c.ca) != t[i].stuck ||
		    fca_plan_ca_at_target(&p, t[i].c.ca) != t[i].at_target || fca_plan_settled(&p) != t[i].at_target)
			fail_msg("\"%s\": stuck %d at_target %d, expected %d %d", t[i].c.name,
				 fca_plan_ca_stuck(&p, t[i].c.ca), fca_plan_ca_at_target(&p, t[i].c.ca), t[i].stuck,
				 t[i].at_target);
		if (t[i].stuck && !(p.cas[t[i].c.ca].warnings & (FCA_WARN_DRIFT | FCA_WARN_CORRUPT)))
			fail_msg("\"%s\": stuck without a drift or corrupt warning", t[i].c.name);
		/* the judgement the commands report agrees, corrupt being the error kind */
		if ((fca_plan_stuck(&st, &p, &o) != FCA_STUCK_NONE) != t[i].stuck ||
		    (st.ca[t[i].c.ca] == FCA_STUCK_CORRUPT) != (t[i].c.obs == OBS_CORRUPT) ||
		    (fca_plan_errors(&p) > 0) != (t[i].c.obs == OBS_CORRUPT))
			fail_msg("\"%s\": fca_plan_stuck %d, errors %zu", t[i].c.name, st.ca[t[i].c.ca],
				 fca_plan_errors(&p));
		fca_observed_dispose(&o);
	}
}

/* Issue 8 item 1: a drain that was not counted closes the gate, with drain: force too, and says why. */
static void test_drain_not_counted(void **unused)
{
	struct pcase c = {"uncounted", HI, OBS_ACTIVE, 3, 3, CPL};

	(void)unused;
	for (int force = 0; force < 2; force++) {
		c.force = force;
		build(&d, &o, &c);
		o.cas[HI].issued_scanned = 0;
		snprintf(o.cas[HI].issued_note, sizeof(o.cas[HI].issued_note),
			 "host_identity_scep_certificates cannot be read by this user");
		assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
		assert_int_equal(p.nsteps, 1);
		assert_int_equal(p.steps[0].kind, FCA_STEP_RETIRE);
		assert_int_equal(p.steps[0].gate, FCA_GATE_CLOSED);
		assert_int_equal(p.steps[0].forced, 0);
		assert_non_null(
		    strstr(p.steps[0].gate_reason, "not counted: host_identity_scep_certificates cannot be read"));
		assert_int_equal(fca_plan_uncounted(&p), 0);
		fca_observed_dispose(&o);
	}
}

/* Issue 8 item 2: the plan says in words what a revert would throw away; a never-signed one says nothing. */
static void test_abandon_discards(void **unused)
{
	struct pcase c = {"revert", HI, OBS_ACTIVE, 3, 2, CPL, .drain_new = 3, .drain_new_exp = 10 * DAY};

	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_int_equal(p.nsteps, 2);
	assert_true(p.steps[1].drain_gated);
	assert_int_equal(p.steps[1].drain_live, 3);
	assert_string_equal(p.steps[1].discards,
			    "abandoning gen 3 discards a CA that signed 3 live certificates: those devices would have "
			    "to re-enroll");
	assert_string_equal(p.steps[0].discards, "");
	fca_observed_dispose(&o);

	c = (struct pcase){
	    "apple", AS, OBS_ACTIVE, 3, 2, CPL, .trusts = 1, .drain_new = 1, .drain_new_exp = DAY, .escrows_new = 2};
	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_string_equal(
	    p.steps[1].discards,
	    "abandoning gen 3 discards a CA that signed 1 live certificate: those devices would have to "
	    "re-enroll, and 2 FileVault escrows encrypted to it could no longer be decrypted");
	fca_observed_dispose(&o);

	/* staged and never signed: no drain gate, nothing said */
	c = (struct pcase){"never", HI, OBS_STAGED, 3, 3, CPL, .drain_new = 2, .drain_new_exp = DAY};
	build(&d, &o, &c);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_false(p.steps[0].drain_gated);
	assert_string_equal(p.steps[0].discards, "");
	fca_observed_dispose(&o);

	/* a document from before signed_at: the recorded activate transition says it signed */
	c = (struct pcase){"old document", HI, OBS_STAGED, 3, 3, CPL, .drain_new = 2, .drain_new_exp = DAY};
	build(&d, &o, &c);
	int n = 0;
	assert_int_equal(fca_state_record_transition(&o.state, "host_identity:4:activate", NOW - 9 * DAY, &n), FCA_OK);
	fca_observed_derive(&o);
	assert_int_equal(fca_plan_build(&p, &d, &o, NOW), FCA_OK);
	assert_true(p.steps[0].drain_gated);
	assert_int_equal(p.steps[0].gate, FCA_GATE_WAIT);
	fca_observed_dispose(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_drain_facts_copied),
	    cmocka_unit_test(test_stage_spec),
	    cmocka_unit_test(test_several_cas),
	    cmocka_unit_test(test_invalid_input),
	    cmocka_unit_test(test_pure),
	    cmocka_unit_test(test_disruption_counts),
	    cmocka_unit_test(test_stuck_and_at_target),
	    cmocka_unit_test(test_abandon_discards),
	    cmocka_unit_test(test_drain_not_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
