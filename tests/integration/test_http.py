"""HTTP as a hostile network sees it (issue 9 item 9): the proxy environment variables are ignored
unless FLEETCA_API_PROXY names one; SSLKEYLOGFILE is ignored (no TLS secrets written); http:// is
refused for every host (test_outbox.py); a server's error text is printed with its control and
bidirectional-override characters escaped. On both schemas."""
import os
import shutil
import socket
import tempfile

from fcalib import Failures, each_schema, env_for, expect, run
from apiserver import CA_FILE, TOKEN, Fake

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-http-")
Y = os.path.join(TMP, "api.yml")
with open(Y, "w") as f:
    f.write("version: 1\npolicy: {min_overlap: 7d}\nactivities: {sink: api}\ncas:\n"
            "  conditional_access_idp: {generation: 2, stage: staged}\n")


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def api_env(db, url, **extra):
    env = {"FLEET_URL": url, "FLEET_API_TOKEN": TOKEN, "FLEETCA_API_CA_FILE": CA_FILE,
           "FLEETCA_API_BACKOFF": "10ms", "FLEETCA_API_TIMEOUT": "5s"}
    env.update(extra)
    return env_for(db, now="2026-11-27T00:00:00Z", **env)


def describe(res):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % res


per_schema = each_schema(T)


@per_schema
def proxy_variables_ignored_unless_named(new):
    fake = Fake()
    try:
        dead = "http://127.0.0.1:%d" % closed_port()
        proxies = {k: dead for k in ("http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")}
        db = new("hp")
        res = run(["apply", "-f", Y], api_env(db, fake.url, **proxies))
        expect("delivered 2 activities" in res[1] and len(fake.seen()) == 2, "proxy variables used: %s" % describe(res))
        # FLEETCA_API_PROXY is used: here it leads nowhere, so nothing arrives
        db = new("hp")
        res = run(["apply", "-f", Y], api_env(db, fake.url, FLEETCA_API_PROXY=dead))
        expect("delivered" not in res[1] and "2 pending" in res[2] and len(fake.seen()) == 2,
               "FLEETCA_API_PROXY ignored: %s" % describe(res))
    finally:
        fake.stop()


@per_schema
def sslkeylogfile_ignored(new):
    fake = Fake()
    try:
        keylog = os.path.join(TMP, "keys-%s.log" % os.getpid())
        db = new("hk")
        res = run(["apply", "-f", Y], api_env(db, fake.url, SSLKEYLOGFILE=keylog))
        expect("delivered 2 activities" in res[1], describe(res))
        written = open(keylog).read() if os.path.exists(keylog) else ""
        expect(written == "", "TLS session keys written to SSLKEYLOGFILE: %r" % written[:200])
    finally:
        fake.stop()


@per_schema
def server_error_text_is_escaped(new):
    evil = "denied\x1b[2J\x1b]0;pwned\x07 \u202eelif\u2066 \x9b1m"
    fake = Fake("--status", "422", "--message", evil)
    try:
        db = new("he")
        res = run(["apply", "-f", Y], api_env(db, fake.url))
        expect(res[0] == 1 and "HTTP 422" in res[2], describe(res))
        for ch in ("\x1b", "\x07", "\u202e", "\u2066", "\x9b"):
            expect(ch not in res[1] + res[2], "%r printed raw: %r" % (ch, res[2]))
        expect("denied\\x1B[2J" in res[2] and "\\u{202E}elif\\u{2066}" in res[2], "escaped form: %r" % res[2])
    finally:
        fake.stop()


shutil.rmtree(TMP, ignore_errors=True)
T.done()
