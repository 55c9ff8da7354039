/* For unit tests: the fleet-dev fixture of ../shared (FCA_SHARED_DIR), read whole. */
#ifndef FLEETCA_TEST_FIXTURE_H
#define FLEETCA_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

/* The text of fleet-dev/<name> (NUL-terminated, malloc'd), or NULL when it cannot be read. */
static inline char *fixture_read(const char *name)
{
	const char *shared = getenv("FCA_SHARED_DIR");
	char path[1024];
	char *buf = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/fleet/fixtures/fleet-dev/%s", shared ? shared : "../shared", name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

#endif
