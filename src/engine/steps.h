/* The executor's steps: each changes one CA's rows inside the transaction the run loop opened
 * (src/engine/executor.c), and write_state adds the transition, its activity and the document.
 * Internal to src/engine. */
#ifndef FLEETCA_ENGINE_STEPS_H
#define FLEETCA_ENGINE_STEPS_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/catalog.h"
#include "fleetca/executor.h"
#include "fleetca/observed.h"
#include "fleetca/plan.h"
#include "fleetca/secret.h"
#include "fleetca/state.h"
#include "fleetca/store.h"

/* The step's CA rows (cert and key of every slot) and the state document. */
#define NAMES_PER_CA (2 * FCA_SLOT_COUNT + 1)

struct fca_step_ctx {
	struct fca_store *s;
	const struct fca_secret *aes;
	const struct fca_observed *o;
	const struct fca_step *st;
	const struct fca_apply_opts *opts;
	const struct fca_ca_def *def;
	const struct fca_obs_ca *ca;
	struct fca_keygen *keygen; /* stage: the key the executor started generating, or NULL */
	char names[NAMES_PER_CA][FCA_ASSET_NAME_MAX];
	const char *name_ptrs[NAMES_PER_CA];
	struct fca_asset_rows rows;
	struct fca_state state;
	const char *written[FCA_STEP_MAX_WRITES + 1];
	size_t nwritten;
	/* what the activity reports */
	char sha256[65], subject[512];
	int64_t not_after;
	/* the certificate row the step wrote (stage, renew): its md5_checksum and facts, for row_facts */
	char new_md5[33];
	struct fca_cert_info new_info;
};

int fca_engine__step_adopt(struct fca_step_ctx *c) FCA_MUST_USE;
int fca_engine__step_stage(struct fca_step_ctx *c) FCA_MUST_USE;
/* activate (NEXT → CURRENT → PREVIOUS) and rollback (PREVIOUS → CURRENT → NEXT) */
int fca_engine__step_swap(struct fca_step_ctx *c, enum fca_slot from, enum fca_slot to) FCA_MUST_USE;
/* retire (PREVIOUS) and abandon (NEXT) */
int fca_engine__step_drop(struct fca_step_ctx *c, enum fca_slot slot) FCA_MUST_USE;
int fca_engine__step_renew(struct fca_step_ctx *c) FCA_MUST_USE;
int fca_engine__step_write_state(struct fca_step_ctx *c) FCA_MUST_USE;

#endif
