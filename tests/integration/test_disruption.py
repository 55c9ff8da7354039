"""What an Apple SCEP CA step would break: the activation of a
new subject or key names, on its own line, the enrolled devices that would fail check-in on a Fleet
that trusts one root and the FileVault escrows that could no longer be decrypted, in every format;
without policy.fleet_server_trusts_previous it is held with no row changed; a count that cannot be
made holds it too. Retirement waits only for the certificates still in use by their enrollments.
The numbers are checked against the data itself, computed here independently of fleetca."""
import base64
import hashlib
import json
import os
import subprocess
import tempfile
import uuid

import jsonschema
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from fcalib import (SOURCE, Failures, env_for, expect, live_rows, mariadb, new_db, reference_decrypt, run,
                    table_fingerprint)

T = Failures()
PLAN_SCHEMA = json.load(open(os.path.join(SOURCE, "schemas", "plan.schema.json")))
STATUS_SCHEMA = json.load(open(os.path.join(SOURCE, "schemas", "status.schema.json")))
SCHEMAS = [("schema.sql", "fleet-dev.sql", "identity_certificates", "identity_serials"),
           ("schema-pre2026.sql", "fleet-dev-old-schema.sql", "scep_certificates", "scep_serials")]
T0 = "2026-11-27T00:00:00Z"
T8 = "2026-12-05T00:00:00Z"
T16 = "2026-12-13T00:00:00Z"
SKEW = 72 * 3600
ASSERTED = ("fleet_server_trusts_previous: true — your statement that this Fleet trusts ca_cert_previous; "
            "no released Fleet does")


def epoch(t):
    import datetime
    return int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


def yaml_file(generation, stage, trusts=None, key=None):
    fd, path = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\npolicy:\n  min_overlap: 7d\n  clock_skew: 72h\n")
        if trusts is not None:
            f.write("  fleet_server_trusts_previous: %s\n" % ("true" if trusts else "false"))
        f.write("activities: {sink: none}\n")
        f.write("cas:\n  apple_scep:\n    generation: %d\n    stage: %s\n    subject: {country: US}\n"
                % (generation, stage))
        if key:
            f.write("    key: %s\n" % key)
    return path


def impact_line(devices, escrows, change="new key and subject"):
    return ("%d enrolled Apple device%s would fail check-in on a Fleet that trusts one root and would have to "
            "re-enroll, and %d FileVault escrow%s could no longer be decrypted (%s)"
            % (devices, "" if devices == 1 else "s", escrows, "" if escrows == 1 else "s", change))


# ---- the numbers, from the data -----------------------------------------------------------------

def ski_of(pem):
    c = x509.load_pem_x509_certificate(pem)
    return c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def newest_per_enrollment(db):
    """{enrollment id: sha256} by Fleet's rule: the latest created_at, then the smallest sha256."""
    newest = {}
    for i, sha, created in sorted(mariadb(db, "SELECT id, sha256, UNIX_TIMESTAMP(created_at) "
                                              "FROM nano_cert_auth_associations"),
                                  key=lambda r: (r[0].lower(), -float(r[2]), r[1])):
        newest.setdefault(i.lower(), sha)
    return newest


def live_by_ca(db, table, ca_pem, now, every=False):
    """sha256 of the live certificates (revoked = 0, not_valid_after > now - clock_skew) the CA issued (AKI =
    its SKI); every: revoked and expired ones too."""
    ski = ski_of(ca_pem)
    by_ca = set()
    for revoked, nva, pem in mariadb(db, "SELECT revoked, UNIX_TIMESTAMP(CONVERT_TZ(not_valid_after, '+00:00', "
                                         "@@session.time_zone)), certificate_pem FROM %s" % table):
        c = x509.load_pem_x509_certificate(pem.replace("\\n", "\n").encode())
        try:
            aki = c.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        except x509.ExtensionNotFound:
            continue
        if aki == ski and (every or (revoked == "0" and float(nva) > now - SKEW)):
            by_ca.add(hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest())
    return by_ca


def expected_devices(db, table, ca_pem, now):
    """Enrollments whose newest certificate the CA issued, revoked or expired alike: Fleet's check-in looks the
    certificate up by its hash and verifies an expired one at its NotAfter, so each of them checks in today."""
    by_ca = live_by_ca(db, table, ca_pem, now, every=True)
    return sum(1 for sha in newest_per_enrollment(db).values() if sha in by_ca)


def expected_escrows(db, key_pem):
    """Darwin escrows that `openssl cms -decrypt` opens with the key, trying every ca_cert row whose key it is
    (as Fleet decrypts: docs/architecture.md, section 7)."""
    pub = subprocess.run(["openssl", "pkey", "-pubout"], input=key_pem, capture_output=True, check=True).stdout
    certs = []
    for (value,) in mariadb(db, "SELECT HEX(value) FROM mdm_config_assets WHERE name = 'ca_cert'"):
        pem = reference_decrypt(bytes.fromhex(value))
        if subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=pem, capture_output=True).stdout == pub:
            certs.append(pem)
    n = 0
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "k.pem"), "wb").write(key_pem)
        for (b64,) in mariadb(db, "SELECT k.base64_encrypted FROM host_disk_encryption_keys k JOIN hosts h "
                                  "ON h.id = k.host_id WHERE h.platform = 'darwin'"):
            try:
                open(os.path.join(d, "e.der"), "wb").write(base64.b64decode(b64, validate=True))
            except ValueError:
                continue
            for i, pem in enumerate(certs):
                open(os.path.join(d, "c.pem"), "wb").write(pem)
                p = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "DER", "-in", os.path.join(d, "e.der"),
                                    "-inkey", os.path.join(d, "k.pem"), "-recip", os.path.join(d, "c.pem"),
                                    "-debug_decrypt", "-out", os.devnull], capture_output=True)
                if p.returncode == 0:
                    n += 1
                    break
    return n


def signing_pems(db, suffix=""):
    rows = live_rows(db)
    return reference_decrypt(rows["ca_cert" + suffix][1]), reference_decrypt(rows["ca_key" + suffix][1])


def plan(db, y, now, fmt="text", **env):
    rc, out, err = run(["plan", "-f", y, "--format", fmt], env_for(db, now=now, **env))
    expect(rc == 2, "plan: exit %d: %s %s" % (rc, out, err))
    if fmt == "json":
        doc = json.loads(out)
        jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(doc)
        return doc
    return out


def step(doc, step_id):
    s = [s for s in doc["steps"] if s["step_id"] == step_id]
    expect(len(s) == 1, "%s in %s" % (step_id, [x["step_id"] for x in doc["steps"]]))
    return s[0]


# ---- the activation says what it breaks ----------------------------------------------------------

def country_fix_is_counted(schema, fixture, table):
    db = new_db("disr", schema=schema, fixtures=(fixture, "filevault-dev.sql"))
    cert, key = signing_pems(db)
    devices, escrows = expected_devices(db, table, cert, epoch(T8)), expected_escrows(db, key)
    # the fixture: 20 enrollments, each with its newest certificate from the live CA (14 valid, 4 expired,
    # 2 revoked: all still check in); 8 escrows decrypt with its key (109-110 were made to another key)
    expect(devices == 20 and escrows == 8, "from the data: %d devices, %d escrows" % (devices, escrows))
    line = impact_line(devices, escrows)

    # one plan from gen 1 complete to gen 2 active: the activation's own line, every format
    y = yaml_file(2, "active")
    out = plan(db, y, T0)
    act = out[out.index("apple_scep:2:activate"):]
    expect("\n      impact    %s\n" % line in act, "text impact line: %s" % out)
    expect(ASSERTED not in out, "no statement made: %s" % out)
    md = plan(db, y, T0, "markdown")
    expect("> [!CAUTION]\n> **apple_scep:2:activate**: %s\n" % line in md, "markdown callout: %s" % md)
    expect("    impact    %s\n" % line in md, "markdown details: %s" % md)
    doc = plan(db, y, T0, "json")
    d = step(doc, "apple_scep:2:activate")["disruption"]
    expect(d == {"new_key": True, "new_subject": True, "devices": devices, "devices_not_counted": None,
                 "escrows": escrows, "escrows_not_counted": None, "asserted_trusts_previous": False}, str(d))
    expect(all(s["disruption"] is None for s in doc["steps"] if s["kind"] != "activate"), "only the activation")

    # staged, overlap done: apply holds it (exit 3), no row changes, and says why and what is at stake
    run(["apply", "-f", yaml_file(2, "staged")], env_for(db, now=T0), check_rc=0)
    before = table_fingerprint(db)
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T8))
    expect(rc == 3, "held: exit %d: %s %s" % (rc, out, err))
    expect("      impact    %s\n" % line in out and "fleet_server_trusts_previous: true" in out, out)
    expect(table_fingerprint(db) == before, "nothing written while held")
    rc, out, err = run(["apply", "-f", y, "--format", "json"], env_for(db, now=T8))
    rem = [r for r in json.loads(out)["remaining"] if r["step_id"] == "apple_scep:2:activate"]
    expect(rc == 3 and rem and rem[0]["gate"] == "human" and rem[0]["disruption"]["devices"] == devices
           and rem[0]["disruption"]["escrows"] == escrows, "apply json: %s" % out)
    expect(table_fingerprint(db) == before, "nothing written while held (json)")
    # status says it too
    rc, out, err = run(["status"], env_for(db, now=T8), check_rc=0)
    expect("  impact    activating gen 2: %s\n" % line in out, "status text: %s" % out)
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=T8), check_rc=0)
    sdoc = json.loads(out)
    jsonschema.Draft202012Validator(STATUS_SCHEMA).validate(sdoc)
    sd = sdoc["cas"][0]["disruption"]
    expect(sd["step"] == "activate" and sd["generation"] == 2 and sd["devices"] == devices
           and sd["escrows"] == escrows, str(sd))
    expect(all(c["disruption"] is None for c in sdoc["cas"][1:]), "only apple_scep")

    # the admin's statement: it proceeds, and the plan still shows the numbers, marked as that statement
    yt = yaml_file(2, "active", trusts=True)
    out = plan(db, yt, T8)
    expect("      impact    %s\n      asserted  %s\n" % (line, ASSERTED) in out, "asserted: %s" % out)
    doc = plan(db, yt, T8, "json")
    expect(step(doc, "apple_scep:2:activate")["disruption"]["asserted_trusts_previous"] is True, "json asserted")
    rc, out, err = run(["apply", "-f", yt], env_for(db, now=T8))
    expect(rc == 0 and "applied apple_scep:2:activate" in out, "proceeds: exit %d: %s %s" % (rc, out, err))
    # active now: a rollback would put the old root back; gen 2 has issued nothing yet, its key decrypts nothing
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=T8), check_rc=0)
    sd = json.loads(out)["cas"][0]["disruption"]
    expect(sd["step"] == "rollback" and sd["generation"] == 1 and sd["devices"] == 0 and sd["escrows"] == 0, str(sd))


for _schema, _fixture, _table, _serials in SCHEMAS:
    def _case(schema=_schema, fixture=_fixture, table=_table):
        country_fix_is_counted(schema, fixture, table)
    _case.__name__ = "country_fix_is_counted_on_%s" % _schema.replace(".sql", "")
    T.case(_case)


@T.case
def renew_changes_nothing_fleet_reads():
    db = new_db("disrrenew", fixtures=("fleet-dev.sql", "filevault-dev.sql"))
    run(["apply", "-f", yaml_file(1, "complete")], env_for(db, now=T0), check_rc=0)  # adopt
    fd, y = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\nactivities: {sink: none}\ncas:\n  apple_scep: {generation: 1, renew_before: 9y}\n")
    doc = plan(db, y, T0, "json")
    expect([s["kind"] for s in doc["steps"]] == ["renew"] and
           all(s["disruption"] is None for s in doc["steps"]), str(doc["steps"]))
    expect("impact" not in plan(db, y, T0), "no impact line for a renew")


def limited_user(db, without):
    """A MySQL user with every privilege on every table of db except `without` (which it cannot even see)."""
    user, pw = "lim%s" % uuid.uuid4().hex[:8], uuid.uuid4().hex
    mariadb(None, "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'" % (user, pw))
    for (t,) in mariadb(db, "SHOW TABLES"):
        if t != without:
            mariadb(None, "GRANT ALL ON `%s`.`%s` TO '%s'@'127.0.0.1'" % (db, t, user))
    return {"FLEET_MYSQL_USERNAME": user, "FLEET_MYSQL_PASSWORD": pw}


@T.case
def a_count_not_made_holds_even_with_the_statement():
    db = new_db("disrgrant", fixtures=("fleet-dev.sql", "filevault-dev.sql"))
    run(["apply", "-f", yaml_file(2, "staged")], env_for(db, now=T0), check_rc=0)
    creds = limited_user(db, "nano_cert_auth_associations")
    yt = yaml_file(2, "active", trusts=True)
    doc = plan(db, yt, T8, "json", **creds)
    s = step(doc, "apple_scep:2:activate")
    d = s["disruption"]
    expect(d["devices"] is None and "GRANT SELECT ON `%s`.`nano_cert_auth_associations`" % db
           in d["devices_not_counted"], str(d))
    expect(d["escrows"] == 8, "the escrows are still counted: %s" % d)
    expect(s["gate"]["state"] == "closed" and "is not counted" in s["gate"]["reason"], str(s["gate"]))
    out = plan(db, yt, T8, **creds)
    expect("impact    enrolled Apple devices that would fail check-in on a Fleet that trusts one root and would "
           "have to re-enroll: not counted (reading nano_cert_auth_associations:" in out, out)
    before = table_fingerprint(db)
    rc, out, err = run(["apply", "-f", yt], env_for(db, now=T8, **creds))
    expect(rc == 3 and "applied apple_scep:2:activate" not in out, "held: exit %d: %s %s" % (rc, out, err))
    expect(table_fingerprint(db) == before, "nothing written")
    # without the escrow table the escrows are not counted either
    creds = limited_user(db, "host_disk_encryption_keys")
    d = step(plan(db, yt, T8, "json", **creds), "apple_scep:2:activate")["disruption"]
    expect(d["devices"] == 20 and d["escrows"] is None and "host_disk_encryption_keys" in d["escrows_not_counted"],
           str(d))


# ---- drain by what is in use -------------------------------------------------------------------

def sign_device_cert(ca_pem, ca_key, serial, cn):
    """A device identity certificate as Fleet's SCEP signer makes one (AKI = the CA's SKI, clientAuth)."""
    with tempfile.TemporaryDirectory() as d:
        p = lambda n: os.path.join(d, n)
        open(p("ca.pem"), "wb").write(ca_pem)
        open(p("ca.key"), "wb").write(ca_key)
        open(p("ext.cnf"), "w").write("authorityKeyIdentifier = keyid:always\nsubjectKeyIdentifier = hash\n"
                                      "keyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n")
        subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", p("dev.key"),
                        "-out", p("dev.csr"), "-subj", "/O=Fleet/CN=%s" % cn], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", p("dev.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                        "-set_serial", str(serial), "-days", "365", "-extfile", p("ext.cnf"), "-out", p("dev.pem")],
                       check=True, capture_output=True)
        pem = open(p("dev.pem"), "rb").read()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    return pem.decode(), hashlib.sha256(der).hexdigest()


def drain_by_enrollment(schema, fixture, table, serials):
    db = new_db("disrdrain", schema=schema, fixtures=(fixture,))
    for stage, now in (("staged", T0), ("active", T8)):
        run(["apply", "-f", yaml_file(2, stage, trusts=True)], env_for(db, now=now), check_rc=0)
    gen1 = reference_decrypt(live_rows(db)["ca_cert_previous"][1])
    y = yaml_file(2, "complete", trusts=True)
    r = step(plan(db, y, T16, "json"), "apple_scep:2:retire")
    expect(r["drain"]["live"] == 14 and r["drain"]["unexpired"] == 14 and r["drain"]["by_enrollment"] is True,
           str(r["drain"]))
    expect("live certificates issued by gen 1: 14 in use, 14 unexpired" in r["gate"]["reason"], r["gate"]["reason"])

    # one enrollment renews under gen 2: its gen 1 certificate is unexpired, but no longer in use
    newest = newest_per_enrollment(db)
    in_use = live_by_ca(db, table, gen1, epoch(T16))
    ids = sorted(i for i, sha in newest.items() if sha in in_use)
    expect(len(ids) == 14, "14 enrollments on gen 1: %s" % ids)
    cert2, key2 = signing_pems(db)
    pem, sha = sign_device_cert(cert2, key2, 9001, "Fleet Identity")
    mariadb(db, "INSERT INTO %s (serial) VALUES (9001)" % serials)
    mariadb(db, "INSERT INTO %s (serial, name, not_valid_before, not_valid_after, certificate_pem, revoked) VALUES "
                "(9001, 'Fleet Identity', '2026-12-10 00:00:00', '2027-12-10 00:00:00', '%s', 0)" % (table, pem))
    mariadb(db, "INSERT INTO nano_cert_auth_associations (id, sha256, created_at, updated_at, cert_not_valid_after) "
                "VALUES ('%s', '%s', '2026-12-10 00:00:00', '2026-12-10 00:00:00', '2027-12-10 00:00:00')"
                % (ids[0].upper(), sha))
    out = plan(db, y, T16)
    expect("live certificates issued by gen 1: 13 in use, 14 unexpired" in out, out)
    expect("      drain     13 in use, 14 unexpired certificates of the old generation, the last in use expires" in out,
           out)
    r = step(plan(db, y, T16, "json"), "apple_scep:2:retire")
    expect(r["drain"]["live"] == 13 and r["drain"]["unexpired"] == 14, str(r["drain"]))
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=T16), check_rc=0)
    gens = {g["role"]: g for g in json.loads(out)["cas"][0]["generations"]}
    expect(gens["signing"]["live_issued_certificates"] == 1 and gens["previous"]["live_issued_certificates"] == 14,
           str(gens))

    # every other enrollment has a newer certificate too: nothing holds gen 1 back
    for i in ids[1:]:
        mariadb(db, "INSERT INTO nano_cert_auth_associations (id, sha256, created_at, updated_at) VALUES "
                    "('%s', '%s', '2026-12-11 00:00:00', '2026-12-11 00:00:00')" % (i.upper(), uuid.uuid4().hex * 2))
    r = step(plan(db, y, T16, "json"), "apple_scep:2:retire")
    expect(r["drain"]["live"] == 0 and r["drain"]["unexpired"] == 14 and r["gate"]["state"] == "open", str(r))
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T16))
    expect(rc == 0 and "applied apple_scep:2:retire" in out, "retire: exit %d: %s %s" % (rc, out, err))


for _schema, _fixture, _table, _serials in SCHEMAS:
    def _case(schema=_schema, fixture=_fixture, table=_table, serials=_serials):
        drain_by_enrollment(schema, fixture, table, serials)
    _case.__name__ = "drain_by_enrollment_on_%s" % _schema.replace(".sql", "")
    T.case(_case)


# ---- key: keep -----------------------------------------------------------------------------------

def openssl_x509(pem, *args):
    return subprocess.run(["openssl", "x509", "-noout"] + list(args), input=pem, capture_output=True,
                          check=True).stdout


def key_keep(schema, fixture, table):
    db = new_db("disrkeep", schema=schema, fixtures=(fixture, "filevault-dev.sql"))
    old_cert, old_key = signing_pems(db)
    devices = expected_devices(db, table, old_cert, epoch(T8))
    y = yaml_file(2, "staged", key="keep")
    doc = plan(db, y, T0, "json")
    nc = step(doc, "apple_scep:2:stage")["new_certificate"]
    expect(nc["key_kept"] is True and nc["subject"] == "CN=Fleet,OU=SCEP CA,O=scep-ca,C=US", str(nc))
    expect("      key       RSA-2048, the signing generation's (key: keep)\n" in plan(db, y, T0), "text key line")
    run(["apply", "-f", y], env_for(db, now=T0), check_rc=0)
    rows = live_rows(db)
    new_cert = reference_decrypt(rows["ca_cert_next"][1])
    expect(rows["ca_key_next"][1] == rows["ca_key"][1], "ca_key_next is the signing key row's ciphertext, copied")
    expect(openssl_x509(new_cert, "-pubkey") == openssl_x509(old_cert, "-pubkey"), "the same public key")
    expect(openssl_x509(new_cert, "-serial") != openssl_x509(old_cert, "-serial"), "a new serial")
    subj = openssl_x509(new_cert, "-subject", "-nameopt", "RFC2253").decode()
    expect(subj.strip() == "subject=CN=Fleet,OU=SCEP CA,O=scep-ca,C=US", subj)
    ski = lambda p: openssl_x509(p, "-ext", "subjectKeyIdentifier").splitlines()[-1]
    expect(ski(new_cert) == ski(old_cert), "the same SKI bytes")
    with tempfile.NamedTemporaryFile(suffix=".pem") as f:
        f.write(new_cert)
        f.flush()
        p = subprocess.run(["openssl", "verify", "-CAfile", f.name, f.name], capture_output=True)
        expect(p.returncode == 0, "the new certificate is a root: %s %s" % (p.stdout, p.stderr))
    # staged: both schemas' status, per generation (the same SKI: the issuer bytes tell them apart)
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=T8), check_rc=0)
    sdoc = json.loads(out)
    jsonschema.Draft202012Validator(STATUS_SCHEMA).validate(sdoc)
    gens = {g["role"]: g for g in sdoc["cas"][0]["generations"]}
    expect(gens["signing"]["live_issued_certificates"] == 14 and gens["next"]["live_issued_certificates"] == 0,
           str(gens))
    expect(gens["signing"]["filevault_escrows"] == 10 and gens["next"]["filevault_escrows"] == 0, str(gens))
    sd = sdoc["cas"][0]["disruption"]
    expect(sd["new_key"] is False and sd["new_subject"] is True and sd["devices"] == devices and sd["escrows"] == 0,
           str(sd))
    # the activation: the devices still fail on the new subject, no escrow is lost
    yt = yaml_file(2, "active", trusts=True, key="keep")
    out = plan(db, yt, T8)
    expect("      impact    %s\n" % impact_line(devices, 0, "new subject, same key") in out, out)
    run(["apply", "-f", yt], env_for(db, now=T8), check_rc=0)
    rows = live_rows(db)
    expect(reference_decrypt(rows["ca_key"][1]) == old_key, "the key row's plaintext is unchanged")
    expect(reference_decrypt(rows["ca_cert"][1]) == new_cert, "gen 2 signs")
    expect(expected_escrows(db, old_key) == 8, "every escrow decryptable before is decryptable now")
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=T8), check_rc=0)
    sdoc = json.loads(out)
    jsonschema.Draft202012Validator(STATUS_SCHEMA).validate(sdoc)
    gens = {g["role"]: (g["generation"], g["live_issued_certificates"], g["filevault_escrows"])
            for g in sdoc["cas"][0]["generations"]}
    expect(gens == {"signing": (2, 0, 0), "previous": (1, 14, 10)}, str(gens))
    # retire: escrows to gen 1 do not hold it back, its key is still the signing one
    rc, out, err = run(["apply", "-f", yaml_file(2, "complete", trusts=True, key="keep")],
                       env_for(db, now="2028-01-05T00:00:00Z"))
    expect(rc == 0 and "applied apple_scep:2:retire" in out, "retire: exit %d: %s %s" % (rc, out, err))
    expect(expected_escrows(db, old_key) == 8, "still decryptable after retire")


for _schema, _fixture, _table, _serials in SCHEMAS:
    def _case(schema=_schema, fixture=_fixture, table=_table):
        key_keep(schema, fixture, table)
    _case.__name__ = "key_keep_on_%s" % _schema.replace(".sql", "")
    T.case(_case)


T.done()
