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

/*
 * The hot loop of a base64 reader that has already cut its input into lines: len characters (a
 * multiple of 4: no padding, no line ends) into len / 4 * 3 bytes of out, one table lookup per
 * character and no branch on its value. FCA_OK, or FCA_EINVALID when a character is not a base64
 * digit ('=' included) or len is not a multiple of 4 (out then holds garbage).
 */
int fca_base64_decode_groups(unsigned char *out, const char *in, size_t len) FCA_MUST_USE;

/* The characters fca_base64_encode writes for n bytes, its NUL not counted. */
#define FCA_BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Standard base64 with padding, NUL-terminated: out needs FCA_BASE64_ENCODED_LEN(n) + 1. Returns the
 * characters written. */
size_t fca_base64_encode(char *out, const unsigned char *p, size_t n);

#endif
