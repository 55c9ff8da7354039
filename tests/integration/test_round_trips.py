"""What fleetca says to the server, read from MariaDB's general log (log_output = TABLE), one
connection at a time. A converged apply is one statement after the handshake: the SELECT of the CA
rows and the state document (no SET, no lock, no write). A run that writes pins its session to UTC
before its first statement that reads or writes a time in the session's zone: the SET comes before
the lock, the transaction and every INSERT, so renew_at and created_at are UTC whatever the
server's zone (test_mysql_server covers the values themselves, in a daylight-saving zone)."""
import tempfile

from fcalib import CONVERGED_YAML, Failures, env_for, expect, mariadb, new_db, run, write_file

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-trips-")
CONVERGED = write_file(TMP, "converged.yml", CONVERGED_YAML)
STAGE = write_file(TMP, "stage.yml", CONVERGED_YAML.replace("conditional_access_idp: {generation: 1}",
                                                            "conditional_access_idp: {generation: 2, stage: staged}")
                   .replace("cas:", "policy: {min_overlap: 7d}\ncas:"))


def statements(db, args, env):
    """Runs fleetca with the general log on; returns its connection's statements (command, text)."""
    mariadb(None, "SET GLOBAL general_log = 0")
    mariadb(None, "TRUNCATE TABLE mysql.general_log")
    mariadb(None, "SET GLOBAL log_output = 'TABLE'")
    mariadb(None, "SET GLOBAL general_log = 1")
    try:
        rc, out, err = run(args, env)
    finally:
        mariadb(None, "SET GLOBAL general_log = 0")
    expect(rc == 0, "fleetca %s: exit %d\n%s%s" % (" ".join(args), rc, out, err))
    ids = mariadb(None, "SELECT DISTINCT thread_id FROM mysql.general_log WHERE command_type = 'Connect' "
                        "AND CONVERT(argument USING utf8mb4) LIKE '%% on %s %%'" % db)
    expect(len(ids) == 1, "one connection of fleetca to %s in the general log: %s" % (db, ids))
    if len(ids) != 1:
        return []
    # as ASCII: an INSERT's encrypted value is logged as its raw bytes, which become '?'
    rows = mariadb(None, "SELECT command_type, REPLACE(REPLACE(CONVERT(argument USING ascii), '\\n', ' '), "
                         "'\\t', ' ') FROM mysql.general_log WHERE thread_id = %s AND command_type NOT IN "
                         "('Connect', 'Quit') ORDER BY event_time" % ids[0][0])
    return [(r[0], r[1] if len(r) > 1 else "") for r in rows]


@T.case
def converged_apply_is_one_select():
    db = new_db("trips")
    env = env_for(db)
    run(["apply", "-f", CONVERGED], env, check_rc=0)  # adopts what Fleet created
    got = statements(db, ["apply", "-f", CONVERGED], env)
    expect(len(got) == 1, "a converged apply sends one statement, not %d: %s" % (len(got), got))
    expect(got and got[0][0] == "Query" and got[0][1].startswith("SELECT id, name, value, HEX(md5_checksum)")
           and "FROM mdm_config_assets" in got[0][1] and "'fleetca_state'" in got[0][1],
           "that statement reads the CA rows and the state document: %s" % got)


@T.case
def a_writing_run_pins_utc_before_it_locks_or_writes():
    db = new_db("trips")
    env = env_for(db)
    run(["apply", "-f", CONVERGED], env, check_rc=0)
    got = statements(db, ["apply", "-f", STAGE], env)
    texts = [t for _, t in got]
    sets = [i for i, t in enumerate(texts) if t.startswith("SET time_zone = '+00:00'")]
    expect(len(sets) == 1, "one SET time_zone in a writing run: %s" % texts)
    writes = [i for i, t in enumerate(texts)
              if t.startswith(("START TRANSACTION", "INSERT", "UPDATE", "SELECT GET_LOCK"))]
    expect(writes, "the staging run locks and writes: %s" % texts)
    expect(sets and writes and sets[0] < writes[0],
           "the session is pinned to UTC before the lock and the first write: %s" % texts[:8])
    inserts = [t for t in texts if t.startswith("INSERT")]
    expect(any("mdm_config_assets" in t for t in inserts) and any("activit" in t for t in inserts),
           "the staged rows and an activity are written in that session: %s" % inserts)


T.done()
