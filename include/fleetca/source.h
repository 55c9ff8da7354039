/*
 * Where the desired-state file comes from (SOURCE): a file in the working tree
 * (`-f FILE`), or a path inside the tree of a commit of a git repository
 * (`--git-repo DIR [--git-ref REF] -f PATH`). src/io/source.c is the only file that sees libgit2.
 */
#ifndef FLEETCA_SOURCE_H
#define FLEETCA_SOURCE_H

#include <stddef.h>

#include "fleetca/error.h"

#define FCA_SOURCE_MAX_BYTES (1024 * 1024) /* as the YAML reader: 1 MiB */
#define FCA_SOURCE_REF_MAX   256
#define FCA_SOURCE_PATH_MAX  512
#define FCA_SOURCE_LABEL_MAX (FCA_SOURCE_REF_MAX + FCA_SOURCE_PATH_MAX)

struct fca_source {
	char *data; /* the file's bytes plus a NUL (len excludes it); NULL when absent */
	size_t len;
	int from_git;			  /* 1: read from a commit; commit and ref are set */
	int absent;			  /* fca_source_read_base only: the file does not exist at the base */
	char commit[41];		  /* full commit id, lowercase hex; "" for a working-tree file */
	char ref[FCA_SOURCE_REF_MAX];	  /* the revspec as given ("origin/main", "v1.2", an id); "" for a file */
	char path[FCA_SOURCE_PATH_MAX];	  /* in git: the path inside the tree; otherwise the file as given */
	char label[FCA_SOURCE_LABEL_MAX]; /* for messages: "<ref>:<path>", or the file as given */
};

void fca_source_init(struct fca_source *s);
/* Frees the content; accepts NULL. The struct can be read into again after fca_source_init. */
void fca_source_dispose(struct fca_source *s);

/* Reads a regular file of at most FCA_SOURCE_MAX_BYTES from the working tree. */
int fca_source_read_file(struct fca_source *out, const char *path) FCA_MUST_USE;

/*
 * Reads PATH (relative to the repository root; a leading "./" is allowed) from the tree of the
 * commit that REF names in the repository at REPO (a checkout or a bare repository). REF is any
 * revspec git understands: a branch, a tag, "origin/main", a commit id, "HEAD~1"; NULL or "" means
 * HEAD. Errors name the repository, the ref and the path, and what to do: FCA_ENOTFOUND for a
 * missing repository, ref or path; FCA_EINVALID for a directory, a submodule, a symbolic link,
 * binary content or a file over 1 MiB.
 */
int fca_source_read_git(struct fca_source *out, const char *repo, const char *ref, const char *path) FCA_MUST_USE;

/*
 * For `plan --git-base BASE`: the same file at the merge base of BASE and HEAD_REF (NULL or "":
 * HEAD). With REPO NULL, PATH is a file in a working tree: the repository is found from the file's
 * directory and PATH is made relative to its root. Returns FCA_OK with out->absent = 1 (and
 * out->data NULL) when the file does not exist at the merge base: it is new in this change.
 * out->commit is the merge base and out->ref is BASE.
 */
int fca_source_read_base(struct fca_source *out, const char *repo, const char *base_ref, const char *head_ref,
			 const char *path) FCA_MUST_USE;

#endif
