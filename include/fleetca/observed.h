/* The observed state: what the rows hold, labelled by the state document. Pure (src/model). */
#ifndef FLEETCA_OBSERVED_H
#define FLEETCA_OBSERVED_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/catalog.h"
#include "fleetca/certinfo.h"
#include "fleetca/desired.h"
#include "fleetca/state.h"

/* The role of a live generation: the slot its rows sit in. */
enum fca_role {
	FCA_ROLE_SIGNING = FCA_SLOT_CURRENT,
	FCA_ROLE_NEXT = FCA_SLOT_NEXT,
	FCA_ROLE_PREVIOUS = FCA_SLOT_PREVIOUS
};
const char *fca_role_name(enum fca_role r); /* "signing", "next", "previous" */

#define FCA_MAX_BLOCKERS 10

/* A live issued certificate that holds a retirement back. */
struct fca_blocker {
	char table[64];
	char serial[32];
	char who[128]; /* host id or name */
	int64_t not_valid_after;
};

struct fca_obs_gen {
	int present;	/* the cert row exists */
	int generation; /* from the state document; 0 = unknown (drift / unmanaged) */
	char cert_asset[FCA_ASSET_NAME_MAX], key_asset[FCA_ASSET_NAME_MAX];
	uint64_t cert_row_id, key_row_id;
	char cert_md5[33], key_md5[33]; /* uppercase hex of md5_checksum, "" when no row */
	int has_key;			/* the key row exists */
	int cert_ok;			/* the cert decrypted and parsed */
	int key_check;			/* -1 not checked, 0 mismatch, 1 matches */
	struct fca_cert_info cert;	/* valid when cert_ok */
	/* Issued certificates whose AKI is this generation's SKI (and, when another live generation
	 * has the same key, whose issuer is this generation's subject). */
	uint64_t issued_live;	   /* revoked = 0 and not_valid_after > now (status) */
	uint64_t drain_unexpired;  /* revoked = 0 and not_valid_after > now - clock_skew */
	uint64_t drain_live;	   /* those of drain_unexpired still in use (drain gate): for apple_scep
				    * with by_enrollment, only an enrollment's newest certificate or one
				    * no enrollment names; otherwise all of them */
	int64_t drain_last_expiry; /* latest not_valid_after among drain_live; 0 = none */
	uint64_t devices;	   /* apple_scep: enrolled devices as Fleet sees them check in: each
				    * enrollment whose newest certificate (nano_cert_auth_associations)
				    * this generation issued, revoked or expired alike; without the
				    * table every certificate not revoked; valid when devices_counted */
	struct fca_blocker blockers[FCA_MAX_BLOCKERS];
	size_t nblockers;
	uint64_t escrows;		 /* FileVault escrows encrypted to this generation's certificate */
	int64_t staged_at, activated_at; /* from the state document; 0 = unknown */
	int ever_signed;		 /* it signs now, or the document says it has signed
					  * (fca_state_gen_signed): abandoning it discards a CA that signed */
	/* Why a row of this slot cannot be believed, set by the engine: an md5_checksum that is not
	 * MD5(value), a value that does not decrypt while other rows do, a cert row of more than one
	 * PEM block. "" = intact. Makes the CA corrupt. */
	char damage[320];
	int retired_generation; /* the document knows this certificate as retired (a copy put back
				 * outside fleetca: drift): its generation; 0 = not retired */
};

struct fca_obs_ca {
	enum fca_stage stage;			 /* derived from which slots have live rows */
	struct fca_obs_gen gens[FCA_SLOT_COUNT]; /* indexed by enum fca_role */
	int managed;				 /* the state document knows this CA */
	int drift;				 /* a live cert the document does not know */
	char problem[384];			 /* why the CA is corrupt (stage == FCA_STAGE_CORRUPT) */
	char drift_detail[256];
	int max_generation; /* highest generation the document knows (incl. retired) */
	int issued_scanned; /* issued-certificate tables were scanned */
	/* Fail closed: a count not made says why, and what could not be parsed is not a zero. */
	char issued_note[512];	     /* why the issued certificates were not counted (issued_scanned == 0) */
	uint64_t issued_unparsed;    /* live issued certificates that could not be parsed: no generation can
				      * be told, so none may be retired */
	int escrows_scanned;	     /* apple_scep: gens[].escrows were counted */
	char escrows_scan_note[512]; /* why they were not */
	uint64_t escrows_unparsed;   /* escrows whose CMS could not be parsed: addressed to no one knows whom */
	int by_enrollment;	     /* apple_scep: the scan knew each enrollment's newest certificate */
	char assoc_note[512];	     /* why it did not, when nano_cert_auth_associations could not be read */
	/* apple_scep: what a step that changes the first certificate of ca_cert (subject bytes or key)
	 * would break on a Fleet that trusts one root; the engine counts it only when
	 * such a step is planned. Not counted = the reason is in the note. */
	int devices_counted; /* gens[].devices are counted */
	char devices_note[512];
	int escrows_counted;
	uint64_t escrows_decryptable; /* FileVault escrows Fleet decrypts today with the signing ca_key */
	char escrows_note[512];
};

struct fca_observed {
	int has_document;	/* a fleetca_state row exists */
	struct fca_state state; /* empty when has_document == 0 */
	struct fca_obs_ca cas[FCA_CA_COUNT];
	char database[128];
	/* The md5 of every live row the plan depends on, for `apply --plan` staleness. */
	struct {
		char name[FCA_ASSET_NAME_MAX];
		char md5[33];
	} basis[FCA_CA_COUNT * 2 * FCA_SLOT_COUNT + 1];
	size_t nbasis;
};

/* The number of PEM blocks ("-----BEGIN " at the start of a line) in text. Pure. */
size_t fca_pem_block_count(const char *text, size_t len);

void fca_observed_init(struct fca_observed *o);
void fca_observed_dispose(struct fca_observed *o);

/*
 * Derives stage, generation numbers, managed and drift from the slots the caller filled
 * (present, has_key, cert_ok, cert, damage) and o->state. Pure. A CA is corrupt when a row is
 * damaged, when its rows do not spell a stage, or when the state document contradicts them (a
 * certificate it knows sits in a slot its generation cannot be in). A certificate the document
 * knows as retired, back in a live row, is drift.
 */
void fca_observed_derive(struct fca_observed *o);

#endif
