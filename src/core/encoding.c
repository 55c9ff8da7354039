/* Hex and base64, table-driven (include/fleetca/encoding.h). */
#include <stdint.h>

#include "fleetca/encoding.h"

void fca_hex_encode(char *out, const unsigned char *p, size_t n, int upper)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fca_hex_decode(unsigned char *out, size_t n, const char *hex)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return FCA_EINVALID;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return FCA_OK;
}

/* Each input byte: its 6-bit value plus one for a base64 digit; 0 for a byte that is not base64. */
enum { B64_SKIP = 0x80, B64_PAD = 0x81 };
static const uint8_t b64_table[256] = {
    ['A'] = 1,	     ['B'] = 2,		['C'] = 3,	   ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,	     ['J'] = 10,	['K'] = 11,	   ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17,	     ['R'] = 18,	['S'] = 19,	   ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25,	     ['Z'] = 26,	['a'] = 27,	   ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33,	     ['h'] = 34,	['i'] = 35,	   ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41,	     ['p'] = 42,	['q'] = 43,	   ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49,	     ['x'] = 50,	['y'] = 51,	   ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57,	     ['5'] = 58,	['6'] = 59,	   ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
    ['='] = B64_PAD, ['\r'] = B64_SKIP, ['\n'] = B64_SKIP,
};

int fca_base64_decode(unsigned char *out, size_t cap, size_t *n, const char *in, size_t len)
{
	uint8_t q[4];
	size_t i, k = 0, o = 0, pad = 0;

	*n = 0;
	for (i = 0; i < len; i++) {
		uint8_t v = b64_table[(unsigned char)in[i]];
		if (v == B64_SKIP)
			continue;
		if (v == 0 || (pad && v != B64_PAD))
			return FCA_EINVALID; /* nothing but padding after the first '=' */
		if (v == B64_PAD) {
			if (k < 2 || ++pad > 2)
				return FCA_EINVALID;
			v = 1;
		}
		q[k++] = (uint8_t)(v - 1);
		if (k < 4)
			continue;
		k = 0;
		if (cap - o < 3 - pad)
			return FCA_EINVALID;
		out[o++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)(q[1] << 4 | q[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)(q[2] << 6 | q[3]);
		if (pad)
			break;
	}
	if (k)
		return FCA_EINVALID; /* a partial quantum */
	while (pad && ++i < len)
		if (b64_table[(unsigned char)in[i]] != B64_SKIP)
			return FCA_EINVALID; /* anything after the padding */
	*n = o;
	return FCA_OK;
}

/*
 * The groups decoder's tables: dk[c] is the digit's 6 bits already shifted to their place in the
 * 24 bits of a group of 4 (table k for the k-th character), plus bit 24 + k saying it is a digit;
 * anything else is 0. A group is then 4 lookups ORed, and a line is valid when every group had all
 * four bits 24..27.
 */
/* the 64 digits, eight a line */
/* clang-format off */
#define B64_DIGITS(F, k) \
	F('A', 0, k) F('B', 1, k) F('C', 2, k) F('D', 3, k) F('E', 4, k) F('F', 5, k) F('G', 6, k) F('H', 7, k) \
	F('I', 8, k) F('J', 9, k) F('K', 10, k) F('L', 11, k) F('M', 12, k) F('N', 13, k) F('O', 14, k) F('P', 15, k) \
	F('Q', 16, k) F('R', 17, k) F('S', 18, k) F('T', 19, k) F('U', 20, k) F('V', 21, k) F('W', 22, k) F('X', 23, k) \
	F('Y', 24, k) F('Z', 25, k) F('a', 26, k) F('b', 27, k) F('c', 28, k) F('d', 29, k) F('e', 30, k) F('f', 31, k) \
	F('g', 32, k) F('h', 33, k) F('i', 34, k) F('j', 35, k) F('k', 36, k) F('l', 37, k) F('m', 38, k) F('n', 39, k) \
	F('o', 40, k) F('p', 41, k) F('q', 42, k) F('r', 43, k) F('s', 44, k) F('t', 45, k) F('u', 46, k) F('v', 47, k) \
	F('w', 48, k) F('x', 49, k) F('y', 50, k) F('z', 51, k) F('0', 52, k) F('1', 53, k) F('2', 54, k) F('3', 55, k) \
	F('4', 56, k) F('5', 57, k) F('6', 58, k) F('7', 59, k) F('8', 60, k) F('9', 61, k) F('+', 62, k) F('/', 63, k)
/* clang-format on */
#define B64_AT(c, v, k) [c] = (uint32_t)(v) << (18 - 6 * (k)) | 1u << (24 + (k)),
static const uint32_t d0[256] = {B64_DIGITS(B64_AT, 0)}, d1[256] = {B64_DIGITS(B64_AT, 1)},
		      d2[256] = {B64_DIGITS(B64_AT, 2)}, d3[256] = {B64_DIGITS(B64_AT, 3)};
#define B64_GROUP_OK (0xfu << 24)

int fca_base64_decode_groups(unsigned char *out, const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	uint32_t all = B64_GROUP_OK;

	for (size_t i = 0; i + 4 <= len; i += 4, out += 3) {
		uint32_t v = d0[s[i]] | d1[s[i + 1]] | d2[s[i + 2]] | d3[s[i + 3]];
		all &= v;
		out[0] = (unsigned char)(v >> 16);
		out[1] = (unsigned char)(v >> 8);
		out[2] = (unsigned char)v;
	}
	return (all & B64_GROUP_OK) != B64_GROUP_OK || len % 4 ? FCA_EINVALID : FCA_OK;
}

size_t fca_base64_encode(char *out, const unsigned char *p, size_t n)
{
	static const char d[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = d[v >> 18];
		out[o++] = d[v >> 12 & 63];
		out[o++] = d[v >> 6 & 63];
		out[o++] = d[v & 63];
	}
	if (n - i == 1) {
		out[o++] = d[p[i] >> 2];
		out[o++] = d[(p[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
		out[o++] = d[v >> 10];
		out[o++] = d[v >> 4 & 63];
		out[o++] = d[(v & 15) << 2];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}
