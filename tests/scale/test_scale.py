#!/usr/bin/env python3
"""Scale test: many clients post names through nginx to several flasky processes at once.

Run by deploy/cluster.sh under tests/postgres/throwaway.sh (NGINX_URL, DATABASE_URI set):
CLIENTS threads (default 200), each with its own cookie session and keep-alive connection,
post names drawn from a shared pool for DURATION seconds (default 10), so that the same new
name often reaches both processes at the same moment. Passes when no response was a 5xx (or
a broken connection), and the users table holds exactly one row for every name that was
posted and nothing else.
"""
import http.client
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

CLIENTS = int(os.environ.get("SCALE_CLIENTS", "200"))
DURATION = float(os.environ.get("SCALE_SECONDS", "10"))
# A rolling restart's first half: SIGTERM to the first app process this many seconds in. It
# answers what it has in hand, and nginx sends the rest to the other: still no 5xx.
STOP_ONE_AT = os.environ.get("SCALE_STOP_ONE_AT")
# Large enough that new names keep coming for the whole run (inserts, not only look-ups),
# small enough that the same new name often arrives from two clients at once.
POOL = [f"user{i:05d}" for i in range(20000)]


class Client(threading.Thread):
    def __init__(self, host, port, start_at, stop_at, seed):
        super().__init__(daemon=True)
        self.host, self.port = host, port
        self.start_at, self.stop_at = start_at, stop_at
        self.rng = random.Random(seed)
        self.cookies = {}
        self.statuses = {}
        self.errors = []
        self.posted = set()

    def request(self, conn, method, path, body=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
        return resp.status, data

    def run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
        try:
            while time.monotonic() < self.start_at:  # all start together
                time.sleep(0.01)
            status, page = self.request(conn, "GET", "/")
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
            if status != 200 or not token:
                self.errors.append(f"GET / gave {status} without a CSRF token")
                return
            while time.monotonic() < self.stop_at:
                name = self.rng.choice(POOL)
                body = urllib.parse.urlencode({"name": name, "csrf_token": token.group(1)})
                status, _ = self.request(conn, "POST", "/", body)
                if status == 302:
                    self.posted.add(name)
        except (OSError, http.client.HTTPException) as e:
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            conn.close()


def running(pid):
    """True while the process exists and is not a zombie (cluster.sh reaps it only at the end)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, it was read
        return False


def main():
    url = urllib.parse.urlsplit(os.environ["NGINX_URL"])
    start_at = time.monotonic() + 1.0
    stop_at = start_at + DURATION
    clients = [Client(url.hostname, url.port, start_at, stop_at, seed) for seed in range(CLIENTS)]
    for c in clients:
        c.start()
    stopped_in = None
    if STOP_ONE_AT is not None:
        pid = int(os.environ["APP_PIDS"].split()[0])
        time.sleep(max(0.0, start_at + float(STOP_ONE_AT) - time.monotonic()))
        os.kill(pid, signal.SIGTERM)
        sent = time.monotonic()
        while time.monotonic() - sent < 30 and running(pid):
            time.sleep(0.05)
        stopped_in = time.monotonic() - sent if not running(pid) else None
        print(f"SIGTERM to app process {pid} at {STOP_ONE_AT} s: "
              + (f"stopped {stopped_in:.1f} s later" if stopped_in is not None else
                 "still running 30 s later"))
    for c in clients:
        c.join(DURATION + 60)
    hung = sum(c.is_alive() for c in clients)

    statuses, errors, posted = {}, [], set()
    for c in clients:
        for s, n in c.statuses.items():
            statuses[s] = statuses.get(s, 0) + n
        errors += c.errors
        posted |= c.posted
    total = sum(statuses.values())
    print(f"{CLIENTS} clients, {DURATION:g} s: {total} responses "
          f"({total / DURATION:.0f}/s), statuses {dict(sorted(statuses.items()))}, "
          f"{len(posted)} distinct names posted")

    rows = subprocess.run(
        ["psql", os.environ["DATABASE_URI"], "-tA", "-F", " ", "-c",
         "SELECT username, count(*) FROM users GROUP BY username"],
        capture_output=True, text=True, check=True).stdout.split()
    in_db = dict(zip(rows[0::2], map(int, rows[1::2])))

    failures = []
    if hung:
        failures.append(f"{hung} clients still running after the deadline")
    if STOP_ONE_AT is not None and stopped_in is None:
        failures.append("the app process did not stop within 30 s of SIGTERM")
    server_errors = {s: n for s, n in statuses.items() if s >= 500}
    if server_errors:
        failures.append(f"5xx responses: {server_errors}")
    if errors:
        failures.append(f"{len(errors)} broken connections, e.g. {errors[:3]}")
    if not posted:
        failures.append("no name was posted successfully")
    duplicates = {n: k for n, k in in_db.items() if k != 1}
    if duplicates:
        failures.append(f"names stored more than once: {duplicates}")
    if set(in_db) != posted:
        failures.append(f"posted but not stored: {sorted(posted - set(in_db))[:5]}; "
                        f"stored but never posted: {sorted(set(in_db) - posted)[:5]}")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"ok: zero 5xx, {len(in_db)} rows, exactly one per distinct name")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
