/*
 * Named fault points, compiled only into test builds (FLEETCA_TESTING). A release build has none.
 *
 * FLEETCA_FAULT=<point>[:<detail>]   at that point: abort() (kill) the process
 * FLEETCA_FAULT_MODE=sigkill         SIGKILL instead of abort()
 * FLEETCA_FAULT_MODE=pause           write "<connection id>" to $FLEETCA_FAULT_PAUSE_FILE.ready and
 *                                    wait until $FLEETCA_FAULT_PAUSE_FILE exists, then go on
 * A point matches when <point> equals its name, or "<name>:<detail>" equals the spec.
 */
#ifndef FLEETCA_FAULT_H
#define FLEETCA_FAULT_H

#include <stdint.h>

#ifdef FLEETCA_TESTING
void fca_fault_point(const char *name, const char *detail, uint64_t connection_id);
#define FCA_FAULT(name, detail, conn) fca_fault_point((name), (detail), (conn))
#else
#define FCA_FAULT(name, detail, conn) ((void)0)
#endif

#endif
