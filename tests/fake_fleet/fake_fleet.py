#!/usr/bin/env python3
"""A fake Fleet API for fleetca's tests and demo, over HTTPS with a certificate the caller made
(make_certs.sh):

- POST /api/v1/fleet/activities: the endpoint a rotation-aware Fleet would add (sink `api`, README
  "Activities"). No released Fleet has it.
- GET /api/v1/fleet/activities: Fleet's own list of activities, answered from the real database
  (with --mysql-database) the way Fleet's list query reads it: the rows of activity_past (Fleet
  since 2026-03; `activities` on the older schema) with host_only = 0, the actor's name from
  user_name (or from the users row when user_id is set). Query: page (from 0), per_page, order_key
  (a column of the table), order_direction (asc | desc, needs order_key), activity_type. Answer:
  {"activities": [{"id", "created_at", "actor_full_name", "actor_id", "actor_gravatar",
  "actor_email", "type", "fleet_initiated", "details"}], "meta": {"has_next_results",
  "has_previous_results"}}, Fleet's documented shape (every key is always written; Fleet's own
  encoder leaves out actor_id and actor_gravatar when the row names no user).

  fake_fleet.py --cert server.pem --key server.key --token-file TOKEN --log requests.jsonl
                [--mode ok|500|garbage|hang|close] [--fail-first N] [--status CODE] [--http]
                [--mysql-database DB (--mysql-socket PATH | --mysql-address HOST:PORT)
                 [--mysql-user USER] [--mysql-password-file FILE]]

Prints its port on stdout when it is ready to accept connections, then serves until killed.
Every request is appended to the log as one JSON line: method, path, headers, idempotency_key,
body (parsed when JSON), status (what it answered; null when it answered nothing HTTP).
Misbehaving on purpose:
  --fail-first N   answer 500 to the first N activity requests, then behave
  --mode 500       always 500          --mode garbage  bytes that are not HTTP, then close
  --mode hang      read the request and never answer
  --mode close     read the request and close the connection without a word
  --status CODE    answer every authenticated request with CODE and a Fleet-style JSON error
  --message TEXT   with --status: that error's "message"
  --mode html      200 with an HTML login page (a single-sign-on proxy in front of Fleet)
  --mode bare201   201 with an empty body (a proxy that answers for the server)
  --mode conflict_other  409 with a JSON error that is not about the Idempotency-Key
The modes and --status apply to POST only. The database is read with the `mariadb` client (as
--mysql-user, default root; a password is handed to it in MYSQL_PWD, never on its command line).
Without --mysql-database, GET /api/v1/fleet/activities answers 503.
"""
import argparse
import hmac
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

PATH = "/api/v1/fleet/activities"
# the columns of Fleet's activity table (both names of it): what order_key may name
COLUMNS = ("id", "created_at", "user_id", "user_name", "activity_type", "details", "streamed", "user_email",
           "fleet_initiated", "host_only")
DEFAULT_PER_PAGE = 20  # Fleet's, when a page is asked for without per_page


def fleet_error(message, reason=None, name="base"):
    return {"message": message, "errors": [{"name": name, "reason": reason or message}]}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.keys = set()
        self.failures_left = args.fail_first
        with open(args.token_file) as f:
            self.token = f.read().strip()
        self.mysql_password = None
        if args.mysql_password_file:
            with open(args.mysql_password_file) as f:
                self.mysql_password = f.read().rstrip("\n")

    def log(self, rec):
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-fleet/1"

    def log_message(self, fmt, *a):  # quiet: the JSON-lines log is the record
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return status

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), self.server.state.token.encode())

    def do_GET(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        rec = {"method": "GET", "path": self.path, "authorized": self.authorized(), "status": None,
               "time": time.time()}
        if url.path.rstrip("/") != PATH:
            rec["status"] = self.reply(404, fleet_error("Resource Not Found"))
        elif not rec["authorized"]:
            rec["status"] = self.reply(401, fleet_error("Authentication required"))
        else:
            rec["status"] = self.list_activities(urllib.parse.parse_qs(url.query, keep_blank_values=True))
        st.log(rec)

    def list_activities(self, query):
        args = self.server.state.args
        if not args.mysql_database:
            return self.reply(503, fleet_error("this fake Fleet was started without --mysql-database: "
                                               "it has no activities to list"))
        try:
            opts = list_options(query)
        except ValueError as e:
            return self.reply(400, fleet_error("Bad request", str(e)))
        try:
            rows, more = read_activities(self.server.state, opts)
        except RuntimeError as e:
            return self.reply(500, fleet_error("Internal Server Error", str(e)))
        return self.reply(200, {"activities": rows,
                                "meta": {"has_next_results": more, "has_previous_results": opts["page"] > 0}})

    def do_POST(self):
        st, args = self.server.state, self.server.state.args
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(n, 1 << 20))
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        key = self.headers.get("Idempotency-Key")
        rec = {"method": "POST", "path": self.path, "headers": dict(self.headers), "idempotency_key": key,
               "body": body, "status": None, "time": time.time()}
        if args.mode == "hang":
            st.log(rec)
            time.sleep(3600)
            return
        if args.mode == "close":
            st.log(rec)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if args.mode == "garbage":
            st.log(rec)
            self.wfile.write(b"\x00\x01this is not HTTP at all\r\n\r\n{{{")
            self.close_connection = True
            return
        status = self.answer(rec, body, key)
        rec["status"] = status
        st.log(rec)

    def answer(self, rec, body, key):
        st, args = self.server.state, self.server.state.args
        if self.path.rstrip("/") != PATH:
            return self.reply(404, fleet_error("Resource Not Found"))
        if not self.authorized():
            return self.reply(401, fleet_error("Authentication required"))
        if args.status:
            return self.reply(args.status, fleet_error(args.message or "fake Fleet told to answer %d" % args.status,
                                                       "details.ca is not a known CA", "details"))
        if args.mode == "500":
            return self.reply(500, fleet_error("Internal Server Error"))
        if args.mode == "html":
            body = b"<!DOCTYPE html><html><body><form action='/login'>Sign in</form></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return 200
        if args.mode == "bare201":
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 201
        if args.mode == "conflict_other":
            return self.reply(409, fleet_error("Conflict", "a team with this name already exists", "name"))
        with st.lock:
            if st.failures_left > 0:
                st.failures_left -= 1
                fail = True
            else:
                fail = False
        if fail:
            return self.reply(500, fleet_error("Internal Server Error"))
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self.reply(415, fleet_error("Content-Type must be application/json"))
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or \
                not isinstance(body.get("details"), dict):
            return self.reply(422, fleet_error("Validation Failed", "type and details are required", "type"))
        if not key:
            return self.reply(422, fleet_error("Validation Failed", "Idempotency-Key is required", "Idempotency-Key"))
        with st.lock:
            dup = key in st.keys
            st.keys.add(key)
        if dup:
            return self.reply(409, fleet_error("Activity already recorded", "Idempotency-Key %s exists" % key,
                                               "Idempotency-Key"))
        return self.reply(201, {"activity": {"type": body["type"], "details": body["details"]}})


def one(query, name):
    v = query.get(name)
    return v[-1] if v else None


def list_options(query):
    """Fleet's list options from the query string; ValueError names what is wrong."""
    page, per_page = one(query, "page"), one(query, "per_page")
    key, direction = one(query, "order_key") or "", one(query, "order_direction") or ""
    out = {"page": 0, "per_page": 0, "order_key": "id", "desc": False, "activity_type": one(query, "activity_type")}
    if page is not None and page != "":
        if not page.lstrip("-").isdigit():
            raise ValueError("non-int page value")
        out["page"] = int(page)
        if out["page"] < 0:
            raise ValueError("negative page value")
        out["per_page"] = DEFAULT_PER_PAGE
    if per_page is not None and per_page != "":
        if not per_page.lstrip("-").isdigit():
            raise ValueError("non-int per_page value")
        out["per_page"] = int(per_page)
        if out["per_page"] <= 0:
            raise ValueError("invalid per_page value")
    if direction and not key:
        raise ValueError("order_key must be specified with order_direction")
    if direction not in ("", "asc", "desc"):
        raise ValueError("unknown order_direction: " + direction)
    if key:
        if key not in COLUMNS:
            raise ValueError("invalid order key: " + key)
        out["order_key"] = key
    out["desc"] = direction == "desc"
    return out


def mariadb(state, sql):
    """Rows of tab-separated fields, read with the mariadb client; RuntimeError on failure."""
    a = state.args
    cmd = ["mariadb", "--no-defaults", "-N", "-B", "-u", a.mysql_user]
    if a.mysql_socket:
        cmd.append("--socket=" + a.mysql_socket)
    elif a.mysql_address:
        host, _, port = a.mysql_address.rpartition(":")
        cmd += ["--protocol=TCP", "-h", host or "127.0.0.1", "-P", port]
    env = dict(os.environ)
    env.pop("MYSQL_PWD", None)
    if state.mysql_password is not None:
        env["MYSQL_PWD"] = state.mysql_password
    p = subprocess.run(cmd + [a.mysql_database, "-e", sql], capture_output=True, env=env, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("reading %s: %s" % (a.mysql_database, p.stderr.decode("utf-8", "replace").strip()))
    return [line.split("\t") for line in p.stdout.decode().splitlines()]


def hexstr(v):
    """A HEX() field back to text; the client prints SQL NULL as NULL (never a hex digit string)."""
    return None if v == "NULL" else bytes.fromhex(v).decode("utf-8")


def rfc3339(v):
    """2026-11-27T00:00:00.000000 (UTC) as Go writes a time.Time in JSON: fraction without trailing zeros."""
    base, _, frac = v.partition(".")
    frac = frac.rstrip("0")
    return base + ("." + frac if frac else "") + "Z"


def read_activities(state, opts):
    """One page of Fleet's activity list, and whether more rows follow it."""
    tables = {r[0] for r in mariadb(state, "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                           "DATABASE() AND table_name IN ('activity_past', 'activities', 'users')")}
    table = "activity_past" if "activity_past" in tables else "activities" if "activities" in tables else None
    if not table:
        raise RuntimeError("database %s has neither activity_past nor activities" % state.args.mysql_database)
    if "users" in tables:
        who = ("COALESCE(u.name, a.user_name)", "COALESCE(u.email, a.user_email)", "IFNULL(u.gravatar_url, '')",
               "LEFT JOIN users u ON u.id = a.user_id")
    else:
        who = ("a.user_name", "a.user_email", "''", "")
    where = "a.host_only = 0"
    if opts["activity_type"]:
        where += " AND a.activity_type = X'%s'" % opts["activity_type"].encode().hex()
    d = "DESC" if opts["desc"] else "ASC"
    sql = ("SET time_zone = '+00:00'; SELECT a.id, IFNULL(a.user_id, 'NULL'), "
           "DATE_FORMAT(a.created_at, '%%Y-%%m-%%dT%%H:%%i:%%s.%%f'), HEX(a.activity_type), HEX(%s), HEX(%s), HEX(%s), "
           "a.fleet_initiated, HEX(a.details) FROM `%s` a %s WHERE %s ORDER BY a.`%s` %s, a.id %s"
           % (who[0], who[1], who[2], table, who[3], where, opts["order_key"], d, d))
    if opts["per_page"]:
        sql += " LIMIT %d OFFSET %d" % (opts["per_page"] + 1, opts["page"] * opts["per_page"])
    rows = mariadb(state, sql)
    more = bool(opts["per_page"]) and len(rows) > opts["per_page"]
    out = []
    for r in rows[:opts["per_page"] or None]:
        details = hexstr(r[8])
        out.append({
            "id": int(r[0]),
            "created_at": rfc3339(r[2]),
            "actor_full_name": hexstr(r[4]),
            "actor_id": None if r[1] == "NULL" else int(r[1]),
            "actor_gravatar": hexstr(r[6]),
            "actor_email": hexstr(r[5]),
            "type": hexstr(r[3]),
            "fleet_initiated": r[7] == "1",
            "details": None if details is None else json.loads(details),
        })
    return out, more


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--http", action="store_true", help="plain HTTP (no certificate)")
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="ok", choices=["ok", "500", "garbage", "hang", "close", "html", "bare201", "conflict_other"])
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--message", help="with --status: the JSON error's message")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mysql-database", help="answer GET /api/v1/fleet/activities from this database")
    ap.add_argument("--mysql-socket", help="the MariaDB server's unix socket")
    ap.add_argument("--mysql-address", help="HOST:PORT of the MariaDB server (instead of --mysql-socket)")
    ap.add_argument("--mysql-user", default="root")
    ap.add_argument("--mysql-password-file", help="a file holding the MariaDB password")
    args = ap.parse_args()
    if args.mysql_database and not (args.mysql_socket or args.mysql_address):
        ap.error("--mysql-database needs --mysql-socket or --mysql-address")
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args)
    if not args.http:
        if not args.cert or not args.key:
            ap.error("--cert and --key are required without --http")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
