/* Errors: one code, one message, set once by the function that saw the failure. */
#ifndef FLEETCA_ERROR_H
#define FLEETCA_ERROR_H

enum fca_err {
	FCA_OK = 0,
	FCA_ERROR = -1,
	FCA_ENOTFOUND = -2,
	FCA_EINVALID = -3,
	FCA_ECONFLICT = -4,
	FCA_EAUTH = -5,
	FCA_ELOCKED = -6,
	FCA_ENOMEM = -7,
	FCA_ECONNECT = -8,
};

#define FCA_MUST_USE	 __attribute__((warn_unused_result))
#define FCA_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Records code and message for this thread (a message over 1 KiB is cut); returns code. */
int fca_error_set(int code, const char *fmt, ...) FCA_PRINTF(2, 3);

/* Puts "context: " in front of the current message. Returns the current code. */
int fca_error_prefix(const char *fmt, ...) FCA_PRINTF(1, 2);

const char *fca_error_message(void); /* "" when none */
int fca_error_code(void);
void fca_error_clear(void);

#endif
