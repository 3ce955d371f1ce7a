#!/usr/bin/python3
"""Issue 16, item 2: a locked database blocks no loop and drops no connection.

`flasky runserver` (production config, a temp SQLite file) serves 50 clients while another
process (Python's sqlite3) holds an EXCLUSIVE lock on the database for 8 s: 25 clients GET /
(every fifth request on a new connection), 25 post names. Every request must get an answer;
GET / stays fast (p99 under P99_BOUND_MS); a POST is either saved (302) or answered 503 with
Retry-After, never a 500; and the rows are exactly the names that got a 302.

Loopback only; the test stops the processes it starts.
"""
import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

from served import free_port, wait_for_port

LOCK_SECONDS = 8
CLIENTS = 50
# The asan build passes a looser bound: its instrumented server is several times slower.
P99_BOUND_MS = float(os.environ.get("P99_BOUND_MS", "50"))

LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
print("released", flush=True)
"""


class Client:
    """One browser: its own cookie and CSRF token, a keep-alive connection."""

    def __init__(self, port):
        self.port = port
        self.cookie = None
        self.conn = None

    def request(self, method, body=None, fresh=False):
        if fresh or self.conn is None:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        self.conn.request(method, "/", body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        took = time.monotonic() - started
        if response.getheader("Set-Cookie"):
            self.cookie = response.getheader("Set-Cookie").split(";")[0]
        return response, data, took

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def token(self):
        _, page, _ = self.request("GET")
        return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


class LockedDatabase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.database = os.path.join(self.tmp.name, "data.sqlite")
        self.port = free_port()
        env = dict(os.environ, FLASKY_CONFIG="production",
                   DATABASE_URI="sqlite:///" + self.database,
                   SECRET_KEY="reliability-test-secret-key-0123456789abcdef")
        env.pop("FLASKY_ADMIN", None)  # no admin mail: this test is about the database
        self.stderr = open(os.path.join(self.tmp.name, "stderr.txt"), "w+")
        self.server = subprocess.Popen(
            [os.environ["FLASKY_BIN"], "runserver", "--port", str(self.port)], env=env,
            cwd=self.tmp.name, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.locker = None
        wait_for_port(self.port, self.server, "flasky runserver", self.stderr.name)

    def tearDown(self):
        for process in (self.locker, self.server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        if self.locker is not None and self.locker.stdout is not None:
            self.locker.stdout.close()
        self.stderr.close()
        self.tmp.cleanup()

    def log(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def test_an_exclusive_lock_for_8_s_blocks_no_loop_and_drops_no_request(self):
        clients = [Client(self.port) for _ in range(CLIENTS)]
        tokens = [c.token() for c in clients]  # sessions first, as browsers would have them
        self.locker = subprocess.Popen([sys.executable, "-c", LOCKER, self.database,
                                        str(LOCK_SECONDS)], stdout=subprocess.PIPE, text=True)
        self.assertEqual(self.locker.stdout.readline().strip(), "locked")
        lock_ends = time.monotonic() + LOCK_SECONDS

        lock = threading.Lock()
        get_times, statuses, unanswered = [], {}, []
        saved, refused = [], []

        def getter(client):
            n = 0
            while time.monotonic() < lock_ends:
                try:
                    response, _, took = client.request("GET", fresh=n % 5 == 0)
                    with lock:
                        get_times.append(took)
                        statuses.setdefault(("GET", response.status), 0)
                        statuses[("GET", response.status)] += 1
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        unanswered.append(f"GET: {e!r}")
                    client.close()
                n += 1
                time.sleep(0.01)

        def poster(index, client, token):
            n = 0
            while time.monotonic() < lock_ends:
                name = f"u{index:02d}-{n:03d}"
                body = urllib.parse.urlencode({"name": name, "csrf_token": token})
                try:
                    response, _, _ = client.request("POST", body=body)
                    with lock:
                        statuses.setdefault(("POST", response.status), 0)
                        statuses[("POST", response.status)] += 1
                        if response.status == 302:
                            saved.append(name)
                        elif response.status == 503:
                            refused.append(name)
                            if not response.getheader("Retry-After"):
                                unanswered.append(f"POST {name}: 503 without Retry-After")
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        unanswered.append(f"POST {name}: {e!r}")
                    client.close()
                n += 1

        threads = [threading.Thread(target=getter, args=(clients[i],))
                   for i in range(CLIENTS // 2)]
        threads += [threading.Thread(target=poster, args=(i, clients[i], tokens[i]))
                    for i in range(CLIENTS // 2, CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(self.locker.wait(timeout=10), 0)

        # After the lock: the same clients save again.
        response, _, _ = clients[-1].request(
            "POST", body=urllib.parse.urlencode({"name": "after-the-lock",
                                                 "csrf_token": tokens[-1]}))
        for client in clients:
            client.close()
        self.assertEqual(response.status, 302)
        saved.append("after-the-lock")

        get_times.sort()
        p99_ms = get_times[int(len(get_times) * 0.99) - 1] * 1000 if get_times else float("inf")
        with sqlite3.connect(self.database) as db:
            rows = sorted(r[0] for r in db.execute("SELECT username FROM users"))
        print(f"{len(get_times)} GETs during the {LOCK_SECONDS} s lock: p99 {p99_ms:.1f} ms, "
              f"max {get_times[-1] * 1000:.1f} ms; statuses {sorted(statuses.items())}; "
              f"unanswered {len(unanswered)}; rows {len(rows)} (302s {len(saved)})")
        self.assertEqual(unanswered, [])
        self.assertEqual({s for (m, s) in statuses if m == "GET"}, {200}, statuses)
        self.assertLessEqual({s for (m, s) in statuses if m == "POST"}, {302, 503},
                             f"{statuses}\n{self.log()}")
        self.assertGreater(statuses.get(("POST", 503), 0), 0, "the lock was never met")
        self.assertLess(p99_ms, P99_BOUND_MS)
        self.assertEqual(rows, sorted(saved), "a 302 means saved, a 503 means not saved")
        log = self.log()
        self.assertNotIn(" 500 ", log)
        self.server.send_signal(signal.SIGTERM)
        self.assertEqual(self.server.wait(timeout=30), 0, self.log())


if __name__ == "__main__":
    unittest.main()
