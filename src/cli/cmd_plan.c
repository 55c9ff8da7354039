#include <stdio.h>

#include "cli/cmd.h"

/* UNFINISHED: placeholder until the plan command lands. */
int cmd_plan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fleetca plan: not implemented yet\n");
	return FCA_EXIT_ERROR;
}
