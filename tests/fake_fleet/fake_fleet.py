#!/usr/bin/env python3
"""A fake Fleet API for fleetca's tests and demo: POST /api/v1/fleet/activities as README
"Activities" describes it, over HTTPS with a certificate the caller made (make_certs.sh).

  fake_fleet.py --cert server.pem --key server.key --token-file TOKEN --log requests.jsonl
                [--mode ok|500|garbage|hang|close] [--fail-first N] [--status CODE] [--http]

Prints its port on stdout when it is ready to accept connections, then serves until killed.
Every request is appended to the log as one JSON line: method, path, headers, idempotency_key,
body (parsed when JSON), status (what it answered; null when it answered nothing HTTP).
Misbehaving on purpose:
  --fail-first N   answer 500 to the first N activity requests, then behave
  --mode 500       always 500          --mode garbage  bytes that are not HTTP, then close
  --mode hang      read the request and never answer
  --mode close     read the request and close the connection without a word
  --status CODE    answer every authenticated request with CODE and a Fleet-style JSON error
"""
import argparse
import hmac
import http.server
import json
import socket
import ssl
import sys
import threading
import time

PATH = "/api/v1/fleet/activities"


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

    def do_GET(self):
        st = self.server.state
        st.log({"method": "GET", "path": self.path, "headers": dict(self.headers), "status": 405})
        self.reply(405, fleet_error("Method not allowed"))

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
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not hmac.compare_digest(auth[7:].encode(), st.token.encode()):
            return self.reply(401, fleet_error("Authentication required"))
        if args.status:
            return self.reply(args.status, fleet_error("fake Fleet told to answer %d" % args.status,
                                                       "details.ca is not a known CA", "details"))
        if args.mode == "500":
            return self.reply(500, fleet_error("Internal Server Error"))
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
    ap.add_argument("--mode", default="ok", choices=["ok", "500", "garbage", "hang", "close"])
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
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
