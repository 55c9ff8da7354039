/* The engine: the only layer that drives src/io (store, crypto) from the model. */
#ifndef FLEETCA_ENGINE_H
#define FLEETCA_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#include "fleetca/observed.h"
#include "fleetca/secret.h"
#include "fleetca/store.h"

struct fca_observe_opts {
	int64_t now;
	int64_t clock_skew; /* for the drain count: live = not_valid_after > now - clock_skew */
	int check_keys;	    /* decrypt each key and check it matches its certificate */
	int scan_issued;    /* count issued certificates per generation */
	int scan_escrows;   /* count FileVault escrows per apple_scep generation */
	FILE *progress;	    /* a line per 250,000 issued certificates scanned, or NULL */
	/* What an apple_scep step changing the first certificate would break, counted
	 * only when one is planned: */
	int scan_devices;	/* apple_scep's enrolled devices per generation (every identity row) */
	int scan_escrows_today; /* escrows Fleet decrypts today with the signing ca_key */
	unsigned check_keys_of; /* as check_keys, for the CAs whose bit (1u << enum fca_ca_id) is set */
};
#define FCA_OBSERVE_OPTS_INIT                                                                                          \
	{                                                                                                              \
		0, 72 * 3600, 0, 1, 1, NULL, 0, 0, 0                                                                   \
	}

/*
 * Reads every CA row and the state document, decrypts and inspects the certificates, counts
 * issued certificates and escrows, and derives stages (fca_observed_derive). Every row is checked
 * before it is believed: an md5_checksum that is not MD5(value), a value that does not decrypt
 * while other rows do, or a cert row of more than one PEM block is that row's damage, and makes its
 * CA corrupt (the others are read on). Only when no row decrypts is it an error (the server key is
 * wrong); a damaged fleetca_state row is an error too (it labels every CA). Key rows are decrypted
 * only with check_keys (or check_keys_of, for their CA).
 */
int fca_engine_observe(struct fca_observed *o, struct fca_store *s, const struct fca_secret *aes_key,
		       const struct fca_observe_opts *opts) FCA_MUST_USE;

/*
 * Counts, on an observed state, what opts->scan_devices and opts->scan_escrows_today ask and it
 * does not hold yet (fca_engine_observe calls it itself for those options). A table that cannot be
 * read leaves its count not made, with the reason (devices_note, escrows_note): never an error.
 */
int fca_engine_observe_impact(struct fca_observed *o, struct fca_store *s, const struct fca_secret *aes_key,
			      const struct fca_observe_opts *opts) FCA_MUST_USE;

struct fca_desired;
struct fca_plan;
struct fca_plan_opts {
	const struct fca_desired *desired;
	int64_t now;
	int check_keys;		/* decrypt each key and check it matches its certificate */
	int scan_issued;	/* count issued certificates whether or not the plan needs them (plan, metrics) */
	int scan_escrows;	/* count FileVault escrows per generation the same way */
	unsigned check_keys_of; /* as check_keys, for the CAs whose bit (1u << enum fca_ca_id) is set */
};
#define FCA_PLAN_OPTS_INIT                                                                                             \
	{                                                                                                              \
		NULL, 0, 0, 0, 0, 0                                                                                    \
	}

/*
 * Observe, then plan: the one place plan, apply and reconcile turn Fleet's rows into a plan
 * (src/engine/run.c). Reads the rows (fca_engine_observe; o is disposed first, so it may hold an
 * earlier observation), plans (fca_plan_build), and counts what the plan needs and opts did not
 * ask for, then plans again: the drain of a retire or of an abandon that reverts (issued
 * certificates and escrows), and what an Apple step changing the first certificate would break
 * (devices, escrows today). A plan with errors is returned as it is (fca_plan_errors): FCA_OK.
 */
int fca_engine_plan(struct fca_observed *o, struct fca_plan *p, struct fca_store *s, const struct fca_secret *aes_key,
		    const struct fca_plan_opts *opts) FCA_MUST_USE;

/* The 32-byte AES key from the server key as configured (FLEET_SERVER_PRIVATE_KEY, read by the CLI). */
int fca_engine_load_server_key(struct fca_secret *aes_key, const struct fca_secret *server_key) FCA_MUST_USE;

/*
 * The issued-certificate tables of a CA in this schema (older names resolved), each read, not looked
 * up (fca_store_probe_table). One the schema has that this user cannot read, or that is missing, is
 * an error naming it and the GRANT it needs (FCA_EAUTH, FCA_ENOTFOUND).
 */
int fca_engine_issued_tables(struct fca_store *s, enum fca_ca_id ca, const char *out[FCA_MAX_ISSUED_TABLES],
			     size_t *n) FCA_MUST_USE;

struct fca_state;
/*
 * Writes the state document as Fleet writes an asset (src/engine/state_doc.c): compacted
 * (fca_state_compact: st is changed), serialized and checked by the reader, or refused when it does
 * not fit FCA_STATE_MAX_BYTES (nothing written: the caller rolls back); then
 * encrypted with the server key, the live fleetca_state row soft-deleted (when replace) and a new
 * one inserted with its md5. Call inside the transaction that must hold it.
 */
int fca_engine_save_state(struct fca_store *s, const struct fca_secret *aes_key, struct fca_state *st,
			  int replace) FCA_MUST_USE;
/*
 * Reads, decrypts and parses the live state document. for_update locks its row (inside a
 * transaction). *found = 0 (and an empty *out) when there is none.
 */
/*
 * Decrypts the state document's row value into doc: a row longer than a document of
 * FCA_STATE_MAX_BYTES is refused before decrypting, with the limit named.
 */
int fca_engine_decrypt_state(struct fca_secret *doc, const struct fca_secret *aes_key, const unsigned char *value,
			     size_t len) FCA_MUST_USE;
int fca_engine_load_state(struct fca_state *out, int *found, struct fca_store *s, const struct fca_secret *aes_key,
			  int for_update) FCA_MUST_USE;

#endif
