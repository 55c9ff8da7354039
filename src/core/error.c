#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fleetca/error.h"

static _Thread_local struct {
	int code;
	char msg[1024];
} fca_last;

int fca_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	fca_last.code = code;
	va_start(ap, fmt);
	vsnprintf(fca_last.msg, sizeof(fca_last.msg), fmt, ap); /* for a person: cut, on purpose (see below) */
	va_end(ap);
	return code;
}

/* Appends s to the message being built in dst; a message longer than the buffer is cut, on
 * purpose: an error message is for a person, and its start says what failed. */
static void append_cut(char *dst, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (n > cap - 1 - *len)
		n = cap - 1 - *len;
	memcpy(dst + *len, s, n);
	*len += n;
	dst[*len] = '\0';
}

int fca_error_prefix(const char *fmt, ...)
{
	char ctx[512], tmp[sizeof(fca_last.msg)];
	size_t len = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap); /* for a person, as below */
	va_end(ap);
	tmp[0] = '\0';
	append_cut(tmp, sizeof(tmp), &len, ctx);
	append_cut(tmp, sizeof(tmp), &len, ": ");
	append_cut(tmp, sizeof(tmp), &len, fca_last.msg);
	memcpy(fca_last.msg, tmp, len + 1);
	return fca_last.code;
}

const char *fca_error_message(void)
{
	return fca_last.msg;
}
int fca_error_code(void)
{
	return fca_last.code;
}

void fca_error_clear(void)
{
	fca_last.code = 0;
	fca_last.msg[0] = '\0';
}
