/*
 * bench/floor: the physical floor fleetca's benchmarks compare against, linked with libmariadb
 * alone. It connects the way fleetca does (TCP, utf8mb4, the same timeouts and login methods, the
 * same FLEET_MYSQL_* environment) and does the least work each benchmark's answer needs:
 *
 *   floor one    connect, run the SELECT of mdm_config_assets a converged apply runs (same text:
 *                the 24 CA asset names and fleetca_state), fetch every row, close.
 *   floor scan   connect, stream the issued-certificate column (certificate_pem) of the live rows
 *                of identity_certificates with mysql_use_result, no work per row, close.
 *
 * It prints the number of rows to stdout ("rows N"), so a bench can check it read what fleetca
 * reads. Exit 0, or 1 with libmariadb's message. `floor sql one|scan` prints the query instead
 * (the mariadb client column runs the same text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

static const char *const assets[] = {"ca", "host_identity_ca", "conditional_access_ca", "conditional_access_idp"};

/* The converged apply's query, as fleetca builds it (src/io/store.c, seen in the general log). */
static void one_query(char *q, size_t cap)
{
	static const char *const kinds[] = {"cert", "key"};
	static const char *const sufs[] = {"", "_next", "_previous"};
	size_t n = (size_t)snprintf(q, cap,
				    "SELECT id, name, value, HEX(md5_checksum), UNIX_TIMESTAMP(created_at), "
				    "UNIX_TIMESTAMP(deleted_at), deletion_uuid FROM mdm_config_assets WHERE name IN (");

	for (size_t a = 0; a < 4; a++)
		for (size_t s = 0; s < 3; s++)
			for (size_t k = 0; k < 2; k++)
				n += (size_t)snprintf(q + n, cap - n, "'%s_%s%s',", a == 0 ? "ca" : assets[a], kinds[k],
						      sufs[s]);
	snprintf(q + n, cap - n, "'fleetca_state') AND deletion_uuid = '' ORDER BY id");
}

static int fail(MYSQL *db, const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, mysql_error(db));
	mysql_close(db);
	return 1;
}

int main(int argc, char **argv)
{
	const char *addr = getenv("FLEET_MYSQL_ADDRESS"), *user = getenv("FLEET_MYSQL_USERNAME");
	const char *pw = getenv("FLEET_MYSQL_PASSWORD"), *dbname = getenv("FLEET_MYSQL_DATABASE");
	char host[256], q[4096], *colon;
	unsigned int timeout = 10, rw_timeout = 120, port = 3306;
	enum mysql_protocol_type tcp = MYSQL_PROTOCOL_TCP;
	unsigned long long rows = 0;
	MYSQL_RES *res;
	MYSQL *db;
	int scan, print = 0;

	if (argc == 3 && !strcmp(argv[1], "sql"))
		argv++, argc--, print = 1;
	if (argc != 2 || (strcmp(argv[1], "one") != 0 && strcmp(argv[1], "scan") != 0)) {
		fprintf(stderr, "usage: floor [sql] one|scan   (FLEET_MYSQL_ADDRESS host:port, _USERNAME, _PASSWORD, "
				"_DATABASE)\n");
		return 2;
	}
	scan = !strcmp(argv[1], "scan");
	if (scan)
		snprintf(q, sizeof(q),
			 "SELECT certificate_pem FROM identity_certificates "
			 "WHERE revoked = 0 AND not_valid_after > UTC_TIMESTAMP()");
	else
		one_query(q, sizeof(q));
	if (print) {
		printf("%s\n", q);
		return 0;
	}
	snprintf(host, sizeof(host), "%s", addr ? addr : "127.0.0.1:3306");
	if ((colon = strrchr(host, ':')) != NULL) {
		*colon = '\0';
		port = (unsigned int)strtoul(colon + 1, NULL, 10);
	}
	if (!(db = mysql_init(NULL)))
		return 1;
	mysql_optionsv(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_optionsv(db, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_optionsv(db, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_optionsv(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_optionsv(db, MYSQL_OPT_PROTOCOL, &tcp);
	mysql_optionsv(db, MARIADB_OPT_RESTRICTED_AUTH,
		       "mysql_native_password,caching_sha2_password,sha256_password,client_ed25519");
	if (!mysql_real_connect(db, host, user, pw, dbname, port, NULL, 0))
		return fail(db, "connect");
	if (mysql_real_query(db, q, (unsigned long)strlen(q)) != 0)
		return fail(db, "query");
	if (!(res = scan ? mysql_use_result(db) : mysql_store_result(db)))
		return fail(db, "result");
	while (mysql_fetch_row(res))
		rows++;
	if (mysql_errno(db) != 0) {
		mysql_free_result(res);
		return fail(db, "fetch");
	}
	mysql_free_result(res);
	mysql_close(db);
	printf("rows %llu\n", rows);
	return 0;
}
