# bench/lib.sh: shared helpers for the bench/ scripts (sourced, POSIX sh).
# Each script: bench_init NAME; ... ; cleanup happens on EXIT (server stopped, temp dir removed).
set -eu
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$BENCH_DIR/.." && pwd)
SHARED=${FCA_SHARED_DIR:-$(cd "$SRC/../shared" && pwd)}
FIXTURES=$SHARED/fleet/fixtures/fleet-dev
FIXTURE_KEY=fixture-dev-private-key-0123456789abcdef
BUILD=${FCA_BENCH_BUILD:-$SRC/build-rel}
FLEETCA=$BUILD/fleetca
FLOOR=$BUILD/bench/floor
BENCHLIB=$BENCH_DIR/benchlib.py

need_pkgs() { # need_pkgs CMD:PKG ...: apt-get install what is missing
	missing=
	for cp in "$@"; do
		command -v "${cp%%:*}" >/dev/null 2>&1 || missing="$missing ${cp#*:}"
	done
	[ -z "$missing" ] && return 0
	echo "bench: installing$missing" >&2
	SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
		{ DEBIAN_FRONTEND=noninteractive $SUDO apt-get update >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing >/dev/null; }
}

build_release() { # the release binary (no test hooks) and bench/floor, brought up to date
	if [ ! -f "$BUILD/CMakeCache.txt" ] || [ "${FCA_BENCH_REBUILD:-0}" = 1 ]; then
		cmake -S "$SRC" -B "$BUILD" -DFLEETCA_TESTING=OFF -DFLEETCA_BUILD_TESTS=OFF -DFLEETCA_BUILD_BENCH=ON \
			-DCMAKE_BUILD_TYPE=Release >/dev/null
	fi
	cmake --build "$BUILD" -j"$(nproc)" --target fleetca bench_floor >/dev/null
}

bench_cleanup() {
	[ -n "${MDB_ENV:-}" ] && "$SRC/ci/mariadb" stop "$MDB_ENV" >/dev/null 2>&1 || true
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
}

bench_init() { # bench_init NAME: tools, release binary, a throwaway server, $WORK
	need_pkgs mariadbd:mariadb-server mariadb:mariadb-client \
		openssl:openssl python3:python3 /usr/bin/time:time
	build_release
	WORK=$(mktemp -d "/tmp/fleetca-bench-$1.XXXXXX")
	MDB_ENV=$WORK/mariadb.env
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	"$SRC/ci/mariadb" start "$MDB_ENV" >/dev/null
	. "$MDB_ENV"
}

sql() { # sql DB [mariadb args...]: root over the socket
	db=$1; shift
	mariadb --no-defaults --socket="$FCA_MDB_SOCKET" -uroot -N -B "$@" $db
}

new_db() { # new_db NAME [schema-file]: Fleet's schema + the fleet-dev fixtures
	sql "" -e "CREATE DATABASE \`$1\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
	sql "$1" <"${2:-$SHARED/fleet/schema.sql}"
	sql "$1" <"$FIXTURES/fleet-dev.sql"
}

fleet_env() { # fleet_env DB: the environment fleetca reads (TCP, like Fleet)
	FLEET_MYSQL_ADDRESS=127.0.0.1:$FCA_MDB_PORT
	FLEET_MYSQL_USERNAME=$FCA_MDB_USER
	FLEET_MYSQL_PASSWORD=$FCA_MDB_PASSWORD
	FLEET_MYSQL_DATABASE=$1
	FLEET_SERVER_PRIVATE_KEY=$FIXTURE_KEY
	NO_COLOR=1
	export FLEET_MYSQL_ADDRESS FLEET_MYSQL_USERNAME FLEET_MYSQL_PASSWORD FLEET_MYSQL_DATABASE \
		FLEET_SERVER_PRIVATE_KEY NO_COLOR
}

client_tcp() { # the bare client as fleetca connects: TCP, same user
	echo "mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P$FCA_MDB_PORT -u$FCA_MDB_USER -p$FCA_MDB_PASSWORD -N -B"
}

bench_py() { # bench_py [ARGS...] <<'PY' ... PY: a python3 script with benchlib importable
	PYTHONPATH=$BENCH_DIR${PYTHONPATH:+:$PYTHONPATH} python3 - "$@"
}
