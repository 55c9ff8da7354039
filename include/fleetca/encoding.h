/* The one hex encoder and the one base64 decoder (src/core/encoding.c). */
#ifndef FLEETCA_ENCODING_H
#define FLEETCA_ENCODING_H

#include <stddef.h>

#include "fleetca/error.h"

/* out[2n + 1]: n bytes as hex digits (upper or lower case), NUL-terminated. */
void fca_hex_encode(char *out, const unsigned char *p, size_t n, int upper);

/* 2n hex digits (either case) into out[n]: FCA_OK, or FCA_EINVALID on a byte that is not a digit. */
int fca_hex_decode(unsigned char *out, size_t n, const char *hex) FCA_MUST_USE;

/* The most bytes fca_base64_decode can write for len characters of input. */
#define FCA_BASE64_DECODED_MAX(len) ((len) / 4 * 3 + 3)

/*
 * Standard base64 (RFC 4648 §4, '=' padding required, as Go's base64.StdEncoding), skipping CR and
 * LF as Go does. Writes at most cap bytes to out; *n = bytes written. FCA_EINVALID on any other
 * character, bad padding, a length that is not a multiple of 4, or output beyond cap.
 */
int fca_base64_decode(unsigned char *out, size_t cap, size_t *n, const char *in, size_t len) FCA_MUST_USE;

#endif
