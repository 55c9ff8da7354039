/*
 * fleetca's configuration: every knob, read once at the command-line boundary (src/cli/config.c,
 * the only file that reads the environment apart from the test hooks FLEETCA_TEST_NOW and
 * FLEETCA_FAULT*) and handed to the adapters. Secrets are held in fca_secret buffers; the
 * environment's copies of them are wiped once they are read.
 */
#ifndef FLEETCA_CONFIG_H
#define FLEETCA_CONFIG_H

#include <stdint.h>

#include "fleetca/secret.h"

#define FCA_CONFIG_PATH_MAX 1024

/* Fleet's own mysql.* settings (FLEET_MYSQL_*), and fleetca's additions. */
struct fca_mysql_config {
	char address[256]; /* FLEET_MYSQL_ADDRESS: host:port, [v6]:port, host, or a socket path (default localhost:3306)
			    */
	char protocol[16]; /* FLEET_MYSQL_PROTOCOL: tcp (default) or unix */
	char username[128];			     /* FLEET_MYSQL_USERNAME (default fleet) */
	char database[128];			     /* FLEET_MYSQL_DATABASE (default fleet) */
	struct fca_secret password;		     /* FLEET_MYSQL_PASSWORD, read once (empty when unset) */
	char password_path[FCA_CONFIG_PATH_MAX];     /* FLEET_MYSQL_PASSWORD_PATH: re-read at each connection */
	char tls_ca[FCA_CONFIG_PATH_MAX];	     /* FLEET_MYSQL_TLS_CA */
	char tls_cert[FCA_CONFIG_PATH_MAX];	     /* FLEET_MYSQL_TLS_CERT */
	char tls_key[FCA_CONFIG_PATH_MAX];	     /* FLEET_MYSQL_TLS_KEY */
	char tls_config[64];			     /* FLEET_MYSQL_TLS_CONFIG: true | false | skip-verify */
	char tls_server_name[256];		     /* FLEET_MYSQL_TLS_SERVER_NAME (refused: see store.c) */
	char region[64];			     /* FLEET_MYSQL_REGION (RDS IAM login: not supported) */
	char server_public_key[FCA_CONFIG_PATH_MAX]; /* FLEETCA_MYSQL_SERVER_PUBLIC_KEY: the server's RSA key (PEM) */
	int lock_timeout; /* seconds the run waits for the lock; the read timeout exceeds it */
};

/* The Fleet API (sink api). */
struct fca_api_config {
	char url[2048];			   /* FLEET_URL; "" = not configured */
	struct fca_secret token;	   /* FLEET_API_TOKEN or the file FLEETCA_API_TOKEN_PATH */
	int token_code;			   /* FCA_OK, or why the token could not be read (reported when needed) */
	char token_error[512];		   /* its message */
	char ca_file[FCA_CONFIG_PATH_MAX]; /* FLEETCA_API_CA_FILE: PEM of the CAs to trust ("" = system) */
	char proxy[1024];		   /* FLEETCA_API_PROXY: the only proxy used ("" = none, whatever
					    * http_proxy/https_proxy/ALL_PROXY say) */
	int64_t timeout_ms;		   /* FLEETCA_API_TIMEOUT: per request (default 30s) */
	int64_t backoff_ms;		   /* FLEETCA_API_BACKOFF: before the 2nd try, doubling (default 500ms) */
	int64_t budget_ms;		   /* FLEETCA_DELIVERY_BUDGET: all of a run's deliveries (default 20s) */
};

struct fca_config {
	struct fca_mysql_config mysql;
	struct fca_api_config api;
	struct fca_secret server_key; /* FLEET_SERVER_PRIVATE_KEY or FLEETCA_SERVER_PRIVATE_KEY_PATH, raw */
	int server_key_code;	      /* FCA_OK, or why it could not be read */
	char server_key_error[512];
};

#define FCA_API_TIMEOUT_MS_DEFAULT     30000
#define FCA_API_BACKOFF_MS_DEFAULT     500
#define FCA_DELIVERY_BUDGET_MS_DEFAULT 20000

/* Zeroes and disposes every secret of cfg. */
void fca_config_dispose(struct fca_config *cfg);

#endif
