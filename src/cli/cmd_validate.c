#include <stdio.h>

#include "cli/cmd.h"

/* UNFINISHED: placeholder until the validate command lands. */
int cmd_validate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fleetca validate: not implemented yet\n");
	return FCA_EXIT_ERROR;
}
