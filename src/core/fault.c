#include "core/fault.h"

#ifdef FLEETCA_TESTING
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleetca/buf.h"

void fca_fault_point(const char *name, const char *detail, uint64_t connection_id)
{
	const char *spec = getenv("FLEETCA_FAULT"), *mode = getenv("FLEETCA_FAULT_MODE");
	char full[256];

	if (!spec || !*spec)
		return;
	/* a step id, an idempotency key (under 240 bytes) or a table name, with a short name: never cut */
	snprintf(full, sizeof(full), "%s:%s", name, detail ? detail : "");
	if (strcmp(spec, name) != 0 && strcmp(spec, full) != 0)
		return;
	fprintf(stderr, "fleetca: test fault point %s reached\n", full);
	if (mode && !strcmp(mode, "pause")) {
		const char *go = getenv("FLEETCA_FAULT_PAUSE_FILE");
		char ready[512];
		struct fca_buf b;
		FILE *f;
		struct timespec ts = {0, 20 * 1000 * 1000};
		if (!go)
			return;
		fca_buf_init_fixed(&b, ready, sizeof(ready));
		if (fca_buf_printf(&b, "%s.ready", go) != FCA_OK) { /* a cut name would never be found: say so */
			fprintf(stderr, "fleetca: FLEETCA_FAULT_PAUSE_FILE is too long (at most %zu bytes)\n",
				sizeof(ready) - 7);
			return;
		}
		if ((f = fopen(ready, "w"))) {
			fprintf(f, "%llu\n", (unsigned long long)connection_id);
			fclose(f);
		}
		for (int i = 0; i < 3000 && access(go, F_OK) != 0; i++) /* at most a minute */
			nanosleep(&ts, NULL);
		return;
	}
	if (mode && !strcmp(mode, "sigkill"))
		raise(SIGKILL);
	abort();
}
#endif
