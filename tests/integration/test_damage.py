"""Issue 8 items 5 and 6: a row is checked before it is believed, and one damaged row damages one CA.
Item 5: an md5_checksum that is not MD5(value), a cert row of more than one PEM block, a retired
certificate copied back into a live row (drift, not the signing generation), and a state document
that contradicts the rows (a certificate it knows in a slot its generation cannot be in). Item 6: a
row whose GCM tag fails while the others decrypt with the same key is that row's damage, not a wrong
server key: its CA is corrupt and skipped, the others are shown and progress, and the run exits 1 at
the end. Every case on both Fleet schemas."""
import json
import os
import tempfile

from fcalib import (FIXTURE_KEY, Failures, aes_key, env_for, expect, live_rows, mariadb, new_db, reference_decrypt,
                    run, table_fingerprint)

T = Failures()
SCHEMAS = [("schema.sql", "fleet-dev.sql"), ("schema-pre2026.sql", "fleet-dev-old-schema.sql")]
T0 = "2026-11-27T00:00:00Z"
T8 = "2026-12-05T00:00:00Z"
T16 = "2026-12-13T00:00:00Z"
WRONG_KEY_WORDS = "is FLEET_SERVER_PRIVATE_KEY the key this Fleet server uses?"


def yaml(body):
    fd, path = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\npolicy:\n  min_overlap: 7d\n  fleet_server_trusts_previous: true\ncas:\n" + body)
    return path


def encrypt(plain):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = os.urandom(12)
    return nonce + AESGCM(aes_key(FIXTURE_KEY)).encrypt(nonce, plain, None)


def set_value(db, name, value, md5_consistent=True):
    """Replaces the live row's value; md5_checksum follows it or keeps the old bytes' checksum."""
    md5 = ", md5_checksum = UNHEX(MD5(X'%s'))" % value.hex() if md5_consistent else ""
    mariadb(db, "UPDATE mdm_config_assets SET value = X'%s'%s WHERE name = '%s' AND deletion_uuid = ''"
                % (value.hex(), md5, name))


def ca_rows(db, prefix):
    """A fingerprint of the live and soft-deleted rows of one CA (its names start with prefix)."""
    return mariadb(db, "SELECT id, name, HEX(value), HEX(md5_checksum), deletion_uuid FROM mdm_config_assets "
                       "WHERE name LIKE '%s%%' ORDER BY id" % prefix)


def status_json(db, now=T0, want_rc=1):
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=now))
    expect(rc == want_rc, "status: exit %d, wanted %d: %s" % (rc, want_rc, err))
    return {c["id"]: c for c in json.loads(out)["cas"]}, err


# Both damaged CAs and healthy ones in one YAML: host_identity is the one damaged in most cases.
BOTH = "  host_identity: {generation: 2, stage: staged}\n  conditional_access: {generation: 2, stage: staged}\n"


def damaged_ca_is_skipped_others_progress(db, ca, prefix, words):
    """status, plan and apply name ca as corrupt (with words); conditional_access progresses; exit 1."""
    cas, err = status_json(db)
    expect(cas[ca]["stage"] == "corrupt", "%s stage: %s" % (ca, cas[ca]))
    for w in words:
        expect(w in (cas[ca]["problem"] or ""), "status problem lacks %r: %s" % (w, cas[ca]["problem"]))
        expect(w in err, "status stderr lacks %r: %s" % (w, err))
    expect("%s is corrupt" % ca in err, err)
    expect(WRONG_KEY_WORDS not in err, "a damaged row is not a wrong key: %s" % err)
    others = [c for c in cas if c != ca]
    expect(all(cas[c]["stage"] == "complete" and cas[c]["generations"] for c in others),
           "the other CAs are shown: %s" % {c: cas[c]["stage"] for c in others})
    rc, text, err = run(["status"], env_for(db, now=T0))
    expect(rc == 1 and "stage corrupt" in text and "stage complete" in text, "status text: %d %s" % (rc, text))
    y = yaml(BOTH)
    rc, out, err = run(["plan", "-f", y], env_for(db, now=T0))
    expect(rc == 1, "plan: exit %d: %s %s" % (rc, out, err))
    expect("conditional_access:2:stage" in out and "%s:2:stage" % ca not in out, "plan: %s" % out)
    expect("%s is corrupt" % ca in err and words[0] in err, "plan stderr: %s" % err)
    rc, out, err = run(["plan", "-f", y, "--format", "json"], env_for(db, now=T0))
    doc = json.loads(out)
    expect(rc == 1 and [s["step_id"] for s in doc["steps"]] == ["conditional_access:1:adopt",
                                                                "conditional_access:2:stage"],
           "plan json: exit %d %s" % (rc, [s["step_id"] for s in doc["steps"]]))
    before = ca_rows(db, prefix)
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T0))
    expect(rc == 1, "apply: exit %d, wanted 1 at the end: %s %s" % (rc, out, err))
    expect("applied conditional_access:2:stage" in out and "applied %s" % ca not in out, "apply: %s" % out)
    expect("%s is corrupt" % ca in err and words[0] in err, "apply stderr: %s" % err)
    expect(ca_rows(db, prefix) == before, "the damaged CA's rows are untouched")
    expect("conditional_access_ca_cert_next" in live_rows(db), "conditional_access was staged")


def on_both_schemas(fn):
    for schema, fixture in SCHEMAS:
        def case(fn=fn, schema=schema, fixture=fixture):
            fn(new_db("dmg", schema=schema, fixtures=(fixture,)))
        case.__name__ = "%s_%s" % (fn.__name__, "current_schema" if schema == "schema.sql" else "pre2026_schema")
        T.case(case)
    return fn


# ---- item 5: md5_checksum -------------------------------------------------------------------

@on_both_schemas
def wrong_md5_on_a_cert_row(db):
    mariadb(db, "UPDATE mdm_config_assets SET md5_checksum = UNHEX(MD5('x')) "
                "WHERE name = 'host_identity_ca_cert' AND deletion_uuid = ''")
    damaged_ca_is_skipped_others_progress(db, "host_identity", "host_identity_ca",
                                          ["host_identity_ca_cert: md5_checksum is not the MD5 of its value"])


@on_both_schemas
def wrong_md5_on_a_key_row(db):
    mariadb(db, "UPDATE mdm_config_assets SET md5_checksum = UNHEX(MD5('x')) "
                "WHERE name = 'host_identity_ca_key' AND deletion_uuid = ''")
    damaged_ca_is_skipped_others_progress(db, "host_identity", "host_identity_ca",
                                          ["host_identity_ca_key: md5_checksum is not the MD5 of its value"])


# ---- item 5: more than one PEM block --------------------------------------------------------

@on_both_schemas
def two_block_cert_row(db):
    rows = live_rows(db)
    first = reference_decrypt(rows["host_identity_ca_cert"][1])
    second = reference_decrypt(rows["conditional_access_ca_cert"][1])
    set_value(db, "host_identity_ca_cert", encrypt(first.rstrip(b"\n") + b"\n" + second))
    damaged_ca_is_skipped_others_progress(db, "host_identity", "host_identity_ca",
                                          ["host_identity_ca_cert holds 2 PEM blocks", "first one only"])


# ---- item 6: one row whose GCM tag fails ----------------------------------------------------

def flip_a_byte(db, name, md5_consistent):
    value = bytearray(live_rows(db)[name][1])
    value[len(value) // 2] ^= 0x01
    set_value(db, name, bytes(value), md5_consistent)


@on_both_schemas
def broken_gcm_tag_md5_consistent(db):
    flip_a_byte(db, "host_identity_ca_cert", md5_consistent=True)
    damaged_ca_is_skipped_others_progress(db, "host_identity", "host_identity_ca",
                                          ["host_identity_ca_cert: cannot decrypt (GCM tag mismatch) although "
                                           "other rows decrypt with this server key"])


@on_both_schemas
def broken_gcm_tag_md5_stale(db):
    flip_a_byte(db, "host_identity_ca_cert", md5_consistent=False)
    damaged_ca_is_skipped_others_progress(db, "host_identity", "host_identity_ca",
                                          ["host_identity_ca_cert: md5_checksum is not the MD5",
                                           "GCM tag mismatch) although other rows decrypt"])


@on_both_schemas
def broken_gcm_tag_on_a_key_row_with_check_keys(db):
    # a key row is decrypted only with --check-keys (or to sign): then its damage is found the same way
    flip_a_byte(db, "host_identity_ca_key", md5_consistent=True)
    rc, out, err = run(["status", "--check-keys"], env_for(db, now=T0))
    expect(rc == 1 and "host_identity is corrupt" in err and "host_identity_ca_key: cannot decrypt" in err
           and WRONG_KEY_WORDS not in err, "status --check-keys: exit %d %s" % (rc, err))
    expect(out.count("stage complete") == 3, "the other three CAs are shown: %s" % out)


@on_both_schemas
def wrong_server_key_is_still_the_key(db):
    # every row fails: the key is blamed, even with a state document (it fails the same way)
    run(["apply", "-f", yaml("  host_identity: {generation: 1}\n")], env_for(db, now=T0), check_rc=0)
    expect("fleetca_state" in live_rows(db), "a state document exists")
    before = table_fingerprint(db)
    rc, out, err = run(["status"], env_for(db, key="this-is-not-the-key-of-that-fleet-server", now=T0))
    expect(rc == 1 and "ca_cert: cannot decrypt (GCM tag mismatch)" in err and WRONG_KEY_WORDS in err,
           "wrong key: exit %d %s" % (rc, err))
    expect("corrupt" not in err and out == "", "nothing is called corrupt or shown: %s %s" % (out, err))
    expect(table_fingerprint(db) == before, "nothing changed")


@on_both_schemas
def damaged_state_document_stops_the_run(db):
    run(["apply", "-f", yaml("  host_identity: {generation: 1}\n")], env_for(db, now=T0), check_rc=0)
    flip_a_byte(db, "fleetca_state", md5_consistent=True)
    before = table_fingerprint(db)
    for args in (["status"], ["apply", "-f", yaml(BOTH)]):
        rc, out, err = run(args, env_for(db, now=T0))
        expect(rc == 1 and "fleetca_state: cannot decrypt (GCM tag mismatch) although other rows decrypt" in err
               and WRONG_KEY_WORDS not in err, "%s: exit %d %s" % (args[0], rc, err))
    expect(table_fingerprint(db) == before, "nothing changed")


@on_both_schemas
def state_document_with_wrong_md5_stops_the_run(db):
    run(["apply", "-f", yaml("  host_identity: {generation: 1}\n")], env_for(db, now=T0), check_rc=0)
    mariadb(db, "UPDATE mdm_config_assets SET md5_checksum = UNHEX(MD5('x')) WHERE name = 'fleetca_state' "
                "AND deletion_uuid = ''")
    before = table_fingerprint(db)
    for args in (["status"], ["plan", "-f", yaml(BOTH)], ["apply", "-f", yaml(BOTH)]):
        rc, out, err = run(args, env_for(db, now=T0))
        expect(rc == 1 and "fleetca_state: md5_checksum is not the MD5 of its value" in err,
               "%s: exit %d %s" % (args[0], rc, err))
    expect(table_fingerprint(db) == before, "nothing changed")


# ---- item 5: a retired certificate copied back ---------------------------------------------

IDP = "conditional_access_idp"


def idp_rotated_to_gen2(db):
    """conditional_access_idp (no issued certificates: no drain) from gen 1 to gen 2 complete."""
    for stage, now in (("staged", T0), ("active", T8), ("complete", T16)):
        rc, out, err = run(["apply", "-f", yaml("  %s: {generation: 2, stage: %s}\n" % (IDP, stage))],
                           env_for(db, now=now))
        expect(rc == 0, "%s: exit %d %s %s" % (stage, rc, out, err))


@on_both_schemas
def retired_cert_copied_back_is_drift(db):
    idp_rotated_to_gen2(db)
    doc = json.loads(reference_decrypt(live_rows(db)["fleetca_state"][1]))
    gen1 = [g for g in doc["generations"] if g["ca"] == IDP and g["generation"] == 1][0]
    expect(gen1["retired_at"], "gen 1 is retired: %s" % gen1)
    # someone puts gen 1's rows (the oldest history rows) back into the live names
    for n in ("conditional_access_idp_cert", "conditional_access_idp_key"):
        mariadb(db, "UPDATE mdm_config_assets a JOIN (SELECT value, md5_checksum FROM mdm_config_assets "
                    "WHERE name = '%s' ORDER BY id LIMIT 1) h SET a.value = h.value, a.md5_checksum = "
                    "h.md5_checksum WHERE a.name = '%s' AND a.deletion_uuid = ''" % (n, n))
    cas, err = status_json(db, now=T16, want_rc=0)
    idp = cas[IDP]
    expect(idp["drift"] is True and idp["stage"] == "complete", "status: %s" % idp)
    expect(idp["generations"][0]["sha256_fingerprint"] == gen1["sha256"], "gen 1's certificate is live")
    expect(idp["generations"][0]["generation"] in (None, 0), "not the signing generation 1: %s" % idp)
    rc, text, err = run(["status"], env_for(db, now=T16), check_rc=0)
    expect("drift" in text and "which fleetca retired on 2026-12-13" in text, "status text: %s" % text)
    before = table_fingerprint(db)
    for body in ("  %s: {generation: 2, stage: complete}\n" % IDP, "  %s: {generation: 3, stage: staged}\n" % IDP,
                 "  %s: {generation: 2, stage: complete, adopt: true}\n" % IDP):
        y = yaml(body)
        rc, out, err = run(["plan", "-f", y], env_for(db, now=T16))
        # no step (before, gen 1 was taken as signing and gen 2 or 3 was staged); drift: exit 3
        expect(rc == 3 and "drift" in out and "retired" in out and "%s:" % IDP not in out,
               "plan %s: exit %d %s %s" % (body.strip(), rc, out, err))
        rc, out, err = run(["plan", "-f", y, "--format", "json"], env_for(db, now=T16))
        expect(json.loads(out)["steps"] == [], "plan json %s: steps %s" % (body.strip(), out))
        rc, out, err = run(["apply", "-f", y], env_for(db, now=T16))
        expect(rc == 3 and "applied %s:" % IDP not in out, "apply %s: exit %d %s %s" % (body.strip(), rc, out, err))
    expect(table_fingerprint(db) == before, "nothing done to the drifted CA")


# ---- item 5: a state document that contradicts the rows ------------------------------------

def staged_host_identity(db):
    run(["apply", "-f", yaml("  host_identity: {generation: 2, stage: staged}\n")], env_for(db, now=T0), check_rc=0)


def swap_rows(db, a, b):
    mariadb(db, "UPDATE mdm_config_assets x JOIN mdm_config_assets y ON x.name = '%s' AND y.name = '%s' "
                "AND x.deletion_uuid = '' AND y.deletion_uuid = '' SET x.value = y.value, y.value = x.value, "
                "x.md5_checksum = y.md5_checksum, y.md5_checksum = x.md5_checksum" % (a, b))


def contradicted_is_corrupt(db, words):
    cas, err = status_json(db)
    expect(cas["host_identity"]["stage"] == "corrupt", "status: %s" % cas["host_identity"])
    for w in words:
        expect(w in err, "status stderr lacks %r: %s" % (w, err))
    before = ca_rows(db, "host_identity_ca")
    for body in ("  host_identity: {generation: 2, stage: active}\n  conditional_access: {generation: 2, "
                 "stage: staged}\n", "  host_identity: {generation: 2, stage: staged}\n"):
        y = yaml(body)
        rc, out, err = run(["plan", "-f", y], env_for(db, now=T8))
        expect(rc == 1 and "host_identity:1:" not in out and "host_identity:2:" not in out,
               "plan: exit %d %s %s" % (rc, out, err))
        expect("host_identity is corrupt" in err and words[0] in err, "plan stderr: %s" % err)
        rc, out, err = run(["apply", "-f", y], env_for(db, now=T8))
        expect(rc == 1 and "applied host_identity" not in out, "apply: exit %d %s %s" % (rc, out, err))
        expect(("conditional_access" not in body) or "applied conditional_access:2:stage" in out,
               "the other CA progresses: %s" % out)
    expect(ca_rows(db, "host_identity_ca") == before, "host_identity's rows are untouched")


@on_both_schemas
def gen1_in_next_while_gen2_signs(db):
    staged_host_identity(db)
    swap_rows(db, "host_identity_ca_cert", "host_identity_ca_cert_next")
    swap_rows(db, "host_identity_ca_key", "host_identity_ca_key_next")
    contradicted_is_corrupt(db, ["host_identity_ca_cert_next", "as generation 1, but generation 2 signs",
                                 "always newer"])


@on_both_schemas
def same_certificate_in_two_slots(db):
    staged_host_identity(db)
    for n in ("host_identity_ca_cert", "host_identity_ca_key"):
        mariadb(db, "UPDATE mdm_config_assets a JOIN mdm_config_assets b ON b.name = '%s' AND b.deletion_uuid = '' "
                    "SET a.value = b.value, a.md5_checksum = b.md5_checksum WHERE a.name = '%s_next' "
                    "AND a.deletion_uuid = ''" % (n, n))
    contradicted_is_corrupt(db, ["host_identity_ca_cert and host_identity_ca_cert_next hold the same certificate"])


# ---- issue 11 item 3: the facts the state document keeps of each certificate row ---------------

ALL_GEN1 = ("  apple_scep: {generation: 1}\n  host_identity: {generation: 1}\n  conditional_access: {generation: 1}\n"
            "  conditional_access_idp: {generation: 1}\n")


def state_doc(db):
    return json.loads(reference_decrypt(live_rows(db)["fleetca_state"][1]))


def set_state_doc(db, doc):
    set_value(db, "fleetca_state", encrypt(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()))


def adopted_with_facts(db):
    """Adopts the four CAs: the document then keeps one line per live certificate row, by its checksum."""
    run(["apply", "-f", yaml(ALL_GEN1)], env_for(db, now=T0), check_rc=0)
    rows = live_rows(db)
    want = sorted(rows[n][2] for n in ("ca_cert", "host_identity_ca_cert", "conditional_access_ca_cert",
                                      "conditional_access_idp_cert"))
    got = sorted(line.split(" ")[1] for line in state_doc(db).get("row_facts", []))
    expect(len(want) == 4 and got == want, "row_facts name the four cert rows' checksums: %s vs %s" % (got, want))


def status_without_facts_agrees(db, now):
    """status with the recorded facts shows what status shows once they are gone (rows decrypted)."""
    with_facts = run(["status", "--format", "json"], env_for(db, now=now))
    doc = state_doc(db)
    del doc["row_facts"]
    set_state_doc(db, doc)
    without = run(["status", "--format", "json"], env_for(db, now=now))
    expect(with_facts[:2] == without[:2], "the facts answer as decrypting does:\n%s\n%s" % (with_facts, without))
    return with_facts


@on_both_schemas
def recorded_facts_answer_as_decrypting_does(db):
    adopted_with_facts(db)
    rc, out, err = status_without_facts_agrees(db, T16)  # expiry is judged at the reader's now
    expect(all(c["stage"] == "complete" for c in json.loads(out)["cas"]), "status: %d %s" % (rc, err))


@on_both_schemas
def a_row_copied_from_another_ca_answers_as_decrypting_does(db):
    # the copy has the other row's checksum, hence the other row's facts: the certificate is the other
    # CA's, which the document does not know for this one (drift), as decrypting finds
    adopted_with_facts(db)
    other = live_rows(db)["conditional_access_ca_cert"][1]
    set_value(db, "host_identity_ca_cert", other)
    status_without_facts_agrees(db, T0)


@on_both_schemas
def a_damaged_row_is_found_although_facts_are_recorded(db):
    adopted_with_facts(db)
    for consistent, words in ((True, "host_identity_ca_cert: cannot decrypt (GCM tag mismatch)"),
                              (False, "host_identity_ca_cert: md5_checksum is not the MD5 of its value")):
        before = live_rows(db)["host_identity_ca_cert"][1]
        flip_a_byte(db, "host_identity_ca_cert", md5_consistent=consistent)
        cas, err = status_json(db)
        expect(cas["host_identity"]["stage"] == "corrupt" and words in (cas["host_identity"]["problem"] or ""),
               "host_identity: %s %s" % (cas["host_identity"], err))
        expect(all(cas[c]["stage"] == "complete" for c in cas if c != "host_identity"), "the others: %s" % cas)
        set_value(db, "host_identity_ca_cert", before)


T.done()
