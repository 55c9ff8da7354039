#include <stdio.h>

#include "cli/cmd.h"

/* UNFINISHED: placeholder until the reconcile command lands. */
int cmd_reconcile(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fleetca reconcile: not implemented yet\n");
	return FCA_EXIT_ERROR;
}
