/*
 * The Fleet API adapter: the only file that includes curl/curl.h. curl's errors and HTTP statuses
 * are translated into fleetca's codes here, once. TLS verification is always on; the token lives
 * in a secret buffer and in curl's header list, which is wiped before it is freed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fleetca/fleet_api.h"
#include "fleetca/secret.h"
#include "fleetca/timeutil.h"
#include "fleetca/version.h"

#define BODY_MAX (64 * 1024)
#define CONNECT_TIMEOUT_MS 10000
#define TOTAL_TIMEOUT_MS 30000
#define ACTIVITIES_PATH "/api/v1/fleet/activities"

struct fca_fleet_api {
	CURL *curl;
	char *base;         /* {FLEET_URL} without a trailing '/' */
	char origin[320];   /* scheme://host:port, for messages */
	char ca_file[1024]; /* "" = the system's CAs */
	struct fca_secret auth; /* "Authorization: Bearer <token>" */
	int64_t timeout_ms, connect_timeout_ms;
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

static int is_loopback(const char *host)
{
	return !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strcmp(host, "::1") ||
	       !strcmp(host, "[::1]");
}

/* Checks FLEET_URL and fills a->base and a->origin. */
static int set_url(struct fca_fleet_api *a, const char *fleet_url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *path = NULL, *query = NULL;
	size_t plen;
	int r;

	if (!u)
		return fca_error_set(FCA_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, fleet_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		r = fca_error_set(FCA_EINVALID, "FLEET_URL '%s' is not a URL such as https://fleet.example.com", fleet_url);
		goto out;
	}
	(void)curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
		r = fca_error_set(FCA_EINVALID, "FLEET_URL must not hold credentials: give the token in FLEET_API_TOKEN "
				  "or FLEETCA_API_TOKEN_PATH");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query) {
		r = fca_error_set(FCA_EINVALID, "FLEET_URL '%s' must not have a query string", fleet_url);
		goto out;
	}
	snprintf(a->origin, sizeof(a->origin), "%s://%s:%s", scheme, host, port ? port : "?");
	if (strcmp(scheme, "https") != 0 && !(strcmp(scheme, "http") == 0 && is_loopback(host))) {
		r = fca_error_set(FCA_EINVALID,
				  "FLEET_URL '%s': fleetca talks to the Fleet API over https only (plain http is "
				  "allowed for 127.0.0.1, ::1 and localhost): use https://%s",
				  fleet_url, host);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		r = fca_error_set(FCA_EINVALID, "FLEET_URL '%s' has no path", fleet_url);
		goto out;
	}
	plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		path[--plen] = '\0';
	{
		size_t n = strlen(a->origin) + plen + 1;
		if (!(a->base = malloc(n))) {
			r = fca_error_set(FCA_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(a->base, n, "%s%s", a->origin, path);
	}
	r = FCA_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return r;
}

static int set_token(struct fca_fleet_api *a)
{
	static const char prefix[] = "Authorization: Bearer ";
	struct fca_secret tok = FCA_SECRET_INIT;
	int r;

	r = fca_secret_from_env(&tok, "FLEET_API_TOKEN", "FLEETCA_API_TOKEN_PATH", "the Fleet API token");
	if (r == FCA_ENOTFOUND) {
		r = fca_error_set(FCA_EAUTH, "FLEET_URL is set but no API token is: set FLEET_API_TOKEN or "
					     "FLEETCA_API_TOKEN_PATH (an API-only user's token)");
		goto out;
	}
	if (r != FCA_OK)
		goto out;
	for (size_t i = 0; i < tok.len; i++)
		if (tok.data[i] < 0x21 || tok.data[i] > 0x7e) {
			r = fca_error_set(FCA_EAUTH, "the Fleet API token holds a space or a control character: check "
						     "FLEET_API_TOKEN / FLEETCA_API_TOKEN_PATH");
			goto out;
		}
	if (tok.len == 0) {
		r = fca_error_set(FCA_EAUTH, "the Fleet API token is empty: check FLEET_API_TOKEN / FLEETCA_API_TOKEN_PATH");
		goto out;
	}
	if ((r = fca_secret_alloc(&a->auth, sizeof(prefix) + tok.len)) != 0)
		goto out;
	memcpy(a->auth.data, prefix, sizeof(prefix) - 1);
	memcpy(a->auth.data + sizeof(prefix) - 1, tok.data, tok.len);
	a->auth.len = sizeof(prefix) - 1 + tok.len;
	a->auth.data[a->auth.len] = '\0';
out:
	fca_secret_dispose(&tok);
	return r;
}

int fca_fleet_api_open_env(struct fca_fleet_api **out)
{
	struct fca_fleet_api *a;
	const char *url = getenv("FLEET_URL"), *ca = getenv("FLEETCA_API_CA_FILE"), *t = getenv("FLEETCA_API_TIMEOUT");
	int r;

	*out = NULL;
	if (!url || !*url)
		return fca_error_set(FCA_ENOTFOUND, "FLEET_URL is not set: set it to deliver activities to the Fleet "
						    "API, or choose 'activities: {sink: db}' in the desired-state file");
	if (!(a = calloc(1, sizeof(*a))))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	a->timeout_ms = TOTAL_TIMEOUT_MS;
	if (t && *t && (r = fca_fleet_api_parse_ms(&a->timeout_ms, t)) != 0) {
		fca_error_prefix("FLEETCA_API_TIMEOUT");
		goto out;
	}
	if (a->timeout_ms <= 0)
		a->timeout_ms = 1;
	a->connect_timeout_ms = a->timeout_ms < CONNECT_TIMEOUT_MS ? a->timeout_ms : CONNECT_TIMEOUT_MS;
	if (ca && *ca) {
		if (strlen(ca) >= sizeof(a->ca_file)) {
			r = fca_error_set(FCA_EINVALID, "FLEETCA_API_CA_FILE: path too long");
			goto out;
		}
		snprintf(a->ca_file, sizeof(a->ca_file), "%s", ca);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r = fca_error_set(FCA_ERROR, "cannot initialise libcurl");
		goto out;
	}
	a->global_init = 1;
	if ((r = set_url(a, url)) != 0 || (r = set_token(a)) != 0)
		goto out;
	if (!(a->curl = curl_easy_init())) {
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
		curl_easy_cleanup(a->curl);
	free(a->base);
	fca_secret_dispose(&a->auth);
	if (a->global_init)
		curl_global_cleanup();
	free(a);
}

const char *fca_fleet_api_origin(const struct fca_fleet_api *a) { return a ? a->origin : ""; }

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

/* Fleet's JSON error: "message" and the first errors[].reason, made printable and short. */
static void fleet_message(char *out, size_t n, const struct body *b)
{
	json_t *root = json_loadb(b->buf, b->len, 0, NULL);
	const char *msg = NULL, *reason = NULL;
	size_t j = 0;
	char tmp[600];

	if (root && json_is_object(root)) {
		json_t *errs = json_object_get(root, "errors"), *e0;
		msg = json_string_value(json_object_get(root, "message"));
		if (json_is_array(errs) && (e0 = json_array_get(errs, 0)))
			reason = json_string_value(json_object_get(e0, "reason"));
	}
	if (msg && reason && strcmp(msg, reason))
		snprintf(tmp, sizeof(tmp), "\"%s\" (%s)", msg, reason);
	else if (msg || reason)
		snprintf(tmp, sizeof(tmp), "\"%s\"", msg ? msg : reason);
	else
		snprintf(tmp, sizeof(tmp), "no JSON message in the response");
	json_decref(root);
	for (size_t i = 0; tmp[i] && j + 1 < n && i < 300; i++)
		out[j++] = (unsigned char)tmp[i] < 0x20 || tmp[i] == 0x7f ? '?' : tmp[i];
	out[j] = '\0';
}

/* Translates a curl error: whether trying again later can help decides the code. */
static int curl_failure(const struct fca_fleet_api *a, CURLcode c, const char *errbuf)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(c);

	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		return fca_error_set(FCA_ECONNECT, "the Fleet API at %s did not answer within %lldms (%s); will retry later",
				     a->origin, (long long)a->timeout_ms, detail);
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

static int classify(const struct fca_fleet_api *a, long status, const struct body *b, const char *key)
{
	char msg[320];

	if (status == 200 || status == 201 || status == 409)
		return FCA_OK;
	fleet_message(msg, sizeof(msg), b);
	if (status == 401 || status == 403)
		return fca_error_set(FCA_EAUTH, "the Fleet API refused the token (HTTP %ld): check FLEET_API_TOKEN "
						 "(an API-only user allowed to create activities): %s",
				     status, msg);
	if (status >= 500 && status <= 599)
		return fca_error_set(FCA_ECONNECT, "the Fleet API at %s answered HTTP %ld: %s; will retry later",
				     a->origin, status, msg);
	if (status == 404 || status == 405)
		return fca_error_set(FCA_EINVALID,
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
	size_t n = strlen(a->base) + strlen(path) + 1;
	CURLcode c;
	int r;

	*status = 0;
	errbuf[0] = '\0';
	if (!(url = malloc(n)) || !(h = curl_slist_append(hdrs, (const char *)a->auth.data))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	hdrs = h;
	snprintf(url, n, "%s%s", a->base, path);
	if (!(h = curl_slist_append(hdrs, "Accept: application/json")) || !(hdrs = h) ||
	    !(h = curl_slist_append(hdrs, "Expect:")) || !(hdrs = h) ||
	    (json && (!(h = curl_slist_append(hdrs, "Content-Type: application/json")) || !(hdrs = h))) ||
	    (extra_header && (!(h = curl_slist_append(hdrs, extra_header)) || !(hdrs = h)))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	curl_easy_reset(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl_easy_setopt(a->curl, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(a->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(a->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (a->ca_file[0])
		curl_easy_setopt(a->curl, CURLOPT_CAINFO, a->ca_file);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_timeout_ms);
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, hdrs);
	if (json) {
		curl_easy_setopt(a->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, json);
		curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	} else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(a->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(a->curl, CURLOPT_USERAGENT, "fleetca/" FLEETCA_VERSION);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(a->curl, CURLOPT_ERRORBUFFER, errbuf);
	if ((c = curl_easy_perform(a->curl)) != CURLE_OK) {
		r = curl_failure(a, c, errbuf);
		goto out;
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, status);
	r = FCA_OK;
out:
	if (a->curl) { /* the handle must not keep pointers into what its callers free */
		curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, NULL);
	}
	for (h = hdrs; h; h = h->next) /* curl's copy of the Authorization header */
		fca_secret_wipe(h->data, strlen(h->data));
	curl_slist_free_all(hdrs);
	free(url);
	return r;
}

int fca_fleet_api_post_activity(struct fca_fleet_api *a, const char *idempotency_key, const char *type,
				const char *details_json, long *http_status)
{
	struct body *b = NULL;
	json_t *root = NULL, *details = NULL;
	char *payload = NULL, idem[256];
	long status = 0;
	int r;

	*http_status = 0;
	if (strchr(idempotency_key, '\r') || strchr(idempotency_key, '\n') ||
	    (size_t)snprintf(idem, sizeof(idem), "Idempotency-Key: %s", idempotency_key) >= sizeof(idem))
		return fca_error_set(FCA_EINVALID, "activity %s: bad idempotency key", idempotency_key);
	if (!(details = json_loads(details_json, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(details)) {
		r = fca_error_set(FCA_EINVALID, "activity %s: its details are not a JSON object", idempotency_key);
		goto out;
	}
	if (!(root = json_object()) || json_object_set_new(root, "type", json_string(type)) != 0 ||
	    json_object_set(root, "details", details) != 0 ||
	    !(payload = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS)) || !(b = calloc(1, sizeof(*b)))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = request(a, "POST", ACTIVITIES_PATH, payload, idem, b, &status)) != 0)
		goto out;
	*http_status = status;
	r = classify(a, status, b, idempotency_key);
out:
	free(payload);
	free(b);
	json_decref(details);
	json_decref(root);
	return r;
}

const char *fca_fleet_api_library_version(void)
{
	const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);

	return info && info->version ? info->version : "unknown";
}
