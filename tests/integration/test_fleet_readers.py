"""Every step fleetca applies, proved against released Fleet's readers (the Fleet-behaviour harness):
full rotations (gen 1 -> 2 complete) of host_identity, conditional_access and conditional_access_idp,
a renew of each of the four CAs, and apple_scep up to its held activation, on both schemas, on the
fleet-dev fixture (with its FileVault escrows) and on a database generated the way Fleet makes its
rows. After every apply: no enrolled Apple device that checked in before the rotation fails to
check in, no escrow that decrypted before fails to decrypt, every SCEP depot signs a new enrolment
that verifies, the IdP parses, and each reader reads the signing generation's certificate (the
caroot profile's certificate for apple_scep). Every transition fleetca applied is listed exactly
once by Fleet's GET /activities query and streamed exactly once by its audit-log query.
Then an apple_scep activation a human allowed: the harness counts exactly what the plan predicted."""
import json
import os
import re
import tempfile

from fcalib import FIXTURE_KEY, Failures, env_for, expect, new_db, run
from fleetharness import (GEN_KEY, check, depots_failing, disconnected, escrows_lost, gen_db, summary)

T = Failures()
T0 = "2026-11-27T00:00:00Z"
T8 = "2026-12-05T00:00:00Z"
T16 = "2026-12-13T00:00:00Z"
AFTER_EXPIRY = "2028-01-05T00:00:00Z"  # every device certificate of both databases has expired, plus clock_skew
SCHEMAS = [("schema.sql", "fleet-dev.sql"), ("schema-pre2026.sql", "fleet-dev-old-schema.sql")]
ACTIVITY_TYPE = {"adopt": "adopted_ca_certificate", "stage": "staged_ca_certificate",
                 "activate": "activated_ca_certificate", "retire": "retired_ca_certificate",
                 "renew": "renewed_ca_certificate", "rollback": "rolled_back_ca_certificate",
                 "abandon": "abandoned_ca_certificate"}


def reader_sha256(rep, ca):
    """The certificate each released Fleet reader of this CA takes (the first block of its cert row)."""
    if ca == "apple_scep":
        return (rep["caroot"].get("cert") or {}).get("sha256")
    if ca == "conditional_access_idp":
        return (rep["idp"].get("cert") or {}).get("sha256")
    return (rep["scep_depots"][ca].get("ca") or {}).get("sha256")


def yaml_file(body, trusts_previous=False):
    fd, path = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\npolicy:\n  min_overlap: 7d\n  clock_skew: 72h\n"
                "  fleet_server_trusts_previous: %s\ncas:\n%s" % ("true" if trusts_previous else "false", body))
    return path


class Proof:
    """A database, its readers' results before anything changed, and the transitions applied."""

    def __init__(self, kind, schema, fixture):
        if kind == "fixture":
            self.db, self.key = new_db("rd", schema=schema, fixtures=(fixture, "filevault-dev.sql")), FIXTURE_KEY
        else:
            self.db, self.key = gen_db(schema, now=T0, prefix="rdgen"), GEN_KEY
        self.label = "%s/%s" % (kind, schema)
        self.before = check(self.db, now=T0, key=self.key)
        expect(depots_failing(self.before) == {} and self.before["idp"]["status"] == "ok",
               "%s: the readers work before the rotation: %s" % (self.label, summary(self.before)))
        self.applied = []
        self.last = self.before

    def status(self, now):
        rc, out, err = run(["status", "--format", "json"], env_for(self.db, key=self.key, now=now), check_rc=0)
        return {c["id"]: c for c in json.loads(out)["cas"]}

    def apply(self, yml, now, want_rc=0, want=()):
        rc, out, err = run(["apply", "-f", yml], env_for(self.db, key=self.key, now=now))
        expect(rc == want_rc, "%s: apply at %s: exit %d, wanted %d\n%s%s" % (self.label, now, rc, want_rc, out, err))
        done = re.findall(r"applied ([a-z_]+:\d+:[a-z_]+)", out)
        for w in want:
            expect(w in done, "%s: %s applied at %s: %s" % (self.label, w, now, out))
        self.applied += [(s, now) for s in done]
        self.prove("after %s at %s" % (", ".join(done) or "a held apply", now), now)
        return out

    def prove(self, what, now):
        rep = check(self.db, now=now, key=self.key)
        ctx = "%s, %s" % (self.label, what)
        expect(disconnected(self.before, rep) == [], "%s: Apple devices disconnected: %s (%s)"
               % (ctx, disconnected(self.before, rep), summary(rep)))
        expect(escrows_lost(self.before, rep) == [], "%s: FileVault escrows lost: %s (%s)"
               % (ctx, escrows_lost(self.before, rep), summary(rep)))
        expect(depots_failing(rep) == {}, "%s: new enrolments do not sign and verify: %s" % (ctx, depots_failing(rep)))
        expect(rep["idp"]["status"] == "ok", "%s: the IdP: %s" % (ctx, rep["idp"]))
        st = self.status(now)
        for ca, c in st.items():
            signing = [g["sha256_fingerprint"] for g in c["generations"] if g["role"] == "signing"]
            expect(signing and reader_sha256(rep, ca) == signing[0],
                   "%s: Fleet's reader of %s takes %s, the signing generation is %s"
                   % (ctx, ca, reader_sha256(rep, ca), signing))
        self.last = rep
        return rep

    def activities_once(self):
        """Each applied transition appears exactly once in GET /activities and in the stream, as Fleet
        would show it; nothing else appears."""
        items = self.last["activities"]["items"]
        problems = []
        for step_id, now in self.applied:
            step = step_id.rsplit(":", 1)[1]
            rows = [i for i in items if i["step_id"] == step_id]
            listed = [i for i in rows if i["listed"]]
            streamable = [i for i in rows if i["streamable"]]
            if len(listed) != 1 or len(streamable) != 1:
                problems.append("%s: listed %d times, streamable %d times (wanted 1 and 1)"
                                % (step_id, len(listed), len(streamable)))
                continue
            a = listed[0]
            if a["type"] != ACTIVITY_TYPE[step]:
                problems.append("%s: type %s, wanted %s" % (step_id, a["type"], ACTIVITY_TYPE[step]))
            if a["user_name"] != "fleetca" or a["host_only"] or a["streamed"]:
                problems.append("%s: user_name %r host_only %s streamed %s" % (step_id, a["user_name"],
                                                                               a["host_only"], a["streamed"]))
            if not isinstance(a["details"], dict) or "ca_name" not in a["details"]:
                problems.append("%s: no ca_name in details %s" % (step_id, a["details"]))
            if not a["created_at"].startswith(now[:10]):
                problems.append("%s: created_at %s, the step ran at %s" % (step_id, a["created_at"], now))
        extra = self.last["activities"]["listed"] - len(self.applied)
        if extra:
            problems.append("%d listed activities for %d transitions" % (self.last["activities"]["listed"],
                                                                         len(self.applied)))
        expect(not problems, "%s: activities (table %s): %s" % (self.label, self.last["activities"]["table"],
                                                                "; ".join(problems)))


def full_rotation(p, ca):
    ys = {st: yaml_file("  %s: {generation: 2, stage: %s}\n" % (ca, st)) for st in ("staged", "active", "complete")}
    p.apply(ys["staged"], T0, want=("%s:1:adopt" % ca, "%s:2:stage" % ca))
    p.apply(ys["active"], T8, want=("%s:2:activate" % ca,))
    if ca == "conditional_access_idp":
        p.apply(ys["complete"], T16, want=("%s:2:retire" % ca,))
    else:
        p.apply(ys["complete"], T16, want_rc=3)  # live device certificates of gen 1 hold retirement back
        p.apply(ys["complete"], AFTER_EXPIRY, want=("%s:2:retire" % ca,))
    for y in ys.values():
        os.unlink(y)


def renew(p, ca):
    y = yaml_file("  %s: {generation: 1, renew_before: 9y, validity: 10y}\n" % ca)
    root_before = p.before["caroot"]["cert"]
    p.apply(y, T0, want=("%s:1:renew" % ca,))
    if ca == "apple_scep":
        root = p.last["caroot"]["cert"]
        expect(root["sha256"] != root_before["sha256"] and root["serial"] != root_before["serial"],
               "%s: a renewed certificate with a fresh serial: %s" % (p.label, root))
        expect(root["subject_der"] == root_before["subject_der"], "%s: the caroot keeps its subject bytes" % p.label)
        expect(root["not_before"] == root_before["not_before"], "%s: renew moved NotBefore from %s to %s"
               % (p.label, root_before["not_before"], root["not_before"]))
        expect(root["spki_sha256"] == root_before["spki_sha256"] and root["ski"] == root_before["ski"],
               "%s: same key and SKI" % p.label)
        v = p.last["apple_verifier"]
        expect(v["failed"] == 0 and v["expired_ok"] == p.before["apple_verifier"]["expired_ok"] > 0,
               "%s: expired device certificates still verify at their NotAfter: %s" % (p.label, summary(p.last)))
        expect(p.last["filevault"]["decrypted"] == p.before["filevault"]["decrypted"] > 0,
               "%s: every escrow decrypts: %s" % (p.label, summary(p.last)))
    os.unlink(y)


def apple_held(p):
    p.apply(yaml_file("  apple_scep: {generation: 2, stage: staged}\n"), T0,
            want=("apple_scep:1:adopt", "apple_scep:2:stage"))
    out = p.apply(yaml_file("  apple_scep: {generation: 2, stage: active}\n"), T8, want_rc=3)
    expect("fleet_server_trusts_previous" in out, "%s: held on the human statement: %s" % (p.label, out))


for _kind in ("fixture", "generated"):
    for _schema, _fixture in SCHEMAS:
        tag = "%s_on_%s" % (_kind, _schema.replace(".sql", ""))
        for _ca in ("host_identity", "conditional_access", "conditional_access_idp"):
            def _rot(kind=_kind, schema=_schema, fixture=_fixture, ca=_ca):
                p = Proof(kind, schema, fixture)
                full_rotation(p, ca)
                p.activities_once()
            _rot.__name__ = "rotate_%s_%s" % (_ca, tag)
            T.case(_rot)
        for _ca in ("apple_scep", "host_identity", "conditional_access", "conditional_access_idp"):
            def _ren(kind=_kind, schema=_schema, fixture=_fixture, ca=_ca):
                p = Proof(kind, schema, fixture)
                renew(p, ca)
                p.activities_once()
            _ren.__name__ = "renew_%s_%s" % (_ca, tag)
            T.case(_ren)

        def _apple(kind=_kind, schema=_schema, fixture=_fixture):
            p = Proof(kind, schema, fixture)
            apple_held(p)
            p.activities_once()
        _apple.__name__ = "apple_scep_held_at_activation_%s" % tag
        T.case(_apple)

        def _allowed(kind=_kind, schema=_schema, fixture=_fixture):
            """With a human's fleet_server_trusts_previous: true the activation runs; on a released Fleet
            it disconnects exactly the devices, and strands exactly the escrows, the plan said it would."""
            p = Proof(kind, schema, fixture)
            staged = yaml_file("  apple_scep: {generation: 2, stage: staged}\n", trusts_previous=True)
            active = yaml_file("  apple_scep: {generation: 2, stage: active}\n", trusts_previous=True)
            run(["apply", "-f", staged], env_for(p.db, key=p.key, now=T0), check_rc=0)
            rc, plan, err = run(["plan", "-f", active], env_for(p.db, key=p.key, now=T8))
            expect(rc == 2, "%s: the plan has the activation ready: %d %s" % (p.label, rc, plan + err))
            run(["apply", "-f", active], env_for(p.db, key=p.key, now=T8), check_rc=0)
            after = check(p.db, now=T8, key=p.key)
            lost_devices, lost_escrows = disconnected(p.before, after), escrows_lost(p.before, after)
            # a new key and subject: every enrollment's newest certificate came from gen 1
            expect(len(lost_devices) == p.before["apple_checkin"]["ok"] > 0, "%s: %s" % (p.label, summary(after)))
            expect(len(lost_escrows) == p.before["filevault"]["decrypted"] > 0, "%s: %s" % (p.label, summary(after)))
            expect(depots_failing(after) == {}, "%s: new enrolments work: %s" % (p.label, depots_failing(after)))
            devices = re.search(r"(\d+) enrolled Apple devices? would fail check-in", plan)
            escrows = re.search(r"(\d+) FileVault escrows?", plan)
            expect(devices and escrows, "%s: the plan names the devices and escrows at stake:\n%s" % (p.label, plan))
            expect((int(devices.group(1)), int(escrows.group(1))) == (len(lost_devices), len(lost_escrows)),
                   "%s: the plan predicted %s devices and %s escrows; Fleet's readers count %d and %d"
                   % (p.label, devices.group(1), escrows.group(1), len(lost_devices), len(lost_escrows)))
        _allowed.__name__ = "apple_scep_activation_counts_what_the_plan_predicted_%s" % tag
        T.case(_allowed)

T.done()
