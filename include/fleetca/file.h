/* Files fleetca reads and writes in someone else's directories: regular files only, never a wait
 * on a FIFO, never a symlink or device node replaced, never half a file seen by a reader. */
#ifndef FLEETCA_FILE_H
#define FLEETCA_FILE_H

#include <stddef.h>

#include "fleetca/error.h"

/*
 * Reads at most max bytes of path into a fresh NUL-terminated buffer (free() it). "-" reads
 * standard input, bounded the same way. Anything else must be a regular file, checked before any
 * blocking read (O_NONBLOCK + fstat), so a FIFO or a device is refused at once. Errors name path:
 * FCA_ENOTFOUND when it does not exist, FCA_EINVALID for "not a regular file" and "file too large".
 */
int fca_file_read(const char *path, size_t max, char **data, size_t *len) FCA_MUST_USE;

/*
 * Replaces path with data, atomically: a temp file with a random name is created (O_EXCL) in
 * path's directory with exactly the given mode (umask does not apply), written, fsync'ed and
 * renamed onto path. path must be a regular file or not exist: a symlink, a directory, a device or
 * a FIFO is refused and left unchanged. what names the file in errors ("--out").
 */
int fca_file_replace(const char *path, const void *data, size_t len, unsigned mode, const char *what) FCA_MUST_USE;
/* The check fca_file_replace makes first: path is a regular file or does not exist. */
int fca_file_check_target(const char *path, const char *what) FCA_MUST_USE;

#endif
