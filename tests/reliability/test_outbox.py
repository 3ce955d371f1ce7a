#!/usr/bin/python3
"""Issue 16, item 1: no admin mail is lost. `flasky runserver` (production config, a temp
SQLite file) takes 500 new users while nothing listens on its MAIL_PORT; it is stopped with
SIGTERM; an aiosmtpd server comes up on that port and flasky is started again. Every one of
the 500 mails must arrive, each once (500 distinct Message-IDs), within 60 s.

Loopback only; the test stops the servers it starts.
"""
import http.cookiejar
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from served import free_port, wait_for_port

USERS = 500
DELIVERY_BOUND_S = 60


class Collector:
    def __init__(self):
        self.message_ids = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.message_ids.append(msg["Message-ID"])
        return "250 OK"

    def count(self):
        with self.lock:
            return len(self.message_ids)


class OutboxSurvivesRestart(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.database = os.path.join(self.tmp.name, "data.sqlite")
        self.smtp_port = free_port()  # nothing listens here during the first run
        self.env = dict(os.environ,
                        FLASKY_CONFIG="production",
                        DATABASE_URI="sqlite:///" + self.database,
                        SECRET_KEY="reliability-test-secret-key-0123456789abcdef",
                        FLASKY_ADMIN="admin@example.com",
                        MAIL_SERVER="127.0.0.1", MAIL_PORT=str(self.smtp_port),
                        MAIL_USE_TLS="0")
        self.server = None
        self.smtp = None

    def tearDown(self):
        self.stop_flasky(signal.SIGKILL)
        if self.smtp is not None:
            self.smtp.stop()
        self.tmp.cleanup()

    def start_flasky(self):
        self.port = free_port()
        self.stderr = open(os.path.join(self.tmp.name, f"stderr-{self.port}.txt"), "w+")
        self.server = subprocess.Popen(
            [os.environ["FLASKY_BIN"], "runserver", "--port", str(self.port)], env=self.env,
            cwd=self.tmp.name, stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_for_port(self.port, self.server, "flasky runserver", self.stderr.name)

    def read_stderr(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def stop_flasky(self, sig=signal.SIGTERM):
        if self.server is None:
            return ""
        if self.server.poll() is None:
            self.server.send_signal(sig)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
                self.fail("flasky did not stop within 20 s of SIGTERM")
        log = self.read_stderr()
        self.stderr.close()
        code, self.server = self.server.returncode, None
        if sig == signal.SIGTERM:  # a clean stop (under ASan also: no error report)
            self.assertEqual(code, 0, log)
        return log

    def rows(self, sql):
        with sqlite3.connect(self.database) as db:
            return db.execute(sql).fetchall()

    def post_users(self):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{self.port}/"
        with opener.open(base, timeout=10) as r:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', r.read().decode()).group(1)
        for i in range(USERS):
            data = urllib.parse.urlencode({"name": f"user{i:03d}", "csrf_token": token}).encode()
            with opener.open(base, data=data, timeout=10) as r:  # follows the 302
                self.assertEqual(r.status, 200)

    def test_500_mails_survive_a_dead_server_and_a_restart(self):
        # Run 1: the mail server is down the whole time.
        self.start_flasky()
        self.post_users()
        log = self.stop_flasky()
        self.assertEqual(self.rows("SELECT count(*) FROM users")[0][0], USERS)
        self.assertEqual(self.rows("SELECT count(*) FROM outbox WHERE status='pending'")[0][0],
                         USERS, log)
        self.assertIn("cannot reach the mail server", log)  # the operator is told

        # Run 2: the server is up; the outbox is resumed.
        collector = Collector()
        self.smtp = Controller(collector, hostname="127.0.0.1", port=self.smtp_port)
        self.smtp.start()
        started = time.monotonic()
        self.start_flasky()
        deadline = started + DELIVERY_BOUND_S
        while collector.count() < USERS and time.monotonic() < deadline:
            time.sleep(0.1)
        took = time.monotonic() - started
        time.sleep(1)  # a duplicate would arrive now
        log = self.stop_flasky()
        ids = list(collector.message_ids)
        print(f"delivered {len(ids)} mails ({len(set(ids))} distinct Message-IDs) in {took:.1f} s")
        self.assertEqual(len(ids), USERS, log)
        self.assertEqual(len(set(ids)), USERS)
        self.assertTrue(all(ids))
        self.assertEqual(self.rows("SELECT count(*) FROM outbox")[0][0], 0)


if __name__ == "__main__":
    unittest.main()
