/* The capped, failure-sticky string builder (include/fleetca/buf.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/buf.h"
#include "fleetca/secret.h"

void fca_buf_init(struct fca_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void fca_buf_init_fixed(struct fca_buf *b, char *arr, size_t size)
{
	memset(b, 0, sizeof(*b));
	b->ptr = arr;
	b->asize = size;
	b->max = size ? size - 1 : 0;
	b->fixed = 1;
	if (size)
		arr[0] = '\0';
	else
		b->err = FCA_EINVALID;
}

static int fail(struct fca_buf *b, int err)
{
	if (!b->err)
		b->err = err;
	if (b->ptr && b->asize) {
		b->ptr[0] = '\0';
		b->len = 0;
	}
	return b->err;
}

/* Room for n more bytes and the NUL. */
static int reserve(struct fca_buf *b, size_t n)
{
	size_t want, size;
	char *p;

	if (b->err)
		return b->err;
	if (n > b->max - b->len)
		return fail(b, FCA_EINVALID);
	want = b->len + n + 1;
	if (want <= b->asize)
		return FCA_OK;
	if (b->fixed)
		return fail(b, FCA_EINVALID);
	size = b->asize ? b->asize : 64;
	while (size < want)
		size = size > ((size_t)-1) / 2 ? want : size * 2;
	if (size > b->max + 1)
		size = b->max + 1;
	if (!(p = malloc(size)))
		return fail(b, FCA_ENOMEM);
	if (b->ptr) {
		memcpy(p, b->ptr, b->len + 1);
		fca_secret_wipe(b->ptr, b->asize);
		free(b->ptr);
	}
	b->ptr = p;
	b->asize = size;
	return FCA_OK;
}

int fca_buf_put(struct fca_buf *b, const void *data, size_t n)
{
	if (reserve(b, n) != FCA_OK)
		return b->err;
	memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return FCA_OK;
}

int fca_buf_puts(struct fca_buf *b, const char *s)
{
	return fca_buf_put(b, s, strlen(s));
}

int fca_buf_vprintf(struct fca_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	if (b->err)
		return b->err;
	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0)
		return fail(b, FCA_EINVALID);
	if (reserve(b, (size_t)n) != FCA_OK)
		return b->err;
	vsnprintf(b->ptr + b->len, b->asize - b->len, fmt, ap); /* reserve made room for all n: never cut */
	b->len += (size_t)n;
	return FCA_OK;
}

int fca_buf_printf(struct fca_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = fca_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int fca_buf_join(struct fca_buf *b, const char *sep, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->len && fca_buf_puts(b, sep) != FCA_OK)
		return b->err;
	va_start(ap, fmt);
	r = fca_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

int fca_buf_copy(char *dst, size_t size, const char *src)
{
	struct fca_buf b;

	fca_buf_init_fixed(&b, dst, size);
	return fca_buf_puts(&b, src);
}

void fca_text_vappend(char *dst, size_t size, const char *sep, const char *fmt, va_list ap)
{
	size_t len = strnlen(dst, size), seplen = strlen(sep);
	int n;

	if (size < 4 || len >= size - 1)
		return;
	if (len && seplen < size - 1 - len) {
		memcpy(dst + len, sep, seplen + 1);
		len += seplen;
	}
	n = vsnprintf(dst + len, size - len, fmt, ap);
	if (n >= 0 && (size_t)n >= size - len)
		memcpy(dst + size - 4, "...", 4);
}

void fca_text_append(char *dst, size_t size, const char *sep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fca_text_vappend(dst, size, sep, fmt, ap);
	va_end(ap);
}

const char *fca_buf_cstr(const struct fca_buf *b)
{
	return b->ptr && !b->err ? b->ptr : "";
}

int fca_buf_error(const struct fca_buf *b, const char *what)
{
	if (b->err == FCA_ENOMEM)
		return fca_error_set(FCA_ENOMEM, "%s: out of memory", what);
	if (b->err)
		return fca_error_set(b->err, "%s: longer than its limit of %zu bytes", what, b->max);
	return FCA_OK;
}

void fca_buf_clear(struct fca_buf *b)
{
	b->err = b->fixed && !b->asize ? FCA_EINVALID : FCA_OK;
	b->len = 0;
	if (b->ptr && b->asize)
		b->ptr[0] = '\0';
}

void fca_buf_dispose(struct fca_buf *b)
{
	if (b->fixed) {
		fca_buf_clear(b);
		return;
	}
	if (b->ptr) {
		fca_secret_wipe(b->ptr, b->asize);
		free(b->ptr);
	}
	b->ptr = NULL;
	b->len = b->asize = 0;
	b->err = FCA_OK;
}
