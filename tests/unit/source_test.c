/*
 * src/io/source.c: the desired-state file from a working tree or from git history. Each run builds
 * real repositories with the git CLI in a fresh temporary directory: branches, a file changed on a
 * branch, a remote-tracking ref, a tag, a missing path, a directory, a binary and an oversized
 * file, a file that exists only on a branch (absent at the merge base), and, as root, a repository
 * owned by another uid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fleetca/source.h"

#define BASE_YML "version: 1\ncas:\n  apple_scep: {generation: 1}\n"
#define MAIN_YML "version: 1\ncas:\n  apple_scep: {generation: 1}\n  host_identity: {generation: 1}\n"
#define PR_YML	 "version: 1\ncas:\n  apple_scep: {generation: 2, stage: staged}\n"

static char tmp[256], repo[320], bare[320], other[320];
static char c_base[41], c_main[41], c_pr[41], c_new[41];

static void sh(const char *fmt, ...) FCA_PRINTF(1, 2);
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* `git -C repo rev-parse spec` */
static void rev(char out[41], const char *dir, const char *spec)
{
	char cmd[1024];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse '%s'", dir, spec);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(out, 41, p));
	assert_int_equal(pclose(p), 0);
	assert_int_equal(strlen(out), 40);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/*
 *  base ── main (host_identity added)          tag v1 = base; refs/remotes/origin/main = main
 *     └─── pr (apple_scep gen 2), newfile (adds only-on-branch.yml)
 */
static int setup(void **state)
{
	const char *t = getenv("TMPDIR");

	setenv("GIT_AUTHOR_NAME", "fleetca test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "fleetca test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.com", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	snprintf(tmp, sizeof(tmp), "%s/fca-source-XXXXXX", t && *t ? t : P_tmpdir);
	assert_non_null(mkdtemp(tmp));
	snprintf(repo, sizeof(repo), "%s/repo", tmp);
	snprintf(bare, sizeof(bare), "%s/bare.git", tmp);
	snprintf(other, sizeof(other), "%s/other", tmp);
	sh("git init -q -b main '%s'", repo);
	write_file(repo, "ca-rotation.yml", BASE_YML);
	sh("mkdir -p '%s/conf/dir' && printf 'x\\n' > '%s/conf/dir/keep'", repo, repo);
	sh("head -c 100 /dev/zero > '%s/blob.bin'", repo);
	sh("head -c 1048577 /dev/zero | tr '\\0' 'a' > '%s/big.yml'", repo);
	sh("ln -s ca-rotation.yml '%s/link.yml'", repo);
	sh("cd '%s' && git add -A && git commit -qm base && git tag v1", repo);
	rev(c_base, repo, "HEAD");
	write_file(repo, "ca-rotation.yml", MAIN_YML);
	sh("cd '%s' && git commit -qam main && git update-ref refs/remotes/origin/main HEAD", repo);
	rev(c_main, repo, "HEAD");
	sh("cd '%s' && git checkout -q -b pr v1", repo);
	write_file(repo, "ca-rotation.yml", PR_YML);
	sh("cd '%s' && git commit -qam pr", repo);
	rev(c_pr, repo, "HEAD");
	sh("cd '%s' && git checkout -q -b newfile pr", repo);
	write_file(repo, "only-on-branch.yml", PR_YML);
	sh("cd '%s' && git add only-on-branch.yml && git commit -qm new && git checkout -q pr", repo);
	rev(c_new, repo, "newfile");
	sh("git clone -q --bare '%s' '%s'", repo, bare);
	*state = NULL;
	return 0;
}

static int teardown(void **unused)
{
	sh("rm -rf '%s'", tmp);
	return 0;
}

static void expect_error(int r, int code, const char *w1, const char *w2, const char *w3)
{
	const char *m = fca_error_message();

	assert_int_equal(r, code);
	if (w1 && !strstr(m, w1))
		fail_msg("'%s' not in: %s", w1, m);
	if (w2 && !strstr(m, w2))
		fail_msg("'%s' not in: %s", w2, m);
	if (w3 && !strstr(m, w3))
		fail_msg("'%s' not in: %s", w3, m);
}

static void test_refs(void **unused)
{
	static const struct {
		const char *ref, *text;
		const char *commit;
	} cases[] = {
	    {"main", MAIN_YML, c_main}, {"pr", PR_YML, c_pr},	      {"origin/main", MAIN_YML, c_main},
	    {"v1", BASE_YML, c_base},	{"main~1", BASE_YML, c_base}, {"HEAD", PR_YML, c_pr},
	    {NULL, PR_YML, c_pr},	{"", PR_YML, c_pr},	      {"refs/heads/main", MAIN_YML, c_main},
	};
	struct fca_source s;

	fca_source_init(&s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(fca_source_read_git(&s, repo, cases[i].ref, "ca-rotation.yml"), FCA_OK);
		assert_int_equal(s.len, strlen(cases[i].text));
		assert_memory_equal(s.data, cases[i].text, s.len);
		assert_int_equal(s.data[s.len], '\0');
		assert_string_equal(s.commit, cases[i].commit);
		assert_true(s.from_git);
		assert_false(s.absent);
		assert_string_equal(s.ref, cases[i].ref && *cases[i].ref ? cases[i].ref : "HEAD");
		assert_string_equal(s.path, "ca-rotation.yml");
	}
	assert_string_equal(s.label, "refs/heads/main:ca-rotation.yml");
	fca_source_dispose(&s);
	assert_null(s.data);
	fca_source_dispose(NULL);
}

static void test_commit_ids_and_paths(void **unused)
{
	struct fca_source s;
	char short_id[13];

	fca_source_init(&s);
	/* a full and an abbreviated commit id */
	assert_int_equal(fca_source_read_git(&s, repo, c_base, "ca-rotation.yml"), FCA_OK);
	assert_string_equal(s.commit, c_base);
	assert_memory_equal(s.data, BASE_YML, s.len);
	snprintf(short_id, sizeof(short_id), "%.12s", c_main);
	assert_int_equal(fca_source_read_git(&s, repo, short_id, "./ca-rotation.yml"), FCA_OK);
	assert_string_equal(s.commit, c_main);
	assert_string_equal(s.path, "ca-rotation.yml");
	assert_string_equal(s.ref, short_id);
	/* a file in a subdirectory; a bare repository */
	assert_int_equal(fca_source_read_git(&s, repo, "main", "conf/dir/keep"), FCA_OK);
	assert_int_equal(s.len, 2);
	assert_int_equal(fca_source_read_git(&s, bare, "main", "ca-rotation.yml"), FCA_OK);
	assert_string_equal(s.commit, c_main);
	assert_memory_equal(s.data, MAIN_YML, s.len);
	fca_source_dispose(&s);
}

static void test_errors(void **unused)
{
	struct fca_source s;
	char dir[400];

	fca_source_init(&s);
	expect_error(fca_source_read_git(&s, repo, "nope", "ca-rotation.yml"), FCA_ENOTFOUND, "no such ref 'nope'",
		     repo, "fetch it first");
	assert_null(s.data);
	expect_error(fca_source_read_git(&s, repo, "origin/feature", "ca-rotation.yml"), FCA_ENOTFOUND,
		     "no such ref 'origin/feature'", "fetch", NULL);
	expect_error(fca_source_read_git(&s, repo, "0123456789abcdef0123456789abcdef01234567", "ca-rotation.yml"),
		     FCA_ENOTFOUND, "no such ref", NULL, NULL);
	expect_error(fca_source_read_git(&s, repo, "main..pr", "ca-rotation.yml"), FCA_EINVALID, "main..pr", NULL,
		     NULL);
	expect_error(fca_source_read_git(&s, repo, "main", "missing.yml"), FCA_ENOTFOUND, "missing.yml not found at",
		     c_main, "('main')");
	expect_error(fca_source_read_git(&s, repo, "newfile", "only-on-branch.yml"), FCA_OK, NULL, NULL, NULL);
	expect_error(fca_source_read_git(&s, repo, "main", "only-on-branch.yml"), FCA_ENOTFOUND, "not found", NULL,
		     NULL);
	assert_null(s.data);
	expect_error(fca_source_read_git(&s, repo, "main", "conf"), FCA_EINVALID, "main:conf", "is a directory", NULL);
	expect_error(fca_source_read_git(&s, repo, "main", "conf/dir/"), FCA_EINVALID, "ends with '/'", NULL, NULL);
	expect_error(fca_source_read_git(&s, repo, "main", "blob.bin"), FCA_EINVALID, "binary", NULL, NULL);
	expect_error(fca_source_read_git(&s, repo, "main", "big.yml"), FCA_EINVALID, "too large", "1048577 bytes",
		     "1 MiB");
	expect_error(fca_source_read_git(&s, repo, "main", "link.yml"), FCA_EINVALID, "symbolic link", NULL, NULL);
	expect_error(fca_source_read_git(&s, repo, "main", "/abs/ca-rotation.yml"), FCA_EINVALID, "absolute path", NULL,
		     NULL);
	expect_error(fca_source_read_git(&s, repo, "main", "conf/../ca-rotation.yml"), FCA_EINVALID, "'..'", NULL,
		     NULL);
	expect_error(fca_source_read_git(&s, repo, "main", ""), FCA_EINVALID, "path inside the repository", NULL, NULL);
	expect_error(fca_source_read_git(&s, tmp, "main", "ca-rotation.yml"), FCA_ENOTFOUND, "not a git repository",
		     tmp, NULL);
	snprintf(dir, sizeof(dir), "%s/no-such-dir", tmp);
	expect_error(fca_source_read_git(&s, dir, "main", "ca-rotation.yml"), FCA_ENOTFOUND, dir, NULL, NULL);
	/* a subdirectory of a clone is not the repository (no upward search) */
	snprintf(dir, sizeof(dir), "%s/conf", repo);
	expect_error(fca_source_read_git(&s, dir, "main", "dir/keep"), FCA_ENOTFOUND, "not a git repository", NULL,
		     NULL);
	fca_source_dispose(&s);
}

static void test_merge_base(void **unused)
{
	struct fca_source s;
	char wt[400];

	fca_source_init(&s);
	/* pr branched from v1; main moved on: the base is v1's commit, not main's tip */
	assert_int_equal(fca_source_read_base(&s, repo, "main", "pr", "ca-rotation.yml"), FCA_OK);
	assert_false(s.absent);
	assert_string_equal(s.commit, c_base);
	assert_string_equal(s.ref, "main");
	assert_memory_equal(s.data, BASE_YML, s.len);
	assert_int_equal(s.len, strlen(BASE_YML));
	/* origin/main against HEAD (pr is checked out) */
	assert_int_equal(fca_source_read_base(&s, repo, "origin/main", NULL, "ca-rotation.yml"), FCA_OK);
	assert_string_equal(s.commit, c_base);
	/* a working-tree file: the repository is found from the file, the path made relative */
	snprintf(wt, sizeof(wt), "%s/conf/../ca-rotation.yml", repo);
	assert_int_equal(fca_source_read_base(&s, NULL, "origin/main", NULL, wt), FCA_OK);
	assert_string_equal(s.path, "ca-rotation.yml");
	assert_string_equal(s.commit, c_base);
	assert_memory_equal(s.data, BASE_YML, s.len);
	/* the file is new on the branch: absent at the base, not an error */
	assert_int_equal(fca_source_read_base(&s, repo, "main", "newfile", "only-on-branch.yml"), FCA_OK);
	assert_true(s.absent);
	assert_null(s.data);
	assert_string_equal(s.commit, c_base);
	/* errors */
	expect_error(fca_source_read_base(&s, repo, "origin/nope", NULL, "ca-rotation.yml"), FCA_ENOTFOUND,
		     "no such ref 'origin/nope'", "fetch it first", NULL);
	expect_error(fca_source_read_base(&s, repo, "main", NULL, "conf"), FCA_EINVALID, "is a directory", NULL, NULL);
	snprintf(wt, sizeof(wt), "%s/x.yml", tmp);
	write_file(tmp, "x.yml", BASE_YML);
	expect_error(fca_source_read_base(&s, NULL, "main", NULL, wt), FCA_ENOTFOUND, "not in a git repository", NULL,
		     NULL);
	fca_source_dispose(&s);
}

static void test_unrelated_histories(void **unused)
{
	struct fca_source s;

	sh("cd '%s' && git checkout -q --orphan lonely && git commit -qm lonely && git checkout -q pr", repo);
	fca_source_init(&s);
	expect_error(fca_source_read_base(&s, repo, "lonely", "main", "ca-rotation.yml"), FCA_ENOTFOUND,
		     "no common ancestor", "shallow", NULL);
	fca_source_dispose(&s);
}

static void test_working_tree_file(void **unused)
{
	struct fca_source s;
	char path[400];

	fca_source_init(&s);
	snprintf(path, sizeof(path), "%s/ca-rotation.yml", repo);
	assert_int_equal(fca_source_read_file(&s, path), FCA_OK);
	assert_false(s.from_git);
	assert_string_equal(s.commit, "");
	assert_string_equal(s.label, path);
	assert_memory_equal(s.data, PR_YML, s.len);
	snprintf(path, sizeof(path), "%s/big.yml", repo);
	sh("cd '%s' && git checkout -q main -- big.yml", repo);
	expect_error(fca_source_read_file(&s, path), FCA_EINVALID, "too large", NULL, NULL);
	snprintf(path, sizeof(path), "%s/none.yml", repo);
	expect_error(fca_source_read_file(&s, path), FCA_ENOTFOUND, "cannot open", NULL, NULL);
	expect_error(fca_source_read_file(&s, repo), FCA_EINVALID, "not a regular file", NULL, NULL);
	fca_source_dispose(&s);
}

/* libgit2 1.5.1 refuses a repository owned by another uid unless fleetca turns the check off. */
static void test_other_owner(void **unused)
{
	struct fca_source s;

	if (geteuid() != 0) {
		print_message("skipped: only root can give a repository to another uid\n");
		skip();
	}
	sh("cp -a '%s' '%s' && chown -R 4242:4242 '%s'", repo, other, other);
	fca_source_init(&s);
	assert_int_equal(fca_source_read_git(&s, other, "main", "ca-rotation.yml"), FCA_OK);
	assert_string_equal(s.commit, c_main);
	assert_int_equal(fca_source_read_base(&s, other, "main", "pr", "ca-rotation.yml"), FCA_OK);
	assert_string_equal(s.commit, c_base);
	fca_source_dispose(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refs),
	    cmocka_unit_test(test_commit_ids_and_paths),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_merge_base),
	    cmocka_unit_test(test_unrelated_histories),
	    cmocka_unit_test(test_working_tree_file),
	    cmocka_unit_test(test_other_owner),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
