#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleetca/secret.h"

void fca_secret_wipe(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

/*
 * Small secrets share one locked, non-dumpable mapping of POOL_PAGES pages (a page each, or a few
 * contiguous ones): the handful a run holds cost three system calls, not five each. A secret that
 * does not fit gets a mapping of its own. Released pages are wiped at once and kept for the next
 * secret; the pool lives as long as the process. Secrets are made and released on one thread.
 */
#define POOL_PAGES 4
static struct {
	unsigned char *base;
	unsigned used; /* bit i: page i is taken */
	int failed;
} pool;

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static void *map_locked(size_t sz)
{
	void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, sz, MADV_DONTDUMP);
	(void)mlock(p, sz); /* best effort: RLIMIT_MEMLOCK may be small */
	return p;
}

static void *pool_take(size_t pages)
{
	if (pages > POOL_PAGES || pool.failed)
		return NULL;
	if (!pool.base && !(pool.base = map_locked(POOL_PAGES * page_size()))) {
		pool.failed = 1;
		return NULL;
	}
	for (size_t i = 0; i + pages <= POOL_PAGES; i++) {
		unsigned want = ((1u << pages) - 1) << i;
		if (!(pool.used & want)) {
			pool.used |= want;
			return pool.base + i * page_size();
		}
	}
	return NULL;
}

/* 1 when p was the pool's (its pages are free again), 0 when it has a mapping of its own. */
static int pool_give(unsigned char *p, size_t pages)
{
	size_t i;

	if (!pool.base || p < pool.base || p >= pool.base + POOL_PAGES * page_size())
		return 0;
	i = (size_t)(p - pool.base) / page_size();
	pool.used &= ~(((1u << pages) - 1) << i);
	return 1;
}

int fca_secret_alloc(struct fca_secret *s, size_t cap)
{
	size_t page = page_size(), sz;
	void *p;

	s->data = NULL;
	s->len = s->cap = 0;
	if (cap > FCA_SECRET_MAX)
		return fca_error_set(FCA_EINVALID, "secret larger than %d bytes", FCA_SECRET_MAX);
	sz = (cap + 1 + page - 1) / page * page;
	if (!(p = pool_take(sz / page)) && !(p = map_locked(sz)))
		return fca_error_set(FCA_ENOMEM, "out of memory for a secret buffer");
	s->data = p;
	s->cap = sz - 1;
	s->data[0] = '\0';
	return FCA_OK;
}

int fca_secret_set(struct fca_secret *s, const void *p, size_t n)
{
	int r;

	if ((r = fca_secret_alloc(s, n)) != 0)
		return r;
	memcpy(s->data, p, n);
	s->data[n] = '\0';
	s->len = n;
	return FCA_OK;
}

void fca_secret_dispose(struct fca_secret *s)
{
	size_t sz;

	if (!s || !s->data)
		return;
	sz = s->cap + 1;
	explicit_bzero(s->data, sz); /* pool pages too: the next secret finds them zeroed */
	if (!pool_give(s->data, sz / page_size())) {
		(void)munlock(s->data, sz);
		(void)munmap(s->data, sz);
	}
	s->data = NULL;
	s->len = s->cap = 0;
}

int fca_secret_read_file(struct fca_secret *s, const char *path, const char *what)
{
	int fd = -1, r = FCA_ERROR;
	struct stat st;
	ssize_t got;
	size_t off = 0;

	s->data = NULL;
	/* O_NONBLOCK: a FIFO in the path is refused at once by the check below, not waited on. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0) {
		/* FCA_ERROR, never FCA_ENOTFOUND: a named file that is missing is not "no secret set"
		 * (which a caller may take as an empty password). */
		r = fca_error_set(FCA_ERROR, "cannot open %s file %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = fca_error_set(FCA_EINVALID, "%s file %s is not a regular file", what, path);
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		r = fca_error_set(FCA_ERROR, "cannot read %s file %s: %s", what, path, strerror(errno));
		goto out;
	}
	if ((r = fca_secret_alloc(s, (size_t)st.st_size)) != 0)
		goto out;
	while (off < (size_t)st.st_size) {
		got = read(fd, s->data + off, (size_t)st.st_size - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = fca_error_set(FCA_ERROR, "cannot read %s file %s: %s", what, path,
					  got < 0 ? strerror(errno) : "it became shorter while being read");
			goto out;
		}
		off += (size_t)got;
	}
	while (off > 0 && (s->data[off - 1] == '\n' || s->data[off - 1] == '\r'))
		off--;
	s->data[off] = '\0';
	s->len = off;
	r = FCA_OK;
out:
	if (fd >= 0)
		close(fd);
	if (r != FCA_OK)
		fca_secret_dispose(s);
	return r;
}

int fca_secret_from_value(struct fca_secret *s, const char *value, const char *path, const char *env_name,
			  const char *path_env_name, const char *what)
{
	s->data = NULL;
	s->len = s->cap = 0;
	if (value && *value && path && *path)
		return fca_error_set(FCA_EINVALID, "both %s and %s are set: set one of them (%s)", env_name,
				     path_env_name, what);
	if (value && *value)
		return fca_secret_set(s, value, strlen(value));
	if (path && *path)
		return fca_secret_read_file(s, path, what);
	return fca_error_set(FCA_ENOTFOUND, "%s is not set: set %s%s%s", what, env_name ? env_name : "",
			     path_env_name ? " or " : "", path_env_name ? path_env_name : "");
}

void fca_secret_harden_process(void)
{
	struct rlimit rl = {0, 0};

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
}
