"""Trust distribution to Apple devices (DESIGN §5.3, README "Trust profiles"): with distribute: profile,
apply uploads a configuration profile holding every live generation of the CA to a fake Fleet API,
gates activation on the share of hosts Fleet reports it verified on (min_verified), replaces it with
the new generation alone after the retire, and keeps activation closed, saying why, without FLEET_URL."""
import base64
import json
import os
import plistlib
import subprocess
import tempfile
import urllib.request
import uuid

from fcalib import Failures, env_for, expect, live_rows, new_db, reference_decrypt, run
from fakefleet import CA_FILE, TOKEN, Fake

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-profile-")
T0 = "2026-11-27T00:00:00Z"
T8 = "2026-12-05T00:00:00Z"
T16 = "2026-12-13T00:00:00Z"
IDENT = "com.fleetca.trust.apple_scep"


def yaml_file(stage, min_verified="0.9"):
    fd, path = tempfile.mkstemp(suffix=".yml", dir=TMP)
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\npolicy:\n  min_overlap: 7d\n  fleet_server_trusts_previous: true\n"
                "  drain: force\n  reason: test of trust profiles\nactivities: {sink: none}\n"
                "cas:\n  apple_scep:\n    generation: 2\n    stage: %s\n"
                "    distribute: profile\n    min_verified: %s\n" % (stage, min_verified))
    return path


def api_env(db, fake, now):
    return env_for(db, now=now, FLEET_URL=fake.url if fake else None, FLEET_API_TOKEN=TOKEN,
                   FLEETCA_API_CA_FILE=CA_FILE, FLEETCA_API_TIMEOUT="5s")


def describe(res):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % res


def der_of(db, name):
    pem = reference_decrypt(live_rows(db)[name][1])
    return subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem, capture_output=True,
                          check=True).stdout


def roots(profile):
    """The DER certificates of the profile's com.apple.security.root payloads (plistlib parses it)."""
    pl = plistlib.loads(base64.b64decode(profile["content"]))
    expect(pl["PayloadIdentifier"] == IDENT and pl["PayloadType"] == "Configuration", str(pl))
    expect(pl["PayloadDisplayName"] == "fleetca trust: Apple SCEP CA", pl["PayloadDisplayName"])
    payloads = pl["PayloadContent"]
    expect(all(p["PayloadType"] == "com.apple.security.root" for p in payloads), str(payloads))
    expect(len({p["PayloadUUID"] for p in payloads} | {pl["PayloadUUID"]}) == len(payloads) + 1, "UUIDs collide")
    return sorted(p["PayloadContent"] for p in payloads)


def state_profiles(db):
    return json.loads(reference_decrypt(live_rows(db)["fleetca_state"][1])).get("profiles", [])


def live(fake):
    return [p for p in fake.profiles() if not p["deleted"]]


@T.case
def full_rotation_gated_by_the_profile():
    fake = Fake()
    try:
        db = new_db("prof")
        # stage: gen 2 beside gen 1, and a profile holding both
        res = run(["apply", "-f", yaml_file("staged")], api_env(db, fake, T0))
        expect(res[0] == 0 and "applied apple_scep:2:stage" in res[1], describe(res))
        expect("uploaded trust profile" in res[1], describe(res))
        ps = live(fake)
        expect(len(ps) == 1 and ps[0]["team_id"] is None, str(ps))
        expect(roots(ps[0]) == sorted([der_of(db, "ca_cert"), der_of(db, "ca_cert_next")]),
               "the profile does not hold gen 1 and gen 2")
        rec = state_profiles(db)
        expect(len(rec) == 1 and rec[0]["ca"] == "apple_scep" and rec[0]["profile_uuid"] == ps[0]["uuid"]
               and len(rec[0]["sha256s"]) == 2, str(rec))
        # a second run changes nothing in Fleet
        n = len(fake.profiles())
        res = run(["apply", "-f", yaml_file("staged")], api_env(db, fake, T0))
        expect(res[0] == 0 and len(fake.profiles()) == n, describe(res))

        # activation: overlap satisfied, but the profile is verified on 50% of hosts only
        fake.set_counts(5, 3, 1, 1)
        y = yaml_file("active")
        res = run(["apply", "-f", y], api_env(db, fake, T8))
        expect(res[0] == 3, describe(res))
        expect("trust profile verified on 50% of hosts (needs 90%)" in res[1], describe(res))
        expect("ca_cert_previous" not in live_rows(db), "activated despite the gate")
        status_reqs = [r for r in fake.requests() if r["method"] == "GET" and r["path"].endswith("/status")]
        expect(status_reqs and status_reqs[-1]["path"] == "/api/v1/fleet/configuration_profiles/%s/status"
               % ps[0]["uuid"] and status_reqs[-1]["headers"].get("Authorization") == "Bearer " + TOKEN,
               str(status_reqs[-1:]))
        # 95%: it opens
        fake.set_counts(19, 1, 0, 0)
        res = run(["apply", "-f", y], api_env(db, fake, T8))
        expect(res[0] == 0 and "applied apple_scep:2:activate" in res[1], describe(res))
        expect(len(live(fake)) == 1, "activation changed the profile: %s" % fake.profiles())

        # retire: the profile is replaced by one holding gen 2 alone
        res = run(["apply", "-f", yaml_file("complete")], api_env(db, fake, T16))
        expect(res[0] == 0 and "applied apple_scep:2:retire" in res[1], describe(res))
        expect("deleted trust profile %s" % ps[0]["uuid"] in res[1], describe(res))
        ps2 = live(fake)
        expect(len(ps2) == 1 and ps2[0]["uuid"] != ps[0]["uuid"], str(ps2))
        expect(roots(ps2[0]) == [der_of(db, "ca_cert")], "after retire the profile must hold gen 2 alone")
        rec = state_profiles(db)
        expect(len(rec) == 1 and rec[0]["profile_uuid"] == ps2[0]["uuid"] and len(rec[0]["sha256s"]) == 1, str(rec))
        # converged: nothing more
        n = len(fake.requests())
        res = run(["apply", "-f", yaml_file("complete")], api_env(db, fake, T16))
        expect(res[0] == 0 and "Nothing to do" in res[1], describe(res))
        expect(not [r for r in fake.requests()[n:] if r["method"] != "GET"], "a converged run wrote to Fleet")
        # the API token was never printed
        expect(TOKEN not in res[1] + res[2], "the token was printed")
    finally:
        fake.stop()


@T.case
def without_fleet_url_the_gate_stays_closed():
    db = new_db("profnourl")
    res = run(["apply", "-f", yaml_file("staged")], api_env(db, None, T0))
    expect(res[0] == 0 and "applied apple_scep:2:stage" in res[1], describe(res))
    res = run(["apply", "-f", yaml_file("active", "0")], api_env(db, None, T8))
    expect(res[0] == 3, describe(res))
    expect("distribute: profile needs the Fleet API" in res[1] and "FLEET_URL is not set" in res[1], describe(res))
    expect("ca_cert_previous" not in live_rows(db), "activated without a profile")
    expect(state_profiles(db) == [], str(state_profiles(db)))


@T.case
def duplicate_identifier_in_fleet_is_refused_with_a_way_out():
    """A profile with fleetca's identifier that the state document does not record (a run stopped
    between upload and record): Fleet answers 409 and apply says what to do; nothing is recorded."""
    fake = Fake()
    try:
        db = new_db("profdup")
        boundary = "b" + uuid.uuid4().hex
        body = plistlib.dumps({"PayloadIdentifier": IDENT, "PayloadDisplayName": "left over",
                               "PayloadType": "Configuration", "PayloadContent": []})
        data = ("--%s\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"x.mobileconfig\"\r\n\r\n"
                % boundary).encode() + body + ("\r\n--%s--\r\n" % boundary).encode()
        req = urllib.request.Request(fake.url + "/api/v1/fleet/configuration_profiles", data=data, method="POST",
                                     headers={"Authorization": "Bearer " + TOKEN,
                                              "Content-Type": "multipart/form-data; boundary=" + boundary})
        with urllib.request.urlopen(req, context=fake.ctx, timeout=10) as r:
            expect(r.status == 200, "fake upload")
        # host_identity rotates in the same file: the Apple CA's profile failure must not hold it back
        y = yaml_file("staged")
        with open(y, "a") as f:
            f.write("  host_identity: {generation: 2, stage: staged}\n")
        res = run(["apply", "-f", y], api_env(db, fake, T0))
        expect(res[0] == 1 and "409" in res[2] and "delete that profile in Fleet" in res[2], describe(res))
        expect(state_profiles(db) == [], str(state_profiles(db)))
        expect("applied host_identity:2:stage" in res[1] and "host_identity_ca_cert_next" in live_rows(db),
               "the other CA went on: " + describe(res))
    finally:
        fake.stop()


T.done()
