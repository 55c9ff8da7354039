#include <stdio.h>

#include "cli/cmd.h"

/* UNFINISHED: placeholder until the export command lands. */
int cmd_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fleetca export: not implemented yet\n");
	return FCA_EXIT_ERROR;
}
