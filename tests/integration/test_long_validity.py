"""Issue 8 item 8: certificates valid past 2038. renew_at is a MySQL TIMESTAMP (it ends at
2038-01-19 03:14:07 UTC): a 10-year CA staged from 2028 on, or any validity over ~11 years, failed
with "Truncated incorrect unixtime value". fleetca writes such certificates with their true NotAfter
and stores renew_at as the latest value the column can hold. On both schemas (the older one has no
renew_at)."""
import os
import tempfile
from datetime import datetime, timezone

from cryptography import x509

from fcalib import Failures, env_for, expect, live_rows, mariadb, new_db, reference_decrypt, run

T = Failures()
SCHEMAS = [("schema.sql", "fleet-dev.sql", True), ("schema-pre2026.sql", "fleet-dev-old-schema.sql", False)]
Y2030 = "2030-01-01T00:00:00Z"
Y2030_8D = "2030-01-09T00:00:00Z"
NOW = "2026-11-27T00:00:00Z"
TIMESTAMP_MAX = "2038-01-19T03:14:07Z"
YEAR = 365 * 86400


def yaml_file(body):
    fd, path = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\npolicy:\n  min_overlap: 7d\n  fleet_server_trusts_previous: true\ncas:\n" + body)
    return path


def ts(s):
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def not_after(db, name):
    cert = x509.load_pem_x509_certificate(reference_decrypt(live_rows(db)[name][1]))
    na = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=timezone.utc)
    return int(na.timestamp())


def renew_at(db, name):
    return mariadb(db, "SELECT IFNULL(DATE_FORMAT(renew_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ'), 'NULL') FROM "
                       "mdm_config_assets WHERE name = '%s' AND deletion_uuid = ''" % name)[0][0]


def check_row(db, name, want_not_after, has_renew_at):
    na = not_after(db, name)
    expect(na == want_not_after, "%s NotAfter %d, wanted %d" % (name, na, want_not_after))
    if has_renew_at:
        ra = renew_at(db, name)
        want = TIMESTAMP_MAX if na > ts(TIMESTAMP_MAX) else datetime.fromtimestamp(na, timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        expect(ra == want, "%s renew_at %s, wanted %s (NotAfter %d)" % (name, ra, want, na))
        key = name.replace("_cert", "_key")
        expect(renew_at(db, key) == "NULL", "%s: renew_at stays NULL on a key row" % key)


def ten_year_ca_staged_in_2030(schema, fixture, has_renew_at):
    db = new_db("y2038", schema=schema, fixtures=(fixture,))
    y = yaml_file("  host_identity: {generation: 2, stage: staged, validity: 10y}\n")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=Y2030))
    expect(rc == 0 and "applied host_identity:2:stage" in out, "stage in 2030: exit %d: %s %s" % (rc, out, err))
    expect("unixtime" not in err, err)
    check_row(db, "host_identity_ca_cert_next", ts(Y2030) + 10 * YEAR, has_renew_at)
    # status reads and prints it (2039-12-30)
    rc, out, err = run(["status"], env_for(db, now=Y2030), check_rc=0)
    expect("2039-12-30" in out, "status shows the 2039 NotAfter: %s" % out)
    # activate moves the ciphertext into host_identity_ca_cert: its renew_at is held at the column's end too
    y = yaml_file("  host_identity: {generation: 2, stage: active, validity: 10y}\n")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=Y2030_8D))
    expect(rc == 0 and "applied host_identity:2:activate" in out, "activate: exit %d: %s %s" % (rc, out, err))
    check_row(db, "host_identity_ca_cert", ts(Y2030) + 10 * YEAR, has_renew_at)


@T.case
def ten_year_ca_staged_in_2030_current_schema():
    ten_year_ca_staged_in_2030(*SCHEMAS[0])


@T.case
def ten_year_ca_staged_in_2030_pre2026_schema():
    ten_year_ca_staged_in_2030(*SCHEMAS[1])


def fifteen_years_now(schema, fixture, has_renew_at):
    db = new_db("y2038", schema=schema, fixtures=(fixture,))
    # a 15-year stage of conditional_access, and a 15-year renew of apple_scep (same key), today
    y = yaml_file("  conditional_access: {generation: 2, stage: staged, validity: 15y}\n"
                  "  apple_scep: {generation: 1, renew_before: 9y, validity: 15y}\n")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=NOW))
    expect(rc == 0, "exit %d: %s %s" % (rc, out, err))
    expect("applied conditional_access:2:stage" in out and "applied apple_scep:1:renew" in out, out)
    check_row(db, "conditional_access_ca_cert_next", ts(NOW) + 15 * YEAR, has_renew_at)
    check_row(db, "ca_cert", ts(NOW) + 15 * YEAR, has_renew_at)
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=NOW), check_rc=0)
    expect("2041-11-23T00:00:00Z" in out, "status JSON gives the 2041 NotAfter: %s" % out)


@T.case
def fifteen_years_now_current_schema():
    fifteen_years_now(*SCHEMAS[0])


@T.case
def fifteen_years_now_pre2026_schema():
    fifteen_years_now(*SCHEMAS[1])


T.done()
