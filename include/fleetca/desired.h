/* The desired state: what the YAML file asks for, parsed into typed, bounded structs. */
#ifndef FLEETCA_DESIRED_H
#define FLEETCA_DESIRED_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/catalog.h"
#include "fleetca/error.h"

enum fca_stage {
	FCA_STAGE_NONE = 0, /* no rows at all (CA not set up in Fleet) */
	FCA_STAGE_STAGED,
	FCA_STAGE_ACTIVE,
	FCA_STAGE_COMPLETE,
	FCA_STAGE_CORRUPT, /* observed only */
};
const char *fca_stage_name(enum fca_stage s); /* "staged", … "none", "corrupt" */

enum fca_drain { FCA_DRAIN_WAIT = 0, FCA_DRAIN_FORCE };
/* Where activities go: db (default) = Fleet's own activity table, in the step's transaction. */
enum fca_sink { FCA_SINK_DB = 0, FCA_SINK_API, FCA_SINK_NONE };

#define FCA_REASON_MAX	      512
#define FCA_SUBJECT_FIELD_MAX 65 /* RFC 5280 ub-common-name 64 + NUL */

struct fca_policy {
	int64_t min_overlap;		  /* seconds; default 7d */
	int64_t clock_skew;		  /* seconds; default 72h */
	enum fca_drain drain;		  /* default wait */
	char reason[FCA_REASON_MAX];	  /* required with drain: force */
	int fleet_server_trusts_previous; /* default 0 */
};

struct fca_subject {
	/* Empty string = keep the catalog default for this CA. */
	char cn[FCA_SUBJECT_FIELD_MAX];
	char o[FCA_SUBJECT_FIELD_MAX];
	char ou[FCA_SUBJECT_FIELD_MAX];
	char c[3];
};

struct fca_desired_ca {
	int present;	      /* named in the file; a CA not named is left alone */
	int generation;	      /* >= 1 */
	enum fca_stage stage; /* staged | active | complete; default complete */
	struct fca_subject subject;
	int key_bits;	      /* RSA; default 2048 ("rsa-2048", "rsa-3072", "rsa-4096") */
	int key_keep;	      /* key: keep: a new generation's certificate is made on the signing key */
	int64_t validity;     /* seconds; default 10y */
	int64_t renew_before; /* seconds; 0 = never renew */
	int adopt;	      /* accept drifted rows as the next generation */
	int suspend;	      /* plan nothing for this CA */
	int line;	      /* where the CA's block starts in the file, for messages */
};

struct fca_desired {
	int version; /* 1 */
	struct fca_policy policy;
	enum fca_sink sink;
	struct fca_desired_ca cas[FCA_CA_COUNT];
	char path[512]; /* the file it came from, as given */
};

/* Defaults for everything (policy, each CA), with no CA present. */
void fca_desired_init(struct fca_desired *d);
/* The subject a new generation gets: the YAML's fields over the catalog's defaults. */
void fca_desired_subject(struct fca_subject *out, const struct fca_desired_ca *dca, const struct fca_ca_def *def);

/* One problem found in the file. */
struct fca_diag {
	int line, column; /* 1-based; 0 when unknown */
	char key[128];	  /* "cas.apple_scep.stage" */
	char msg[384];	  /* "expected one of staged, active, complete; found \"activ\"" */
};

#define FCA_DIAGS_MAX 64
struct fca_diags {
	struct fca_diag v[FCA_DIAGS_MAX];
	size_t n;
	size_t dropped; /* beyond FCA_DIAGS_MAX */
};

/* Formats "file:line:column: key: msg". */
void fca_diag_format(char *buf, size_t n, const char *file, const struct fca_diag *d);

#endif
