#include <stdio.h>

#include "cli/cmd.h"

/* UNFINISHED: placeholder until the status command lands. */
int cmd_status(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fleetca status: not implemented yet\n");
	return FCA_EXIT_ERROR;
}
