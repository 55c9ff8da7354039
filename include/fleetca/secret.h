/* Secret buffers: locked in memory, excluded from core dumps, zeroed on release. */
#ifndef FLEETCA_SECRET_H
#define FLEETCA_SECRET_H

#include <stddef.h>

#include "fleetca/error.h"

struct fca_secret {
	unsigned char *data; /* always NUL-terminated within cap, so PEM can be used as text */
	size_t len;
	size_t cap;
};

#define FCA_SECRET_INIT                                                                                                \
	{                                                                                                              \
		NULL, 0, 0                                                                                             \
	}
#define FCA_SECRET_MAX (1024 * 1024)

/* Allocates cap bytes (+1 for a terminator) of locked, non-dumpable memory. */
int fca_secret_alloc(struct fca_secret *s, size_t cap) FCA_MUST_USE;
/* Copies n bytes into a fresh secret. */
int fca_secret_set(struct fca_secret *s, const void *p, size_t n) FCA_MUST_USE;
/*
 * A secret given either as a value (the environment variable env_name held it) or as a file named
 * by path (the variable path_env_name held it); the names and what are for messages. Trailing
 * newlines of a file are removed. FCA_ENOTFOUND only when neither is set; FCA_EINVALID when both
 * are; a named file that cannot be read (missing, unreadable, not a regular file: a FIFO is
 * refused without waiting) is an error naming the path and the OS error. Reads no environment:
 * the command line does (src/cli/config.c).
 */
int fca_secret_from_value(struct fca_secret *s, const char *value, const char *path, const char *env_name,
			  const char *path_env_name, const char *what) FCA_MUST_USE;
int fca_secret_read_file(struct fca_secret *s, const char *path, const char *what) FCA_MUST_USE;
void fca_secret_dispose(struct fca_secret *s);

/* Makes the process non-dumpable and sets RLIMIT_CORE to 0. */
void fca_secret_harden_process(void);
/* Zeroes memory in a way the compiler keeps. */
void fca_secret_wipe(void *p, size_t n);

#endif
