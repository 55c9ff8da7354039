/*
 * The Fleet API adapter: the only file that includes curl/curl.h. curl's errors and HTTP statuses
 * are translated into fleetca's codes here, once. TLS verification is always on; the token lives
 * in a secret buffer and in curl's header list, which is wiped before it is freed.
 *
 * libcurl is loaded on first use (dlopen), not linked: a run whose activities go to the database
 * (the default sink) does not pay for loading libcurl and the libraries it pulls in
 * (bench/README.md). The header gives the types; each function is reached through the table
 * below, filled by dlsym once.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* curl's type-checking wrappers are macros named like the functions: they would rewrite the calls
 * through the table (curl.curl_easy_setopt(...)). */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "fleetca/buf.h"
#include "fleetca/config.h"
#include "fleetca/fleet_api.h"
#include "fleetca/json.h"
#include "fleetca/secret.h"
#include "fleetca/timeutil.h"
#include "fleetca/version.h"

#define BODY_MAX	   (64 * 1024)
#define CONNECT_TIMEOUT_MS 10000
#define TOTAL_TIMEOUT_MS   30000
#define ACTIVITIES_PATH	   "/api/v1/fleet/activities"

/* libcurl's SONAME on Debian 12 (package libcurl4, the OpenSSL flavour fleetca is built against). */
#define CURL_SONAME  "libcurl.so.4"
#define CURL_PACKAGE "libcurl4"

/* Every libcurl function fleet_api.c calls, each reached as curl.<name>(...). */
#define CURL_FUNCTIONS(X)                                                                                              \
	X(curl_easy_cleanup)                                                                                           \
	X(curl_easy_getinfo)                                                                                           \
	X(curl_easy_init)                                                                                              \
	X(curl_easy_perform)                                                                                           \
	X(curl_easy_reset)                                                                                             \
	X(curl_easy_setopt)                                                                                            \
	X(curl_easy_strerror)                                                                                          \
	X(curl_free)                                                                                                   \
	X(curl_global_cleanup)                                                                                         \
	X(curl_global_init)                                                                                            \
	X(curl_slist_append)                                                                                           \
	X(curl_slist_free_all)                                                                                         \
	X(curl_url)                                                                                                    \
	X(curl_url_cleanup)                                                                                            \
	X(curl_url_get)                                                                                                \
	X(curl_url_set)                                                                                                \
	X(curl_version_info)

static struct {
#define X(f) __typeof__(f) *f;
	CURL_FUNCTIONS(X)
#undef X
} curl;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_load_error[512]; /* set when libcurl could not be loaded; for a person */

/* dlopen + dlsym, once per process; the handle is never closed. */
static void curl_load(void)
{
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (!h) {
		snprintf(curl_load_error, sizeof(curl_load_error),
			 "cannot load libcurl (%s): %s; install the %s package", CURL_SONAME, dlerror(), CURL_PACKAGE);
		return;
	}
#define X(f)                                                                                                           \
	if (!missing && !(*(void **)&curl.f = dlsym(h, #f)))                                                           \
		missing = #f;
	CURL_FUNCTIONS(X)
#undef X
	if (missing)
		snprintf(curl_load_error, sizeof(curl_load_error),
			 "cannot load libcurl (%s): it has no %s: install the %s package", CURL_SONAME, missing,
			 CURL_PACKAGE);
}

/* Loads libcurl once; every curl.* call comes after it succeeded. */
static int ensure_loaded(void)
{
	pthread_once(&curl_once, curl_load);
	if (curl_load_error[0])
		return fca_error_set(FCA_ERROR, "%s", curl_load_error);
	return FCA_OK;
}

struct fca_fleet_api {
	CURL *curl;
	char *base;		/* {FLEET_URL} without a trailing '/' */
	char origin[320];	/* scheme://host:port, for messages and the start of base */
	char ca_file[1024];	/* "" = the system's CAs */
	char proxy[1024];	/* FLEETCA_API_PROXY; "" = none (the proxy environment variables are ignored) */
	struct fca_secret auth; /* "Authorization: Bearer <token>" */
	int64_t timeout_ms, connect_timeout_ms;
	int64_t request_ms; /* this request's: timeout_ms, or less when the delivery budget is nearly spent */
	int global_init;
};

struct body {
	char buf[BODY_MAX + 1];
	size_t len;
	int truncated;
};

int fca_fleet_api_parse_ms(int64_t *ms, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	int64_t v = 0;

	if (n > 2 && !strcmp(s + n - 2, "ms")) {
		for (size_t i = 0; i < n - 2; i++) {
			if (!isdigit((unsigned char)s[i]) || v > 3600 * 1000)
				return fca_error_set(FCA_EINVALID, "'%s' is not a duration such as 500ms or 30s", s);
			v = v * 10 + (s[i] - '0');
		}
	} else {
		if (fca_duration_parse(&v, s) != 0)
			return fca_error_set(FCA_EINVALID, "'%s' is not a duration such as 500ms or 30s", s);
		if (v > 3600)
			v = 3600 + 1;
		v *= 1000;
	}
	if (v > 3600 * 1000)
		return fca_error_set(FCA_EINVALID, "'%s': at most 1h", s);
	*ms = v;
	return FCA_OK;
}

/* Checks FLEET_URL and fills a->base and a->origin. */
static int set_url(struct fca_fleet_api *a, const char *fleet_url)
{
	CURLU *u = curl.curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *path = NULL, *query = NULL;
	struct fca_buf ob;
	size_t plen;
	int r;

	if (!u)
		return fca_error_set(FCA_ENOMEM, "out of memory");
	if (curl.curl_url_set(u, CURLUPART_URL, fleet_url, 0) != CURLUE_OK ||
	    curl.curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl.curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		r = fca_error_set(FCA_EINVALID, "FLEET_URL '%s' is not a URL such as https://fleet.example.com",
				  fleet_url);
		goto out;
	}
	(void)curl.curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	if (curl.curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
		r = fca_error_set(FCA_EINVALID,
				  "FLEET_URL must not hold credentials: give the token in FLEET_API_TOKEN "
				  "or FLEETCA_API_TOKEN_PATH");
		goto out;
	}
	if (curl.curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query) {
		r = fca_error_set(FCA_EINVALID, "FLEET_URL '%s' must not have a query string", fleet_url);
		goto out;
	}
	fca_buf_init_fixed(&ob, a->origin, sizeof(a->origin)); /* the base of every URL: never cut */
	fca_buf_printf(&ob, "%s://%s:%s", scheme, host, port ? port : "?");
	if ((r = fca_buf_error(&ob, "FLEET_URL's scheme, host and port")) != FCA_OK)
		goto out;
	if (strcmp(scheme, "https") != 0) {
		r = fca_error_set(FCA_EINVALID,
				  "FLEET_URL '%s': fleetca talks to the Fleet API over https only, for every host: "
				  "use https://%s",
				  fleet_url, host);
		goto out;
	}
	if (curl.curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		r = fca_error_set(FCA_EINVALID, "FLEET_URL '%s' has no path", fleet_url);
		goto out;
	}
	plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		path[--plen] = '\0';
	{
		size_t olen = strlen(a->origin);
		if (!(a->base = malloc(olen + plen + 1))) {
			r = fca_error_set(FCA_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(a->base, a->origin, olen); /* sized for both: cannot be cut */
		memcpy(a->base + olen, path, plen + 1);
	}
	r = FCA_OK;
out:
	curl.curl_free(scheme);
	curl.curl_free(host);
	curl.curl_free(port);
	curl.curl_free(user);
	curl.curl_free(path);
	curl.curl_free(query);
	curl.curl_url_cleanup(u);
	return r;
}

static int set_token(struct fca_fleet_api *a, const struct fca_api_config *cfg)
{
	static const char prefix[] = "Authorization: Bearer ";
	const struct fca_secret *tok = &cfg->token;
	int r;

	if (cfg->token_code == FCA_ENOTFOUND)
		return fca_error_set(FCA_EAUTH, "FLEET_URL is set but no API token is: set FLEET_API_TOKEN or "
						"FLEETCA_API_TOKEN_PATH (an API-only user's token)");
	if (cfg->token_code != FCA_OK)
		return fca_error_set(cfg->token_code, "%s", cfg->token_error);
	for (size_t i = 0; i < tok->len; i++)
		if (tok->data[i] < 0x21 || tok->data[i] > 0x7e)
			return fca_error_set(FCA_EAUTH, "the Fleet API token holds a space or a control character: "
							"check FLEET_API_TOKEN / FLEETCA_API_TOKEN_PATH");
	if (tok->len == 0 || !tok->data)
		return fca_error_set(FCA_EAUTH,
				     "the Fleet API token is empty: check FLEET_API_TOKEN / FLEETCA_API_TOKEN_PATH");
	if ((r = fca_secret_alloc(&a->auth, sizeof(prefix) + tok->len)) != 0)
		return r;
	memcpy(a->auth.data, prefix, sizeof(prefix) - 1);
	memcpy(a->auth.data + sizeof(prefix) - 1, tok->data, tok->len);
	a->auth.len = sizeof(prefix) - 1 + tok->len;
	a->auth.data[a->auth.len] = '\0';
	return FCA_OK;
}

int fca_fleet_api_open(struct fca_fleet_api **out, const struct fca_api_config *cfg)
{
	struct fca_fleet_api *a;
	int r;

	*out = NULL;
	if (!cfg || !cfg->url[0])
		return fca_error_set(FCA_ENOTFOUND,
				     "FLEET_URL is not set: set it to deliver activities to the Fleet "
				     "API, or choose 'activities: {sink: db}' in the desired-state file");
	if ((r = ensure_loaded()) != 0)
		return r;
	if (!(a = calloc(1, sizeof(*a))))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	a->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 1;
	a->connect_timeout_ms = a->timeout_ms < CONNECT_TIMEOUT_MS ? a->timeout_ms : CONNECT_TIMEOUT_MS;
	_Static_assert(sizeof(a->ca_file) >= sizeof(cfg->ca_file) && sizeof(a->proxy) >= sizeof(cfg->proxy),
		       "the copies below are never cut");
	snprintf(a->ca_file, sizeof(a->ca_file), "%s", cfg->ca_file);
	snprintf(a->proxy, sizeof(a->proxy), "%s", cfg->proxy);
	if (curl.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r = fca_error_set(FCA_ERROR, "cannot initialise libcurl");
		goto out;
	}
	a->global_init = 1;
	if ((r = set_url(a, cfg->url)) != 0 || (r = set_token(a, cfg)) != 0)
		goto out;
	if (!(a->curl = curl.curl_easy_init())) {
		r = fca_error_set(FCA_ENOMEM, "out of memory (curl_easy_init)");
		goto out;
	}
	*out = a;
	a = NULL;
	r = FCA_OK;
out:
	fca_fleet_api_free(a);
	return r;
}

void fca_fleet_api_free(struct fca_fleet_api *a)
{
	if (!a)
		return;
	if (a->curl)
		curl.curl_easy_cleanup(a->curl);
	free(a->base);
	fca_secret_dispose(&a->auth);
	if (a->global_init)
		curl.curl_global_cleanup();
	free(a);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t len = size * n, room = BODY_MAX - b->len;

	if (len > room) {
		b->truncated = 1;
		len = room;
	}
	memcpy(b->buf + b->len, p, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return size * n; /* the rest is dropped, not an error: only the first 64 KiB are read */
}

/*
 * Appends text to out (size n) with every control character (C0, DEL, C1), every bidirectional
 * override or isolate (U+202A-U+202E, U+2066-U+2069) and every byte that is not UTF-8 written as
 * \xNN or \u{NNNN}: a server's words cannot move the cursor, recolour the terminal or reorder
 * what is printed after them. At most max_in input bytes.
 */
static void escape_text(char *out, size_t n, size_t *j, const char *text, size_t max_in)
{
	const unsigned char *p = (const unsigned char *)text;
	char tmp[16]; /* "\\u{10FFFF}" or 4 UTF-8 bytes at most: never cut */

	for (size_t i = 0; p[i] && i < max_in;) {
		unsigned cp = 0;
		size_t len = 0, k;
		if (p[i] < 0x80) {
			cp = p[i], len = 1;
		} else if ((p[i] & 0xe0) == 0xc0) {
			cp = p[i] & 0x1f, len = 2;
		} else if ((p[i] & 0xf0) == 0xe0) {
			cp = p[i] & 0x0f, len = 3;
		} else if ((p[i] & 0xf8) == 0xf0) {
			cp = p[i] & 0x07, len = 4;
		}
		for (k = 1; len && k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				len = 0;
				break;
			}
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (!len || (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			snprintf(tmp, sizeof(tmp), "\\x%02X", p[i]);
			len = 1;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
			   (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c) {
			snprintf(tmp, sizeof(tmp), cp < 0x100 ? "\\x%02X" : "\\u{%04X}", cp);
		} else {
			memcpy(tmp, p + i, len);
			tmp[len] = '\0';
		}
		if (*j + strlen(tmp) + 1 > n)
			break;
		memcpy(out + *j, tmp, strlen(tmp));
		*j += strlen(tmp);
		i += len;
	}
	out[*j] = '\0';
}

/* Fleet's JSON error: "message" and the first errors[].reason, made printable and short. */
static void fleet_message(char *out, size_t n, const struct body *b)
{
	char msg[256], reason[256];
	size_t j = 0;

	out[0] = '\0';
	if (!b->truncated)
		(void)fca_json_fleet_error(b->buf, b->len, msg, sizeof(msg), reason, sizeof(reason));
	else
		msg[0] = reason[0] = '\0';
	if (msg[0] || reason[0]) {
		escape_text(out, n, &j, "\"", 1);
		escape_text(out, n, &j, msg[0] ? msg : reason, 200);
		escape_text(out, n, &j, "\"", 1);
		if (msg[0] && reason[0] && strcmp(msg, reason)) {
			escape_text(out, n, &j, " (", 2);
			escape_text(out, n, &j, reason, 200);
			escape_text(out, n, &j, ")", 1);
		}
	} else {
		snprintf(out, n, "no JSON message in the response"); /* for a person */
	}
}

/* Translates a curl error: whether trying again later can help decides the code. */
static int curl_failure(const struct fca_fleet_api *a, CURLcode c, const char *errbuf)
{
	const char *detail = errbuf[0] ? errbuf : curl.curl_easy_strerror(c);

	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return fca_error_set(FCA_ECONNECT,
				     "the Fleet API at %s did not answer within %lldms (%s); will retry later",
				     a->origin, (long long)a->request_ms, detail);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return fca_error_set(FCA_ECONNECT, "cannot connect to the Fleet API at %s (%s); will retry later",
				     a->origin, detail);
	case CURLE_UNSUPPORTED_PROTOCOL: /* "Received HTTP/0.9": the scheme itself was checked at open */
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return fca_error_set(FCA_ECONNECT,
				     "the Fleet API at %s closed the connection or answered something that is not "
				     "HTTP (%s); will retry later",
				     a->origin, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
		return fca_error_set(FCA_ERROR,
				     "the Fleet API at %s: TLS verification failed (%s): if Fleet's certificate comes "
				     "from a private CA, name its PEM in FLEETCA_API_CA_FILE",
				     a->origin, detail);
	case CURLE_OUT_OF_MEMORY:
		return fca_error_set(FCA_ENOMEM, "out of memory (libcurl)");
	default:
		return fca_error_set(FCA_ERROR, "the Fleet API at %s: %s", a->origin, detail);
	}
}

/* 1 when the body is a JSON object with an "activity" object of this type: what Fleet answers. */
static int fleet_created(const struct body *b, const char *type)
{
	return !b->truncated && fca_json_fleet_created(b->buf, b->len, type);
}

/* 1 when a 409's JSON error names the Idempotency-Key: the activity is recorded already. */
static int key_recorded(const struct body *b)
{
	return !b->truncated && fca_json_fleet_error_names(b->buf, b->len, "Idempotency-Key");
}

static int classify(const struct fca_fleet_api *a, long status, const struct body *b, const char *key, const char *type)
{
	char msg[320];

	if (status >= 200 && status <= 299) {
		if (fleet_created(b, type))
			return FCA_OK;
		return fca_error_set(FCA_ECONNECT,
				     "the Fleet API at %s answered HTTP %ld to activity %s, but not as Fleet does (a "
				     "JSON object with the activity): a proxy or a login page answered, not Fleet; "
				     "the activity stays in the outbox",
				     a->origin, status, key);
	}
	if (status == 409 && key_recorded(b))
		return FCA_OK;
	fleet_message(msg, sizeof(msg), b);
	if (status == 401 || status == 403)
		return fca_error_set(FCA_EAUTH,
				     "the Fleet API refused the token (HTTP %ld): check FLEET_API_TOKEN "
				     "(an API-only user allowed to create activities): %s",
				     status, msg);
	if (status >= 500 && status <= 599)
		return fca_error_set(FCA_ECONNECT, "the Fleet API at %s answered HTTP %ld: %s; will retry later",
				     a->origin, status, msg);
	if (status == 404 || status == 405)
		return fca_error_set(
		    FCA_EINVALID,
		    "the Fleet API at %s answered HTTP %ld for POST /api/v1/fleet/activities (%s): this "
		    "Fleet server has no endpoint that creates activities (no released Fleet has one); "
		    "use 'activities: {sink: db}', the default, which writes them into Fleet's own "
		    "activity table",
		    a->origin, status, msg);
	return fca_error_set(FCA_EINVALID, "the Fleet API at %s answered HTTP %ld to activity %s: %s", a->origin,
			     status, key, msg);
}

/*
 * One request to {FLEET_URL}{path}: method "GET", or "POST" with a JSON body (then extra_header,
 * e.g. "Idempotency-Key: …", is sent too). Fills *b and *status; the caller classifies the
 * status. Only transport failures are errors here. TLS is always verified.
 */
static int request(struct fca_fleet_api *a, const char *method, const char *path, const char *json,
		   const char *extra_header, struct body *b, long *status)
{
	struct curl_slist *hdrs = NULL, *h;
	char *url = NULL, errbuf[CURL_ERROR_SIZE];
	size_t blen = strlen(a->base), plen = strlen(path);
	CURLcode c;
	int r;

	*status = 0;
	errbuf[0] = '\0';
	if (!(url = malloc(blen + plen + 1)) || !(h = curl.curl_slist_append(hdrs, (const char *)a->auth.data))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	hdrs = h;
	memcpy(url, a->base, blen); /* sized for both: cannot be cut */
	memcpy(url + blen, path, plen + 1);
	if (!(h = curl.curl_slist_append(hdrs, "Accept: application/json")) || !(hdrs = h) ||
	    !(h = curl.curl_slist_append(hdrs, "Expect:")) || !(hdrs = h) ||
	    (json && (!(h = curl.curl_slist_append(hdrs, "Content-Type: application/json")) || !(hdrs = h))) ||
	    (extra_header && (!(h = curl.curl_slist_append(hdrs, extra_header)) || !(hdrs = h)))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	curl.curl_easy_reset(a->curl);
	curl.curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl.curl_easy_setopt(a->curl, CURLOPT_PROTOCOLS_STR, "https");
	/* only the proxy fleetca was told about: "" turns off http_proxy, https_proxy and ALL_PROXY */
	curl.curl_easy_setopt(a->curl, CURLOPT_PROXY, a->proxy);
	if (!a->proxy[0])
		curl.curl_easy_setopt(a->curl, CURLOPT_NOPROXY, "*");
	curl.curl_easy_setopt(a->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl.curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl.curl_easy_setopt(a->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl.curl_easy_setopt(a->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (a->ca_file[0])
		curl.curl_easy_setopt(a->curl, CURLOPT_CAINFO, a->ca_file);
	curl.curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS,
			      (long)(a->connect_timeout_ms < a->request_ms ? a->connect_timeout_ms : a->request_ms));
	curl.curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, (long)a->request_ms);
	curl.curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, hdrs);
	if (json) {
		curl.curl_easy_setopt(a->curl, CURLOPT_POST, 1L);
		curl.curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, json);
		curl.curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	} else if (strcmp(method, "GET") != 0)
		curl.curl_easy_setopt(a->curl, CURLOPT_CUSTOMREQUEST, method);
	curl.curl_easy_setopt(a->curl, CURLOPT_USERAGENT, "fleetca/" FLEETCA_VERSION);
	curl.curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl.curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, b);
	curl.curl_easy_setopt(a->curl, CURLOPT_ERRORBUFFER, errbuf);
	if ((c = curl.curl_easy_perform(a->curl)) != CURLE_OK) {
		r = curl_failure(a, c, errbuf);
		goto out;
	}
	curl.curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, status);
	r = FCA_OK;
out:
	if (a->curl) { /* the handle must not keep pointers into what its callers free */
		curl.curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, NULL);
		curl.curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, NULL);
	}
	for (h = hdrs; h; h = h->next) /* curl's copy of the Authorization header */
		fca_secret_wipe(h->data, strlen(h->data));
	curl.curl_slist_free_all(hdrs);
	free(url);
	return r;
}

int fca_fleet_api_post_activity(struct fca_fleet_api *a, const char *idempotency_key, const char *type,
				const char *details_json, int64_t max_ms, long *http_status)
{
	struct body *b = NULL;
	char *payload = NULL, idem[256];
	long status = 0;
	int r;

	*http_status = 0;
	if (strchr(idempotency_key, '\r') || strchr(idempotency_key, '\n') ||
	    (size_t)snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idempotency_key) >= sizeof(idem))
		return fca_error_set(FCA_EINVALID, "activity %s: bad idempotency key", idempotency_key);
	if ((r = fca_json_fleet_activity_body(&payload, type, details_json)) != 0) {
		fca_error_prefix("activity %s", idempotency_key);
		goto out;
	}
	if (!(b = calloc(1, sizeof(*b)))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	a->request_ms = max_ms > 0 && max_ms < a->timeout_ms ? max_ms : a->timeout_ms;
	if ((r = request(a, "POST", ACTIVITIES_PATH, payload, idem, b, &status)) != 0)
		goto out;
	*http_status = status;
	r = classify(a, status, b, idempotency_key, type);
out:
	free(payload);
	free(b);
	return r;
}

const char *fca_fleet_api_library_version(void)
{
	const curl_version_info_data *info;

	/* --version loads it: the version printed is the one an API sink would use */
	pthread_once(&curl_once, curl_load);
	if (curl_load_error[0])
		return "not loadable (" CURL_SONAME ")";
	info = curl.curl_version_info(CURLVERSION_NOW);

	return info && info->version ? info->version : "unknown";
}
