/* libFuzzer target for the desired-state reader (src/io/yaml.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fleetca/desired.h"
#include "fleetca/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fca_desired *d = malloc(sizeof(*d));
	struct fca_diags *diags = malloc(sizeof(*diags));
	int r;

	if (!d || !diags)
		goto out;
	r = fca_yaml_parse_desired(d, diags, "fuzz.yml", (const char *)data, size);
	/* The contract: OK exactly when no problem was collected, and every diag is terminated. */
	if ((r == FCA_OK) != (diags->n + diags->dropped == 0) || diags->n > FCA_DIAGS_MAX)
		abort();
	if (r != FCA_OK && r != FCA_EINVALID && r != FCA_ENOMEM)
		abort();
	for (size_t i = 0; i < diags->n; i++)
		if (!diags->v[i].msg[0] || diags->v[i].line < 0 || diags->v[i].column < 0)
			abort();
out:
	free(d);
	free(diags);
	return 0;
}
