/* The store (src/io/store.c, the only file that includes mysql.h): Fleet's MySQL tables. */
#ifndef FLEETCA_STORE_H
#define FLEETCA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "fleetca/error.h"

struct fca_store;

/* What this Fleet schema has (detected at connect). */
struct fca_store_schema {
	int has_renew_at;
	int has_identity_certificates; /* 2026+ name; else scep_certificates */
	int has_scep_certificates;
	int has_disk_encryption_keys;
	int has_hosts;
	const char *activity_table; /* "activity_past" (2026+), "activities", or NULL */
};

/*
 * Connects as cfg says (Fleet's FLEET_MYSQL_* settings, read once by the CLI: include/fleetca/config.h);
 * the schema is read when first needed. cfg->password_path, when set, is read at each connection,
 * so a rotated password file is picked up; cfg is not kept.
 */
struct fca_mysql_config;
int fca_store_open(struct fca_store **out, const struct fca_mysql_config *cfg) FCA_MUST_USE;
void fca_store_free(struct fca_store *s);
/* The schema facts, read from information_schema on first use. */
const struct fca_store_schema *fca_store_schema(struct fca_store *s);
const char *fca_store_database(const struct fca_store *s);
/* 1 when the table exists in this database. */
int fca_store_has_table(struct fca_store *s, const char *table);
/*
 * Reads the table (SELECT 1 FROM table LIMIT 0): information_schema hides a table this user may not
 * read, so only a read tells "cannot read" from "absent". FCA_EAUTH names the exact GRANT SELECT it
 * needs; FCA_ENOTFOUND when the server says the table does not exist.
 */
int fca_store_probe_table(struct fca_store *s, const char *table) FCA_MUST_USE;

struct fca_asset_row {
	uint64_t id;
	char name[257];
	unsigned char *value; /* ciphertext, malloc'd */
	size_t value_len;
	char md5_hex[33]; /* uppercase */
	int64_t created_at;
	int64_t deleted_at; /* 0 = live */
	char deletion_uuid[128];
};

struct fca_asset_rows {
	struct fca_asset_row *v;
	size_t n;
};

void fca_asset_rows_dispose(struct fca_asset_rows *rows);
const struct fca_asset_row *fca_asset_rows_find(const struct fca_asset_rows *rows, const char *name);

/*
 * Live rows (deletion_uuid = '') for names. for_update locks them (SELECT … FOR UPDATE; use inside
 * a transaction).
 */
int fca_store_read_live(struct fca_store *s, struct fca_asset_rows *out, const char *const *names, size_t n,
			int for_update) FCA_MUST_USE;
/* Every row, live and soft-deleted, for names, oldest first. */
int fca_store_read_history(struct fca_store *s, struct fca_asset_rows *out, const char *const *names,
			   size_t n) FCA_MUST_USE;

int fca_store_begin(struct fca_store *s) FCA_MUST_USE;
int fca_store_commit(struct fca_store *s) FCA_MUST_USE;
void fca_store_rollback(struct fca_store *s);

/* Fleet's soft delete: deleted_at = now, deletion_uuid = a fresh random UUID. *affected = rows. */
int fca_store_soft_delete(struct fca_store *s, const char *const *names, size_t n, uint64_t *affected) FCA_MUST_USE;
/*
 * Inserts a live row; md5_checksum = MD5(value); renew_at set when the column exists and renew_at > 0.
 * renew_at is a TIMESTAMP (at most 2038-01-19 03:14:07 UTC): a later time is stored as that latest value.
 */
int fca_store_insert(struct fca_store *s, const char *name, const unsigned char *value, size_t len,
		     int64_t renew_at) FCA_MUST_USE;

/*
 * GET_LOCK(<name>, timeout). FCA_ELOCKED when held: *holder = IS_USED_LOCK id. The name is
 * fca_store_lock_name's: 'fleetca:<database>' while that is within MySQL's 64 characters (the name
 * older fleetca binaries take, so old and new runs exclude each other), else shortened with a hash.
 */
int fca_store_lock(struct fca_store *s, int timeout_secs, uint64_t *holder) FCA_MUST_USE;
void fca_store_unlock(struct fca_store *s);
uint64_t fca_store_connection_id(struct fca_store *s);

/*
 * The run lock's name for a database, at most FCA_STORE_LOCK_NAME_MAX characters (MySQL refuses a
 * longer GET_LOCK name): "fleetca:<database>" when that fits, else "fleetca:" + the database name's
 * first 23 characters + "~" + the first 32 hex digits of SHA-256(<database>) (64 characters).
 * buf holds FCA_STORE_LOCK_NAME_MAX * 4 + 1 bytes (64 characters of UTF-8).
 */
#define FCA_STORE_LOCK_NAME_MAX 64
void fca_store_lock_name(char *buf, size_t n, const char *database);

/* The client's read timeout for a run that waits lock_timeout seconds for the lock: a GET_LOCK wait
 * must end as "locked" (exit 4), never as a read timeout ("connection lost"). */
#define FCA_STORE_READ_TIMEOUT_MIN    120
#define FCA_STORE_READ_TIMEOUT_MARGIN 30
unsigned int fca_store_read_timeout(int lock_timeout);

/* Where FLEET_MYSQL_ADDRESS points (with FLEET_MYSQL_PROTOCOL). */
struct fca_mysql_endpoint {
	char host[256];	    /* "localhost" for a socket */
	unsigned int port;  /* 3306 unless given */
	const char *socket; /* the address itself for a unix socket, else NULL */
};
/*
 * Parses "host", "host:port", "[v6]", "[v6]:port", a bare IPv6 address ("::1"), or a unix socket
 * path (starting with '/', or any address with protocol "unix"). "localhost" over TCP is connected as
 * 127.0.0.1 (as Fleet's Go driver: TCP, not the socket), except with TLS, where the certificate names
 * the host that was asked for: then it stays "localhost" (and TCP is forced by the caller).
 */
int fca_store_parse_address(struct fca_mysql_endpoint *ep, const char *address, const char *protocol,
			    int tls) FCA_MUST_USE;

/* One issued certificate row, valid only during the callback. */
struct fca_issued_row {
	const char *table;
	uint64_t serial;
	const char *name;
	uint64_t host_id;
	int has_host_id;
	int64_t not_valid_after;
	int revoked;
	const char *pem;
	size_t pem_len;
};
typedef int (*fca_issued_cb)(void *ctx, const struct fca_issued_row *row);
/*
 * Streams every row of an issued-certificate table (mysql_use_result: constant memory). When
 * only_live_after > 0, only rows with revoked = 0 and not_valid_after > that time are sent.
 */
int fca_store_scan_issued(struct fca_store *s, const char *table, int64_t only_live_after, fca_issued_cb cb,
			  void *ctx) FCA_MUST_USE;

/*
 * Streams nano_cert_auth_associations: each row's sha256 (lowercase hex SHA-256 of the device's
 * identity certificate DER) and whether it is its enrollment's newest certificate by Fleet's own
 * rule. FCA_ENOTFOUND when the server says the table does not exist; FCA_EAUTH, naming the GRANT,
 * without SELECT on it (information_schema hides such a table: the query itself tells them apart).
 */
typedef int (*fca_assoc_cb)(void *ctx, const char *sha256_hex, size_t len, int newest);
int fca_store_scan_cert_assocs(struct fca_store *s, fca_assoc_cb cb, void *ctx) FCA_MUST_USE;

/* Streams the base64 CMS of macOS FileVault escrows (host_disk_encryption_keys of darwin hosts).
 * Both tables are probed first (fca_store_probe_table); a stream that ends early is an error. */
typedef int (*fca_escrow_cb)(void *ctx, uint64_t host_id, const char *b64, size_t len);
int fca_store_scan_escrows(struct fca_store *s, fca_escrow_cb cb, void *ctx) FCA_MUST_USE;

/*
 * Inserts an activity into Fleet's own activity table (activity_past where it exists, else
 * activities) with the columns Fleet's writer fills: user_name "fleetca", fleet_initiated 0,
 * host_only 0, streamed 0, created_at as given. FCA_EAUTH, naming the GRANT, when the user may not.
 */
#define FCA_STORE_ACTIVITY_USER "fleetca"
int fca_store_insert_activity(struct fca_store *s, const char *type, const char *details_json,
			      int64_t created_at) FCA_MUST_USE;

#endif
