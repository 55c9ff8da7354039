#include <stdio.h>

#include "cli/cmd.h"

/* UNFINISHED: placeholder until the apply command lands. */
int cmd_apply(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fleetca apply: not implemented yet\n");
	return FCA_EXIT_ERROR;
}
