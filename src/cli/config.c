/*
 * Every knob of fleetca, read once, here: the only file that reads the environment (apart from the
 * test hooks FLEETCA_TEST_NOW in src/core/timeutil.c and FLEETCA_FAULT* in src/core/fault.c).
 * The adapters receive struct fca_config (include/fleetca/config.h) and read nothing themselves,
 * so a secret read here lasts for the life of the process: a reconcile loop keeps its API token
 * and MySQL password after its first round.
 *
 *   FLEET_MYSQL_ADDRESS, FLEET_MYSQL_PROTOCOL, FLEET_MYSQL_USERNAME, FLEET_MYSQL_DATABASE,
 *   FLEET_MYSQL_PASSWORD | FLEET_MYSQL_PASSWORD_PATH, FLEET_MYSQL_TLS_CA, FLEET_MYSQL_TLS_CERT,
 *   FLEET_MYSQL_TLS_KEY, FLEET_MYSQL_TLS_CONFIG, FLEET_MYSQL_TLS_SERVER_NAME, FLEET_MYSQL_REGION,
 *   FLEETCA_MYSQL_SERVER_PUBLIC_KEY                                           (Fleet's MySQL)
 *   FLEET_SERVER_PRIVATE_KEY | FLEETCA_SERVER_PRIVATE_KEY_PATH                (the server key)
 *   FLEET_URL, FLEET_API_TOKEN | FLEETCA_API_TOKEN_PATH, FLEETCA_API_CA_FILE, FLEETCA_API_PROXY,
 *   FLEETCA_API_TIMEOUT, FLEETCA_API_BACKOFF, FLEETCA_DELIVERY_BUDGET         (the Fleet API)
 *   NO_COLOR, TERM                                                            (output: main.c)
 * SSLKEYLOGFILE is removed from the environment: no library writes TLS session keys for fleetca.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "fleetca/config.h"
#include "fleetca/crypto.h"
#include "fleetca/engine.h"
#include "fleetca/store.h"
#include "fleetca/fleet_api.h"

static int copy_env(char *buf, size_t n, const char *name, const char *dflt)
{
	const char *v = getenv(name);

	if (!v || !*v)
		v = dflt;
	if (strlen(v) >= n)
		return fca_error_set(FCA_EINVALID, "%s is too long (at most %zu characters)", name, n - 1);
	memcpy(buf, v, strlen(v) + 1); /* checked above */
	return FCA_OK;
}

/* Reads a secret once and wipes the environment's copy, so /proc/<pid>/environ no longer shows it. */
static int secret_env(struct fca_secret *s, const char *env_name, const char *path_env_name, const char *what)
{
	char *v = getenv(env_name);
	int r = fca_secret_from_value(s, v, getenv(path_env_name), env_name, path_env_name, what);

	if (v && *v) {
		fca_secret_wipe(v, strlen(v));
		unsetenv(env_name);
	}
	return r;
}

static int duration_env(int64_t *ms, const char *name, int64_t dflt)
{
	const char *v = getenv(name);

	*ms = dflt;
	if (v && *v && fca_fleet_api_parse_ms(ms, v) != 0) {
		fca_error_prefix("%s", name);
		return FCA_EINVALID;
	}
	return FCA_OK;
}

void fca_config_dispose(struct fca_config *cfg)
{
	if (!cfg)
		return;
	fca_secret_dispose(&cfg->mysql.password);
	fca_secret_dispose(&cfg->api.token);
	fca_secret_dispose(&cfg->server_key);
}

int cli_config_load(struct fca_config *cfg, int64_t lock_timeout)
{
	struct fca_mysql_config *m = &cfg->mysql;
	struct fca_api_config *a = &cfg->api;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	(void)unsetenv("SSLKEYLOGFILE");
	/* the server key: every command that reads rows needs it */
	if ((r = secret_env(&cfg->server_key, "FLEET_SERVER_PRIVATE_KEY", "FLEETCA_SERVER_PRIVATE_KEY_PATH",
			    "the Fleet server private key")) != 0)
		goto out;
	/* MySQL */
	if ((r = copy_env(m->address, sizeof(m->address), "FLEET_MYSQL_ADDRESS", "localhost:3306")) != 0 ||
	    (r = copy_env(m->protocol, sizeof(m->protocol), "FLEET_MYSQL_PROTOCOL", "tcp")) != 0 ||
	    (r = copy_env(m->username, sizeof(m->username), "FLEET_MYSQL_USERNAME", "fleet")) != 0 ||
	    (r = copy_env(m->database, sizeof(m->database), "FLEET_MYSQL_DATABASE", "fleet")) != 0 ||
	    (r = copy_env(m->tls_ca, sizeof(m->tls_ca), "FLEET_MYSQL_TLS_CA", "")) != 0 ||
	    (r = copy_env(m->tls_cert, sizeof(m->tls_cert), "FLEET_MYSQL_TLS_CERT", "")) != 0 ||
	    (r = copy_env(m->tls_key, sizeof(m->tls_key), "FLEET_MYSQL_TLS_KEY", "")) != 0 ||
	    (r = copy_env(m->tls_config, sizeof(m->tls_config), "FLEET_MYSQL_TLS_CONFIG", "")) != 0 ||
	    (r = copy_env(m->tls_server_name, sizeof(m->tls_server_name), "FLEET_MYSQL_TLS_SERVER_NAME", "")) != 0 ||
	    (r = copy_env(m->region, sizeof(m->region), "FLEET_MYSQL_REGION", "")) != 0 ||
	    (r = copy_env(m->server_public_key, sizeof(m->server_public_key), "FLEETCA_MYSQL_SERVER_PUBLIC_KEY", "")) !=
		0)
		goto out;
	m->lock_timeout = (int)lock_timeout;
	{
		char *pw = getenv("FLEET_MYSQL_PASSWORD");
		const char *path = getenv("FLEET_MYSQL_PASSWORD_PATH");
		if (pw && *pw && path && *path) {
			r = fca_error_set(FCA_EINVALID,
					  "both FLEET_MYSQL_PASSWORD and FLEET_MYSQL_PASSWORD_PATH are set: "
					  "set one of them (the MySQL password)");
			goto out;
		}
		/* a file is read at each connection (a rotated password is picked up), but checked now */
		if (path && *path) {
			struct fca_secret probe = FCA_SECRET_INIT;
			if ((r = copy_env(m->password_path, sizeof(m->password_path), "FLEET_MYSQL_PASSWORD_PATH",
					  "")) != 0 ||
			    (r = fca_secret_read_file(&probe, path, "the MySQL password")) != 0)
				goto out;
			fca_secret_dispose(&probe);
		}
		if ((r = secret_env(&m->password, "FLEET_MYSQL_PASSWORD", "", "the MySQL password")) == FCA_ENOTFOUND) {
			fca_error_clear();
			r = fca_secret_set(&m->password, "", 0);
		}
		if (r != FCA_OK)
			goto out;
	}
	/* the Fleet API: its token is needed only by the api sink, so a problem is kept for then */
	if ((r = copy_env(a->url, sizeof(a->url), "FLEET_URL", "")) != 0 ||
	    (r = copy_env(a->ca_file, sizeof(a->ca_file), "FLEETCA_API_CA_FILE", "")) != 0 ||
	    (r = copy_env(a->proxy, sizeof(a->proxy), "FLEETCA_API_PROXY", "")) != 0 ||
	    (r = duration_env(&a->timeout_ms, "FLEETCA_API_TIMEOUT", FCA_API_TIMEOUT_MS_DEFAULT)) != 0 ||
	    (r = duration_env(&a->backoff_ms, "FLEETCA_API_BACKOFF", FCA_API_BACKOFF_MS_DEFAULT)) != 0 ||
	    (r = duration_env(&a->budget_ms, "FLEETCA_DELIVERY_BUDGET", FCA_DELIVERY_BUDGET_MS_DEFAULT)) != 0)
		goto out;
	a->token_code = secret_env(&a->token, "FLEET_API_TOKEN", "FLEETCA_API_TOKEN_PATH", "the Fleet API token");
	if (a->token_code != FCA_OK) {
		snprintf(a->token_error, sizeof(a->token_error), "%s", fca_error_message()); /* for a person */
		fca_error_clear();
	}
	r = FCA_OK;
out:
	if (r != FCA_OK)
		fca_config_dispose(cfg);
	return r;
}

int cli_open(struct fca_config *cfg, int64_t lock_timeout, struct fca_secret *aes_key, struct fca_store **s)
{
	int r;

	if ((r = cli_config_load(cfg, lock_timeout)) != 0 ||
	    (r = fca_engine_load_server_key(aes_key, &cfg->server_key)) != 0)
		return r;
	fca_crypto_init();
	return s ? fca_store_open(s, &cfg->mysql) : FCA_OK;
}
