/* Reading a saved plan (`fleetca plan --out`): the file, then its JSON (src/io/json.c). */
#include <stdlib.h>

#include "fleetca/file.h"
#include "fleetca/json.h"
#include "fleetca/planfile.h"

/* A plan holds its steps, the rows it saw and the desired state: far below this. */
#define FCA_PLANFILE_MAX_BYTES (4 * 1024 * 1024)

int fca_planfile_load(const char *path, struct fca_observed *basis, char (*steps)[FCA_STEP_ID_MAX], size_t max,
		      size_t *nsteps, struct fca_pin *pin)
{
	char *text = NULL;
	size_t len;
	int r;

	*nsteps = 0;
	basis->nbasis = 0;
	/* Regular files only, checked before a blocking read: a FIFO is refused at once. */
	if (fca_file_read(path, FCA_PLANFILE_MAX_BYTES, &text, &len) != FCA_OK)
		return fca_error_prefix("--plan");
	r = fca_json_planfile_parse(path, text, len, basis, steps, max, nsteps, pin);
	free(text);
	return r;
}
