/*
 * A string builder with a hard cap, for SQL, messages and formatted output. The first failure
 * (out of memory, or a write past the cap) sticks: later appends do nothing, and the caller checks
 * once, at the end, with fca_buf_error(). Nothing is ever silently cut short.
 *
 * Two kinds of storage:
 *   heap:  fca_buf_init(&b, max) grows as needed up to max bytes (fca_buf_dispose frees it);
 *   fixed: fca_buf_init_fixed(&b, arr, sizeof(arr)) writes into the caller's array, never
 *          allocates, and fails when the text would not fit (the array then holds "").
 */
#ifndef FLEETCA_BUF_H
#define FLEETCA_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "fleetca/error.h"

struct fca_buf {
	char *ptr;    /* NUL-terminated text; NULL for a heap buffer not yet written */
	size_t len;   /* bytes of text, without the NUL */
	size_t asize; /* bytes allocated (or the fixed array's size) */
	size_t max;   /* the cap on len */
	int fixed;    /* ptr is the caller's array */
	int err;      /* FCA_OK, or the first failure: FCA_ENOMEM or FCA_EINVALID (past the cap) */
};

void fca_buf_init(struct fca_buf *b, size_t max);
void fca_buf_init_fixed(struct fca_buf *b, char *arr, size_t size);

int fca_buf_put(struct fca_buf *b, const void *data, size_t n);
int fca_buf_puts(struct fca_buf *b, const char *s);
int fca_buf_printf(struct fca_buf *b, const char *fmt, ...) FCA_PRINTF(2, 3);
int fca_buf_vprintf(struct fca_buf *b, const char *fmt, va_list ap) FCA_PRINTF(2, 0);
/* Appends sep first when the buffer already holds text: lists such as "a; b; c". */
int fca_buf_join(struct fca_buf *b, const char *sep, const char *fmt, ...) FCA_PRINTF(3, 4);

/* Copies src into the array dst[size]: FCA_OK, or FCA_EINVALID (and dst = "") when it does not fit. */
int fca_buf_copy(char *dst, size_t size, const char *src) FCA_MUST_USE;

/*
 * A list of reasons for a person ("a; b; c") in a fixed array: appends sep (when dst holds text)
 * and the formatted text, cut at the array's end with "..." marking the cut. The one place where
 * text is cut rather than refused: a reason's start says what it is.
 */
void fca_text_vappend(char *dst, size_t size, const char *sep, const char *fmt, va_list ap) FCA_PRINTF(4, 0);
void fca_text_append(char *dst, size_t size, const char *sep, const char *fmt, ...) FCA_PRINTF(4, 5);

/* The text: "" when empty or failed (never NULL). */
const char *fca_buf_cstr(const struct fca_buf *b);
/* FCA_OK, or the first failure, recorded as the error "<what>: ..." (what names the text being built). */
int fca_buf_error(const struct fca_buf *b, const char *what) FCA_MUST_USE;
/* Empties the text and clears a failure; keeps the storage. */
void fca_buf_clear(struct fca_buf *b);
/* Frees a heap buffer (the text is wiped first) and leaves it empty. */
void fca_buf_dispose(struct fca_buf *b);

#endif
