#!/usr/bin/python3
"""Issue 16, item 3: nginx in front of flasky and flasky agree on where every request ends.

Request smuggling needs two parsers that read the same bytes differently: the proxy thinks it
forwarded one request, the app behind it finds two (the second one never passed the proxy's
rules). So this test puts Debian's nginx, with deploy/nginx.conf.template (HTTP/1.1 to the app,
upstream keep-alive), in front of `flasky runserver`, and sends every framing vector of
test_framing.cpp plus the usual smuggling list raw to nginx, each followed on the same
connection by an innocent request. It does so twice: through deploy's configuration as it is
(nginx reads a whole body and passes it on with a Content-Length) and with request buffering
off (nginx passes a chunked body on, chunked, so flasky's own chunked decoder is behind it).
For every vector, either

  - nginx refuses it itself (an error status, the connection closed) and flasky serves
    nothing of it, or
  - nginx forwards it, and flasky's access log holds exactly the requests nginx's access log
    says it forwarded (same count, methods and targets), each answered once. Only where
    FLASKY_STRICTER says so may flasky refuse (400) what nginx passed on.

A hidden `GET /admin?...` that nginx did not log as a request of its own must never reach
flasky, and nginx's error log must show no upstream that answered twice or out of turn.

Each request carries the vector's tag in its query (`v=N`, `u=N` for the second pass), so
both logs can be matched per vector. Exits 77 (ctest: skipped) when nginx is not installed.
Loopback only; the servers are stopped, also on failure.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from collections import Counter

from served import free_port, wait_for_port

SKIP = 77  # ctest's SKIP_RETURN_CODE for this test
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TEMPLATE = os.path.join(ROOT, "deploy", "nginx.conf.template")


def nginx_binary():
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                     else None)


# ---- the vectors ---------------------------------------------------------------------------
# {T} is the vector's tag (v=N), {BODY} a body that ends a chunked message at once and then
# hides a request for /admin, {CL} that body's length; {HIDDEN} is the bare hidden request
# and {HIDDEN_LEN} its length. A parser that reads {BODY} as a chunked
# body and the next bytes as a new request sees the hidden GET /admin.

HIDDEN = "GET /admin?{T}&hidden HTTP/1.1\r\nHost: x\r\n\r\n"
BODY = "0\r\n\r\n" + HIDDEN
INNOCENT = "GET /?{T}&innocent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

# The same names and bytes as bad_requests() in test_framing.cpp (checked below), with the
# targets tagged.
FRAMING_VECTORS = [
    ("two different Content-Length",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: {CL}\r\n\r\n"
     "{BODY}"),
    ("Content-Length with a sign",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: +35\r\n\r\n{BODY}"),
    ("Content-Length not a number",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n{BODY}"),
    ("Content-Length as a list",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: 5, {CL}\r\n\r\n{BODY}"),
    ("Transfer-Encoding with a space before the colon",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
     "Content-Length: {CL}\r\n\r\n{BODY}"),
    ("a header name with a space", "GET /?{T} HTTP/1.1\r\nHost: x\r\nX Forwarded: 1\r\n\r\n"),
    ("a header line without a colon",
     "GET /?{T} HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"),
    ("NUL in a header value", "GET /?{T} HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"),
    ("obs-fold (a folded header line)",
     "GET /?{T} HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
    ("whitespace before the first header", "GET /?{T} HTTP/1.1\r\n Host: x\r\n\r\n"),
    ("bare LF ending a header line", "GET /?{T} HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n"),
    ("HTTP/1.1 without Host", "GET /?{T} HTTP/1.1\r\n\r\n"),
    ("HTTP/1.1 with two Host", "GET /?{T} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ("bare LF in a chunk extension",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3;ext=a\nb\r\nabc\r\n0\r\n\r\n"),
    ("CL.TE: Content-Length and Transfer-Encoding",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: {CL}\r\n"
     "Transfer-Encoding: chunked\r\n\r\n{BODY}"),
    ("TE.CL: Transfer-Encoding and Content-Length",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     "Content-Length: 4\r\n\r\n{BODY}"),
    ("TE.TE: two Transfer-Encoding headers",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: identity\r\n\r\n{BODY}"),
    ("TE.TE: xchunked",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n{BODY}"),
    ("TE.TE: chunked in a list",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n{BODY}"),
    ("TE.TE: tab-folded value",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n{BODY}"),
    ("TE.TE: a header name with a trailing tab",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n\r\n{BODY}"),
    ("TE.TE: bare LF before the name",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nX: y\nTransfer-Encoding: chunked\r\n\r\n{BODY}"),
    ("Transfer-Encoding in HTTP/1.0",
     "POST /echo?{T} HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n{BODY}"),
    ("two spaces in the request line", "GET  /?{T} HTTP/1.1\r\nHost: x\r\n\r\n"),
]

# The rest of the usual smuggling list, for the proxy pair only.
SMUGGLING_VECTORS = [
    # Served as HTTP/1.1 by both (RFC 9112 §2.3): nginx forwards it and flasky serves it.
    ("HTTP/1.2", "GET /?{T} HTTP/1.2\r\nHost: x\r\n\r\n"),
    ("two equal Content-Length",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: {CL}\r\nContent-Length: {CL}\r\n"
     "\r\n{BODY}"),
    ("Content-Length past 64 bits (2^64 + 5 wraps to 5)",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551621\r\n\r\n"
     "{BODY}"),
    ("Content-Length with leading zeros",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: 00{CL}\r\n\r\n{BODY}"),
    ("GET with a Content-Length body (CL.0)",
     "GET /?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: {CL}\r\n\r\n{BODY}"),
    ("GET whose Content-Length body is a whole request (CL.0)",
     "GET /?{T} HTTP/1.1\r\nHost: x\r\nContent-Length: {HIDDEN_LEN}\r\n\r\n{HIDDEN}"),
    ("Transfer_Encoding with an underscore",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\n"
     "Content-Length: {CL}\r\n\r\n{BODY}"),
    ("TE.TE: a vertical tab before chunked",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\x0bchunked\r\n\r\n{BODY}"),
    ("TE.TE: chunked, identity",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
     "{BODY}"),
    ("TE.TE: CHUNKED in capitals (legal)",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n{BODY}"),
    ("bare LF ending the request line", "GET /?{T} HTTP/1.1\nHost: x\r\n\r\n"),
    ("bare CR in a header value", "GET /?{T} HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
    ("a control character in a header value",
     "GET /?{T} HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"),
    ("chunk size past 64 bits (wraps to 3)",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "10000000000000003\r\nabc\r\n0\r\n\r\n" + HIDDEN),
    ("chunk size with 0x",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0x3\r\nabc\r\n0\r\n\r\n" + HIDDEN),
    ("chunk size followed by a space",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3 \r\nabc\r\n0\r\n\r\n"),
    ("chunk extensions (legal)",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3;name=value;q=\"a;b\"\r\nabc\r\n0;last\r\n\r\n"),
    ("bare CR in a chunk extension",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3;ext=a\rb\r\nabc\r\n0\r\n\r\n"),
    ("chunk data longer than its size",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nabcdef\r\n0\r\n\r\n" + HIDDEN),
    ("a trailer field after the last chunk",
     "POST /echo?{T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"),
]

VECTORS = FRAMING_VECTORS + SMUGGLING_VECTORS

# Where flasky may refuse (400, connection closed) a request nginx passed on: flasky is the
# stricter of the two, and says why. Any other forwarded request must be served.
FLASKY_STRICTER = {
    "a control character in a header value":
        "RFC 9110 §5.5: a field value with a CTL other than HTAB is invalid; nginx passes "
        "it on, flasky refuses it",
}


def build(template, tag):
    body, hidden = BODY.replace("{T}", tag), HIDDEN.replace("{T}", tag)
    text = (template.replace("{BODY}", body).replace("{CL}", str(len(body)))
            .replace("{HIDDEN}", hidden).replace("{HIDDEN_LEN}", str(len(hidden))))
    return (text.replace("{T}", tag) + INNOCENT.replace("{T}", tag)).encode("latin-1")


# ---- logs ----------------------------------------------------------------------------------

# nginx: one JSON object a line ($upstream_addr is "" when nginx answered itself).
LOG_FORMAT = ("log_format framing escape=json '{\"conn\":$connection,\"status\":$status,"
              "\"method\":\"$request_method\",\"uri\":\"$request_uri\","
              "\"upstream\":\"$upstream_addr\",\"upstream_status\":\"$upstream_status\"}';")
# flasky (Werkzeug's shape): 127.0.0.1 - - [time] "GET /?v=3 HTTP/1.1" 200 123
FLASKY_LINE = re.compile(r'"(\S+) (\S+) HTTP/1\.[01]" (\d{3}) ')
TAG = re.compile(r"[?&]([a-z]=\d+)(?:&|$)")
STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
# nginx's error log lines that mean the upstream answered out of turn or twice.
UPSTREAM_DESYNC = re.compile(r"upstream sent|upstream prematurely closed|invalid header|"
                             r"upstream sent more data|upstream sent no valid")


def tag_of(uri):
    m = TAG.search(uri or "")
    return m.group(1) if m else None


def exchange(port, data, pause_after_head=False):
    """Sends `data`, reads until nginx closes (or 6 s pass). Returns (bytes, closed).

    With pause_after_head, the bytes up to the first empty line go first and the rest 0.1 s
    later: nginx then starts the upstream request before the body is there."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=6) as s:
        if pause_after_head and b"\r\n\r\n" in data:
            head_end = data.index(b"\r\n\r\n") + 4
            s.sendall(data[:head_end])
            time.sleep(0.1)
            data = data[head_end:]
        s.sendall(data)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return got, True
                got += chunk
        except ConnectionResetError:
            return got, True
        except socket.timeout:
            return got, False


class Nginx:
    """One nginx from deploy/nginx.conf.template in front of flasky, in its own directory.

    `location_extra` is added to the proxying location (e.g. request buffering off)."""

    def __init__(self, base, name, flasky_port, location_extra="", streams_body=False):
        self.name = name
        self.streams_body = streams_body
        self.run = os.path.join(base, name)
        os.mkdir(self.run)
        with open(TEMPLATE) as f:
            conf = f.read()
        # The deploy configuration as it is, plus an access log saying which requests went
        # upstream, and short client timeouts so a vector nginx waits on does not stall.
        for needed in ("access_log off;", "proxy_http_version 1.1;"):
            if needed not in conf:
                raise RuntimeError(f"{TEMPLATE} has no '{needed}' line any more: update "
                                   "test_nginx_framing.py")
        conf = conf.replace("access_log off;", LOG_FORMAT + "\n    access_log @DIR@/access.log "
                            "framing;\n    client_header_timeout 3s;\n    client_body_timeout 3s;")
        conf = conf.replace("proxy_http_version 1.1;", "proxy_http_version 1.1; " + location_extra)
        self.port = free_port()
        conf = (conf.replace("@DIR@", self.run).replace("@PORT@", str(self.port))
                .replace("@UPSTREAMS@", f"server 127.0.0.1:{flasky_port} max_fails=0;"))
        with open(os.path.join(self.run, "nginx.conf"), "w") as f:
            f.write(conf)
        self.access_log = os.path.join(self.run, "access.log")
        self.error_log = os.path.join(self.run, "error.log")
        as_worker = []
        if os.geteuid() == 0:
            # As deploy/cluster.sh: not as root, wholly as Debian's web-server user.
            os.chmod(base, 0o755)
            for dirpath, _, files in os.walk(self.run):
                shutil.chown(dirpath, "www-data", "www-data")
                for file in files:
                    shutil.chown(os.path.join(dirpath, file), "www-data", "www-data")
            as_worker = ["runuser", "-u", "www-data", "--"]
        self.process = subprocess.Popen(
            as_worker + [nginx_binary(), "-p", self.run, "-c",
                         os.path.join(self.run, "nginx.conf"), "-e", self.error_log,
                         "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, f"nginx ({name})", self.error_log)

    def signal_master(self):
        """Under runuser, self.process is runuser's: the master is told directly too."""
        pid_file = os.path.join(self.run, "nginx.pid")
        if self.process.poll() is None and os.path.exists(pid_file):
            with open(pid_file) as f:
                master = f.read().strip()
            if master.isdigit():
                try:
                    os.kill(int(master), signal.SIGTERM)
                except ProcessLookupError:
                    pass


class NginxAndFlaskyAgree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="workbook-nginx-framing.")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.flasky = None
        cls.proxies = []  # (tag letter, Nginx)
        cls.addClassCleanup(cls.stop_servers)
        cls.start_flasky()
        # deploy/ as it is (nginx reads a whole body, then sends it with a Content-Length),
        # and with request buffering off, the body sent after a pause: nginx then passes a
        # chunked body on as it arrives, chunked, which puts flasky's own chunked decoder
        # behind nginx.
        cls.proxies.append(("v", Nginx(cls.tmp.name, "deploy", cls.flasky_port)))
        cls.proxies.append(("u", Nginx(cls.tmp.name, "unbuffered", cls.flasky_port,
                                       "proxy_request_buffering off;", streams_body=True)))

    @classmethod
    def start_flasky(cls):
        cls.flasky_port = free_port()
        cls.flasky_log = os.path.join(cls.tmp.name, "flasky.log")
        env = dict(os.environ, FLASKY_CONFIG="production",
                   DATABASE_URI="sqlite:///" + os.path.join(cls.tmp.name, "data.sqlite"),
                   SECRET_KEY="nginx-framing-test-secret-key-0123456789abcdef",
                   MAIL_SERVER="127.0.0.1", MAIL_PORT=str(free_port()))
        with open(cls.flasky_log, "w") as log:
            cls.flasky = subprocess.Popen(
                [os.environ["FLASKY_BIN"], "runserver", "--host", "127.0.0.1", "--port",
                 str(cls.flasky_port), "--threads", "2"],
                env=env, cwd=cls.tmp.name, stdout=subprocess.DEVNULL, stderr=log)
        wait_for_port(cls.flasky_port, cls.flasky, "flasky runserver", cls.flasky_log)

    @classmethod
    def stop_servers(cls):
        """SIGTERM to all (flasky writes out its access log); SIGKILL if one hangs."""
        procs = []
        for _, nginx in cls.proxies:
            nginx.signal_master()
            procs.append(nginx.process)
        procs.append(cls.flasky)
        for proc in procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        cls.proxies, cls.flasky = [], None

    def test_python_vectors_are_test_framing_cpp_vectors(self):
        with open(os.path.join(HERE, "test_framing.cpp")) as f:
            source = f.read()
        start = source.index("bad_requests() {")
        cpp_names = re.findall(r'\{"([^"]+)",', source[start:source.index("\n}\n", start)])
        self.assertEqual(len(cpp_names), 24, "test_framing.cpp changed: update FRAMING_VECTORS")
        self.assertEqual(cpp_names, [name for name, _ in FRAMING_VECTORS])

    def test_nginx_and_flasky_agree_on_every_vector(self):
        sent = {}  # letter -> [(tag, name, what the client got, closed)]
        for letter, nginx in self.proxies:
            sent[letter] = []
            for number, (name, template) in enumerate(VECTORS):
                tag = f"{letter}={number}"
                got, closed = exchange(nginx.port, build(template, tag),
                                       pause_after_head=nginx.streams_body)
                sent[letter].append((tag, name, got, closed))
        # flasky writes its access log every 200 ms, nginx a request's line once it has
        # closed the connection (after the client saw the end of it).
        time.sleep(0.5)
        proxies = list(self.proxies)
        self.stop_servers()  # and the rest of it at a clean stop

        with open(self.flasky_log, errors="replace") as f:
            flasky_text = f.read()
        flasky = {}  # tag -> [(method, target, status)]
        untagged = []
        for line in flasky_text.splitlines():
            m = FLASKY_LINE.search(line)
            if not m:
                continue
            tag = tag_of(m.group(2))
            if tag is None:
                untagged.append(line)
            flasky.setdefault(tag, []).append((m.group(1), m.group(2), int(m.group(3))))

        failures = []
        if untagged:
            failures.append(f"flasky served requests the client never sent: {untagged}")
        for letter, nginx in proxies:
            print(f"nginx {self.nginx_version()} ({nginx.name}, tags {letter}=N) in front of "
                  f"flasky, {len(VECTORS)} vectors:")
            failures += self.compare(nginx, sent[letter], flasky)
        for f in failures:
            print("FAIL:", f)
        self.assertEqual(failures, [])

    def compare(self, nginx, sent, flasky):
        failures = []
        with open(nginx.error_log, errors="replace") as f:
            desync = [line for line in f.read().splitlines() if UPSTREAM_DESYNC.search(line)]
        if desync:
            failures.append(f"nginx ({nginx.name}) saw an upstream answer out of turn: "
                            + " | ".join(desync))
        # Each nginx log line belongs to the vector whose tag its target carries; a line with
        # no target (a request line nginx could not parse) to the vector of its connection.
        with open(nginx.access_log, encoding="utf-8") as f:
            logged = [json.loads(line) for line in f if line.strip()]
        tag_of_connection = {e["conn"]: tag_of(e["uri"]) for e in logged if tag_of(e["uri"])}
        by_tag = {}
        for e in logged:
            tag = tag_of(e["uri"]) or tag_of_connection.get(e["conn"])
            if tag is None:
                failures.append(f"nginx ({nginx.name}) logged a request of no vector: {e}")
            by_tag.setdefault(tag, []).append(e)
        for tag, name, got, closed in sent:
            entries = by_tag.get(tag, [])
            # With request buffering off nginx starts the upstream request before the body is
            # read; if the body is bad it drops that upstream connection and answers itself
            # (upstream status "-"): refused, like a request it never forwarded.
            forwarded = [e for e in entries if e["upstream"] and e["upstream_status"] != "-"]
            aborted = [e for e in entries if e["upstream"] and e["upstream_status"] == "-"]
            own = [e for e in entries if not e["upstream"]]
            seen = flasky.get(tag, [])
            # Every request nginx forwarded is in flasky's log once, unless flasky refused it
            # while framing (a 400 and a closed connection, which flasky does not log); flasky
            # served nothing else of this vector.
            expected = Counter((e["method"], e["uri"]) for e in forwarded)
            served = Counter((method, target) for method, target, _ in seen)
            missing, extra = expected - served, served - expected
            refused_by_flasky = [uri for (_, uri) in missing.elements()]
            refused_400 = all(e["upstream_status"] == "400" for e in forwarded
                              if (e["method"], e["uri"]) in missing)
            unexplained = [] if not missing or (name in FLASKY_STRICTER and refused_400) else \
                sorted(missing.elements())
            statuses = [int(s) for s in STATUS_LINE.findall(got)]
            hidden_in_nginx = any("/admin" in e["uri"] for e in entries)
            hidden_in_flasky = [t for _, t, _ in seen if t.startswith("/admin")]

            if forwarded:
                outcome = (f"forwarded {len(forwarded)} ("
                           + ", ".join(f"{e['method']} {e['uri']} -> {e['upstream_status']}"
                                       for e in forwarded) + ")")
                if refused_by_flasky:
                    outcome += f"; flasky refused {refused_by_flasky}"
                    if name in FLASKY_STRICTER:
                        outcome += f" ({FLASKY_STRICTER[name]})"
                if own:
                    outcome += "; then nginx answered " + ", ".join(str(e["status"]) for e in own)
            elif own:
                outcome = "nginx refused: " + ", ".join(str(e["status"]) for e in own)
            elif aborted:
                outcome = "nginx refused the body after passing the head on: " + ", ".join(
                    str(e["status"]) for e in aborted)
            else:
                outcome = "nginx logged nothing"
            outcome += f"; client got {statuses}{', closed' if closed else ', left open'}"
            print(f"  {tag:5} {name}: {outcome}")

            def fail(why):
                failures.append(f"{nginx.name} {tag} {name}: {why} [{outcome}]")

            if extra:
                fail(f"flasky served {sorted(extra.elements())} that nginx did not forward")
            if unexplained:
                fail(f"nginx forwarded {unexplained}, flasky did not serve them")
            if hidden_in_flasky and not hidden_in_nginx:
                fail(f"flasky served the hidden {hidden_in_flasky}, nginx never saw it")
            if len(statuses) != len(entries):
                fail(f"{len(entries)} requests in nginx's log, {len(statuses)} responses")
            refused = sorted(own + aborted, key=entries.index)
            if not forwarded and not (refused and refused[0]["status"] >= 400 and closed):
                fail("neither forwarded nor refused with an error and a closed connection")
            if not closed:
                fail("the connection was left open (the innocent request asked for close)")

        return failures

    def nginx_version(self):
        out = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True)
        return out.stderr.strip().split("/")[-1]


if __name__ == "__main__":
    if nginx_binary() is None:
        print("skipped: nginx is not installed (apt-get install nginx; ./workbook installs it)")
        sys.exit(SKIP)
    unittest.main(verbosity=2)
