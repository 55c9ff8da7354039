#!/bin/sh
# Each library's header appears only in its adapter; the layers (docs/architecture.md, section 1).
set -u
cd "$(dirname "$0")/.."
fail=0
for pair in "mysql.h:src/io/store.c" "mysqld_error.h:src/io/store.c" "openssl/:src/io/crypto.c" \
	"git2.h:src/io/source.c" "yaml.h:src/io/yaml.c" "curl/curl.h:src/io/fleet_api.c"; do
	hdr=${pair%%:*}; home=${pair#*:}
	hits=$(grep -rln "#include *<$hdr" src include | grep -v "^$home$")
	if [ -n "$hits" ]; then
		echo "<$hdr> is included outside $home: $hits"
		fail=1
	fi
done
# jansson: src/io/json.c is its adapter; the renderers (src/render) write their JSON with it too.
hits=$(grep -rln "#include *<jansson.h" src include tests/unit tests/fuzz | grep -v '^src/io/json.c$' | grep -v '^src/render/')
if [ -n "$hits" ]; then
	echo "<jansson.h> is included outside src/io/json.c and src/render: $hits (use include/fleetca/json.h)"
	fail=1
fi
# Layers: src/io (the adapters) never reaches up into the engine, the renderers or the CLI.
hits=$(grep -ln '#include "fleetca/\(executor\|engine[a-z_]*\|outbox\|reconcile\|export\|render[a-z_]*\)\.h"' src/io/*.c)
if [ -n "$hits" ]; then
	echo "src/io includes a header of a layer above it: $hits"
	fail=1
fi
# Configuration is read once, at the command line (src/cli/config.c): below src/cli only the test
# hooks FLEETCA_TEST_NOW (src/core/timeutil.c) and FLEETCA_FAULT* (src/core/fault.c) read the environment.
hits=$(grep -rln 'getenv *(' src include | grep -v '^src/cli/' | grep -v '^src/core/timeutil.c$' | grep -v '^src/core/fault.c$')
if [ -n "$hits" ]; then
	echo "the environment is read below src/cli (read it in src/cli/config.c): $hits"
	fail=1
fi
hits=$(grep -n 'getenv *("' src/core/timeutil.c src/core/fault.c | grep -v 'FLEETCA_TEST_NOW\|FLEETCA_FAULT')
if [ -n "$hits" ]; then
	echo "a test hook file reads more than its hook: $hits"
	fail=1
fi
[ $fail -eq 0 ] && echo "library headers stay in their adapters (jansson: src/io/json.c and the renderers); src/io stays below the engine; the environment is read in src/cli"
exit $fail
