"""Drives the local fake Fleet API for integration tests (the server itself is
tests/fake_fleet/fake_fleet.py): one test CA and server certificate, one API token, and a Fake that
starts one server process and reads what it saw."""
import atexit
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
import uuid

from fcalib import MDB, SOURCE, expect

TMP = tempfile.mkdtemp(prefix="fca-fake-fleet-")
atexit.register(shutil.rmtree, TMP, True)
FAKE = os.path.join(SOURCE, "tests", "fake_fleet", "fake_fleet.py")
CERTS = os.path.join(TMP, "certs")
subprocess.run([os.path.join(SOURCE, "tests", "fake_fleet", "make_certs.sh"), CERTS], check=True,
               capture_output=True)
CA_FILE = os.path.join(CERTS, "ca.pem")
TOKEN = "tok-" + uuid.uuid4().hex
TOKEN_FILE = os.path.join(TMP, "token")
with open(TOKEN_FILE, "w") as f:
    f.write(TOKEN + "\n")


UUID_PREFIX = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/")


class Fake:
    """One fake Fleet API process over HTTPS (or plain http); every test stops its own."""

    def __init__(self, *args, http=False, db=None):
        """http: a plain-http fake (fleetca refuses it: FLEET_URL must be https)."""
        """db: answer GET /api/v1/fleet/activities from this test database (as root, over the socket)."""
        self.log = os.path.join(tempfile.mkdtemp(dir=TMP), "requests.jsonl")
        cmd = ["python3", FAKE, "--token-file", TOKEN_FILE, "--log", self.log] + list(args)
        if db:
            cmd += ["--mysql-database", db, "--mysql-socket", MDB["FCA_MDB_SOCKET"]]
        cmd += ["--http"] if http else ["--cert", os.path.join(CERTS, "server.pem"),
                                        "--key", os.path.join(CERTS, "server.key")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        port = self.proc.stdout.readline().strip()
        expect(port.isdigit(), "fake Fleet did not start: %r" % port)
        self.url = "%s://127.0.0.1:%s" % ("http" if http else "https", port)

    def requests(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def seen(self, raw=False):
        """[(idempotency key, status)] of the activity POSTs, in order. fleetca sends
        "<delivery_id>/<step_id>#<n>" (delivery_id: a UUID made with the outbox entry); without raw,
        the step part only (the UUID checked and dropped)."""
        out = []
        for r in self.requests():
            if r["method"] != "POST":
                continue
            k = r["idempotency_key"]
            if not raw and k:
                m = UUID_PREFIX.match(k)
                expect(m is not None, "Idempotency-Key %r does not start with a delivery UUID" % k)
                k = k[m.end():]
            out.append((k, r["status"]))
        return out

    def get(self, path, token=TOKEN):
        """(status, parsed JSON body) of a GET, with the token as Fleet's clients send it."""
        req = urllib.request.Request(self.url + path, headers={"Authorization": "Bearer " + token} if token else {})
        ctx = ssl.create_default_context(cafile=CA_FILE) if self.url.startswith("https") else None
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
