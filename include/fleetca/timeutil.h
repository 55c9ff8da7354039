/* Time and durations: one parser for each, with ranges. Times are Unix seconds, UTC. */
#ifndef FLEETCA_TIMEUTIL_H
#define FLEETCA_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/error.h"

#define FCA_DURATION_MAX ((int64_t)100 * 366 * 86400) /* 100 years */

/*
 * Parses "<n><unit>" with unit s, m, h, d, w or y (365 days), e.g. "7d", "72h", "90m", "10y".
 * Rejects negatives, missing units, overflow and values above FCA_DURATION_MAX. Zero is accepted
 * ("0s"); callers that need a positive value check for it.
 */
int fca_duration_parse(int64_t *out, const char *s) FCA_MUST_USE;
/* "7d", "2d 3h", "45m", "0s": the two largest units. */
void fca_duration_format(char *buf, size_t n, int64_t secs);

/* "2026-12-04T10:00:00Z" (RFC 3339, UTC). buf needs 21 bytes. */
void fca_time_rfc3339(char *buf, size_t n, int64_t t);
/* "2026-12-04 10:00 UTC", for people. */
void fca_time_human(char *buf, size_t n, int64_t t);
/* Parses RFC 3339 with Z or an offset, or "YYYY-MM-DD HH:MM:SS" taken as UTC. */
int fca_time_parse(int64_t *out, const char *s) FCA_MUST_USE;
/* The latest time a MySQL TIMESTAMP column can hold: 2038-01-19 03:14:07 UTC (2^31 - 1). */
#define FCA_TIME_SQL_TIMESTAMP_MAX ((int64_t)2147483647)
/* t as a MySQL TIMESTAMP can hold it: a later time becomes FCA_TIME_SQL_TIMESTAMP_MAX. */
int64_t fca_time_sql_timestamp(int64_t t);
/* timegm for a broken-down UTC time, without the TZ environment. */
int64_t fca_time_from_utc(int year, int mon, int day, int hour, int min, int sec);

/*
 * The process clock, read once per run by the caller. Test builds (FLEETCA_TESTING) honour
 * FLEETCA_TEST_NOW (RFC 3339 or Unix seconds); every build honours libfaketime.
 */
int64_t fca_now(void);

#endif
