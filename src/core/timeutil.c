#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetca/timeutil.h"

int fca_duration_parse(int64_t *out, const char *s)
{
	int64_t v = 0, mult;
	const char *p = s;

	if (!s || !*s)
		return fca_error_set(FCA_EINVALID, "empty duration: expected e.g. 7d, 72h, 90m, 10y");
	if (*p == '-' || *p == '+')
		return fca_error_set(FCA_EINVALID, "duration \"%s\" must not have a sign", s);
	if (!isdigit((unsigned char)*p))
		return fca_error_set(FCA_EINVALID, "duration \"%s\" must start with a number, e.g. 7d", s);
	while (isdigit((unsigned char)*p)) {
		if (v > FCA_DURATION_MAX)
			return fca_error_set(FCA_EINVALID, "duration \"%s\" is too large (at most 100y)", s);
		v = v * 10 + (*p - '0');
		p++;
	}
	switch (*p) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 7 * 86400;
		break;
	case 'y':
		mult = 365 * 86400;
		break;
	case '\0':
		return fca_error_set(FCA_EINVALID, "duration \"%s\" has no unit: use s, m, h, d, w or y", s);
	default:
		return fca_error_set(FCA_EINVALID, "duration \"%s\" has unknown unit '%c': use s, m, h, d, w or y", s,
				     *p);
	}
	if (p[1] != '\0')
		return fca_error_set(FCA_EINVALID, "duration \"%s\" has trailing characters after the unit", s);
	if (v > FCA_DURATION_MAX / mult)
		return fca_error_set(FCA_EINVALID, "duration \"%s\" is too large (at most 100y)", s);
	*out = v * mult;
	return FCA_OK;
}

/* Fewer than 24 bytes ("-106751991167300d 23h"): callers give 32, and the pin relies on it never being cut. */
void fca_duration_format(char *buf, size_t n, int64_t secs)
{
	static const struct {
		int64_t s;
		const char *u;
	} units[] = {
	    {86400, "d"},
	    {3600, "h"},
	    {60, "m"},
	    {1, "s"},
	};
	int used = 0;
	size_t off = 0;
	int neg = secs < 0;

	if (neg)
		secs = -secs;
	buf[0] = '\0';
	if (secs >= (int64_t)365 * 86400 && secs % ((int64_t)365 * 86400) == 0) { /* as written: 10y */
		snprintf(buf, n, "%s%lldy", neg ? "-" : "", (long long)(secs / (365 * 86400)));
		return;
	}
	if (neg && n > 1)
		off += (size_t)snprintf(buf, n, "-");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && used < 2; i++) {
		int64_t q = secs / units[i].s;
		if (q == 0 && !(used == 0 && i == 3))
			continue;
		if (used > 0 && q == 0)
			continue;
		off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%s%lld%s", used ? " " : "", (long long)q,
					units[i].u);
		secs -= q * units[i].s;
		used++;
		if (secs == 0)
			break;
	}
}

int64_t fca_time_from_utc(int year, int mon, int day, int hour, int min, int sec)
{
	/* days from civil, Howard Hinnant's algorithm */
	int64_t y = year - (mon <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;

	return days * 86400 + hour * 3600 + min * 60 + sec;
}

int64_t fca_time_sql_timestamp(int64_t t)
{
	return t > FCA_TIME_SQL_TIMESTAMP_MAX ? FCA_TIME_SQL_TIMESTAMP_MAX : t;
}

/* strftime of a UTC time; a time that gmtime_r cannot break down, or a buffer too small, gives a
 * visible "invalid-time" (never stale or uninitialised bytes). */
static void format_utc(char *buf, size_t n, int64_t t, int human)
{
	struct tm tm;
	time_t tt = (time_t)t;
	static const char marker[] = "invalid-time";

	if (n == 0)
		return;
	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    (human ? strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm) : strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm)) == 0) {
		/* the marker, cut to the buffer when it must be ("invalid"): still visibly not a time */
		size_t k = sizeof(marker) - 1 < n - 1 ? sizeof(marker) - 1 : n - 1;
		memcpy(buf, marker, k);
		buf[k] = '\0';
	}
}

void fca_time_rfc3339(char *buf, size_t n, int64_t t)
{
	format_utc(buf, n, t, 0);
}

void fca_time_human(char *buf, size_t n, int64_t t)
{
	format_utc(buf, n, t, 1);
}

static int days_in_month(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* n decimal digits at p, nothing else (no sign, no space): the value, or -1. */
static int digits(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1; /* also stops at the terminator: never reads past it */
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int fca_time_parse(int64_t *out, const char *s)
{
	int Y, M, D, h = 0, m = 0, sec = 0, oh, om;
	const char *p = s;
	int64_t t;

	if (!s)
		return fca_error_set(FCA_EINVALID, "no time given (expected 2026-12-04T10:00:00Z)");
	/* Each field is read by position, a fixed number of digits, so the walk never passes the
	 * terminator and a sign or a space inside a field is refused. */
	if ((Y = digits(p, 4)) < 0 || p[4] != '-' || (M = digits(p + 5, 2)) < 0 || p[7] != '-' ||
	    (D = digits(p + 8, 2)) < 0)
		return fca_error_set(FCA_EINVALID, "\"%s\" is not a date (expected 2026-12-04T10:00:00Z)", s);
	p += 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if ((h = digits(p + 1, 2)) < 0 || p[3] != ':' || (m = digits(p + 4, 2)) < 0 || p[6] != ':' ||
		    (sec = digits(p + 7, 2)) < 0)
			return fca_error_set(FCA_EINVALID, "\"%s\" has a malformed time of day", s);
		p += 9;
		if (*p == '.') {
			if (p[1] < '0' || p[1] > '9')
				return fca_error_set(FCA_EINVALID, "\"%s\" has an empty fraction of a second", s);
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		}
	}
	if (Y < 1 || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || m > 59 || sec > 60)
		return fca_error_set(FCA_EINVALID, "\"%s\" is out of range", s);
	t = fca_time_from_utc(Y, M, D, h, m, sec);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if ((oh = digits(p + 1, 2)) < 0 || p[3] != ':' || (om = digits(p + 4, 2)) < 0)
			return fca_error_set(FCA_EINVALID, "\"%s\" has a malformed zone offset (expected +HH:MM)", s);
		if (oh > 23 || om > 59)
			return fca_error_set(FCA_EINVALID, "\"%s\" has a zone offset out of range", s);
		t -= (*p == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
		p += 6;
	}
	if (*p != '\0')
		return fca_error_set(FCA_EINVALID, "\"%s\" has trailing characters", s);
	*out = t;
	return FCA_OK;
}

int64_t fca_now(void)
{
#ifdef FLEETCA_TESTING
	const char *v = getenv("FLEETCA_TEST_NOW");
	if (v && *v) {
		int64_t t;
		char *end;
		long long n = strtoll(v, &end, 10);
		if (*end == '\0')
			return (int64_t)n;
		if (fca_time_parse(&t, v) == FCA_OK)
			return t;
	}
#endif
	return (int64_t)time(NULL);
}
