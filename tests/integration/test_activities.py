"""Activities where Fleet keeps them: with no `activities:` in the file every transition is one row of
Fleet's own activity table (activity_past on the newest schema, activities before 2026), written in the
step's transaction with the columns Fleet's writer fills; a user who may not insert there gets exit 1, the
GRANT to run, and no change; Fleet's own list (GET /api/v1/fleet/activities, replayed by the fake Fleet
from the same database) shows each transition once and leaves host-only rows out; the opt-in api sink
says what a 404 means; a queued outbox left by an earlier version still reaches the table."""
import json
import os
import tempfile

from fcalib import (Failures, env_for, expect, live_rows, mariadb, new_db, reference_decrypt, run,
                    table_fingerprint, MDB)
from apiserver import CA_FILE, TOKEN, Fake

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-activities-")
T0, T8, T16 = "2026-11-27T00:00:00Z", "2026-12-05T00:00:00Z", "2026-12-13T00:00:00Z"
SCHEMAS = (("schema.sql", "activity_past"), ("schema-pre2026.sql", "activities"))
STEPS = [("host_identity:1:adopt", "adopted_ca_certificate", "T0"),
         ("host_identity:2:stage", "staged_ca_certificate", "T0"),
         ("host_identity:2:activate", "activated_ca_certificate", "T8"),
         ("host_identity:2:retire", "retired_ca_certificate", "T16")]


def yaml_file(name, body):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write("version: 1\npolicy: {min_overlap: 7d, drain: force, reason: \"test: no devices\"}\n" + body)
    return path


def rotation(stage):
    return yaml_file("hi-%s.yml" % stage, "cas:\n  host_identity: {generation: 2, stage: %s}\n" % stage)


def fixture_for(schema):
    return ("fleet-dev.sql",) if schema == "schema.sql" else ("fleet-dev-old-schema.sql",)


def fleetca_rows(db, table):
    return mariadb(db, "SELECT id, activity_type, fleet_initiated, IFNULL(user_id, 'NULL'), user_name, user_email, "
                       "host_only, streamed, DATE_FORMAT(created_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ'), details "
                       "FROM %s WHERE user_name = 'fleetca' ORDER BY id" % table)


@T.case
def every_transition_once_in_fleets_table():
    for schema, table in SCHEMAS:
        db = new_db("act", schema=schema, fixtures=fixture_for(schema))
        clock = {"T0": T0, "T8": T8, "T16": T16}
        run(["apply", "-f", rotation("staged")], env_for(db, now=T0), check_rc=0)
        run(["apply", "-f", rotation("active")], env_for(db, now=T8), check_rc=0)
        rc, out, err = run(["apply", "-f", rotation("complete")], env_for(db, now=T16))
        expect(rc == 0 and "delivered" not in out + err, "%s: exit %d: %s %s" % (schema, rc, out, err))
        rows = fleetca_rows(db, table)
        expect([(json.loads(r[9])["step_id"], r[1]) for r in rows] == [(s, t) for s, t, _ in STEPS],
               "%s: one row per transition, in order: %s" % (schema, [r[1] for r in rows]))
        for r, (step, _, when) in zip(rows, STEPS):
            # fleet_initiated 0 with user_name: Fleet's UI and API show "fleetca" as the actor
            expect(r[2:8] == ["0", "NULL", "fleetca", "", "0", "0"], "%s %s: Fleet's columns: %s" % (schema, step, r))
            expect(r[8] == clock[when], "%s %s: created_at is the run's clock: %s" % (schema, step, r[8]))
            d = json.loads(r[9])
            gen = int(step.split(":")[1])
            named = gen - 1 if step.endswith(":retire") else gen  # Fleet's UI: "retired ca certificate <ca_name>"
            expect(d["ca"] == "host_identity" and d["ca_name"] == "Host identity CA, generation %d" % named,
                   "%s %s: details name the CA for Fleet's UI: %s" % (schema, step, d))
            expect(d["generation"] == gen and len(d["sha256_fingerprint"]) == 64, "%s: details %s" % (schema, d))
        doc = json.loads(reference_decrypt(live_rows(db)["fleetca_state"][1]))
        expect(doc.get("outbox", []) == [], "%s: nothing waits in the outbox: %s" % (schema, doc.get("outbox")))
        # converged: no new row, exit 0
        rc, out, err = run(["apply", "-f", rotation("complete")], env_for(db, now=T16))
        expect(rc == 0 and "Nothing to do" in out, "%s: converged run: exit %d %s %s" % (schema, rc, out, err))
        expect(len(fleetca_rows(db, table)) == len(STEPS), "%s: a converged run records nothing" % schema)


@T.case
def no_insert_grant_is_exit_1_naming_the_grant_and_nothing_changes():
    for schema, table in SCHEMAS:
        db = new_db("actg", schema=schema, fixtures=fixture_for(schema))
        user = "ro_%s" % db[-6:]
        mariadb(None, "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY 'pw'" % user)
        for (t,) in mariadb(db, "SHOW TABLES"):
            mariadb(None, "GRANT %s ON `%s`.`%s` TO '%s'@'127.0.0.1'" %
                    ("SELECT" if t == table else "ALL", db, t, user))
        before = table_fingerprint(db)
        env = env_for(db, now=T0, FLEET_MYSQL_USERNAME=user, FLEET_MYSQL_PASSWORD="pw")
        rc, out, err = run(["apply", "-f", rotation("staged")], env)
        want = "GRANT INSERT ON `%s`.`%s` TO '%s'@'127.0.0.1'" % (db, table, user)
        expect(rc == 1 and want in err and "nothing was changed" in err,
               "%s: exit %d, wanted 1 with %r\nstdout: %s\nstderr: %s" % (schema, rc, want, out, err))
        expect(table_fingerprint(db) == before, "%s: mdm_config_assets unchanged" % schema)
        expect(fleetca_rows(db, table) == [], "%s: no activity recorded" % schema)


FLEET_KEYS = {"id", "created_at", "actor_full_name", "actor_id", "actor_gravatar", "actor_email", "type",
              "fleet_initiated", "details"}


def step_ids(activities):
    return [(a.get("details") or {}).get("step_id") for a in activities]


def all_pages(fake, per_page):
    """Every page of Fleet's list, oldest first, and the meta of each page."""
    out, metas, page = [], [], 0
    while True:
        status, body = fake.get("/api/v1/fleet/activities?page=%d&per_page=%d&order_key=id&order_direction=asc"
                                % (page, per_page))
        expect(status == 200, "page %d: %s %s" % (page, status, body))
        out += body["activities"]
        metas.append(body["meta"])
        if not body["meta"]["has_next_results"]:
            return out, metas
        page += 1
        expect(page < 50, "has_next_results never ends")


@T.case
def fleets_activity_list_shows_each_transition_once():
    for schema, table in SCHEMAS:
        db = new_db("actl", schema=schema, fixtures=fixture_for(schema))
        clock = {"T0": T0, "T8": T8, "T16": T16}
        run(["apply", "-f", rotation("staged")], env_for(db, now=T0), check_rc=0)
        # a host-only row, as Fleet writes for a host's own timeline: its list must leave it out
        mariadb(db, "INSERT INTO %s (created_at, user_name, activity_type, details, host_only) VALUES "
                    "('2026-11-28 00:00:00', 'someone', 'ran_script', '{\"host_id\": 1}', 1)" % table)
        host_only_id = int(mariadb(db, "SELECT MAX(id) FROM %s" % table)[0][0])
        run(["apply", "-f", rotation("active")], env_for(db, now=T8), check_rc=0)
        run(["apply", "-f", rotation("complete")], env_for(db, now=T16), check_rc=0)
        fake = Fake(db=db)
        try:
            status, body = fake.get("/api/v1/fleet/activities")
            expect(status == 200 and set(body) == {"activities", "meta"}, "%s: %s %s" % (schema, status, body))
            listed = body["activities"]
            expect(body["meta"] == {"has_next_results": False, "has_previous_results": False},
                   "%s: one page holds all: %s" % (schema, body["meta"]))
            expect(step_ids(listed) == [s for s, _, _ in STEPS],
                   "%s: each transition once, in order: %s" % (schema, [a["type"] for a in listed]))
            expect(host_only_id not in [a["id"] for a in listed] and "ran_script" not in [a["type"] for a in listed],
                   "%s: the host-only row is not listed: %s" % (schema, listed))
            for a, (step, typ, when) in zip(listed, STEPS):
                expect(set(a) == FLEET_KEYS, "%s %s: Fleet's fields: %s" % (schema, step, sorted(a)))
                expect((a["type"], a["actor_full_name"], a["actor_id"], a["actor_email"], a["fleet_initiated"]) ==
                       (typ, "fleetca", None, "", False), "%s %s: %s" % (schema, step, a))
                expect(a["created_at"] == clock[when], "%s %s: created_at %s" % (schema, step, a["created_at"]))
                expect(a["details"]["ca_name"].startswith("Host identity CA, generation "),
                       "%s %s: Fleet's UI names the CA: %s" % (schema, step, a["details"]))
            # Fleet's paging and ordering give the same rows
            paged, metas = all_pages(fake, 3)
            expect([a["id"] for a in paged] == [a["id"] for a in listed] and len(metas) == 2 and
                   metas[0] == {"has_next_results": True, "has_previous_results": False} and
                   metas[1] == {"has_next_results": False, "has_previous_results": True},
                   "%s: pages of 3: %s %s" % (schema, [a["id"] for a in paged], metas))
            status, body = fake.get("/api/v1/fleet/activities?order_key=created_at&order_direction=desc")
            expect(status == 200 and [a["id"] for a in body["activities"]] == [a["id"] for a in listed][::-1],
                   "%s: newest first: %s" % (schema, body))
            status, body = fake.get("/api/v1/fleet/activities?activity_type=activated_ca_certificate")
            expect(status == 200 and step_ids(body["activities"]) ==
                   ["host_identity:2:activate"], "%s: by type: %s" % (schema, body))
            expect(fake.get("/api/v1/fleet/activities", token="wrong")[0] == 401, "%s: a wrong token is 401" % schema)
            expect(fake.get("/api/v1/fleet/activities?order_direction=desc")[0] == 400,
                   "%s: order_direction without order_key is 400" % schema)
        finally:
            fake.stop()
    fake = Fake()
    try:
        status, body = fake.get("/api/v1/fleet/activities")
        expect(status == 503 and "--mysql-database" in body["message"], "no database: %s %s" % (status, body))
    finally:
        fake.stop()


@T.case
def api_sink_404_points_to_db():
    db = new_db("act404")
    y = yaml_file("api.yml", "activities: {sink: api}\ncas:\n  host_identity: {generation: 2, stage: staged}\n")
    fake = Fake("--status", "404")
    try:
        env = env_for(db, now=T0, FLEET_URL=fake.url, FLEET_API_TOKEN=TOKEN, FLEETCA_API_CA_FILE=CA_FILE,
                      FLEETCA_API_BACKOFF="10ms", FLEETCA_API_TIMEOUT="5s")
        rc, out, err = run(["apply", "-f", y], env)
    finally:
        fake.stop()
    expect(rc == 1 and "HTTP 404" in err and "no released Fleet has one" in err and "sink: db" in err,
           "exit %d\nstdout: %s\nstderr: %s" % (rc, out, err))


@T.case
def an_outbox_left_by_the_api_sink_flushes_into_fleets_table():
    db = new_db("actleft")
    y_api = yaml_file("left-api.yml", "activities: {sink: api}\ncas:\n  host_identity: {generation: 2, stage: staged}\n")
    y_db = yaml_file("left-db.yml", "cas:\n  host_identity: {generation: 2, stage: staged}\n")
    rc, out, err = run(["apply", "-f", y_api], env_for(db, now=T0))  # no FLEET_URL: they wait
    expect(rc == 0 and "FLEET_URL is not set" in err, "exit %d: %s %s" % (rc, out, err))
    expect(fleetca_rows(db, "activity_past") == [], "nothing in the table yet")
    rc, out, err = run(["outbox", "--flush", "-f", y_db], env_for(db, now=T8))
    rows = fleetca_rows(db, "activity_past")
    expect(rc == 0 and [r[1] for r in rows] == ["adopted_ca_certificate", "staged_ca_certificate"],
           "flush: exit %d %s %s rows %s" % (rc, out, err, rows))
    expect(all(r[8] == T0 for r in rows), "created_at is when the step ran, not the flush: %s" % [r[8] for r in rows])


T.done()
