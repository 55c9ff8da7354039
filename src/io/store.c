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

#include "fleetca/buf.h"
#include "fleetca/config.h"
#include "fleetca/crypto.h"
#include "core/fault.h"
#include "fleetca/secret.h"
#include "fleetca/store.h"
#include "fleetca/timeutil.h"
#include "fleetca/version.h"

#define SQL_MAX 8192
/* The longest text quoted into a statement: an asset name (Fleet's name column), a lock name. */
#define SQL_STRING_MAX 256

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
	if (strlen(name) >= sizeof(l->v[0]))
		return FCA_OK; /* 64 characters of UTF-8: not a name fleetca asks about (all ASCII) */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char(*v)[65] = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return fca_error_set(FCA_ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v[l->n++], name, strlen(name) + 1);
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
	char user[128];
	struct fca_store_schema schema;
	int schema_loaded; /* read on first need: a converged run never needs it */
	int tls;	   /* the connection was asked to use TLS */
	int mariadb;	   /* the server is MariaDB (error numbers above 4000 differ from MySQL's) */
	int utc;	   /* the session's time zone is pinned to UTC (utc_session) */
	struct name_list tables;
	struct name_list host_id_tables; /* tables with a host_id column */
};

/*
 * What a statement was doing, for the one translator of MySQL errors (sql_error): what starts the
 * message; table and privilege let an access denial name the GRANT to run.
 */
struct sql_op {
	const char *what;      /* "reading mdm_config_assets" */
	const char *table;     /* the table the statement needs, or NULL */
	const char *privilege; /* what it needs on table ("SELECT", "INSERT", ...), or NULL */
	const char *advice;    /* said after a denial's GRANT (another way out), or NULL */
	int connecting;	       /* the error is mysql_real_connect's */
	int zone_free;	       /* the statement reads and writes no time in the session's zone */
};

enum sql_failure {
	SQL_OTHER,
	SQL_DENIED,    /* the user lacks a privilege: FCA_EAUTH, with the GRANT when the table is known */
	SQL_NO_TABLE,  /* FCA_ENOTFOUND */
	SQL_DUPLICATE, /* a unique key (name, deletion_uuid) taken concurrently: FCA_ECONFLICT */
	SQL_LOCKED,    /* a row lock wait timed out, or a deadlock: FCA_ELOCKED */
	SQL_READ_ONLY, /* a replica, or the old primary after a failover */
	SQL_LOST,      /* the connection is gone: FCA_ECONNECT */
};

static enum sql_failure classify(const struct fca_store *s, unsigned int e)
{
	switch (e) {
	case ER_DBACCESS_DENIED_ERROR:	      /* 1044 */
	case ER_ACCESS_DENIED_ERROR:	      /* 1045 */
	case ER_TABLEACCESS_DENIED_ERROR:     /* 1142 */
	case ER_COLUMNACCESS_DENIED_ERROR:    /* 1143 */
	case ER_SPECIFIC_ACCESS_DENIED_ERROR: /* 1227 */
		return SQL_DENIED;
	case ER_NO_SUCH_TABLE:
		return SQL_NO_TABLE;
	case ER_DUP_ENTRY:
		return SQL_DUPLICATE;
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_LOCK_DEADLOCK:
		return SQL_LOCKED;
	case ER_OPTION_PREVENTS_STATEMENT:
		return SQL_READ_ONLY; /* 1290: --read-only */
	case 2006:		      /* CR_SERVER_GONE_ERROR */
	case 2013:		      /* CR_SERVER_LOST */
	case 2055:		      /* CR_SERVER_LOST_EXTENDED */
		return SQL_LOST;
	case FCA_MYSQL_ER_CLIENT_INTERACTION_TIMEOUT:
		return s->mariadb ? SQL_OTHER : SQL_LOST;
	default:
		return SQL_OTHER;
	}
}

static void grantee(struct fca_store *s, char *buf, size_t n);

static int missing_table(const struct fca_store *s, const char *what, const char *table)
{
	return fca_error_set(FCA_ENOTFOUND,
			     "%s%stable %s not found in database '%s': is FLEET_MYSQL_DATABASE the Fleet database, "
			     "and have Fleet's migrations run (fleet prepare db)?",
			     what ? what : "", what ? ": " : "", table, s->database);
}

/* The connection could not be made (a refused login, a missing database, an unreachable server). */
static int connect_error(struct fca_store *s, unsigned int e, const char *msg)
{
	if (e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR || e == ER_BAD_DB_ERROR)
		return fca_error_set(e == ER_BAD_DB_ERROR ? FCA_ENOTFOUND : FCA_EAUTH,
				     "cannot use database '%s' at %s as '%s': %s: check FLEET_MYSQL_USERNAME, "
				     "FLEET_MYSQL_PASSWORD and FLEET_MYSQL_DATABASE",
				     s->database, s->address, s->user, msg);
	if (e == FCA_CR_PLUGIN_NOT_ALLOWED)
		return fca_error_set(FCA_EAUTH,
				     "cannot connect to MySQL at %s: %s: fleetca logs in with "
				     "caching_sha2_password, mysql_native_password, sha256_password or ed25519, "
				     "and sends a cleartext password only over TLS (FLEET_MYSQL_TLS_CA or "
				     "FLEET_MYSQL_TLS_CONFIG=true)",
				     s->address, msg);
	return fca_error_set(FCA_ECONNECT,
			     "cannot connect to MySQL at %s: %s: check FLEET_MYSQL_ADDRESS and that the server is "
			     "running",
			     s->address, msg);
}

/* The one place a MySQL error (e, its text msg) becomes an fca error, for a statement doing op. */
static int sql_error(struct fca_store *s, const struct sql_op *op, unsigned int e, const char *msg_in)
{
	char msg[512], who[200];

	/* msg_in may be the connection's own buffer, which the GRANT's CURRENT_USER() query reuses
	 * (a message longer than msg is cut: it is text for a person) */
	snprintf(msg, sizeof(msg), "%s", msg_in ? msg_in : "");
	if (op->connecting)
		return connect_error(s, e, msg);
	switch (classify(s, e)) {
	case SQL_DENIED:
		if (!op->table || !op->privilege)
			return fca_error_set(FCA_EAUTH,
					     "%s: this database user lacks a privilege (MySQL error %u: %s): grant it "
					     "what the README lists for fleetca's database users",
					     op->what, e, msg);
		grantee(s, who, sizeof(who));
		return fca_error_set(FCA_EAUTH,
				     "%s: this database user lacks the %s privilege on %s.%s (%s). Grant it: GRANT %s "
				     "ON `%s`.`%s` TO %s;%s",
				     op->what, op->privilege, s->database, op->table, msg, op->privilege, s->database,
				     op->table, who, op->advice ? op->advice : "");
	case SQL_NO_TABLE:
		if (op->table)
			return missing_table(s, op->what, op->table);
		return fca_error_set(FCA_ENOTFOUND, "%s: MySQL error %u: %s", op->what, e, msg);
	case SQL_DUPLICATE:
		return fca_error_set(FCA_ECONFLICT,
				     "%s: MySQL error %u: %s: someone changed %s concurrently: run the command again",
				     op->what, e, msg, op->table ? op->table : "the table");
	case SQL_LOCKED:
		return fca_error_set(FCA_ELOCKED,
				     "%s: MySQL error %u: %s: another transaction holds the rows it needs (Fleet, "
				     "or another client): run the command again",
				     op->what, e, msg);
	case SQL_READ_ONLY:
		return fca_error_set(
		    FCA_ERROR,
		    "%s: the MySQL server at %s refused the write (MySQL error %u: %s): it is read-only "
		    "(a read replica, or the old primary after a failover); nothing was committed. Point "
		    "FLEET_MYSQL_ADDRESS at the writer (primary) endpoint, as Fleet's own "
		    "FLEET_MYSQL_ADDRESS (not its read replica), and run the command again",
		    op->what, s->address, e, msg);
	case SQL_LOST:
		return fca_error_set(FCA_ECONNECT,
				     "%s: the database connection was lost (MySQL error %u: %s): the server closed it "
				     "(an idle timeout: wait_timeout/interactive_timeout, a restart, a failover or a "
				     "KILL) or the network dropped it; no partial step was committed: run the command "
				     "again",
				     op->what, e, msg);
	case SQL_OTHER:
		break;
	}
	return fca_error_set(FCA_ERROR, "%s: MySQL error %u: %s", op->what, e, msg);
}

/* The connection's last error, translated. */
static int db_error(struct fca_store *s, const struct sql_op *op)
{
	return sql_error(s, op, mysql_errno(s->db), mysql_error(s->db));
}

static int stmt_error(struct fca_store *s, const struct sql_op *op, MYSQL_STMT *st)
{
	return sql_error(s, op, mysql_stmt_errno(st), mysql_stmt_error(st));
}

static int valid_ident(const char *t);

/* A statement's description for its messages ("inserting ca_cert"); fallback when it would not fit. */
static const char *describe(char *arr, size_t size, const char *fallback, const char *fmt, ...) FCA_PRINTF(4, 5);
static const char *describe(char *arr, size_t size, const char *fallback, const char *fmt, ...)
{
	struct fca_buf b;
	va_list ap;
	int r;

	fca_buf_init_fixed(&b, arr, size);
	va_start(ap, fmt);
	r = fca_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return r == FCA_OK ? arr : fallback;
}

/*
 * As Fleet pins its sessions: TIMESTAMP values are converted in UTC, so a daylight-saving server zone
 * cannot shift renew_at or created_at in the hour that repeats. Done before the first statement that
 * is not zone-free, not at connect: a converged run's one read (UNIX_TIMESTAMP of TIMESTAMP columns,
 * which MySQL and MariaDB return unconverted) then costs no second round trip.
 */
static int utc_session(struct fca_store *s)
{
	static const char set[] = "SET time_zone = '+00:00'";
	const struct sql_op op = {.what = "setting the session time zone to UTC"};

	if (s->utc)
		return FCA_OK;
	if (mysql_real_query(s->db, set, sizeof(set) - 1) != 0)
		return db_error(s, &op);
	s->utc = 1;
	return FCA_OK;
}

static int query(struct fca_store *s, const char *sql, const struct sql_op *op)
{
	int r;

	if (!op->zone_free && (r = utc_session(s)) != 0)
		return r;
	if (mysql_real_query(s->db, sql, strlen(sql)) != 0)
		return db_error(s, op);
	return FCA_OK;
}

/* A statement that needs no privilege on a table of its own. */
static int exec(struct fca_store *s, const char *sql, const char *what)
{
	const struct sql_op op = {.what = what};

	return query(s, sql, &op);
}

/* Runs a query whose first column of the first row is an integer; *isnull when NULL/no row. */
static int query_int(struct fca_store *s, const char *sql, const char *what, long long *v, int *isnull)
{
	const struct sql_op op = {.what = what};
	MYSQL_RES *res;
	MYSQL_ROW row;
	int r;

	if ((r = query(s, sql, &op)) != 0)
		return r;
	if (!(res = mysql_store_result(s->db)))
		return db_error(s, &op);
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
		} files[] = {{"FLEET_MYSQL_TLS_CA", ca}, {"FLEET_MYSQL_TLS_CERT", cert}, {"FLEET_MYSQL_TLS_KEY", key}};
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
	const struct sql_op op = {.what = "reading the schema"};
	MYSQL_RES *res;
	MYSQL_ROW row;
	int r = FCA_OK;

	/* Tables, and the columns whose presence varies between Fleet versions, in one round trip. */
	if ((r = query(s,
		       "SELECT TABLE_NAME, '' FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
		       "UNION ALL SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
		       "WHERE TABLE_SCHEMA = DATABASE() AND ((TABLE_NAME = 'mdm_config_assets' AND "
		       "COLUMN_NAME = 'renew_at') OR COLUMN_NAME = 'host_id')",
		       &op)) != 0)
		return r;
	if (!(res = mysql_store_result(s->db)))
		return db_error(s, &op);
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
		r = db_error(s, &op);
	mysql_free_result(res);
	if (r != FCA_OK)
		return r;
	s->schema_loaded = 1;
	if (!fca_store_has_table(s, "mdm_config_assets"))
		return missing_table(s, NULL, "mdm_config_assets");
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

int fca_store_probe_table(struct fca_store *s, const char *table)
{
	char sqlbuf[128], what[96];
	struct fca_buf sql;
	struct sql_op op = {.table = table, .privilege = "SELECT", .zone_free = 1};
	MYSQL_RES *res;
	int r;

	if (!valid_ident(table))
		return fca_error_set(FCA_EINVALID, "bad table name");
	fca_buf_init_fixed(&sql, sqlbuf, sizeof(sqlbuf));
	fca_buf_printf(&sql, "SELECT 1 FROM %s LIMIT 0", table);
	if ((r = fca_buf_error(&sql, "the SQL reading a table")) != 0)
		return r;
	op.what = describe(what, sizeof(what), "reading a table", "reading %s", table);
	if ((r = query(s, fca_buf_cstr(&sql), &op)) != 0)
		return r;
	if ((res = mysql_store_result(s->db)))
		mysql_free_result(res);
	else if (mysql_errno(s->db))
		return db_error(s, &op);
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
			return fca_error_set(FCA_EINVALID,
					     "FLEET_MYSQL_ADDRESS '%s': a socket path is at most 107 "
					     "characters",
					     address);
		ep->socket = address;
		snprintf(ep->host, sizeof(ep->host), "localhost");
		return FCA_OK;
	}
	if (address[0] == '[') { /* [v6] or [v6]:port */
		if (!(close = strchr(address, ']')) || close == address + 1 || (close[1] && close[1] != ':'))
			return fca_error_set(FCA_EINVALID,
					     "FLEET_MYSQL_ADDRESS '%s': an IPv6 address is written [address]:port",
					     address);
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
	unsigned int timeout = 10, rw_timeout = fca_store_read_timeout(cfg->lock_timeout);
	int r = FCA_ERROR;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	if ((r = fca_buf_copy(s->address, sizeof(s->address), cfg->address)) != 0 ||
	    (r = fca_buf_copy(s->database, sizeof(s->database), cfg->database)) != 0 ||
	    (r = fca_buf_copy(s->user, sizeof(s->user), cfg->username)) != 0) {
		r = fca_error_set(r, "FLEET_MYSQL_ADDRESS, FLEET_MYSQL_DATABASE or FLEET_MYSQL_USERNAME is too long");
		goto out;
	}
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
	if ((r = set_tls(s, cfg)) != 0 || (r = fca_store_parse_address(&ep, cfg->address, cfg->protocol, s->tls)) != 0)
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
	if (!mysql_real_connect(s->db, ep.host, s->user, (const char *)pw.data, s->database, ep.port, ep.socket, 0)) {
		const struct sql_op op = {.what = "connecting", .connecting = 1};
		r = db_error(s, &op);
		goto out;
	}
	wipe_library_password(s->db);
	s->mariadb = mariadb_connection(s->db) != 0;
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
const char *fca_store_database(const struct fca_store *s)
{
	return s->database;
}
uint64_t fca_store_connection_id(struct fca_store *s)
{
	return mysql_thread_id(s->db);
}

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

/* Appends text quoted as an SQL string literal, escaped for this connection. */
static int sql_put_quoted(struct fca_store *s, struct fca_buf *b, const char *text)
{
	char esc[2 * SQL_STRING_MAX + 1];
	size_t l = strlen(text);

	if (l > SQL_STRING_MAX)
		return fca_error_set(FCA_EINVALID, "'%.32s...': longer than %d bytes", text, SQL_STRING_MAX);
	mysql_real_escape_string(s->db, esc, text, (unsigned long)l);
	fca_buf_printf(b, "'%s'", esc);
	return FCA_OK;
}

/* Appends "('a','b',…)" with each name escaped. */
static int sql_put_names(struct fca_store *s, struct fca_buf *b, const char *const *names, size_t n)
{
	int r;

	if (n == 0)
		return fca_error_set(FCA_EINVALID, "no asset names given");
	for (size_t i = 0; i < n; i++) {
		fca_buf_puts(b, i ? "," : "(");
		if ((r = sql_put_quoted(s, b, names[i])) != 0)
			return r;
	}
	fca_buf_puts(b, ")");
	return FCA_OK;
}

/*
 * The one query that reads mdm_config_assets: the rows of names (only the live ones when
 * live_only), oldest first; for_update locks them (SELECT ... FOR UPDATE, inside a transaction).
 */
static int sql_select_assets(struct fca_store *s, struct fca_buf *sql, const char *const *names, size_t n,
			     int live_only, int for_update)
{
	int r;

	fca_buf_puts(sql, "SELECT id, name, value, HEX(md5_checksum), UNIX_TIMESTAMP(created_at), "
			  "UNIX_TIMESTAMP(deleted_at), deletion_uuid FROM mdm_config_assets WHERE name IN ");
	if ((r = sql_put_names(s, sql, names, n)) != 0)
		return r;
	fca_buf_printf(sql, "%s ORDER BY id%s", live_only ? " AND deletion_uuid = ''" : "",
		       for_update ? " FOR UPDATE" : "");
	return fca_buf_error(sql, "the SQL reading mdm_config_assets");
}

static int read_rows(struct fca_store *s, struct fca_asset_rows *out, const char *const *names, size_t n, int live_only,
		     int for_update)
{
	/* zone-free: its times are UNIX_TIMESTAMP(created_at) and (deleted_at), TIMESTAMP columns */
	const struct sql_op op = {.what = "reading mdm_config_assets",
				  .table = "mdm_config_assets",
				  .privilege = for_update ? "SELECT, UPDATE" : "SELECT",
				  .zone_free = 1};
	char sqlbuf[SQL_MAX];
	struct fca_buf sql;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned long *lens;
	int r;

	out->v = NULL;
	out->n = 0;
	fca_buf_init_fixed(&sql, sqlbuf, sizeof(sqlbuf));
	if ((r = sql_select_assets(s, &sql, names, n, live_only, for_update)) != 0 ||
	    (r = query(s, fca_buf_cstr(&sql), &op)) != 0)
		return r;
	if (!(res = mysql_store_result(s->db)))
		return db_error(s, &op);
	if (mysql_num_rows(res) > 0 && !(out->v = calloc(mysql_num_rows(res), sizeof(*out->v)))) {
		r = fca_error_set(FCA_ENOMEM, "out of memory");
		goto out;
	}
	/* the columns' widths bound the copies below: name varchar(256) (and only names asked for
	 * come back), HEX(binary(16)), deletion_uuid varchar(127) (a UUID; any text means history) */
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
	return read_rows(s, out, names, n, 1, for_update);
}

int fca_store_read_history(struct fca_store *s, struct fca_asset_rows *out, const char *const *names, size_t n)
{
	return read_rows(s, out, names, n, 0, 0);
}

int fca_store_begin(struct fca_store *s)
{
	return exec(s, "START TRANSACTION", "starting a transaction");
}

int fca_store_commit(struct fca_store *s)
{
	const struct sql_op op = {.what = "committing"};

	if (mysql_commit(s->db) != 0)
		return db_error(s, &op);
	return FCA_OK;
}

void fca_store_rollback(struct fca_store *s)
{
	(void)mysql_rollback(s->db);
}

int fca_store_soft_delete(struct fca_store *s, const char *const *names, size_t n, uint64_t *affected)
{
	const struct sql_op op = {
	    .what = "soft-deleting rows of mdm_config_assets", .table = "mdm_config_assets", .privilege = "UPDATE"};
	char sqlbuf[SQL_MAX], uuid[37];
	struct fca_buf sql;
	int r;

	if ((r = fca_crypto_uuid4(uuid)) != 0)
		return r;
	fca_buf_init_fixed(&sql, sqlbuf, sizeof(sqlbuf));
	fca_buf_printf(&sql,
		       "UPDATE mdm_config_assets SET deleted_at = CURRENT_TIMESTAMP(), deletion_uuid = '%s' "
		       "WHERE name IN ",
		       uuid);
	if ((r = sql_put_names(s, &sql, names, n)) != 0)
		return r;
	fca_buf_puts(&sql, " AND deletion_uuid = ''");
	if ((r = fca_buf_error(&sql, "the SQL soft-deleting rows of mdm_config_assets")) != 0 ||
	    (r = query(s, fca_buf_cstr(&sql), &op)) != 0)
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

int fca_store_insert(struct fca_store *s, const char *name, const unsigned char *value, size_t len, int64_t renew_at)
{
	const char *sql_plain = "INSERT INTO mdm_config_assets (name, value, md5_checksum) VALUES (?, ?, UNHEX(?))";
	const char *sql_renew = "INSERT INTO mdm_config_assets (name, value, md5_checksum, renew_at) "
				"VALUES (?, ?, UNHEX(?), FROM_UNIXTIME(?))";
	int with_renew = fca_store_schema(s)->has_renew_at && renew_at > 0;
	const char *sql = with_renew ? sql_renew : sql_plain;
	struct sql_op op = {.table = "mdm_config_assets", .privilege = "INSERT"};
	MYSQL_STMT *st = NULL;
	MYSQL_BIND b[4];
	char md5[33], what[300];
	/* renew_at is a TIMESTAMP: a certificate valid past 2038 gets the latest value it can hold */
	long long ra = fca_time_sql_timestamp(renew_at);
	unsigned long name_len = (unsigned long)strlen(name), md5_len = 32, vlen = (unsigned long)len;
	int r = FCA_ERROR;

	fca_crypto_md5_hex(md5, value, len);
	memset(b, 0, sizeof(b));
	bind(&b[0], MYSQL_TYPE_STRING, name, &name_len);
	bind(&b[1], MYSQL_TYPE_BLOB, value, &vlen);
	bind(&b[2], MYSQL_TYPE_STRING, md5, &md5_len);
	bind(&b[3], MYSQL_TYPE_LONGLONG, &ra, NULL);
	if ((r = utc_session(s)) != 0)
		return r;
	if (!(st = mysql_stmt_init(s->db)))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0 || mysql_stmt_bind_param(st, b) != 0 ||
	    mysql_stmt_execute(st) != 0) {
		op.what = describe(what, sizeof(what), "inserting a row", "inserting %s", name);
		r = stmt_error(s, &op, st);
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
	struct fca_buf b;
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
	fca_buf_init_fixed(&b, buf, n); /* at most 8 + 23 * 4 + 1 + 32 bytes */
	fca_buf_printf(&b, "%s%.*s~%.32s", prefix, (int)keep, database, digest);
}

/* "SELECT <fn>('<the run lock's name>'[, timeout])": GET_LOCK, IS_USED_LOCK, RELEASE_LOCK. */
static int lock_sql(struct fca_store *s, struct fca_buf *sql, const char *fn, int with_timeout, int timeout_secs)
{
	char name[FCA_STORE_LOCK_NAME_MAX * 4 + 1];
	int r;

	fca_store_lock_name(name, sizeof(name), s->database);
	fca_buf_clear(sql);
	fca_buf_printf(sql, "SELECT %s(", fn);
	if ((r = sql_put_quoted(s, sql, name)) != 0)
		return r;
	if (with_timeout)
		fca_buf_printf(sql, ", %d", timeout_secs);
	fca_buf_puts(sql, ")");
	return fca_buf_error(sql, "the SQL of the run lock");
}

int fca_store_lock(struct fca_store *s, int timeout_secs, uint64_t *holder)
{
	char sqlbuf[640], name[FCA_STORE_LOCK_NAME_MAX * 4 + 1];
	struct fca_buf sql;
	long long v = 0;
	int isnull = 1, r;

	*holder = 0;
	fca_buf_init_fixed(&sql, sqlbuf, sizeof(sqlbuf));
	if ((r = lock_sql(s, &sql, "GET_LOCK", 1, timeout_secs)) != 0 ||
	    (r = query_int(s, fca_buf_cstr(&sql), "taking the fleetca lock", &v, &isnull)) != 0)
		return r;
	if (!isnull && v == 1)
		return FCA_OK;
	if ((r = lock_sql(s, &sql, "IS_USED_LOCK", 0, 0)) != 0 ||
	    (r = query_int(s, fca_buf_cstr(&sql), "asking who holds the fleetca lock", &v, &isnull)) != 0)
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
	char sqlbuf[640];
	struct fca_buf sql;
	long long v = 0;
	int isnull = 1;

	fca_buf_init_fixed(&sql, sqlbuf, sizeof(sqlbuf));
	if (lock_sql(s, &sql, "RELEASE_LOCK", 0, 0) == FCA_OK)
		(void)query_int(s, fca_buf_cstr(&sql), "releasing the fleetca lock", &v, &isnull);
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

/*
 * Runs sql and streams its rows (mysql_use_result: constant memory, however many rows) to each,
 * until it returns non-zero; a stream that stops early (a dropped connection, a timeout) is op's
 * error, never a shorter count. fault names the test fault point reached at the first row (NULL: none).
 */
typedef int (*row_fn)(void *ctx, MYSQL_ROW row, const unsigned long *lens);
static int stream_rows(struct fca_store *s, const char *sql, const struct sql_op *op, const char *fault, row_fn each,
		       void *ctx)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	uint64_t nrows = 0;
	int r = FCA_OK;

	if (!op->zone_free && (r = utc_session(s)) != 0)
		return r;
	if (mysql_real_query(s->db, sql, strlen(sql)) != 0 || !(res = mysql_use_result(s->db)))
		return db_error(s, op);
	while ((row = mysql_fetch_row(res))) {
		if (fault && !nrows++) /* tests drop the connection here, with the stream half read */
			FCA_FAULT("scan_row", fault, mysql_thread_id(s->db));
		if ((r = each(ctx, row, mysql_fetch_lengths(res))) != 0)
			break;
	}
	if (r == FCA_OK && mysql_errno(s->db) != 0)
		r = db_error(s, op);
	mysql_free_result(res);
	return r;
}

struct issued_scan {
	const char *table;
	fca_issued_cb cb;
	void *ctx;
};

/* A DATETIME as the server sends it ("YYYY-MM-DD HH:MM:SS"), read as UTC seconds (Fleet writes
 * not_valid_after in UTC); INT64_MIN for anything else, which is never live. Read here rather than
 * by TIMESTAMPDIFF on the server, whose core the scan shares. */
static int64_t datetime_seconds(const char *t)
{
	int64_t v;

	if (fca_time_parse(&v, t) != FCA_OK) {
		fca_error_clear();
		return INT64_MIN;
	}
	return v;
}

static int issued_row(void *ctx, MYSQL_ROW row, const unsigned long *lens)
{
	const struct issued_scan *sc = ctx;
	struct fca_issued_row ir;

	memset(&ir, 0, sizeof(ir));
	ir.table = sc->table;
	ir.serial = row[0] ? strtoull(row[0], NULL, 10) : 0;
	ir.name = row[1] ? row[1] : "";
	ir.has_host_id = row[2] != NULL;
	ir.host_id = row[2] ? strtoull(row[2], NULL, 10) : 0;
	ir.not_valid_after = row[3] ? datetime_seconds(row[3]) : 0;
	ir.revoked = row[4] && strcmp(row[4], "0") != 0;
	ir.pem = row[5] ? row[5] : "";
	ir.pem_len = row[5] ? lens[5] : 0;
	return sc->cb(sc->ctx, &ir);
}

int fca_store_scan_issued(struct fca_store *s, const char *table, int64_t only_live_after, fca_issued_cb cb, void *ctx)
{
	/* zone-free: not_valid_after (a DATETIME) is compared with UTC text and read as text */
	const struct sql_op op = {
	    .what = "reading issued certificates", .table = table, .privilege = "SELECT", .zone_free = 1};
	struct issued_scan sc = {table, cb, ctx};
	char sqlbuf[1024];
	struct fca_buf sql;
	int r;

	if (!valid_ident(table))
		return fca_error_set(FCA_EINVALID, "bad table name");
	if ((r = fca_store_probe_table(s, table)) != 0 || (r = ensure_schema(s)) != 0)
		return r;
	fca_buf_init_fixed(&sql, sqlbuf, sizeof(sqlbuf));
	fca_buf_printf(&sql, "SELECT serial, name, %s, not_valid_after, revoked, certificate_pem FROM %s",
		       table_has_host_id(s, table) ? "host_id" : "NULL", table);
	if (only_live_after > 0) {
		/* not_valid_after is a DATETIME holding UTC (as Fleet writes it): compare and convert it
		 * as UTC text and seconds, whatever the session's time zone. */
		char utc[32];
		fca_time_rfc3339(utc, sizeof(utc), only_live_after);
		fca_buf_printf(&sql, " WHERE revoked = 0 AND not_valid_after > '%.10s %.8s'", utc, utc + 11);
	}
	if ((r = fca_buf_error(&sql, "the SQL reading issued certificates")) != 0)
		return r;
	return stream_rows(s, fca_buf_cstr(&sql), &op, table, issued_row, &sc);
}

struct assoc_scan {
	fca_assoc_cb cb;
	void *ctx;
};

static int assoc_row(void *ctx, MYSQL_ROW row, const unsigned long *lens)
{
	const struct assoc_scan *sc = ctx;

	return sc->cb(sc->ctx, row[0] ? row[0] : "", row[0] ? lens[0] : 0, row[1] && strcmp(row[1], "1") == 0);
}

int fca_store_scan_cert_assocs(struct fca_store *s, fca_assoc_cb cb, void *ctx)
{
	/* Fleet's own rule for an enrollment's newest certificate (RenewSCEPCertificates' query,
	 * GetHostCertAssociationsToExpire): the latest created_at, ties broken by the smaller sha256,
	 * evaluated by the server with its collation, as Fleet evaluates it. */
	const char *sql = "SELECT a.sha256, a.sha256 = (SELECT b.sha256 FROM nano_cert_auth_associations b "
			  "WHERE b.id = a.id ORDER BY b.created_at DESC, b.sha256 ASC LIMIT 1) "
			  "FROM nano_cert_auth_associations a";
	/* zone-free: TIMESTAMP values compare as stored */
	const struct sql_op op = {.what = "reading nano_cert_auth_associations",
				  .table = "nano_cert_auth_associations",
				  .privilege = "SELECT",
				  .zone_free = 1};
	struct assoc_scan sc = {cb, ctx};

	/* Asked of the server, not of information_schema: a table this user may not read is hidden
	 * there, and must not pass for one this schema lacks. */
	return stream_rows(s, sql, &op, NULL, assoc_row, &sc);
}

struct escrow_scan {
	fca_escrow_cb cb;
	void *ctx;
};

static int escrow_row(void *ctx, MYSQL_ROW row, const unsigned long *lens)
{
	const struct escrow_scan *sc = ctx;

	return sc->cb(sc->ctx, row[0] ? strtoull(row[0], NULL, 10) : 0, row[1] ? row[1] : "", row[1] ? lens[1] : 0);
}

int fca_store_scan_escrows(struct fca_store *s, fca_escrow_cb cb, void *ctx)
{
	const struct sql_op op = {.what = "reading FileVault escrows", .zone_free = 1};
	struct escrow_scan sc = {cb, ctx};
	int r;

	if ((r = fca_store_probe_table(s, "host_disk_encryption_keys")) != 0 ||
	    (r = fca_store_probe_table(s, "hosts")) != 0)
		return r;
	return stream_rows(s,
			   "SELECT k.host_id, k.base64_encrypted FROM host_disk_encryption_keys k "
			   "JOIN hosts h ON h.id = k.host_id WHERE h.platform = 'darwin'",
			   &op, "host_disk_encryption_keys", escrow_row, &sc);
}

/* The account this connection is, quoted for a GRANT statement: 'fleetca'@'10.0.0.%'. */
static void grantee(struct fca_store *s, char *buf, size_t n)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	struct fca_buf b;
	char *at;

	fca_buf_init_fixed(&b, buf, n);
	if (mysql_real_query(s->db, "SELECT CURRENT_USER()", 21) == 0 && (res = mysql_store_result(s->db))) {
		if ((row = mysql_fetch_row(res)) && row[0] && (at = strrchr(row[0], '@')))
			fca_buf_printf(&b, "'%.*s'@'%s'", (int)(at - row[0]), row[0], at + 1);
		mysql_free_result(res);
	}
	if (!b.len) { /* not asked, or too long to quote whole */
		fca_buf_clear(&b);
		fca_buf_puts(&b, "<the fleetca user>");
	}
}

/* Neither activity table is in information_schema: missing, or hidden from a user with no right on it
 * (MySQL hides a table the user may not use, and says "denied" for it whether or not it exists). The
 * table this layout would have (the 2026 layout, with mdm_config_assets.renew_at, has activity_past;
 * the older one activities) is probed, so that a denial goes through the translator with its GRANT. */
static int no_activity_table(struct fca_store *s, struct sql_op *op, const char *type, char *what, size_t n)
{
	const char *table = s->schema.has_renew_at ? "activity_past" : "activities";
	char sqlbuf[64];
	struct fca_buf sql;
	MYSQL_RES *res;
	int r;

	fca_buf_init_fixed(&sql, sqlbuf, sizeof(sqlbuf));
	fca_buf_printf(&sql, "SELECT 1 FROM %s LIMIT 0", table);
	if ((r = fca_buf_error(&sql, "the SQL probing the activity table")) != 0)
		return r;
	if (mysql_real_query(s->db, sql.ptr, (unsigned long)sql.len) != 0 &&
	    classify(s, mysql_errno(s->db)) == SQL_DENIED) {
		op->table = table;
		op->what = describe(what, n, "recording an activity", "recording activity %s in %s", type, table);
		return db_error(s, op);
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
	struct sql_op op = {.privilege = "INSERT",
			    .advice = " (nothing was changed; or choose 'activities: {sink: none}' to record no "
				      "activities)"};
	char sqlbuf[sizeof(cols) + 80], what[300];
	struct fca_buf sql;
	MYSQL_STMT *st;
	MYSQL_BIND b[3];
	unsigned long tl = (unsigned long)strlen(type), dl = (unsigned long)strlen(details_json);
	long long at = created_at;
	int r = FCA_OK;

	if ((r = ensure_schema(s)) != 0)
		return r;
	if (!(op.table = s->schema.activity_table))
		return no_activity_table(s, &op, type, what, sizeof(what));
	fca_buf_init_fixed(&sql, sqlbuf, sizeof(sqlbuf));
	fca_buf_printf(&sql, "INSERT INTO %s %s", op.table, cols);
	if ((r = fca_buf_error(&sql, "the SQL recording an activity")) != 0)
		return r;
	memset(b, 0, sizeof(b));
	bind(&b[0], MYSQL_TYPE_STRING, type, &tl);
	bind(&b[1], MYSQL_TYPE_STRING, details_json, &dl);
	bind(&b[2], MYSQL_TYPE_LONGLONG, &at, NULL);
	if ((r = utc_session(s)) != 0)
		return r;
	if (!(st = mysql_stmt_init(s->db)))
		return fca_error_set(FCA_ENOMEM, "out of memory");
	if (mysql_stmt_prepare(st, sql.ptr, (unsigned long)sql.len) != 0 || mysql_stmt_bind_param(st, b) != 0 ||
	    mysql_stmt_execute(st) != 0) {
		op.what = describe(what, sizeof(what), "recording an activity", "recording activity %s in %s", type,
				   op.table);
		r = stmt_error(s, &op, st);
	}
	mysql_stmt_close(st);
	return r;
}

const char *fca_store_library_version(void)
{
	return mysql_get_client_info();
}
