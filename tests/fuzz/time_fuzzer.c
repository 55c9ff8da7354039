/* libFuzzer target for the time and duration parsers (src/core/timeutil.c): any input, never a read
 * past its end; whatever parses formats and parses back to the same instant. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleetca/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[32];
	int64_t t, back, d;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0'; /* exactly one terminator: ASan sees any read beyond it */
	if (fca_time_parse(&t, s) == FCA_OK) {
		fca_time_rfc3339(buf, sizeof(buf), t);
		if (t >= 0 && t < 253402300800LL) { /* years 1970..9999 print as RFC 3339 */
			if (fca_time_parse(&back, buf) != FCA_OK || back != t)
				abort();
		}
	}
	if (fca_duration_parse(&d, s) == FCA_OK && (d < 0 || d > FCA_DURATION_MAX))
		abort();
	fca_error_clear();
	free(s);
	return 0;
}
