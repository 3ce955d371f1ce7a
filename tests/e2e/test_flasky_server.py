"""`flasky runserver` for real: an HTTP client with a cookie jar posts the name form, and the
admin's mail arrives at a real SMTP server (aiosmtpd, from Debian). Both servers listen on
free loopback ports and are stopped at the end."""
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        self.arrived.set()
        return "250 OK"


class FlaskyServer(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.collector = Collector()
        self.smtp = Controller(self.collector, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        self.port = free_port()
        env = dict(os.environ,
                   FLASKY_CONFIG="development",
                   DEV_DATABASE_URI=f"sqlite:///{self.tmp.name}/dev.sqlite",
                   FLASKY_ADMIN="admin@example.com",
                   MAIL_SERVER="127.0.0.1", MAIL_PORT=str(self.smtp.port), MAIL_USE_TLS="0",
                   SECRET_KEY="e2e-secret")
        self.server = subprocess.Popen(
            [os.environ["FLASKY_BIN"], "runserver", "--port", str(self.port)], env=env,
            cwd=self.tmp.name, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if self.server.poll() is not None:
                    self.fail("flasky runserver exited: " + self.server.stderr.read())
                time.sleep(0.1)
        else:
            self.fail("flasky runserver did not listen within 20 s")
        jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def tearDown(self):
        if self.server.poll() is None:
            self.server.kill()
            self.server.wait()
        self.server.stdout.close()
        self.server.stderr.close()
        self.smtp.stop()
        self.tmp.cleanup()

    def get(self, path):
        with self.http.open(self.base + path, timeout=10) as r:
            return r.status, r.read().decode()

    def post_name(self, name, token):
        data = urllib.parse.urlencode({"name": name, "csrf_token": token}).encode()
        with self.http.open(self.base + "/", data=data, timeout=10) as r:  # follows the 302
            return r.status, r.read().decode()

    def test_new_user_flow_and_admin_mail(self):
        status, page = self.get("/")
        self.assertEqual(status, 200)
        self.assertIn("Hello, Stranger!", page)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

        status, page = self.post_name("Bob", token)
        self.assertEqual(status, 200)
        self.assertIn("Hello, Bob!", page)
        self.assertIn("Pleased to meet you!", page)

        self.assertTrue(self.collector.arrived.wait(15), "no mail reached the SMTP server")
        recipients, msg = self.collector.messages[0]
        self.assertEqual(recipients, ["admin@example.com"])
        self.assertEqual(msg["Subject"], "[Flasky] New User")
        self.assertEqual(msg["From"], "879651072@qq.com")
        self.assertEqual(msg.get_body(("plain",)).get_content().strip(), "User Bob has joined.")
        self.assertEqual(msg.get_body(("html",)).get_content().strip(), "User <b>Bob</b> has joined.")

        status, page = self.post_name("Bob", token)
        self.assertIn("Happy to see you again!", page)
        time.sleep(0.5)
        self.assertEqual(len(self.collector.messages), 1, "a known user must not mail the admin")

        with self.assertRaises(urllib.error.HTTPError) as missing:
            self.get("/nope")
        self.assertEqual(missing.exception.code, 404)

        # SIGTERM: the server finishes and exits cleanly.
        self.server.send_signal(signal.SIGTERM)
        self.assertEqual(self.server.wait(timeout=20), 0)


if __name__ == "__main__":
    unittest.main()
