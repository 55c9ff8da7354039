/* The fleetca_state document: labels what the rows hold. Never the source of the stage. */
#ifndef FLEETCA_STATE_H
#define FLEETCA_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/catalog.h"
#include "fleetca/certinfo.h"
#include "fleetca/error.h"

#define FCA_STATE_FORMAT_VERSION  1
#define FCA_STATE_MAX_GENS	  256
#define FCA_STATE_MAX_TRANSITIONS 1024
#define FCA_STATE_MAX_OUTBOX	  256
/* Certificate rows whose facts the document keeps: every live one (FCA_CA_COUNT * FCA_SLOT_COUNT) and a new one. */
#define FCA_STATE_MAX_FACTS (FCA_CA_COUNT * FCA_SLOT_COUNT + 4)
/*
 * The one size limit of the serialized document, for the whole read path: fca_state_parse refuses a
 * longer one, fca_engine_decrypt_state a longer row, and fca_state_serialize refuses to produce one,
 * so nothing can commit a document the reader rejects. The decrypted document lives in a secret
 * buffer, so it is at most FCA_SECRET_MAX (checked at compile time in src/engine/state_doc.c).
 */
#define FCA_STATE_MAX_BYTES (1024 * 1024)
/* Generation entries per CA that compaction keeps beyond those that can be live (fca_state_compact). */
#define FCA_STATE_KEEP_PAST 4
/* The largest count (transitions, attempts, folded history) the reader accepts. */
#define FCA_STATE_COUNT_MAX 1000000000
#define FCA_STEP_ID_MAX	    96

/* One certificate fleetca knows: several certificates (renewals) may share a generation. */
struct fca_state_gen {
	enum fca_ca_id ca;
	int generation;
	char sha256[65];
	int64_t created_at;   /* adopted or generated */
	int64_t staged_at;    /* 0 = never */
	int64_t activated_at; /* 0 = never */
	int64_t retired_at;   /* 0 = not retired */
	int64_t signed_at;    /* when it first signed (activate); kept by a rollback; 0 = never or not
			       * recorded (documents written before it existed: see fca_state_gen_signed) */
	char commit[41];      /* the commit that asked for it, if known */
};

/* How many times a step_id has happened: gives the n of Idempotency-Key <step_id>#<n>. */
struct fca_state_transition {
	char step_id[FCA_STEP_ID_MAX];
	int count;
	int64_t last_at;
};

/* An activity committed with its step and not yet delivered. */
struct fca_state_outbox {
	char idempotency_key[FCA_STEP_ID_MAX + 16]; /* "<step_id>#<n>" */
	char type[48];				    /* "staged_ca_certificate" */
	char *details_json;			    /* owned; the activity's "details" object */
	int64_t created_at;
	int attempts;		 /* failed deliveries recorded (written at most once an hour: outbox.c) */
	int64_t last_attempt_at; /* when attempts was last written; 0 = never */
	char delivery_id[37];	 /* random UUID made with the entry: the Idempotency-Key sent is
				  * "<delivery_id>/<idempotency_key>", so a step executed again after a
				  * database restore is a new key; "" in documents from before it */
};

/*
 * What compaction folded away for one CA (fca_state_compact): empty when generations and
 * transitions are both 0. Serialized as "history" only when some CA has one.
 */
struct fca_state_history {
	int generations;    /* generation entries folded */
	int transitions;    /* transitions folded, by their counts */
	int max_generation; /* highest generation number among the entries folded */
	int64_t oldest_at;  /* earliest time among what was folded */
	int64_t newest_at;  /* latest time among what was folded */
};

struct fca_state {
	int format_version;
	int64_t updated_at;
	struct fca_state_gen *gens;
	size_t ngens;
	struct fca_state_transition *transitions;
	size_t ntransitions;
	struct fca_state_outbox *outbox;
	size_t noutbox;
	struct fca_state_history history[FCA_CA_COUNT]; /* indexed by enum fca_ca_id */
	/* Optional "row_facts": the facts of the certificate rows live when the document was written
	 * (fca_cert_facts_encode), each tied to its row's md5_checksum; a run whose row has the same
	 * checksum takes them instead of decrypting and parsing it. A cache: a line the reader cannot
	 * use is only ignored. */
	char (*row_facts)[FCA_CERT_FACTS_MAX]; /* FCA_STATE_MAX_FACTS lines once reserved, else NULL */
	size_t nrow_facts;
};

/* What delivering the outbox after the steps did (fca_engine_apply_and_deliver); apply reports it. */
struct fca_delivery {
	int attempted;	  /* the outbox held entries and the sink is not none */
	int code;	  /* FCA_OK, or what stopped delivery (fca_engine_deliver_outbox) */
	int fatal;	  /* a failure retrying will not fix (401, other 4xx, TLS): the run is an error */
	size_t delivered; /* this run */
	size_t pending;	  /* left in the outbox */
	char error[1024]; /* what stopped it; "" when nothing did */
};

void fca_state_init(struct fca_state *s);
void fca_state_dispose(struct fca_state *s);
int fca_state_copy(struct fca_state *dst, const struct fca_state *src) FCA_MUST_USE;
/* Room for FCA_STATE_MAX_FACTS row_facts lines (on the heap: 40 KB a run that reads none never touches). */
int fca_state_reserve_facts(struct fca_state *s) FCA_MUST_USE;

/* src/model/state.c: lookups and edits. */
struct fca_state_gen *fca_state_find(struct fca_state *s, enum fca_ca_id ca, const char *sha256_hex);
const struct fca_state_gen *fca_state_find_c(const struct fca_state *s, enum fca_ca_id ca, const char *sha256_hex);
/*
 * 1 when generation g of the CA has ever signed: signed_at, else (documents from before signed_at)
 * activated_at or a recorded "<ca>:<generation>:activate" transition.
 */
int fca_state_gen_signed(const struct fca_state *s, const struct fca_state_gen *g);
/* Highest generation number the document has for the CA, folded history included (0 when none). */
int fca_state_max_generation(const struct fca_state *s, enum fca_ca_id ca);
int fca_state_knows_ca(const struct fca_state *s, enum fca_ca_id ca);
int fca_state_add_gen(struct fca_state *s, const struct fca_state_gen *g) FCA_MUST_USE;
/* Records one more transition for step_id; *n_out = earlier transitions with that id. */
int fca_state_record_transition(struct fca_state *s, const char *step_id, int64_t at, int *n_out) FCA_MUST_USE;
/* Takes ownership of details_json. */
int fca_state_outbox_add(struct fca_state *s, const char *idempotency_key, const char *type, char *details_json,
			 int64_t at) FCA_MUST_USE;
/* Removes the entry at index i. */
void fca_state_outbox_remove(struct fca_state *s, size_t i);
/*
 * Folds history that no reader needs into s->history (the rule is at its definition); the outbox is
 * never touched. Idempotent; returns how many entries (generations + transitions) it folded.
 */
size_t fca_state_compact(struct fca_state *s);

#endif
