/*
 * The source adapter: the desired-state file from the working tree, or from a commit of a git
 * repository through libgit2. The only file that includes <git2.h>; no git_* object leaves it.
 *
 * Owner validation: libgit2 1.5.1 refuses a repository owned by another uid, and does not honour
 * `safe.directory = *` as the git CLI does. The check protects the git CLI from running
 * commands that a stranger's .git/config names (core.fsmonitor, hooks). fleetca only reads objects
 * (revparse, trees, blobs): it runs no hook, no filter and no command from the repository's
 * configuration, and a CI job or a reconcile timer typically reads a checkout owned by another
 * user. So fleetca turns the check off for itself, once, when it first opens a repository.
 *
 * libgit2 is loaded on first use (dlopen), not linked: a run that reads its desired state from a
 * file does not pay for loading libgit2 and the libraries it pulls in (bench/README.md). The
 * header gives the types; each function is reached through the table below, filled by dlsym.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "fleetca/file.h"
#include "fleetca/source.h"
#include "fleetca/version.h"

/* libgit2's SONAME on Debian 12 (package libgit2-1.5); the header must be that release's. */
#define GIT2_SONAME  "libgit2.so.1.5"
#define GIT2_PACKAGE "libgit2-1.5"

/* Every libgit2 function source.c calls, each reached as git2.<name>(...). */
#define GIT2_FUNCTIONS(X)                                                                                              \
	X(git_blob_free)                                                                                               \
	X(git_blob_is_binary)                                                                                          \
	X(git_blob_lookup)                                                                                             \
	X(git_blob_rawcontent)                                                                                         \
	X(git_blob_rawsize)                                                                                            \
	X(git_commit_free)                                                                                             \
	X(git_commit_id)                                                                                               \
	X(git_commit_lookup)                                                                                           \
	X(git_commit_tree)                                                                                             \
	X(git_error_last)                                                                                              \
	X(git_libgit2_init)                                                                                            \
	X(git_libgit2_opts)                                                                                            \
	X(git_libgit2_shutdown)                                                                                        \
	X(git_libgit2_version)                                                                                         \
	X(git_merge_base)                                                                                              \
	X(git_object_free)                                                                                             \
	X(git_object_peel)                                                                                             \
	X(git_oid_tostr)                                                                                               \
	X(git_repository_free)                                                                                         \
	X(git_repository_open_ext)                                                                                     \
	X(git_repository_workdir)                                                                                      \
	X(git_revparse_single)                                                                                         \
	X(git_tree_entry_bypath)                                                                                       \
	X(git_tree_entry_filemode)                                                                                     \
	X(git_tree_entry_free)                                                                                         \
	X(git_tree_entry_id)                                                                                           \
	X(git_tree_entry_type)                                                                                         \
	X(git_tree_free)

static struct {
#define X(f) __typeof__(f) *f;
	GIT2_FUNCTIONS(X)
#undef X
} git2;

static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static int git_init_rc;
static char git_load_error[512]; /* set when libgit2 could not be loaded; for a person */

static void git_shutdown(void)
{
	git2.git_libgit2_shutdown();
}

/* dlopen + dlsym; the handle is never closed (libgit2 keeps global state until exit). */
static int git_load(void)
{
	void *h = dlopen(GIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (!h) {
		snprintf(git_load_error, sizeof(git_load_error), "cannot load libgit2 (%s): %s; install the %s package",
			 GIT2_SONAME, dlerror(), GIT2_PACKAGE);
		return -1;
	}
#define X(f)                                                                                                           \
	if (!missing && !(*(void **)&git2.f = dlsym(h, #f)))                                                           \
		missing = #f;
	GIT2_FUNCTIONS(X)
#undef X
	if (missing) {
		snprintf(git_load_error, sizeof(git_load_error),
			 "cannot load libgit2 (%s): it has no %s: install the %s package", GIT2_SONAME, missing,
			 GIT2_PACKAGE);
		return -1;
	}
	return 0;
}

static void git_init(void)
{
	if ((git_init_rc = git_load()) < 0)
		return;
	git_init_rc = git2.git_libgit2_init();
	if (git_init_rc < 0)
		return;
	git_init_rc = git2.git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	if (atexit(git_shutdown) != 0)
		git_init_rc = -1;
}

static const char *git_msg(void)
{
	const git_error *e = git2.git_error_last();
	return e && e->message ? e->message : "unknown libgit2 error";
}

/* Loads and initialises libgit2 once; every git2.* call comes after it succeeded. */
static int ensure_init(void)
{
	pthread_once(&git_once, git_init);
	if (git_load_error[0])
		return fca_error_set(FCA_ERROR, "%s", git_load_error);
	if (git_init_rc < 0)
		return fca_error_set(FCA_ERROR, "cannot initialise libgit2: %s", git_msg());
	return FCA_OK;
}

void fca_source_init(struct fca_source *s)
{
	memset(s, 0, sizeof(*s));
}

void fca_source_dispose(struct fca_source *s)
{
	if (!s)
		return;
	free(s->data);
	s->data = NULL;
	s->len = 0;
}

/* Never cuts: each caller checked src's length against dst (path, ref), or sized dst for it (a commit id,
 * realpath's PATH_MAX); a repository directory given longer than PATH_MAX only ever names it in a message. */
static void set_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int fca_source_read_file(struct fca_source *out, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	fca_source_dispose(out);
	fca_source_init(out);
	if (strlen(path) >= sizeof(out->path))
		return fca_error_set(FCA_EINVALID, "file name too long (at most %zu bytes)", sizeof(out->path) - 1);
	/* Regular files only (a FIFO is refused without waiting), or "-": standard input, same bound. */
	if ((r = fca_file_read(path, FCA_SOURCE_MAX_BYTES, &buf, &len)) != FCA_OK)
		return r;
	out->data = buf;
	out->len = len;
	set_str(out->path, sizeof(out->path), path);
	set_str(out->label, sizeof(out->label), strcmp(path, "-") ? path : "standard input");
	return FCA_OK;
}

/* "./a/b.yml" -> "a/b.yml"; refuses what cannot be a path inside a tree. */
static int tree_path(char *out, size_t cap, const char *path)
{
	const char *p = path, *seg;

	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	if (!*p)
		return fca_error_set(FCA_EINVALID, "'%s': give -f the file's path inside the repository", path);
	if (*p == '/')
		return fca_error_set(FCA_EINVALID,
				     "'%s' is an absolute path: with --git-repo, -f is the path inside the repository "
				     "(e.g. ca-rotation.yml)",
				     path);
	for (seg = p; *seg;) {
		size_t n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return fca_error_set(
			    FCA_EINVALID, "'%s': a path inside the repository has no empty, '.' or '..' parts", path);
		seg += n;
		if (*seg == '/' && !*++seg)
			return fca_error_set(FCA_EINVALID, "'%s' ends with '/': give the path of the YAML file", path);
	}
	if (strlen(p) >= cap)
		return fca_error_set(FCA_EINVALID, "'%s': path too long (at most %zu bytes)", path, cap - 1);
	memcpy(out, p, strlen(p) + 1);
	return FCA_OK;
}

static int open_repo(git_repository **out, const char *dir)
{
	struct stat st;
	int e;

	if (stat(dir, &st) != 0)
		return fca_error_set(FCA_ENOTFOUND, "git repository %s: %s", dir, strerror(errno));
	e = git2.git_repository_open_ext(out, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (e == GIT_ENOTFOUND)
		return fca_error_set(FCA_ENOTFOUND,
				     "%s is not a git repository: give --git-repo the top directory of a clone "
				     "(the one that holds .git) or a bare repository",
				     dir);
	if (e < 0)
		return fca_error_set(FCA_ERROR, "cannot open the git repository %s: %s", dir, git_msg());
	return FCA_OK;
}

static int resolve_commit(git_commit **out, git_repository *repo, const char *dir, const char *ref)
{
	git_object *obj = NULL;
	int e = git2.git_revparse_single(&obj, repo, ref);

	if (e == GIT_ENOTFOUND)
		return fca_error_set(FCA_ENOTFOUND,
				     "no such ref '%s' in %s: fetch it first (git -C %s fetch), or check its spelling",
				     ref, dir, dir);
	if (e == GIT_EUNBORNBRANCH)
		return fca_error_set(FCA_ENOTFOUND, "'%s' in %s has no commits yet: commit the file first", ref, dir);
	if (e == GIT_EAMBIGUOUS)
		return fca_error_set(FCA_EINVALID,
				     "'%s' is ambiguous in %s: give more digits of the commit id, or the full ref name "
				     "(refs/heads/…, refs/tags/…)",
				     ref, dir);
	if (e == GIT_EINVALIDSPEC)
		return fca_error_set(FCA_EINVALID, "'%s' is not a valid ref or revision (in %s): %s", ref, dir,
				     git_msg());
	if (e < 0)
		return fca_error_set(FCA_ERROR, "cannot resolve '%s' in %s: %s", ref, dir, git_msg());
	e = git2.git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT);
	git2.git_object_free(obj);
	if (e < 0)
		return fca_error_set(FCA_EINVALID, "'%s' in %s does not name a commit: %s", ref, dir, git_msg());
	return FCA_OK;
}

/*
 * The blob at path in the commit's tree, into out->data. With absent_ok, a path that does not
 * exist sets out->absent instead of failing.
 */
static int read_at(struct fca_source *out, git_repository *repo, git_commit *c, const char *dir, const char *ref,
		   const char *path, int absent_ok)
{
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	git_object_size_t size;
	char id[GIT_OID_HEXSZ + 1];
	int r = FCA_ERROR, e;

	git2.git_oid_tostr(id, sizeof(id), git2.git_commit_id(c));
	if (git2.git_commit_tree(&tree, c) < 0) {
		r = fca_error_set(FCA_ERROR, "cannot read the tree of %s ('%s') in %s: %s", id, ref, dir, git_msg());
		goto out;
	}
	e = git2.git_tree_entry_bypath(&entry, tree, path);
	if (e == GIT_ENOTFOUND && absent_ok) {
		out->absent = 1;
		r = FCA_OK;
		goto out;
	}
	if (e == GIT_ENOTFOUND) {
		r = fca_error_set(FCA_ENOTFOUND,
				  "%s not found at %s ('%s') in %s: the path is relative to the repository root; "
				  "is the file committed on that ref?",
				  path, id, ref, dir);
		goto out;
	}
	if (e < 0) {
		r = fca_error_set(FCA_ERROR, "cannot look up %s at %s ('%s') in %s: %s", path, id, ref, dir, git_msg());
		goto out;
	}
	switch (git2.git_tree_entry_type(entry)) {
	case GIT_OBJECT_BLOB:
		break;
	case GIT_OBJECT_TREE:
		r = fca_error_set(FCA_EINVALID, "%s:%s in %s is a directory: give -f the path of the YAML file in it",
				  ref, path, dir);
		goto out;
	case GIT_OBJECT_COMMIT:
		r = fca_error_set(FCA_EINVALID, "%s:%s in %s is a submodule, not a file", ref, path, dir);
		goto out;
	default:
		r = fca_error_set(FCA_EINVALID, "%s:%s in %s is not a file", ref, path, dir);
		goto out;
	}
	if (git2.git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK) {
		r = fca_error_set(FCA_EINVALID,
				  "%s:%s in %s is a symbolic link: give -f the path of the file it points to", ref,
				  path, dir);
		goto out;
	}
	if (git2.git_blob_lookup(&blob, repo, git2.git_tree_entry_id(entry)) < 0) {
		r = fca_error_set(FCA_ERROR, "cannot read %s:%s in %s: %s", ref, path, dir, git_msg());
		goto out;
	}
	size = git2.git_blob_rawsize(blob);
	if (size > FCA_SOURCE_MAX_BYTES) {
		r = fca_error_set(FCA_EINVALID, "%s:%s in %s is too large: %llu bytes, at most %d (1 MiB)", ref, path,
				  dir, (unsigned long long)size, FCA_SOURCE_MAX_BYTES);
		goto out;
	}
	if (git2.git_blob_is_binary(blob)) {
		r = fca_error_set(FCA_EINVALID, "%s:%s in %s is binary, not a YAML file", ref, path, dir);
		goto out;
	}
	if (!(out->data = malloc((size_t)size + 1))) {
		r = fca_error_set(FCA_ENOMEM, "%s:%s: out of memory", ref, path);
		goto out;
	}
	memcpy(out->data, git2.git_blob_rawcontent(blob), (size_t)size);
	out->data[size] = '\0';
	out->len = (size_t)size;
	r = FCA_OK;
out:
	git2.git_blob_free(blob);
	git2.git_tree_entry_free(entry);
	git2.git_tree_free(tree);
	return r;
}

int fca_source_read_git(struct fca_source *out, const char *repo_dir, const char *ref, const char *path)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	char tp[FCA_SOURCE_PATH_MAX];
	int r;

	fca_source_dispose(out);
	fca_source_init(out);
	if (!ref || !*ref)
		ref = "HEAD";
	if (strlen(ref) >= sizeof(out->ref))
		return fca_error_set(FCA_EINVALID, "--git-ref: '%.40s…' is too long (at most %zu bytes)", ref,
				     sizeof(out->ref) - 1);
	if ((r = ensure_init()) != 0) /* before any goto out: the frees below are libgit2's */
		return r;
	if ((r = tree_path(tp, sizeof(tp), path)) != 0 || (r = open_repo(&repo, repo_dir)) != 0 ||
	    (r = resolve_commit(&c, repo, repo_dir, ref)) != 0 ||
	    (r = read_at(out, repo, c, repo_dir, ref, tp, 0)) != 0)
		goto out;
	out->from_git = 1;
	git2.git_oid_tostr(out->commit, sizeof(out->commit), git2.git_commit_id(c));
	set_str(out->ref, sizeof(out->ref), ref);
	set_str(out->path, sizeof(out->path), tp);
	snprintf(out->label, sizeof(out->label), "%s:%s", ref, tp); /* FCA_SOURCE_LABEL_MAX holds both */
out:
	if (r != FCA_OK)
		fca_source_dispose(out);
	git2.git_commit_free(c);
	git2.git_repository_free(repo);
	return r;
}

/* The repository holding a working-tree file, and the file's path inside it. */
static int discover(git_repository **repo, char *rel, size_t cap, char *where, size_t wcap, const char *path)
{
	char *abs = NULL, *dir = NULL, *wd = NULL, *slash;
	const char *workdir;
	size_t wl;
	int r = FCA_ERROR, e;

	if (!(abs = realpath(path, NULL))) {
		r = fca_error_set(errno == ENOENT ? FCA_ENOTFOUND : FCA_ERROR, "%s: cannot open: %s", path,
				  strerror(errno));
		goto out;
	}
	if (!(dir = strdup(abs))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	e = git2.git_repository_open_ext(repo, dir, 0, NULL);
	if (e == GIT_ENOTFOUND) {
		r = fca_error_set(FCA_ENOTFOUND,
				  "%s is not in a git repository: --git-base compares it with a commit; run in a "
				  "clone, or give --git-repo DIR",
				  path);
		goto out;
	}
	if (e < 0) {
		r = fca_error_set(FCA_ERROR, "cannot open the git repository of %s: %s", path, git_msg());
		goto out;
	}
	if (!(workdir = git2.git_repository_workdir(*repo))) {
		r = fca_error_set(FCA_EINVALID, "%s is inside a bare repository: give --git-repo DIR", path);
		goto out;
	}
	if (!(wd = realpath(workdir, NULL))) {
		r = fca_error_set(FCA_ERROR, "%s: %s", workdir, strerror(errno));
		goto out;
	}
	wl = strlen(wd);
	if (strncmp(abs, wd, wl) != 0 || abs[wl] != '/') {
		r = fca_error_set(FCA_EINVALID, "%s is not inside the working tree %s", path, wd);
		goto out;
	}
	set_str(where, wcap, wd);
	r = tree_path(rel, cap, abs + wl + 1);
out:
	free(wd);
	free(dir);
	free(abs);
	return r;
}

int fca_source_read_base(struct fca_source *out, const char *repo_dir, const char *base_ref, const char *head_ref,
			 const char *path)
{
	git_repository *repo = NULL;
	git_commit *base = NULL, *head = NULL, *mb = NULL;
	git_oid oid;
	char tp[FCA_SOURCE_PATH_MAX], where[PATH_MAX], id[GIT_OID_HEXSZ + 1];
	int r, e;

	fca_source_dispose(out);
	fca_source_init(out);
	if (!head_ref || !*head_ref)
		head_ref = "HEAD";
	if (!base_ref || !*base_ref)
		return fca_error_set(FCA_EINVALID, "--git-base: which ref? e.g. origin/main");
	if (strlen(base_ref) >= sizeof(out->ref))
		return fca_error_set(FCA_EINVALID, "--git-base: '%.40s…' is too long (at most %zu bytes)", base_ref,
				     sizeof(out->ref) - 1);
	if ((r = ensure_init()) != 0)
		return r;
	if (repo_dir) {
		set_str(where, sizeof(where), repo_dir);
		if ((r = tree_path(tp, sizeof(tp), path)) != 0 || (r = open_repo(&repo, repo_dir)) != 0)
			goto out;
	} else if ((r = discover(&repo, tp, sizeof(tp), where, sizeof(where), path)) != 0) {
		goto out;
	}
	if ((r = resolve_commit(&base, repo, where, base_ref)) != 0 ||
	    (r = resolve_commit(&head, repo, where, head_ref)) != 0)
		goto out;
	e = git2.git_merge_base(&oid, repo, git2.git_commit_id(base), git2.git_commit_id(head));
	if (e == GIT_ENOTFOUND) {
		r = fca_error_set(FCA_ENOTFOUND,
				  "'%s' and '%s' have no common ancestor in %s: is the clone shallow? fetch the full "
				  "history (git fetch --unshallow; actions/checkout: fetch-depth: 0)",
				  base_ref, head_ref, where);
		goto out;
	}
	if (e < 0 || git2.git_commit_lookup(&mb, repo, &oid) < 0) {
		r = fca_error_set(FCA_ERROR, "cannot find the merge base of '%s' and '%s' in %s: %s", base_ref,
				  head_ref, where, git_msg());
		goto out;
	}
	git2.git_oid_tostr(id, sizeof(id), &oid);
	if ((r = read_at(out, repo, mb, where, id, tp, 1)) != 0)
		goto out;
	out->from_git = 1;
	set_str(out->commit, sizeof(out->commit), id);
	set_str(out->ref, sizeof(out->ref), base_ref);
	set_str(out->path, sizeof(out->path), tp);
	snprintf(out->label, sizeof(out->label), "%.12s:%s", id, tp); /* FCA_SOURCE_LABEL_MAX holds both */
out:
	if (r != FCA_OK)
		fca_source_dispose(out);
	git2.git_commit_free(mb);
	git2.git_commit_free(head);
	git2.git_commit_free(base);
	git2.git_repository_free(repo);
	return r;
}

const char *fca_source_library_version(void)
{
	static char v[64]; /* three ints, or the soname: never cut */
	int major = 0, minor = 0, rev = 0;

	/* --version loads it: the version printed is the one a git source would use */
	pthread_once(&git_once, git_init);
	if (git_load_error[0]) {
		snprintf(v, sizeof(v), "not loadable (%s)", GIT2_SONAME);
		return v;
	}
	if (git2.git_libgit2_version(&major, &minor, &rev) != 0)
		return "unknown";
	snprintf(v, sizeof(v), "%d.%d.%d", major, minor, rev);
	return v;
}
