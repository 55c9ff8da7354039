// Command fleet-behaviour replays, against a real Fleet database, what each released Fleet reader
// does with the rows fleetca writes (docs/architecture.md, section 7), with the Go standard-library calls Fleet
// makes. It is a test tool: it never writes to the database.
//
//	fleet-behaviour check [--json] [--now RFC3339]
//	fleet-behaviour gen --schema new|old --now RFC3339 [--key K]
//
// check reads the database named by the environment as Fleet reads it (FLEET_MYSQL_ADDRESS,
// FLEET_MYSQL_USERNAME, FLEET_MYSQL_PASSWORD or FLEET_MYSQL_PASSWORD_PATH, FLEET_MYSQL_DATABASE,
// FLEET_MYSQL_PROTOCOL, and FLEET_SERVER_PRIVATE_KEY or FLEETCA_SERVER_PRIVATE_KEY_PATH) and prints
// one line per reader. It exits 0 when it could read everything, whatever the readers found (the
// test decides), 1 when it could not (and then prints no count at all), 2 on a usage error.
//
// gen prints SQL for a test database of our own, made with crypto/x509 the way Fleet makes its
// CAs and device certificates; load it after Fleet's schema.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

const usage = `usage:
  fleet-behaviour check [--json] [--now RFC3339]
  fleet-behaviour gen --schema new|old --now RFC3339 [--key SERVER_PRIVATE_KEY]
      (without --key: FLEET_SERVER_PRIVATE_KEY or FLEETCA_SERVER_PRIVATE_KEY_PATH)
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "check":
		return cmdCheck(args[1:])
	case "gen":
		return cmdGen(args[1:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "fleet-behaviour: unknown command %q\n%s", args[0], usage)
	return 2
}

// flags is a small parser for "--name value", "--name=value" and boolean "--name".
type flags struct {
	vals  map[string]string
	bools map[string]bool
}

func parseFlags(args []string, valued, boolean []string) (*flags, error) {
	f := &flags{vals: map[string]string{}, bools: map[string]bool{}}
	isValued := map[string]bool{}
	for _, n := range valued {
		isValued[n] = true
	}
	isBool := map[string]bool{}
	for _, n := range boolean {
		isBool[n] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			return nil, fmt.Errorf("unexpected argument %q", a)
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		switch {
		case isBool[name] && !hasVal:
			f.bools[name] = true
		case isValued[name]:
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("--%s needs a value", name)
				}
				i++
				val = args[i]
			}
			f.vals[name] = val
		default:
			return nil, fmt.Errorf("unknown option --%s", name)
		}
	}
	return f, nil
}

// referenceNow is --now, else FLEETCA_TEST_NOW (the clock the integration tests give fleetca),
// else the real clock. Go reads the clock without libc, so faketime does not move it: tests
// must pass the time they mean.
func referenceNow(f *flags) (time.Time, error) {
	v := f.vals["now"]
	what := "--now"
	if v == "" {
		v = os.Getenv("FLEETCA_TEST_NOW")
		what = "FLEETCA_TEST_NOW"
	}
	if v == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time such as 2026-11-27T00:00:00Z", what, v)
	}
	return t.UTC(), nil
}

// secretFromEnv returns the value of env, else the contents of the file named by pathEnv (trailing
// newlines removed, as fleetca reads it). found is false when neither is set.
func secretFromEnv(env, pathEnv string) (val []byte, found bool, err error) {
	if v := os.Getenv(env); v != "" {
		return []byte(v), true, nil
	}
	p := os.Getenv(pathEnv)
	if p == "" {
		return nil, false, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false, fmt.Errorf("cannot read %s: %v", pathEnv, err)
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b, true, nil
}

// serverKey is Fleet's AES-256-GCM key: the first 32 bytes of the server private key
// (Fleet truncates it so); a shorter key is refused, as Fleet refuses it.
func serverKey(raw []byte) ([]byte, error) {
	if len(raw) < 32 {
		return nil, fmt.Errorf("the server private key must be at least 32 bytes long (it is %d)", len(raw))
	}
	k := make([]byte, 32)
	copy(k, raw[:32])
	return k, nil
}
