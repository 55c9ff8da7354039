"""The Fleet-behaviour harness itself: on the fleet-dev fixture it reports what the fixture README
says, on a database generated the way Fleet makes its rows it reports what was generated (both
schemas), and it fails where a real Fleet would fail (a root of another key, a root that was not
valid when an expired device certificate expired, a PKCS#8 IdP key, an RSA-less depot, host-only
activities, the newest association pointing elsewhere) and when it cannot read (fail closed)."""
import datetime
import hashlib
import json
import os
import subprocess
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import ExtendedKeyUsageOID

from fcalib import (EXPECTED_PATH, FIXTURE_KEY, Failures, aes_key, env_for, expect, live_rows, mariadb, new_db,
                    reference_decrypt, run)
from fleetharness import (GEN_KEY, HARNESS, check, depots_failing, devices_failed, disconnected, escrows_lost, gen_db,
                          generated, run_check, summary, transitions)

T = Failures()
EXPECTED = json.load(open(EXPECTED_PATH))
CA_SHA = {c["asset"]: c["cert_sha256"] for c in EXPECTED["cas"]}
SCHEMAS = [("schema.sql", "fleet-dev.sql"), ("schema-pre2026.sql", "fleet-dev-old-schema.sql")]
T0 = datetime.datetime(2026, 11, 27, tzinfo=datetime.timezone.utc)
EXPIRED_SERIALS = sorted(c["serial"] for c in EXPECTED["identity_certificates"] if c["state"] == "expired")


def fixture_db(schema="schema.sql", fixture="fleet-dev.sql", escrows=True):
    return new_db("fb", schema=schema, fixtures=(fixture,) + (("filevault-dev.sql",) if escrows else ()))


def encrypt(plain, server_key=FIXTURE_KEY):
    nonce = os.urandom(12)
    return nonce + AESGCM(aes_key(server_key)).encrypt(nonce, plain, None)


def overwrite_asset(db, name, plain, server_key=FIXTURE_KEY):
    """Replaces the live row's value in place, encrypted and checksummed as Fleet does."""
    ct = encrypt(plain, server_key)
    mariadb(db, "UPDATE mdm_config_assets SET value = X'%s', md5_checksum = UNHEX('%s') WHERE name = '%s' "
                "AND deletion_uuid = ''" % (ct.hex(), hashlib.md5(ct).hexdigest().upper(), name))


def replace_assets(db, pairs, server_key=FIXTURE_KEY):
    """Fleet's ReplaceMDMConfigAssets: soft-delete the live rows, insert the new ones."""
    names = ", ".join("'%s'" % n for n in pairs)
    sql = ["UPDATE mdm_config_assets SET deleted_at = NOW(), deletion_uuid = '%s' WHERE name IN (%s) AND "
           "deletion_uuid = ''" % (uuid.uuid4(), names)]
    for name, plain in pairs.items():
        ct = encrypt(plain, server_key)
        sql.append("INSERT INTO mdm_config_assets (name, value, md5_checksum) VALUES ('%s', X'%s', UNHEX('%s'))"
                   % (name, ct.hex(), hashlib.md5(ct).hexdigest().upper()))
    mariadb(db, "; ".join(sql))


def live_pem(db, name, server_key=FIXTURE_KEY):
    return reference_decrypt(live_rows(db)[name][1], server_key)


def key_pem(key, pkcs8=False):
    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def ca_like(old_pem, key, serial=2, not_before=None, not_after=None, ekus=None):
    """A CA certificate with the old one's subject (the same bytes), on the given key."""
    old = x509.load_pem_x509_certificate(old_pem)
    same_key = old.public_key().public_numbers() == key.public_key().public_numbers()
    ski = (old.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value if same_key
           else x509.SubjectKeyIdentifier.from_public_key(key.public_key()))
    b = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(old.subject)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(not_before or old.not_valid_before_utc)
         .not_valid_after(not_after or old.not_valid_after_utc)
         .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                      crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(ski, critical=False))
    if ekus:
        b = b.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def new_rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def fixture_key(db, name="ca_key"):
    return serialization.load_pem_private_key(live_pem(db, name), None)


def expect_fixture_report(rep, schema):
    v, c, fv = rep["apple_verifier"], rep["apple_checkin"], rep["filevault"]
    expect((v["verified"], v["failed"], v["expired_ok"]) == (14, 0, 4), "README: 14 valid, 4 expired: %s" % summary(rep))
    expect(v["status"] == "ok" and len(v["certs"]) == 18, "18 live certificates (2 revoked ones are not): %d"
           % len(v["certs"]))
    expect(sorted(d["serial"] for d in v["certs"] if d["expired"]) == EXPIRED_SERIALS,
           "the expired ones are the fixture's: %s" % [d["serial"] for d in v["certs"] if d["expired"]])
    expect((c["enrolled"], c["ok"], c["disconnected"]) == (20, 20, 0) and c["source"] == "nano_cert_auth_associations",
           "every enrollment checks in: %s" % summary(rep))
    expect(depots_failing(rep) == {}, "every depot signs and verifies: %s" % depots_failing(rep))
    for n, d in rep["scep_depots"].items():
        want = 22 if n == "apple" else 12
        expect(d["signed"]["serial"] == want and d["ca"]["serial"] == "1", "the next serial, under the CA: %s" % d)
    root = rep["caroot"]
    expect(root["status"] == "ok" and root["cert"]["subject"] == "CN=Fleet,OU=SCEP CA,O=scep-ca,C=", str(root))
    expect(root["cert"]["empty_country"] is True and root["cert"]["sha256"] == CA_SHA["ca_cert"], str(root))
    expect((fv["decrypted"], fv["failed"]) == (8, 2), "README: 8 escrows decrypt, 2 do not: %s" % summary(rep))
    expect(sorted(h["host_id"] for h in fv["hosts"] if not h["ok"]) == [109, 110],
           "the two to the soft-deleted CA fail: %s" % fv["hosts"])
    expect(all(h["recipient"] == CA_SHA["ca_cert"] for h in fv["hosts"] if h["ok"]), "decrypted with the live cert")
    expect(111 not in [h["host_id"] for h in fv["hosts"]], "the ubuntu host is ignored")
    expect([x["sha256"] for x in fv["candidates"]] == [CA_SHA["ca_cert"]],
           "only the live ca_cert has ca_key's public key: %s" % fv["candidates"])
    expect(rep["idp"]["status"] == "ok" and rep["idp"]["cert"]["sha256"] == CA_SHA["conditional_access_idp_cert"],
           str(rep["idp"]))
    expect(rep["activities"]["listed"] == 0 and rep["activities"]["streamable"] == 0, str(rep["activities"]))
    new = schema == "schema.sql"
    want = {"identity_certificates": "identity_certificates" if new else "scep_certificates",
            "activities": "activity_past" if new else "activities", "renew_at": new,
            "nano_cert_auth_associations": True, "host_disk_encryption_keys": True}
    expect(all(rep["schema"][k] == w for k, w in want.items()), "schema detected: %s" % rep["schema"])
    expect(rep["asset_cache"]["md5_mismatch"] == [] and rep["asset_cache"]["rows"] == 12, str(rep["asset_cache"]))


for _schema, _fixture in SCHEMAS:
    def _case(schema=_schema, fixture=_fixture):
        db = fixture_db(schema, fixture)
        expect_fixture_report(check(db), schema)
        rc, out, err = run_check(db, as_json=False)
        expect(rc == 0, "text: exit %d: %s" % (rc, err))
        lines = out.splitlines()
        for want in ("apple-verifier: 14 verified, 0 failed, 4 expired-ok",
                     "apple-checkin: 20 enrolled, 20 ok, 0 disconnected",
                     "scep-depot apple: ok", "scep-depot host-identity: ok", "scep-depot conditional-access: ok",
                     "caroot: subject=CN=Fleet,OU=SCEP CA,O=scep-ca,C= sha256=%s empty-country=yes" % CA_SHA["ca_cert"],
                     "filevault: 8 decrypted, 2 failed (hosts 109, 110)", "idp: ok",
                     "activities: 0 listed, 0 streamable"):
            expect(want in lines, "line %r in:\n%s" % (want, out))
    _case.__name__ = "fixture_on_%s" % _schema.replace(".sql", "")
    T.case(_case)


@T.case
def fixture_without_escrows():
    rep = check(fixture_db(escrows=False))
    expect(rep["filevault"]["status"] == "ok" and rep["filevault"]["hosts"] == [], str(rep["filevault"]))


for _schema in ("schema.sql", "schema-pre2026.sql"):
    def _case(schema=_schema):
        db = gen_db(schema)
        g = generated(db)
        # the numbers gen says it made, and the ones it was written to make
        expect(g["apple_verifier"] == {"verified": 19, "failed": 0, "expired_ok": 6, "revoked": 1}, str(g))
        expect(g["apple_checkin"] == {"enrolled": 22, "ok": 22, "disconnected": 0, "renewed": 4}, str(g))
        expect(g["filevault"]["decrypted"] == 9 and g["filevault"]["ignored_non_darwin"] == 1, str(g))
        rep = check(db, key=GEN_KEY)
        v, c, fv = rep["apple_verifier"], rep["apple_checkin"], rep["filevault"]
        expect((v["verified"], v["failed"], v["expired_ok"]) == (19, 0, 6), summary(rep))
        expect((c["enrolled"], c["ok"], c["disconnected"]) == (22, 22, 0), summary(rep))
        expect((fv["decrypted"], fv["failed"]) == (9, 0) and len(fv["hosts"]) == 9, summary(rep))
        expect(depots_failing(rep) == {} and rep["idp"]["status"] == "ok", summary(rep))
        expect(rep["caroot"]["cert"]["sha256"] == g["ca_sha256"]["apple_scep"], str(rep["caroot"]))
        expect(rep["caroot"]["cert"]["empty_country"] and rep["caroot"]["cert"]["subject"] == g["caroot_subject"]
               == "CN=Fleet,OU=SCEP CA,O=scep-ca,C=", str(rep["caroot"]))
        expect(rep["caroot"]["cert"]["serial"] == "1", "serial 1, as every Fleet-made CA")
        # a renewed enrollment checks in with its newer certificate
        newest = {e["id"]: e["serial"] for e in c["enrollments"]}
        expect(len(set(newest.values())) == 22 and max(newest.values()) == 27, str(newest))
        new = schema == "schema.sql"
        expect(rep["schema"]["identity_certificates"] == ("identity_certificates" if new else "scep_certificates"),
               str(rep["schema"]))
        # Fleet's own invariants on the rows: md5 of the stored bytes; renew_at = NotAfter of cert rows
        bad = mariadb(db, "SELECT name FROM mdm_config_assets WHERE HEX(md5_checksum) <> UPPER(MD5(value))")
        expect(bad == [], "md5_checksum is MD5 of the stored value: %s" % bad)
        if new:
            ra = {r[0]: r[1] for r in mariadb(db, "SELECT name, IFNULL(DATE_FORMAT(renew_at, '%Y-%m-%dT%H:%i:%sZ'),"
                                                  " '') FROM mdm_config_assets")}
            expect(ra["ca_cert"] == rep["caroot"]["cert"]["not_after"] and ra["ca_key"] == "", str(ra))
        # fleetca reads it as a Fleet database: the same four CAs, none changed outside it
        rc, out, err = run(["status", "--format", "json"], env_for(db, key=GEN_KEY), check_rc=0)
        st = {ca["id"]: ca for ca in json.loads(out)["cas"]}
        for ca, fp in g["ca_sha256"].items():
            expect(st[ca]["generations"][0]["sha256_fingerprint"] == fp and st[ca]["stage"] == "complete",
                   "%s: %s" % (ca, st[ca]))
        expect("empty_country" in st["apple_scep"]["generations"][0]["defects"], str(st["apple_scep"]))
    _case.__name__ = "generated_on_%s" % _schema.replace(".sql", "")
    T.case(_case)


@T.case
def root_of_another_key_fails_every_device_and_escrow():
    """ca_cert replaced by a certificate with the same subject bytes on another key (ca_key untouched)."""
    db = fixture_db()
    before = check(db)
    overwrite_asset(db, "ca_cert", ca_like(live_pem(db, "ca_cert"), new_rsa(), serial=1))
    after = check(db)
    v = after["apple_verifier"]
    expect((v["verified"], v["failed"], v["expired_ok"]) == (0, 18, 0) and v["status"] == "failed", summary(after))
    expect(after["caroot"]["cert"]["subject_der"] == before["caroot"]["cert"]["subject_der"],
           "the subject bytes are the same: only the key differs")
    expect(len(disconnected(before, after)) == 20 and after["apple_checkin"]["disconnected"] == 20, summary(after))
    expect(len(devices_failed(before, after)) == 18, "every live device certificate")
    expect("tls.X509KeyPair" in after["scep_depots"]["apple"].get("error", ""), str(after["scep_depots"]["apple"]))
    expect(after["filevault"]["decrypted"] == 0 and escrows_lost(before, after) == list(range(101, 109)),
           "every escrow: %s" % summary(after))
    rc, out, err = run_check(db, as_json=False)
    expect(rc == 0 and "apple-verifier: 0 verified, 18 failed, 0 expired-ok" in out and
           "scep-depot apple: FAILED: tls.X509KeyPair" in out, "it could read, readers failed: %d %s" % (rc, out))


@T.case
def new_key_pair_disconnects_devices_but_enrols_new_ones():
    """A new Apple key and certificate, swapped as Fleet's ReplaceMDMConfigAssets swaps them."""
    db = fixture_db()
    before = check(db)
    k = new_rsa()
    replace_assets(db, {"ca_cert": ca_like(live_pem(db, "ca_cert"), k, serial=1), "ca_key": key_pem(k)})
    after = check(db)
    expect(depots_failing(after) == {}, "new enrolments sign and verify: %s" % depots_failing(after))
    expect(len(disconnected(before, after)) == 20 and len(devices_failed(before, after)) == 18, summary(after))
    expect(escrows_lost(before, after) == list(range(101, 109)), "the 8 escrows to the old key: %s" % summary(after))
    expect(len(after["filevault"]["candidates"]) == 1, "no old ca_cert has the new key: %s"
           % after["filevault"]["candidates"])


@T.case
def renew_must_keep_not_before():
    """Same key, same subject, fresh serial, the old row kept as history: with the old NotBefore every
    device and escrow survives; with NotBefore = now the expired certificates no longer verify."""
    for keep, want_failed in ((True, []), (False, EXPIRED_SERIALS)):
        db = fixture_db()
        before = check(db)
        old = live_pem(db, "ca_cert")
        nb = None if keep else T0
        replace_assets(db, {"ca_cert": ca_like(old, fixture_key(db), serial=77, not_before=nb,
                                               not_after=T0 + datetime.timedelta(days=3650))})
        after = check(db)
        expect(devices_failed(before, after) == want_failed, "keep NotBefore=%s: %s" % (keep, summary(after)))
        expect(after["apple_verifier"]["verified"] == 14, summary(after))
        expect(escrows_lost(before, after) == [], "escrows decrypt through the history row: %s" % summary(after))
        cands = after["filevault"]["candidates"]
        expect([(c["serial"], c["live"]) for c in cands] == [("77", True), ("1", False)],
               "the live cert and the soft-deleted one of the same key, newest first: %s" % cands)
        expect(depots_failing(after) == {}, str(depots_failing(after)))
        # a checked-in device whose newest certificate expired is disconnected by the moved NotBefore
        expect(len(disconnected(before, after)) == len(want_failed), summary(after))


@T.case
def eku_relaxed_when_the_root_has_other_ekus():
    db = fixture_db()
    overwrite_asset(db, "ca_cert", ca_like(live_pem(db, "ca_cert"), fixture_key(db), serial=1,
                                           ekus=[ExtendedKeyUsageOID.SERVER_AUTH]))
    rep = check(db)
    v = rep["apple_verifier"]
    expect((v["verified"], v["failed"], v["expired_ok"]) == (14, 0, 4), "relaxed to any: %s" % summary(rep))


@T.case
def idp_key_must_be_pkcs1_and_match():
    db = fixture_db()
    overwrite_asset(db, "conditional_access_idp_key", key_pem(fixture_key(db, "conditional_access_idp_key"), True))
    rep = check(db)
    expect(rep["idp"]["status"] == "failed" and '"PRIVATE KEY"' in rep["idp"]["error"], str(rep["idp"]))
    rc, out, err = run_check(db, as_json=False)
    expect(rc == 0 and "idp: FAILED: key: a \"PRIVATE KEY\" block, not RSA PRIVATE KEY" in out, out)
    overwrite_asset(db, "conditional_access_idp_key", key_pem(new_rsa()))
    rep = check(db)
    expect(rep["idp"]["status"] == "failed" and "does not match" in rep["idp"]["error"], str(rep["idp"]))
    expect(depots_failing(rep) == {}, "the other CAs are not affected")


@T.case
def depot_key_must_be_rsa():
    db = fixture_db()
    k = ec.generate_private_key(ec.SECP256R1())
    cert = ca_like(live_pem(db, "host_identity_ca_cert"), k, serial=1)
    replace_assets(db, {"host_identity_ca_cert": cert, "host_identity_ca_key": key_pem(k, True)})
    rep = check(db)
    expect(list(depots_failing(rep)) == ["host_identity"] and "not *rsa.PrivateKey" in
           depots_failing(rep)["host_identity"], str(depots_failing(rep)))
    mariadb(db, "UPDATE mdm_config_assets SET deleted_at = NOW(), deletion_uuid = UUID() WHERE name LIKE "
                "'conditional_access_ca_%' AND deletion_uuid = ''")
    rep = check(db)
    expect(rep["scep_depots"]["conditional_access"]["status"] == "absent", str(rep["scep_depots"]))
    rc, out, err = run_check(db, as_json=False)
    expect("scep-depot conditional-access: absent" in out.splitlines(), out)


for _schema, _fixture in SCHEMAS:
    def _case(schema=_schema, fixture=_fixture):
        db = fixture_db(schema, fixture, escrows=False)
        table = "activity_past" if schema == "schema.sql" else "activities"
        ins = ("INSERT INTO %s (created_at, user_name, activity_type, details, streamed, fleet_initiated, host_only) "
               "VALUES ('2026-11-27 00:00:01.5', 'fleetca', '%s', '%s', %d, 0, %d)")
        mariadb(db, ins % (table, "staged_ca_certificate", '{"ca_name": "host_identity", '
                           '"step_id": "host_identity:2:stage"}', 0, 0))
        mariadb(db, ins % (table, "staged_ca_certificate", '{"step_id": "host_identity:2:stage"}', 0, 1))
        mariadb(db, ins % (table, "activated_ca_certificate", '{"step_id": "host_identity:2:activate"}', 1, 0))
        rep = check(db)
        a = rep["activities"]
        expect(a["table"] == table and (a["listed"], a["streamable"]) == (2, 1), str(a))
        expect(transitions(rep) == {("staged_ca_certificate", "host_identity:2:stage"): (1, 1),
                                    ("activated_ca_certificate", "host_identity:2:activate"): (1, 0)},
               "the host-only row is not listed: %s" % transitions(rep))
        items = {i["id"]: i for i in a["items"]}
        expect(len(items) == 3 and [i["listed"] for i in a["items"]] == [True, False, True], str(a["items"]))
        first = a["items"][0]
        expect(first["user_name"] == "fleetca" and first["details"]["ca_name"] == "host_identity" and
               first["created_at"] == "2026-11-27T00:00:01.5Z", str(first))
        rc, out, err = run_check(db, as_json=False)
        expect("activities: 2 listed, 1 streamable" in out.splitlines(), out)
    _case.__name__ = "activities_as_fleet_lists_and_streams_them_on_%s" % _schema.replace(".sql", "")
    T.case(_case)


@T.case
def newest_association_decides_check_in():
    db = fixture_db(escrows=False)
    before = check(db)
    e = before["apple_checkin"]["enrollments"][0]
    created = mariadb(db, "SELECT created_at FROM nano_cert_auth_associations WHERE id = '%s'" % e["id"])[0][0]
    # an older association to an unknown certificate changes nothing; a tie is broken by the smaller sha256
    mariadb(db, "INSERT INTO nano_cert_auth_associations (id, sha256, created_at) VALUES ('%s', '%s', "
                "'2020-01-01 00:00:00'), ('%s', '%s', '%s')" % (e["id"], "0" * 64, e["id"], "f" * 64, created))
    expect(disconnected(before, check(db)) == [], "older or later-sorting associations are not the newest")
    mariadb(db, "INSERT INTO nano_cert_auth_associations (id, sha256, created_at) VALUES ('%s', '%s', '%s')"
                % (e["id"], "1" * 64, created))
    after = check(db)
    expect(disconnected(before, after) == [e["id"]], "the tie with the smaller sha256 wins: %s" % summary(after))
    mariadb(db, "DELETE FROM nano_cert_auth_associations WHERE sha256 = '%s'" % ("1" * 64))
    mariadb(db, "INSERT INTO nano_cert_auth_associations (id, sha256, created_at) VALUES ('%s', '%s', "
                "'2026-11-26 00:00:00')" % (e["id"], "a" * 64))
    after = check(db)
    expect(disconnected(before, after) == [e["id"]], "a newer association to another certificate: %s"
           % after["apple_checkin"]["enrollments"][0])
    mariadb(db, "DROP TABLE nano_cert_auth_associations")
    rep = check(db)
    c = rep["apple_checkin"]
    expect(c["source"] == "identity_certificates" and (c["enrolled"], c["ok"]) == (18, 18),
           "without the table every live certificate is one device: %s" % summary(rep))


@T.case
def fails_closed_when_it_cannot_read():
    db = fixture_db(escrows=False)
    for key, words in (("fixture-dev-private-key-WRONG-0123456789", "does not decrypt"),
                       ("short-key", "at least 32 bytes")):
        rc, out, err = run_check(db, key=key)
        expect(rc == 1 and out == "" and words in err, "key %r: exit %d, stdout %r, stderr %r" % (key, rc, out, err))
        expect(FIXTURE_KEY not in err and key not in err, "no key in the error")
    rc, out, err = run_check(db, key=None)
    expect(rc == 1 and out == "" and "FLEET_SERVER_PRIVATE_KEY" in err, "no key: %d %r" % (rc, err))
    rc, out, err = run_check("no_such_database_%s" % uuid.uuid4().hex[:6])
    expect(rc == 1 and out == "" and "no_such_database" in err, "no database: %d %r" % (rc, err))
    rc, out, err = run_check(db, now="yesterday")
    expect(rc == 2 and out == "" and "RFC 3339" in err, "bad --now: %d %r" % (rc, err))
    mariadb(db, "DROP TABLE identity_certificates")
    rc, out, err = run_check(db)
    expect(rc == 1 and out == "" and "identity_certificates" in err, "a table it must read: %d %r" % (rc, err))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET")}
    p = subprocess.run([HARNESS, "gen", "--schema", "new", "--now", "2026-11-27T00:00:00Z"], env=env,
                       capture_output=True)
    expect(p.returncode == 2 and p.stdout == b"" and b"--key" in p.stderr, "gen without a key: %d" % p.returncode)
    p = subprocess.run([HARNESS, "gen", "--schema", "new", "--now", "2026-11-27T00:00:00Z", "--key", "short"],
                       env=env, capture_output=True)
    expect(p.returncode == 2 and p.stdout == b"" and b"at least 32 bytes" in p.stderr, "gen, short key: %s"
           % p.stderr)


T.done()
