"""fleetca status against Fleet's own data (fleet-dev fixture), on both schemas, and every bad input."""
import json
import os
import subprocess

import jsonschema

from fcalib import (Failures, FIXTURES, SOURCE, env_for, expect, live_rows, mariadb, new_db, reference_decrypt,
                    run, table_fingerprint)

T = Failures()
EXPECTED = json.load(open(os.path.join(FIXTURES, "expected.json")))
SCHEMA = json.load(open(os.path.join(SOURCE, "schemas", "status.schema.json")))
CERT_ASSET = {"apple_scep": "ca_cert", "host_identity": "host_identity_ca_cert",
              "conditional_access": "conditional_access_ca_cert",
              "conditional_access_idp": "conditional_access_idp_cert"}


def live_counts():
    """Live issued certificates per table, from expected.json (the fixture README's numbers)."""
    out = {}
    for table in ("identity_certificates", "host_identity_scep_certificates", "conditional_access_scep_certificates"):
        out[table] = sum(1 for c in EXPECTED[table] if c["state"] == "valid")
    return out


def openssl_fingerprint(pem):
    p = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=pem, capture_output=True,
                       check=True)
    return p.stdout.decode().strip().split("=", 1)[1].replace(":", "").lower()


def check_fixture_status(schema_file, fixture):
    db = new_db("status", schema=schema_file, fixtures=(fixture,))
    rc, out, err = run(["status", "--format", "json", "--check-keys"], env_for(db), check_rc=0)
    doc = json.loads(out)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    expect(doc["format_version"] == 1, "format_version")
    expect([c["id"] for c in doc["cas"]] == list(CERT_ASSET), "four CAs in catalog order: %s" % doc["cas"])
    rows = live_rows(db)
    counts = live_counts()
    want_live = {"apple_scep": counts["identity_certificates"],
                 "host_identity": counts["host_identity_scep_certificates"],
                 "conditional_access": counts["conditional_access_scep_certificates"],
                 "conditional_access_idp": 0}
    expect(want_live["apple_scep"] == 14 and want_live["host_identity"] == 7, "fixture README counts: %s" % want_live)
    for ca in doc["cas"]:
        expect(ca["stage"] == "complete" and not ca["managed"] and not ca["drift"], "%s: %s" % (ca["id"], ca))
        expect(len(ca["generations"]) == 1, "%s has one generation" % ca["id"])
        g = ca["generations"][0]
        pem = reference_decrypt(rows[CERT_ASSET[ca["id"]]][1])
        expect(g["sha256_fingerprint"] == openssl_fingerprint(pem),
               "%s fingerprint %s differs from openssl's" % (ca["id"], g["sha256_fingerprint"]))
        expect("empty_country" in g["defects"], "%s shows empty_country: %s" % (ca["id"], g["defects"]))
        expect(g["live_issued_certificates"] == want_live[ca["id"]],
               "%s live issued %d, fixture says %d" % (ca["id"], g["live_issued_certificates"], want_live[ca["id"]]))
        expect(g["key_matches"] is True and g["key_type"] == "RSA" and g["key_bits"] == 2048, str(g))
        expect(g["role"] == "signing" and g["not_after"].endswith("Z"), str(g))
    # the same numbers for the text output, for people
    rc, text, err = run(["status"], env_for(db), check_rc=0)
    expect("empty_country" in text and "14 live certificates" in text and "stage complete" in text, text)


@T.case
def fixture_status_current_schema():
    check_fixture_status("schema.sql", "fleet-dev.sql")


@T.case
def fixture_status_pre2026_schema():
    check_fixture_status("schema-pre2026.sql", "fleet-dev-old-schema.sql")


@T.case
def escrows_counted_for_apple_ca():
    db = new_db("escrow", fixtures=("fleet-dev.sql", "filevault-dev.sql"))
    rc, out, err = run(["status", "--format", "json"], env_for(db), check_rc=0)
    apple = json.loads(out)["cas"][0]["generations"][0]
    # hosts 101-110 are encrypted to a cert with the live CA's issuer and serial (every Fleet CA has
    # serial 1): issuer + serial cannot tell them apart; host 111 is LUKS and must be ignored
    expect(apple["filevault_escrows"] == 10, "escrows: %s" % apple["filevault_escrows"])


def refused(db, env, words, args=("status",)):
    before = table_fingerprint(db)
    rc, out, err = run(list(args), env)
    expect(rc == 1, "exit %d, wanted 1; stderr: %s" % (rc, err))
    for w in words:
        expect(w in err, "stderr lacks %r: %s" % (w, err))
    expect(table_fingerprint(db) == before, "mdm_config_assets changed")
    return err


@T.case
def wrong_server_key():
    db = new_db("bad")
    refused(db, env_for(db, key="this-is-not-the-key-of-that-fleet-server"),
            ["ca_cert: cannot decrypt (GCM tag mismatch)", "FLEET_SERVER_PRIVATE_KEY"])


@T.case
def short_server_key():
    db = new_db("bad")
    err = refused(db, env_for(db, key="too-short-0123456789"), ["is 20 bytes; Fleet requires at least 32"])
    expect("too-short" not in err, "the key itself must never be printed")


@T.case
def missing_server_key():
    db = new_db("bad")
    refused(db, env_for(db, key=None), ["FLEET_SERVER_PRIVATE_KEY", "FLEETCA_SERVER_PRIVATE_KEY_PATH"])


@T.case
def unreachable_database():
    db = new_db("bad")
    env = env_for(db)
    env["FLEET_MYSQL_ADDRESS"] = "127.0.0.1:1"
    refused(db, env, ["cannot connect to MySQL at 127.0.0.1:1", "FLEET_MYSQL_ADDRESS"])


@T.case
def mysql_tls_settings_fleetca_cannot_honour_are_refused():
    db = new_db("bad")
    env = env_for(db)
    env["FLEET_MYSQL_TLS_SERVER_NAME"] = "db.internal"
    refused(db, env, ["FLEET_MYSQL_TLS_SERVER_NAME", "put 'db.internal' in FLEET_MYSQL_ADDRESS"])
    env = env_for(db)
    env["FLEET_MYSQL_TLS_CONFIG"] = "custom-rds"
    refused(db, env, ["FLEET_MYSQL_TLS_CONFIG 'custom-rds'", "true, false and skip-verify"])


@T.case
def tls_required_against_a_server_without_tls_fails_closed():
    db = new_db("bad")
    env = env_for(db)
    env["FLEET_MYSQL_TLS_CONFIG"] = "true"
    rc, out, err = run(["status"], env)
    expect(rc == 1 and "cannot connect to MySQL" in err, "TLS demanded, none offered: exit %d %s" % (rc, err))


@T.case
def missing_table():
    db = new_db("bad", fixtures=())
    mariadb(db, "DROP TABLE mdm_config_assets")
    rc, out, err = run(["status"], env_for(db))
    expect(rc == 1 and "table mdm_config_assets not found in database" in err, err)


@T.case
def truncated_ciphertext():
    db = new_db("bad")
    mariadb(db, "UPDATE mdm_config_assets SET value = LEFT(value, 20) WHERE name = 'ca_cert' AND deletion_uuid = ''")
    refused(db, env_for(db), ["ca_cert: stored value is 20 bytes", "truncated"])


@T.case
def pem_that_does_not_parse():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    db = new_db("bad")
    ct = os.urandom(12)
    ct += AESGCM(b"fixture-dev-private-key-01234567").encrypt(ct, b"this is not a certificate", None)
    mariadb(db, "UPDATE mdm_config_assets SET value = X'%s', md5_checksum = UNHEX(MD5(X'%s')) "
                "WHERE name = 'host_identity_ca_cert' AND deletion_uuid = ''" % (ct.hex(), ct.hex()))
    refused(db, env_for(db), ["host_identity is corrupt", "host_identity_ca_cert"])


@T.case
def cert_without_key():
    db = new_db("bad")
    mariadb(db, "UPDATE mdm_config_assets SET deleted_at = NOW(), deletion_uuid = 'gone' "
                "WHERE name = 'conditional_access_ca_key'")
    refused(db, env_for(db), ["conditional_access is corrupt", "conditional_access_ca_key"])


@T.case
def key_that_does_not_match():
    db = new_db("bad")
    # swap in the host identity key as the conditional access key: the rows decrypt but do not pair
    mariadb(db, "UPDATE mdm_config_assets a JOIN mdm_config_assets b ON b.name = 'host_identity_ca_key' "
                "SET a.value = b.value, a.md5_checksum = b.md5_checksum WHERE a.name = 'conditional_access_ca_key'")
    refused(db, env_for(db), ["conditional_access is corrupt", "does not match"], args=("status", "--check-keys"))


T.done()
