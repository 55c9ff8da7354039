/*
 * The MySQL adapter: connects with Fleet's environment, detects the schema, reads and writes
 * mdm_config_assets exactly as Fleet does (soft delete + insert, md5 over the ciphertext), takes the
 * run lock and streams the issued-certificate tables. MySQL errors are translated here, once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>
#include <mysqld_error.h>

#include "fleetca/config.h"
#include "fleetca/crypto.h"
#include "core/fault.h"
#include "fleetca/secret.h"
#include "fleetca/store.h"
#include "fleetca/timeutil.h"
#include "fleetca/version.h"

#define SQL_MAX 8192

/* CR_PLUGIN_NOT_ALLOWED (errmsg.h): a login method outside MARIADB_OPT_RESTRICTED_AUTH */
#define FCA_CR_PLUGIN_NOT_ALLOWED 5010
/* MySQL 8.0.24+ ER_CLIENT_INTERACTION_TIMEOUT (MariaDB uses 4031 for another error) */
#define FCA_MYSQL_ER_CLIENT_INTERACTION_TIMEOUT 4031

/* A growing list of table names (a real Fleet database has hundreds of tables: no cap). */
struct name_list {
	char (*v)[65];
	size_t n, cap;
};

static int name_list_add(struct name_list *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char(*v)[65] = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return fca_error_set(FCA_ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", name);
	return FCA_OK;
}

static int name_list_has(const struct name_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return 1;
	return 0;
}

struct fca_store {
	MYSQL *db;
	char database[128];
	char address[256];
	struct fca_store_schema schema;
	int schema_loaded; /* read on first need: a converged run never needs it */
	int tls; /* the connection was asked to use TLS */
	int mariadb; /* the server is MariaDB (error numbers above 4000 differ from MySQL's) */
	struct name_list tables;
	struct name_list host_id_tables; /* tables with a host_id column */
};

/* Errors that say what happened to the server or the connection, for any statement. */
static int server_state_error(const struct fca_store *s, unsigned int e, const char *msg, const char *what)
{
	if (e == ER_OPTION_PREVENTS_STATEMENT)
		return fca_error_set(FCA_ERROR,
				     "%s: the MySQL server at %s refused the write (MySQL error %u: %s): it is read-only "
				     "(a read replica, or the old primary after a failover); nothing was committed. Point "
				     "FLEET_MYSQL_ADDRESS at the writer (primary) endpoint, as Fleet's own "
				     "FLEET_MYSQL_ADDRESS (not its read replica), and run the command again",
				     what, s->address, e, msg);
	if ((e == FCA_MYSQL_ER_CLIENT_INTERACTION_TIMEOUT && !s->mariadb) || e == 2006 /* CR_SERVER_GONE_ERROR */ ||
	    e == 2013 /* CR_SERVER_LOST */)
		return fca_error_set(FCA_ECONNECT,
				     "%s: the database connection was lost (MySQL error %u: %s): the server closed it "
				     "(an idle timeout: wait_timeout/interactive_timeout, a restart, a failover or a "
				     "KILL) or the network dropped it; no partial step was committed: run the command "
				     "again",
				     what, e, msg);
	return FCA_OK;
}

/* The one place a MySQL error becomes an fca error. */
static int db_error(struct fca_store *s, const char *what)
{
	unsigned int e = mysql_errno(s->db);
	int code = FCA_ERROR, r;

	if ((r = server_state_error(s, e, mysql_error(s->db), what)) != FCA_OK)
		return r;
	switch (e) {
	case ER_DUP_ENTRY: code = FCA_ECONFLICT; break;
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_LOCK_DEADLOCK: code = FCA_ELOCKED; break;
	case ER_ACCESS_DENIED_ERROR:
	case ER_TABLEACCESS_DENIED_ERROR:
	case ER_DBACCESS_DENIED_ERROR: code = FCA_EAUTH; break;
	default: break;
	}
	return fca_error_set(code, "%s: MySQL error %u: %s", what, e, mysql_error(s->db));
}

static void grantee(struct fca_store *s, char *buf, size_t n);
static int valid_ident(const char *t);

static int exec(struct fca_store *s, const char *sql, const char *what)
{
	if (mysql_real_query(s->db, sql, strlen(sql)) != 0)
		return db_error(s, what);
	return FCA_OK;
}

/* Runs a query whose first column of the first row is an integer; *isnull when NULL/no row. */
static int query_int(struct fca_store *s, const char *sql, const char *what, long long *v, int *isnull)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int r;

	if ((r = exec(s, sql, what)) != 0)
		return r;
	if (!(res = mysql_store_result(s->db)))
		return db_error(s, what);
	row = mysql_fetch_row(res);
	*isnull = !row || !row[0];
	*v = (row && row[0]) ? strtoll(row[0], NULL, 10) : 0;
	mysql_free_result(res);
	return FCA_OK;
}

static int set_tls(struct fca_store *s, const struct fca_mysql_config *cfg)
{
	const char *ca = cfg->tls_ca, *cert = cfg->tls_cert, *key = cfg->tls_key, *tc = cfg->tls_config;
	my_bool on = 1, off = 0;
	int want;

	if (*tc && strcmp(tc, "true") && strcmp(tc, "false") && strcmp(tc, "skip-verify"))
		return fca_error_set(FCA_EINVALID,
				     "FLEET_MYSQL_TLS_CONFIG '%s': fleetca understands true, false and skip-verify "
				     "(a custom configuration name is Fleet-internal): set one of those with "
				     "FLEET_MYSQL_TLS_CA/CERT/KEY",
				     tc);
	if (cfg->tls_server_name[0])
		return fca_error_set(FCA_EINVALID,
				     "FLEET_MYSQL_TLS_SERVER_NAME is set, but the MySQL client library cannot verify "
				     "against another name than the one connected to: put '%s' in FLEET_MYSQL_ADDRESS "
				     "instead and unset FLEET_MYSQL_TLS_SERVER_NAME",
				     cfg->tls_server_name);
	want = *ca || *cert || (*tc && strcmp(tc, "false") != 0);
	s->tls = want;
	if (!want)
		return FCA_OK;
	{
		/* the client library's own message for a missing file is only "SSL connection error" */
		const struct {
			const char *env, *path;
		} files[] = { { "FLEET_MYSQL_TLS_CA", ca }, { "FLEET_MYSQL_TLS_CERT", cert }, { "FLEET_MYSQL_TLS_KEY", key } };
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			FILE *f;
			if (!*files[i].path)
				continue;
			if (!(f = fopen(files[i].path, "r")))
				return fca_error_set(FCA_EINVALID, "%s %s: %s", files[i].env, files[i].path,
						     strerror(errno));
			fclose(f);
		}
	}
	if (*ca)
		mysql_optionsv(s->db, MYSQL_OPT_SSL_CA, ca);
	if (*cert)
		mysql_optionsv(s->db, MYSQL_OPT_SSL_CERT, cert);
	if (*key)
		mysql_optionsv(s->db, MYSQL_OPT_SSL_KEY, key);
	mysql_optionsv(s->db, MYSQL_OPT_SSL_ENFORCE, &on);
	/* Fleet's tls_config: "skip-verify" encrypts without checking the server's certificate. */
	mysql_optionsv(s->db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, strcmp(tc, "skip-verify") == 0 ? &off : &on);
	return FCA_OK;
}

static int detect_schema(struct fca_store *s)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int r = FCA_OK;

	/* Tables, and the columns whose presence varies between Fleet versions, in one round trip. */
	if ((r = exec(s,
		      "SELECT TABLE_NAME, '' FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
		      "UNION ALL SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
		      "WHERE TABLE_SCHEMA = DATABASE() AND ((TABLE_NAME = 'mdm_config_assets' AND "
		      "COLUMN_NAME = 'renew_at') OR COLUMN_NAME = 'host_id')",
		      "reading the schema")) != 0)
		return r;
	if (!(res = mysql_store_result(s->db)))
		return db_error(s, "reading the schema");
	s->tables.n = s->host_id_tables.n = 0;
	s->schema.has_renew_at = 0;
	while (r == FCA_OK && (row = mysql_fetch_row(res))) {
		if (!row[0] || !row[1])
			continue;
		if (!row[1][0])
			r = name_list_add(&s->tables, row[0]);
		else if (!strcmp(row[1], "renew_at"))
			s->schema.has_renew_at = 1;
		else
			r = name_list_add(&s->host_id_tables, row[0]);
	}
	/* a list cut short (a dropped connection) is not the schema */
	if (r == FCA_OK && mysql_errno(s->db) != 0)
		r = db_error(s, "reading the schema");
	mysql_free_result(res);
	if (r != FCA_OK)
		return r;
	s->schema_loaded = 1;
	if (!fca_store_has_table(s, "mdm_config_assets"))
		return fca_error_set(FCA_ENOTFOUND,
				     "table mdm_config_assets not found in database '%s': is FLEET_MYSQL_DATABASE "
				     "the Fleet database, and have Fleet's migrations run (fleet prepare db)?",
				     s->database);
	s->schema.has_identity_certificates = fca_store_has_table(s, "identity_certificates");
	s->schema.has_scep_certificates = fca_store_has_table(s, "scep_certificates");
	s->schema.has_disk_encryption_keys = fca_store_has_table(s, "host_disk_encryption_keys");
	s->schema.has_hosts = fca_store_has_table(s, "hosts");
	/* Fleet since 2026-03 keeps activities in activity_past (renamed from activities). */
	s->schema.activity_table = fca_store_has_table(s, "activity_past") ? "activity_past"
				   : fca_store_has_table(s, "activities")  ? "activities"
									   : NULL;
	return FCA_OK;
}

/* Loads the schema facts once; a failure is an error of the query that needed them. */
static int ensure_schema(struct fca_store *s)
{
	return s->schema_loaded ? FCA_OK : detect_schema(s);
}

int fca_store_has_table(struct fca_store *s, const char *table)
{
	if (ensure_schema(s) != FCA_OK)
		return 0;
	return name_list_has(&s->tables, table);
}

/* A table this user may not read is hidden from information_schema; only a read tells. */
static int denied(unsigned int e)
{
	return e == ER_TABLEACCESS_DENIED_ERROR || e == ER_COLUMNACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR ||
	       e == ER_ACCESS_DENIED_ERROR;
}

static int read_error(struct fca_store *s, const char *table, const char *what)
{
	unsigned int e = mysql_errno(s->db);
	char who[200];

	if (e == ER_NO_SUCH_TABLE)
		return fca_error_set(FCA_ENOTFOUND,
				     "%s: table %s is missing from database '%s', and Fleet's schema has it: is "
				     "FLEET_MYSQL_DATABASE the Fleet database, and have Fleet's migrations run?",
				     what, table, s->database);
	if (denied(e)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", mysql_error(s->db));
		grantee(s, who, sizeof(who));
		return fca_error_set(FCA_EAUTH,
				     "%s: this database user may not read %s.%s (%s). Grant it: GRANT SELECT ON "
				     "`%s`.`%s` TO %s;",
				     what, s->database, table, msg, s->database, table, who);
	}
	return db_error(s, what);
}

int fca_store_probe_table(struct fca_store *s, const char *table)
{
	char sql[128], what[96];
	MYSQL_RES *res;

	if (!valid_ident(table))
		return fca_error_set(FCA_EINVALID, "bad table name");
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s LIMIT 0", table);
	snprintf(what, sizeof(what), "reading %s", table);
	if (mysql_real_query(s->db, sql, strlen(sql)) != 0)
		return read_error(s, table, what);
	if ((res = mysql_store_result(s->db)))
		mysql_free_result(res);
	else if (mysql_errno(s->db))
		return read_error(s, table, what);
	return FCA_OK;
}

int fca_store_parse_address(struct fca_mysql_endpoint *ep, const char *address, const char *protocol, int tls)
{
	const char *port = NULL, *host = address, *close;
	size_t hlen;

	memset(ep, 0, sizeof(*ep));
	ep->port = 3306;
	if (!address || !*address)
		return fca_error_set(FCA_EINVALID, "FLEET_MYSQL_ADDRESS is empty: give host:port or a socket path");
	if (address[0] == '/' || (protocol && strcmp(protocol, "unix") == 0)) {
		if (strlen(address) >= 108) /* sun_path */
			return fca_error_set(FCA_EINVALID, "FLEET_MYSQL_ADDRESS '%s': a socket path is at most 107 "
							   "characters",
					     address);
		ep->socket = address;
		snprintf(ep->host, sizeof(ep->host), "localhost");
		return FCA_OK;
	}
	if (address[0] == '[') { /* [v6] or [v6]:port */
		if (!(close = strchr(address, ']')) || close == address + 1 || (close[1] && close[1] != ':'))
			return fca_error_set(FCA_EINVALID,
					     "FLEET_MYSQL_ADDRESS '%s': an IPv6 address is written [address]:port", address);
		host = address + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = strchr(address, ':');
		if (colon && strchr(colon + 1, ':')) { /* a bare IPv6 address: no port */
			hlen = strlen(address);
		} else {
			hlen = colon ? (size_t)(colon - address) : strlen(address);
			port = colon ? colon + 1 : NULL;
		}
	}
	if (hlen == 0 || hlen >= sizeof(ep->host))
		return fca_error_set(FCA_EINVALID, "FLEET_MYSQL_ADDRESS '%s': %s", address,
				     hlen ? "the host name is too long" : "the host is missing (host:port)");
	memcpy(ep->host, host, hlen);
	ep->host[hlen] = '\0';
	if (port) {
		char *end;
		unsigned long p;
		errno = 0;
		p = strtoul(port, &end, 10);
		if (!*port || *port == '-' || *port == '+' || *port == ' ' || errno || *end || p == 0 || p > 65535)
			return fca_error_set(FCA_EINVALID, "FLEET_MYSQL_ADDRESS '%s': the port is not a number 1-65535",
					     address);
		ep->port = (unsigned int)p;
	}
	/* As Fleet's Go driver: localhost means TCP to the loopback address, not the socket. With TLS
	 * the name stays, as the server's certificate names "localhost", not "127.0.0.1". */
	if (!tls && strcmp(ep->host, "localhost") == 0)
		snprintf(ep->host, sizeof(ep->host), "127.0.0.1");
	return FCA_OK;
}

unsigned int fca_store_read_timeout(int lock_timeout)
{
	long long t = (long long)(lock_timeout > 0 ? lock_timeout : 0) + FCA_STORE_READ_TIMEOUT_MARGIN;

	if (t < FCA_STORE_READ_TIMEOUT_MIN)
		t = FCA_STORE_READ_TIMEOUT_MIN;
	if (t > 365LL * 86400)
		t = 365LL * 86400;
	return (unsigned int)t;
}

/* Login methods fleetca accepts. mysql_clear_password (and dialog, PAM's) send the password as it
 * is: only inside TLS. sha256_password encrypts it to the server's RSA key. */
static const char *allowed_logins(int tls)
{
	return tls ? "mysql_native_password,caching_sha2_password,sha256_password,client_ed25519,"
		     "mysql_clear_password"
		   : "mysql_native_password,caching_sha2_password,sha256_password,client_ed25519";
}

/* Wipes the copy of the password the client library keeps in its connection (for a reconnect,
 * which fleetca never asks for). */
static void wipe_library_password(MYSQL *db)
{
	if (db && db->passwd)
		fca_secret_wipe(db->passwd, strlen(db->passwd));
}

int fca_store_open(struct fca_store **out, const struct fca_mysql_config *cfg)
{
	struct fca_store *s = NULL;
	struct fca_secret pw = FCA_SECRET_INIT;
	struct fca_mysql_endpoint ep;
	const char *user = cfg->username;
	unsigned int timeout = 10, rw_timeout = fca_store_read_timeout(cfg->lock_timeout);
	int r = FCA_ERROR;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	snprintf(s->address, sizeof(s->address), "%s", cfg->address);
	snprintf(s->database, sizeof(s->database), "%s", cfg->database);
	if (cfg->region[0]) {
		r = fca_error_set(FCA_EINVALID,
				  "FLEET_MYSQL_REGION is set (Fleet's RDS IAM login): not supported by fleetca: use a "
				  "password (FLEET_MYSQL_PASSWORD or FLEET_MYSQL_PASSWORD_PATH) and unset "
				  "FLEET_MYSQL_REGION");
		goto out;
	}
	if (cfg->server_public_key[0] && access(cfg->server_public_key, R_OK) != 0) {
		r = fca_error_set(FCA_EINVALID, "FLEETCA_MYSQL_SERVER_PUBLIC_KEY %s: %s", cfg->server_public_key,
				  strerror(errno));
		goto out;
	}
	if (!(s->db = mysql_init(NULL))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = set_tls(s, cfg)) != 0 ||
	    (r = fca_store_parse_address(&ep, cfg->address, cfg->protocol, s->tls)) != 0)
		goto out;
	if (cfg->password_path[0])
		r = fca_secret_read_file(&pw, cfg->password_path, "the MySQL password");
	else
		r = fca_secret_set(&pw, cfg->password.data ? (const char *)cfg->password.data : "", cfg->password.len);
	if (r != FCA_OK)
		goto out;
	mysql_optionsv(s->db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_optionsv(s->db, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_optionsv(s->db, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_optionsv(s->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!ep.socket) { /* "localhost" with TLS too: TCP, never the socket */
		enum mysql_protocol_type tcp = MYSQL_PROTOCOL_TCP;
		mysql_optionsv(s->db, MYSQL_OPT_PROTOCOL, &tcp);
	}
	if (mysql_optionsv(s->db, MARIADB_OPT_RESTRICTED_AUTH, allowed_logins(s->tls)) != 0) {
		r = fca_error_set(FCA_ERROR, "the MySQL client library cannot restrict login methods "
					     "(MARIADB_OPT_RESTRICTED_AUTH): Connector/C 3.3 or later is needed");
		goto out;
	}
	/* caching_sha2_password over plain TCP: encrypt the password to the pinned server key */
	if (cfg->server_public_key[0])
		mysql_optionsv(s->db, MYSQL_SERVER_PUBLIC_KEY, cfg->server_public_key);
	if (!mysql_real_connect(s->db, ep.host, user, (const char *)pw.data, s->database, ep.port, ep.socket, 0)) {
		unsigned int e = mysql_errno(s->db);
		if (e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR || e == ER_BAD_DB_ERROR)
			r = fca_error_set(e == ER_BAD_DB_ERROR ? FCA_ENOTFOUND : FCA_EAUTH,
					  "cannot use database '%s' at %s as '%s': %s: check FLEET_MYSQL_USERNAME, "
					  "FLEET_MYSQL_PASSWORD and FLEET_MYSQL_DATABASE",
					  s->database, s->address, user, mysql_error(s->db));
		else if (e == FCA_CR_PLUGIN_NOT_ALLOWED)
			r = fca_error_set(FCA_EAUTH,
					  "cannot connect to MySQL at %s: %s: fleetca logs in with "
					  "caching_sha2_password, mysql_native_password, sha256_password or ed25519, "
					  "and sends a cleartext password only over TLS (FLEET_MYSQL_TLS_CA or "
					  "FLEET_MYSQL_TLS_CONFIG=true)",
					  s->address, mysql_error(s->db));
		else
			r = fca_error_set(FCA_ECONNECT,
					  "cannot connect to MySQL at %s: %s: check FLEET_MYSQL_ADDRESS and that "
					  "the server is running",
					  s->address, mysql_error(s->db));
		goto out;
	}
	wipe_library_password(s->db);
	s->mariadb = mariadb_connection(s->db) != 0;
	/* As Fleet pins its sessions: TIMESTAMP values are converted in UTC, so a daylight-saving server
	 * zone cannot shift renew_at or created_at in the hour that repeats. */
	if ((r = exec(s, "SET time_zone = '+00:00'", "setting the session time zone to UTC")) != 0)
		goto out;
	*out = s;
	s = NULL;
	r = FCA_OK;
out:
	fca_secret_dispose(&pw);
	fca_store_free(s);
	return r;
}

void fca_store_free(struct fca_store *s)
{
	if (!s)
		return;
	if (s->db)
		mysql_close(s->db);
	free(s->tables.v);
	free(s->host_id_tables.v);
	free(s);
}

const struct fca_store_schema *fca_store_schema(struct fca_store *s)
{
	(void)ensure_schema(s);
	return &s->schema;
}
const char *fca_store_database(const struct fca_store *s) { return s->database; }
uint64_t fca_store_connection_id(struct fca_store *s) { return mysql_thread_id(s->db); }

void fca_asset_rows_dispose(struct fca_asset_rows *rows)
{
	if (!rows)
		return;
	for (size_t i = 0; i < rows->n; i++)
		free(rows->v[i].value);
	free(rows->v);
	rows->v = NULL;
	rows->n = 0;
}

const struct fca_asset_row *fca_asset_rows_find(const struct fca_asset_rows *rows, const char *name)
{
	for (size_t i = 0; i < rows->n; i++)
		if (rows->v[i].deleted_at == 0 && strcmp(rows->v[i].name, name) == 0)
			return &rows->v[i];
	return NULL;
}

/* Appends "'a','b',…" with each name escaped. */
static int name_list(struct fca_store *s, char *buf, size_t cap, const char *const *names, size_t n)
{
	size_t off = 0;

	if (n == 0)
		return fca_error_set(FCA_EINVALID, "no asset names given");
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		if (l > 256 || off + 2 * l + 4 >= cap)
			return fca_error_set(FCA_EINVALID, "too many or too long asset names");
		buf[off++] = i ? ',' : '(';
		buf[off++] = '\'';
		off += mysql_real_escape_string(s->db, buf + off, names[i], (unsigned long)l);
		buf[off++] = '\'';
	}
	buf[off++] = ')';
	buf[off] = '\0';
	return FCA_OK;
}

static int read_rows(struct fca_store *s, struct fca_asset_rows *out, const char *where, const char *tail,
		     const char *const *names, size_t n)
{
	char sql[SQL_MAX], list[SQL_MAX / 2];
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *lens;
	int r;

	out->v = NULL;
	out->n = 0;
	if ((r = name_list(s, list, sizeof(list), names, n)) != 0)
		return r;
	snprintf(sql, sizeof(sql),
		 "SELECT id, name, value, HEX(md5_checksum), UNIX_TIMESTAMP(created_at), "
		 "UNIX_TIMESTAMP(deleted_at), deletion_uuid FROM mdm_config_assets WHERE name IN %s%s "
		 "ORDER BY id%s",
		 list, where, tail);
	if (mysql_real_query(s->db, sql, strlen(sql)) != 0) {
		if (mysql_errno(s->db) == ER_NO_SUCH_TABLE)
			return fca_error_set(FCA_ENOTFOUND,
					     "table mdm_config_assets not found in database '%s': is FLEET_MYSQL_DATABASE "
					     "the Fleet database, and have Fleet's migrations run (fleet prepare db)?",
					     s->database);
		return db_error(s, "reading mdm_config_assets");
	}
	if (!(res = mysql_store_result(s->db)))
		return db_error(s, "reading mdm_config_assets");
	if (mysql_num_rows(res) > 0 && !(out->v = calloc(mysql_num_rows(res), sizeof(*out->v)))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	while ((row = mysql_fetch_row(res))) {
		struct fca_asset_row *a = &out->v[out->n];
		lens = mysql_fetch_lengths(res);
		a->id = strtoull(row[0], NULL, 10);
		snprintf(a->name, sizeof(a->name), "%s", row[1] ? row[1] : "");
		a->value_len = lens[2];
		if (!(a->value = malloc(lens[2] ? lens[2] : 1))) {
			r = fca_error_set(FCA_ENOMEM, "out of memory");
			goto out;
		}
		out->n++;
		memcpy(a->value, row[2], lens[2]);
		snprintf(a->md5_hex, sizeof(a->md5_hex), "%s", row[3] ? row[3] : "");
		a->created_at = row[4] ? strtoll(row[4], NULL, 10) : 0;
		a->deleted_at = row[5] ? strtoll(row[5], NULL, 10) : 0;
		snprintf(a->deletion_uuid, sizeof(a->deletion_uuid), "%s", row[6] ? row[6] : "");
		if (a->deleted_at == 0 && a->deletion_uuid[0])
			a->deleted_at = 1; /* soft-deleted without a time: still history */
	}
	r = FCA_OK;
out:
	mysql_free_result(res);
	if (r != FCA_OK)
		fca_asset_rows_dispose(out);
	return r;
}

int fca_store_read_live(struct fca_store *s, struct fca_asset_rows *out, const char *const *names, size_t n,
			int for_update)
{
	return read_rows(s, out, " AND deletion_uuid = ''", for_update ? " FOR UPDATE" : "", names, n);
}

int fca_store_read_history(struct fca_store *s, struct fca_asset_rows *out, const char *const *names, size_t n)
{
	return read_rows(s, out, "", "", names, n);
}

int fca_store_begin(struct fca_store *s)
{
	return exec(s, "START TRANSACTION", "starting a transaction");
}

int fca_store_commit(struct fca_store *s)
{
	if (mysql_commit(s->db) != 0)
		return db_error(s, "committing");
	return FCA_OK;
}

void fca_store_rollback(struct fca_store *s)
{
	(void)mysql_rollback(s->db);
}

int fca_store_soft_delete(struct fca_store *s, const char *const *names, size_t n, uint64_t *affected)
{
	char sql[SQL_MAX], list[SQL_MAX / 2], uuid[37];
	int r;

	if ((r = name_list(s, list, sizeof(list), names, n)) != 0 || (r = fca_crypto_uuid4(uuid)) != 0)
		return r;
	snprintf(sql, sizeof(sql),
		 "UPDATE mdm_config_assets SET deleted_at = CURRENT_TIMESTAMP(), deletion_uuid = '%s' "
		 "WHERE name IN %s AND deletion_uuid = ''",
		 uuid, list);
	if ((r = exec(s, sql, "soft-deleting rows of mdm_config_assets")) != 0)
		return r;
	if (affected)
		*affected = mysql_affected_rows(s->db);
	return FCA_OK;
}

static void bind(MYSQL_BIND *b, enum enum_field_types type, const void *p, unsigned long *len)
{
	b->buffer_type = type;
	b->buffer = (void *)p;
	b->buffer_length = len ? *len : 0;
	b->length = len;
}

int fca_store_insert(struct fca_store *s, const char *name, const unsigned char *value, size_t len,
		     int64_t renew_at)
{
	const char *sql_plain = "INSERT INTO mdm_config_assets (name, value, md5_checksum) VALUES (?, ?, UNHEX(?))";
	const char *sql_renew = "INSERT INTO mdm_config_assets (name, value, md5_checksum, renew_at) "
				"VALUES (?, ?, UNHEX(?), FROM_UNIXTIME(?))";
	int with_renew = fca_store_schema(s)->has_renew_at && renew_at > 0;
	const char *sql = with_renew ? sql_renew : sql_plain;
	MYSQL_STMT *st = NULL;
	MYSQL_BIND b[4];
	char md5[33];
	/* renew_at is a TIMESTAMP: a certificate valid past 2038 gets the latest value it can hold */
	long long ra = fca_time_sql_timestamp(renew_at);
	unsigned long name_len = (unsigned long)strlen(name), md5_len = 32, vlen = (unsigned long)len;
	int r = FCA_ERROR;

	fca_crypto_md5_hex(md5, value, len);
	if (strlen(md5) != 32) /* no MD5 on this host: never write a garbage md5_checksum */
		return fca_error_set(FCA_ERROR, "%s: cannot compute the MD5 checksum Fleet's cache needs (is MD5 "
						"disabled by a FIPS configuration without the default provider?)",
				     name);
	memset(b, 0, sizeof(b));
	bind(&b[0], MYSQL_TYPE_STRING, name, &name_len);
	bind(&b[1], MYSQL_TYPE_BLOB, value, &vlen);
	bind(&b[2], MYSQL_TYPE_STRING, md5, &md5_len);
	bind(&b[3], MYSQL_TYPE_LONGLONG, &ra, NULL);
	if (!(st = mysql_stmt_init(s->db)))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0 || mysql_stmt_bind_param(st, b) != 0 ||
	    mysql_stmt_execute(st) != 0) {
		unsigned int e = mysql_stmt_errno(st);
		char what[300];
		snprintf(what, sizeof(what), "inserting %s", name);
		if ((r = server_state_error(s, e, mysql_stmt_error(st), what)) != FCA_OK)
			goto out;
		if (e == ER_DUP_ENTRY)
			r = fca_error_set(FCA_ECONFLICT,
					  "%s: a live row already exists (someone changed mdm_config_assets "
					  "concurrently): run the command again",
					  name);
		else
			r = fca_error_set(FCA_ERROR, "inserting %s: MySQL error %u: %s", name, e, mysql_stmt_error(st));
		goto out;
	}
	r = FCA_OK;
out:
	mysql_stmt_close(st);
	return r;
}

/* Characters (not bytes) of a UTF-8 string, as MySQL counts a lock name. */
static size_t utf8_chars(const char *p, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)p[i] & 0xC0) != 0x80;
	return c;
}

void fca_store_lock_name(char *buf, size_t n, const char *database)
{
	static const char prefix[] = "fleetca:";
	size_t dl = strlen(database), keep = 0, chars = 0;
	char digest[65];

	if (utf8_chars(prefix, sizeof(prefix) - 1) + utf8_chars(database, dl) <= FCA_STORE_LOCK_NAME_MAX) {
		snprintf(buf, n, "%s%s", prefix, database); /* today's name: an older binary takes it too */
		return;
	}
	/* 8 + 23 + 1 + 32 = 64 characters; the digest tells apart long names with one beginning */
	while (keep < dl && chars < 23) {
		keep++;
		while (keep < dl && ((unsigned char)database[keep] & 0xC0) == 0x80)
			keep++;
		chars++;
	}
	fca_crypto_sha256_hex(digest, (const unsigned char *)database, dl);
	snprintf(buf, n, "%s%.*s~%.32s", prefix, (int)keep, database, digest);
}

static void lock_name(struct fca_store *s, char *buf, size_t n)
{
	char raw[FCA_STORE_LOCK_NAME_MAX * 4 + 1];

	fca_store_lock_name(raw, sizeof(raw), s->database);
	if (n < 2 * strlen(raw) + 1) {
		buf[0] = '\0';
		return;
	}
	mysql_real_escape_string(s->db, buf, raw, (unsigned long)strlen(raw));
}

int fca_store_lock(struct fca_store *s, int timeout_secs, uint64_t *holder)
{
	char sql[512], name[320];
	long long v = 0;
	int isnull = 1, r;

	*holder = 0;
	lock_name(s, name, sizeof(name));
	snprintf(sql, sizeof(sql), "SELECT GET_LOCK('%s', %d)", name, timeout_secs);
	if ((r = query_int(s, sql, "taking the fleetca lock", &v, &isnull)) != 0)
		return r;
	if (!isnull && v == 1)
		return FCA_OK;
	snprintf(sql, sizeof(sql), "SELECT IS_USED_LOCK('%s')", name);
	if ((r = query_int(s, sql, "asking who holds the fleetca lock", &v, &isnull)) != 0)
		return r;
	*holder = isnull ? 0 : (uint64_t)v;
	fca_store_lock_name(name, sizeof(name), s->database);
	return fca_error_set(FCA_ELOCKED,
			     "another fleetca run holds the lock '%s' (MySQL connection id %llu) and did "
			     "not release it within %ds: wait for it to finish, or raise --lock-timeout",
			     name, (unsigned long long)*holder, timeout_secs);
}

void fca_store_unlock(struct fca_store *s)
{
	char sql[512], name[320];
	long long v = 0;
	int isnull = 1;

	lock_name(s, name, sizeof(name));
	snprintf(sql, sizeof(sql), "SELECT RELEASE_LOCK('%s')", name);
	(void)query_int(s, sql, "releasing the fleetca lock", &v, &isnull);
}

static int table_has_host_id(const struct fca_store *s, const char *table)
{
	return name_list_has(&s->host_id_tables, table);
}

static int valid_ident(const char *t)
{
	if (!*t || strlen(t) > 64)
		return 0;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '_'))
			return 0;
	return 1;
}

int fca_store_scan_issued(struct fca_store *s, const char *table, int64_t only_live_after, fca_issued_cb cb,
			  void *ctx)
{
	char sql[1024], where[128] = "";
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *lens;
	int has_host, r = FCA_OK, cbr;
	uint64_t nrows = 0;

	if (!valid_ident(table))
		return fca_error_set(FCA_EINVALID, "bad table name");
	if ((r = fca_store_probe_table(s, table)) != 0 || (r = ensure_schema(s)) != 0)
		return r;
	has_host = table_has_host_id(s, table);
	if (only_live_after > 0)
	{
		/* not_valid_after is a DATETIME holding UTC (as Fleet writes it): compare and convert it
		 * as UTC text and seconds, whatever the session's time zone. */
		char utc[32];
		fca_time_rfc3339(utc, sizeof(utc), only_live_after);
		utc[10] = ' ';
		utc[19] = '\0';
		snprintf(where, sizeof(where), " WHERE revoked = 0 AND not_valid_after > '%s'", utc);
	}
	snprintf(sql, sizeof(sql),
		 "SELECT serial, name, %s, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', not_valid_after), revoked, "
		 "certificate_pem FROM %s%s",
		 has_host ? "host_id" : "NULL", table, where);
	if ((r = exec(s, sql, "reading issued certificates")) != 0)
		return r;
	if (!(res = mysql_use_result(s->db)))
		return db_error(s, "reading issued certificates");
	while ((row = mysql_fetch_row(res))) {
		struct fca_issued_row ir;
		if (!nrows++) /* tests drop the connection here, with the stream half read */
			FCA_FAULT("scan_row", table, mysql_thread_id(s->db));
		lens = mysql_fetch_lengths(res);
		memset(&ir, 0, sizeof(ir));
		ir.table = table;
		ir.serial = row[0] ? strtoull(row[0], NULL, 10) : 0;
		ir.name = row[1] ? row[1] : "";
		ir.has_host_id = row[2] != NULL;
		ir.host_id = row[2] ? strtoull(row[2], NULL, 10) : 0;
		ir.not_valid_after = row[3] ? strtoll(row[3], NULL, 10) : 0;
		ir.revoked = row[4] && strcmp(row[4], "0") != 0;
		ir.pem = row[5] ? row[5] : "";
		ir.pem_len = row[5] ? lens[5] : 0;
		if ((cbr = cb(ctx, &ir)) != 0) {
			r = cbr;
			break;
		}
	}
	if (r == FCA_OK && mysql_errno(s->db) != 0)
		r = db_error(s, "reading issued certificates");
	mysql_free_result(res);
	return r;
}

int fca_store_scan_cert_assocs(struct fca_store *s, fca_assoc_cb cb, void *ctx)
{
	/* Fleet's own rule for an enrollment's newest certificate (RenewSCEPCertificates' query,
	 * GetHostCertAssociationsToExpire): the latest created_at, ties broken by the smaller sha256,
	 * evaluated by the server with its collation, as Fleet evaluates it. */
	const char *sql = "SELECT a.sha256, a.sha256 = (SELECT b.sha256 FROM nano_cert_auth_associations b "
			  "WHERE b.id = a.id ORDER BY b.created_at DESC, b.sha256 ASC LIMIT 1) "
			  "FROM nano_cert_auth_associations a";
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned long *lens;
	int r = FCA_OK, cbr;

	/* Asked of the server, not of information_schema: a table this user may not read is hidden
	 * there, and must not pass for one this schema lacks. */
	if (mysql_real_query(s->db, sql, strlen(sql)) != 0 || !(res = mysql_use_result(s->db))) {
		unsigned int e = mysql_errno(s->db);
		if (e == ER_NO_SUCH_TABLE)
			return fca_error_set(
			    FCA_ENOTFOUND, "table nano_cert_auth_associations not found in database '%s'", s->database);
		if (denied(e))
			return read_error(s, "nano_cert_auth_associations", "reading nano_cert_auth_associations");
		return db_error(s, "reading nano_cert_auth_associations");
	}
	while ((row = mysql_fetch_row(res))) {
		lens = mysql_fetch_lengths(res);
		if ((cbr = cb(ctx, row[0] ? row[0] : "", row[0] ? lens[0] : 0, row[1] && strcmp(row[1], "1") == 0)) !=
		    0) {
			r = cbr;
			break;
		}
	}
	if (r == FCA_OK && mysql_errno(s->db) != 0)
		r = db_error(s, "reading nano_cert_auth_associations");
	mysql_free_result(res);
	return r;
}

int fca_store_scan_escrows(struct fca_store *s, fca_escrow_cb cb, void *ctx)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned long *lens;
	int r = FCA_OK, cbr;
	uint64_t nrows = 0;

	if ((r = fca_store_probe_table(s, "host_disk_encryption_keys")) != 0 ||
	    (r = fca_store_probe_table(s, "hosts")) != 0)
		return r;
	if ((r = exec(s,
		      "SELECT k.host_id, k.base64_encrypted FROM host_disk_encryption_keys k "
		      "JOIN hosts h ON h.id = k.host_id WHERE h.platform = 'darwin'",
		      "reading FileVault escrows")) != 0)
		return r;
	if (!(res = mysql_use_result(s->db)))
		return db_error(s, "reading FileVault escrows");
	while ((row = mysql_fetch_row(res))) {
		if (!nrows++)
			FCA_FAULT("scan_row", "host_disk_encryption_keys", mysql_thread_id(s->db));
		lens = mysql_fetch_lengths(res);
		if ((cbr = cb(ctx, row[0] ? strtoull(row[0], NULL, 10) : 0, row[1] ? row[1] : "",
			      row[1] ? lens[1] : 0)) != 0) {
			r = cbr;
			break;
		}
	}
	/* a stream that stopped early (a dropped connection, a timeout) is not a count */
	if (r == FCA_OK && mysql_errno(s->db) != 0)
		r = db_error(s, "reading FileVault escrows");
	mysql_free_result(res);
	return r;
}

/* The account this connection is, quoted for a GRANT statement: 'fleetca'@'10.0.0.%'. */
static void grantee(struct fca_store *s, char *buf, size_t n)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	char *at;

	snprintf(buf, n, "<the fleetca user>");
	if (mysql_real_query(s->db, "SELECT CURRENT_USER()", 21) != 0 || !(res = mysql_store_result(s->db)))
		return;
	if ((row = mysql_fetch_row(res)) && row[0] && (at = strrchr(row[0], '@')))
		snprintf(buf, n, "'%.*s'@'%s'", (int)(at - row[0]), row[0], at + 1);
	mysql_free_result(res);
}

/* Neither activity table is in information_schema: missing, or hidden from a user with no right on it
 * (MySQL says "denied" for a table it hides, whether or not it exists). */
static int no_activity_table(struct fca_store *s, const char *type)
{
	/* the 2026 layout (mdm_config_assets.renew_at) has activity_past, the older one activities */
	const char *table = s->schema.has_renew_at ? "activity_past" : "activities";
	char sql[64], who[200];
	MYSQL_RES *res;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s LIMIT 0", table);
	if (mysql_real_query(s->db, sql, strlen(sql)) != 0 && denied(mysql_errno(s->db))) {
		grantee(s, who, sizeof(who));
		return fca_error_set(FCA_EAUTH,
				     "recording activity %s: this database user may not use %s.%s, so MySQL hides it; "
				     "nothing was changed. Grant it: GRANT INSERT ON `%s`.`%s` TO %s; (or choose "
				     "'activities: {sink: none}' to record no activities)",
				     type, s->database, table, s->database, table, who);
	}
	if ((res = mysql_store_result(s->db)))
		mysql_free_result(res);
	return fca_error_set(FCA_ENOTFOUND,
			     "database '%s' has neither activity_past nor activities: is it a Fleet database? "
			     "(or choose 'activities: {sink: none}' to record no activities)",
			     s->database);
}

int fca_store_insert_activity(struct fca_store *s, const char *type, const char *details_json, int64_t created_at)
{
	/* The columns Fleet's own writer fills; host_only = 0 and streamed = 0 make Fleet list the
	 * row in GET /api/v1/fleet/activities and stream it to the audit log. */
	static const char cols[] = "(fleet_initiated, user_id, user_name, activity_type, details, created_at, "
				   "host_only, streamed, user_email) "
				   "VALUES (0, NULL, '" FCA_STORE_ACTIVITY_USER "', ?, ?, FROM_UNIXTIME(?), 0, 0, '')";
	const char *table;
	char sql[sizeof(cols) + 64], who[200];
	MYSQL_STMT *st;
	MYSQL_BIND b[3];
	unsigned long tl = (unsigned long)strlen(type), dl = (unsigned long)strlen(details_json);
	long long at = created_at;
	unsigned int e;
	int r = FCA_OK;

	if ((r = ensure_schema(s)) != 0)
		return r;
	if (!(table = s->schema.activity_table))
		return no_activity_table(s, type);
	snprintf(sql, sizeof(sql), "INSERT INTO %s %s", table, cols);
	memset(b, 0, sizeof(b));
	bind(&b[0], MYSQL_TYPE_STRING, type, &tl);
	bind(&b[1], MYSQL_TYPE_STRING, details_json, &dl);
	bind(&b[2], MYSQL_TYPE_LONGLONG, &at, NULL);
	if (!(st = mysql_stmt_init(s->db)))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0 || mysql_stmt_bind_param(st, b) != 0 ||
	    mysql_stmt_execute(st) != 0) {
		char what[300];
		e = mysql_stmt_errno(st);
		snprintf(what, sizeof(what), "recording activity %s in %s", type, table);
		if ((r = server_state_error(s, e, mysql_stmt_error(st), what)) != FCA_OK)
			;
		else if (e == ER_TABLEACCESS_DENIED_ERROR || e == ER_COLUMNACCESS_DENIED_ERROR ||
		    e == ER_DBACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_ERROR) {
			grantee(s, who, sizeof(who));
			r = fca_error_set(
			    FCA_EAUTH,
			    "recording activity %s in %s.%s: this database user may not insert there (%s); "
			    "nothing was changed. Grant it: GRANT INSERT ON `%s`.`%s` TO %s; (or choose "
			    "'activities: {sink: none}' to record no activities)",
			    type, s->database, table, mysql_stmt_error(st), s->database, table, who);
		} else {
			r = fca_error_set(FCA_ERROR, "recording activity %s in %s: MySQL error %u: %s", type, table, e,
					  mysql_stmt_error(st));
		}
	}
	mysql_stmt_close(st);
	return r;
}

const char *fca_store_library_version(void)
{
	return mysql_get_client_info();
}
