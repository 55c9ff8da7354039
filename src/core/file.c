/* Reading inputs and replacing outputs safely (fleetca/file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleetca/buf.h"
#include "fleetca/encoding.h"
#include "fleetca/file.h"

/* Reads at most max + 1 bytes (one byte past the limit shows an oversized input, whatever fstat
 * said) into a buffer sized from hint (the file's size, 0 when unknown) and grown as it fills: a
 * 200-byte file costs a 200-byte buffer, not the limit's. */
static int read_fd(int fd, const char *path, size_t max, size_t hint, char **data, size_t *len)
{
	size_t cap = (hint < 4096 ? 4096 : hint) + 2, n = 0;
	char *buf;

	if (cap > max + 2)
		cap = max + 2;
	if (!(buf = malloc(cap)))
		return fca_error_set(FCA_ENOMEM, "%s: out of memory", path);
	while (n < max + 1) {
		ssize_t got;
		if (n == cap - 1) { /* full but for the terminator */
			size_t ncap = cap > (max + 2) / 2 ? max + 2 : cap * 2;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				return fca_error_set(FCA_ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap = ncap;
		}
		got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(buf);
			return fca_error_set(FCA_ERROR, "%s: cannot read: %s", path, strerror(e));
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > max) {
		free(buf);
		if (max % (1024 * 1024) == 0)
			return fca_error_set(FCA_EINVALID, "%s: file too large: more than %zu bytes (%zu MiB)", path,
					     max, max / (1024 * 1024));
		return fca_error_set(FCA_EINVALID, "%s: file too large: more than %zu bytes", path, max);
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return FCA_OK;
}

int fca_file_read(const char *path, size_t max, char **data, size_t *len)
{
	struct stat st;
	int fd, r, flags;

	static int stdin_read;

	*data = NULL;
	*len = 0;
	if (!strcmp(path, "-")) {
		/* Once per process: a second "-" (say -f - with --plan -) would silently read nothing. */
		if (stdin_read++)
			return fca_error_set(FCA_EINVALID, "standard input was already read: name a file");
		return read_fd(STDIN_FILENO, "standard input", max, 0, data, len);
	}
	/* O_NONBLOCK: opening a FIFO with no writer must not wait; fstat refuses it below. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
		return fca_error_set(errno == ENOENT ? FCA_ENOTFOUND : FCA_ERROR, "%s: cannot open: %s", path,
				     strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fca_error_set(FCA_EINVALID, "%s: not a regular file", path);
	}
	if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		r = fca_error_set(FCA_ERROR, "%s: cannot read: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	r = read_fd(fd, path, max, st.st_size > 0 ? (size_t)st.st_size : 0, data, len);
	close(fd);
	return r;
}

static const char *kind(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/* Opens a new file named after path in path's directory: "<dir>/.<base>.<16 hex>". */
static int create_temp(const char *path, char *tmp, size_t cap, const char *what)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0;
	const char *base = slash ? slash + 1 : path;

	for (int attempt = 0; attempt < 16; attempt++) {
		unsigned char rnd[8];
		char hex[17];
		struct fca_buf b;
		int fd;

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return fca_error_set(FCA_ERROR, "%s %s: no random bytes for a temp name: %s", what, path,
					     strerror(errno));
		fca_hex_encode(hex, rnd, sizeof(rnd), 0);
		fca_buf_init_fixed(&b, tmp, cap);
		if (fca_buf_printf(&b, "%.*s.%s.%s.tmp", dirlen, path, base, hex) != FCA_OK)
			return fca_error_set(FCA_EINVALID, "%s %s: path too long", what, path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return fca_error_set(FCA_ERROR, "%s: cannot create a file beside %s: %s", what, path,
					     strerror(errno));
	}
	return fca_error_set(FCA_ERROR, "%s: cannot create a file beside %s: every name taken", what, path);
}

/* Best effort: the rename survives a crash once the directory is on disk. */
static void sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct fca_buf b;
	int fd;

	fca_buf_init_fixed(&b, dir, sizeof(dir));
	if (!slash)
		fca_buf_puts(&b, ".");
	else
		fca_buf_put(&b, path, slash == path ? 1 : (size_t)(slash - path));
	if (b.err) /* longer than PATH_MAX: nothing to sync */
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int fca_file_check_target(const char *path, const char *what)
{
	struct stat st;

	if (!*path)
		return fca_error_set(FCA_EINVALID, "%s: empty file name", what);
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return fca_error_set(FCA_EINVALID,
					     "%s %s is %s: refusing to replace it (name a regular file or a new path)",
					     what, path, kind(st.st_mode));
	} else if (errno != ENOENT) {
		return fca_error_set(FCA_ERROR, "%s %s: %s", what, path, strerror(errno));
	}
	return FCA_OK;
}

int fca_file_replace(const char *path, const void *data, size_t len, unsigned mode, const char *what)
{
	char tmp[4096];
	struct stat st;
	const char *p = data;
	size_t off = 0;
	int fd, r = FCA_ERROR;

	if ((r = fca_file_check_target(path, what)) != FCA_OK)
		return r;
	if ((fd = create_temp(path, tmp, sizeof(tmp), what)) < 0)
		return fd;
	/* Exactly this mode, whatever the umask. */
	if (fchmod(fd, (mode_t)mode) != 0) {
		r = fca_error_set(FCA_ERROR, "%s: cannot set the mode of a file beside %s: %s", what, path,
				  strerror(errno));
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = fca_error_set(FCA_ERROR, "%s: cannot write %s: %s", what, path,
					  n < 0 ? strerror(errno) : "no progress");
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		r = fca_error_set(FCA_ERROR, "%s: cannot write %s: %s", what, path, strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		r = fca_error_set(FCA_ERROR, "%s: cannot write %s: %s", what, path, strerror(errno));
		goto fail;
	}
	fd = -1;
	/* Checked again just before the rename: something may have put a symlink there meanwhile. */
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		r = fca_error_set(FCA_EINVALID,
				  "%s %s is %s: refusing to replace it (name a regular file or a new path)", what, path,
				  kind(st.st_mode));
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		r = fca_error_set(FCA_ERROR, "%s: cannot write %s: %s", what, path, strerror(errno));
		goto fail;
	}
	sync_dir(path);
	return FCA_OK;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}
