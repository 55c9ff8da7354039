#include <stdio.h>

#include "cli/cmd.h"

/* UNFINISHED: placeholder until the outbox command lands. */
int cmd_outbox(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fleetca outbox: not implemented yet\n");
	return FCA_EXIT_ERROR;
}
