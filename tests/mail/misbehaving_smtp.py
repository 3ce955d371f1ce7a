#!/usr/bin/python3
"""A small SMTP server that misbehaves on purpose, for the failure tests of common::mail.

    misbehaving_smtp.py --dir DIR [--port N] [--cert C --key K [--implicit-tls]]
                        [--drop STEP | --silent STEP] [--times N] [--refuse ADDR ...]
                        [--defer ADDR ...]
                        [--store-before-drop] [--slow-dot SECONDS] [--no-ehlo]

Listens on 127.0.0.1 (a free port unless --port) and prints "PORT <n>" once ready. It speaks
just enough ESMTP for common::mail and smtplib: EHLO/HELO, STARTTLS (with --cert/--key),
MAIL, RCPT, DATA, RSET, NOOP, QUIT; no AUTH. Each message is stored as DIR/NNNN.eml (the bytes
after DATA, unstuffed) with DIR/NNNN.json (envelope). Every connection is logged to
DIR/events.log, one line each ("connect", "drop rcpt", ...), so a test can count attempts.

STEP is where the server misbehaves, the first --times connections that reach it (default 1;
0 means always): greeting, ehlo, ehlo-half (after the first line of the EHLO reply), starttls (after answering 220: no handshake), ehlo-tls (the
EHLO after the handshake), mail, rcpt, data, body (halfway through the message data), dot
(after the final "." and before answering it), quit. --drop closes the connection there; --silent
stops answering and holds it open. With --store-before-drop the message is stored before a
drop/silence at "dot" (the server crashed after queueing: the client cannot know).
--refuse answers 550 to RCPT TO that address; --defer answers 451 to it the first time
(greylisting), 250 after. --slow-dot stores the message, then waits SECONDS before answering
the final "." (a slow disk or a virus scan). --no-ehlo answers EHLO 502 and HELO 250 (a server
without ESMTP). The server stops when its stdin closes.
"""
import argparse
import json
import os
import socket
import ssl
import sys
import threading
import time

STEPS = ["greeting", "ehlo", "ehlo-half", "starttls", "ehlo-tls", "mail", "rcpt", "data", "body", "dot", "quit"]


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.count = 0
        self.misbehaved = 0
        self.held = []  # silent connections, kept open until the server stops
        self.deferred = set()
        self.context = None
        if args.cert:
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(args.cert, args.key)

    def defer_once(self, address):
        with self.lock:
            if address not in self.args.defer or address in self.deferred:
                return False
            self.deferred.add(address)
        return True

    def log(self, line):
        with self.lock, open(os.path.join(self.args.dir, "events.log"), "a") as f:
            f.write(line + "\n")

    def should_misbehave(self, step):
        action = self.args.drop and "drop" or self.args.silent and "silent"
        if not action or (self.args.drop or self.args.silent) != step:
            return None
        with self.lock:
            if self.args.times and self.misbehaved >= self.args.times:
                return None
            self.misbehaved += 1
        self.log(f"{action} {step}")
        return action

    def store(self, mail_from, rcpt_tos, data):
        with self.lock:
            self.count += 1
            base = os.path.join(self.args.dir, f"{self.count:04d}")
        with open(base + ".eml", "wb") as f:
            f.write(data)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": mail_from, "rcpt_tos": rcpt_tos}, f)

    def serve(self, conn):
        self.log("connect")
        try:
            Session(self, conn).run()
        except (OSError, ssl.SSLError, ValueError) as e:
            self.log(f"error {e.__class__.__name__}")
        finally:
            try:
                conn.close()
            except OSError:
                pass


class Misbehaved(Exception):
    pass


class Session:
    def __init__(self, server, conn):
        self.server, self.conn = server, conn
        self.file = conn.makefile("rb")
        self.tls = False

    def misbehave(self, step):
        action = self.server.should_misbehave(step)
        if action == "silent":
            with self.server.lock:
                self.server.held.append(self.conn)
            # Hold the connection, say nothing, read and ignore until the client gives up.
            while self.conn.recv(4096):
                pass
            raise Misbehaved()
        if action == "drop":
            raise Misbehaved()

    def reply(self, text):
        self.conn.sendall(text.encode() + b"\r\n")

    def run(self):
        try:
            self.dialogue()
        except Misbehaved:
            pass

    def dialogue(self):
        if self.server.args.implicit_tls:
            self.misbehave("starttls")
            self.start_tls()
        self.misbehave("greeting")
        self.reply("220 localhost ESMTP misbehaving_smtp")
        mail_from, rcpt_tos = None, []
        while True:
            line = self.file.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO" and self.server.args.no_ehlo:
                self.reply("502 5.5.2 Error: command not recognized")
            elif verb == "HELO" and self.server.args.no_ehlo:
                self.reply("250 localhost")
            elif verb in ("EHLO", "HELO"):
                self.misbehave("ehlo-tls" if self.tls else "ehlo")
                if (self.server.args.drop or self.server.args.silent) == "ehlo-half":
                    self.reply("250-localhost")  # the first line of a multi-line reply
                    self.misbehave("ehlo-half")
                lines = ["localhost", "8BITMIME"]
                if self.server.context and not self.tls:
                    lines.append("STARTTLS")
                lines.append("HELP")
                for extension in lines[:-1]:
                    self.reply("250-" + extension)
                self.reply("250 " + lines[-1])
            elif verb == "STARTTLS":
                self.reply("220 2.0.0 Ready to start TLS")
                self.misbehave("starttls")
                self.start_tls()
            elif verb == "MAIL":
                self.misbehave("mail")
                mail_from, rcpt_tos = command[10:].strip().strip("<>").split(">")[0], []
                self.reply("250 2.1.0 OK")
            elif verb == "RCPT":
                self.misbehave("rcpt")
                to = command[8:].strip().strip("<>")
                if to in self.server.args.refuse:
                    self.reply(f"550 5.1.1 <{to}>: Recipient address rejected: User unknown")
                elif self.server.defer_once(to):
                    self.reply(f"451 4.7.1 <{to}>: Recipient address rejected: Greylisted")
                else:
                    rcpt_tos.append(to)
                    self.reply("250 2.1.5 OK")
            elif verb == "DATA":
                self.misbehave("data")
                if not rcpt_tos:
                    self.reply("554 5.5.1 Error: no valid recipients")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                self.receive_data(mail_from, rcpt_tos)
                mail_from, rcpt_tos = None, []
            elif verb == "RSET":
                mail_from, rcpt_tos = None, []
                self.reply("250 2.0.0 OK")
            elif verb == "NOOP":
                self.reply("250 2.0.0 OK")
            elif verb == "QUIT":
                self.misbehave("quit")
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("500 5.5.2 Command not recognized")

    def start_tls(self):
        self.conn = self.server.context.wrap_socket(self.conn, server_side=True)
        self.file = self.conn.makefile("rb")
        self.tls = True

    def receive_data(self, mail_from, rcpt_tos):
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise Misbehaved()
            if line == b".\r\n":
                break
            if len(lines) == 2:
                self.misbehave("body")
            lines.append(line[1:] if line.startswith(b".") else line)
        data = b"".join(lines)
        store_first = self.server.args.store_before_drop
        if store_first:
            self.server.store(mail_from, rcpt_tos, data)
        self.misbehave("dot")
        if not store_first:
            self.server.store(mail_from, rcpt_tos, data)
        if self.server.args.slow_dot:
            time.sleep(self.server.args.slow_dot)
        self.reply("250 2.0.0 OK: queued")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--drop", choices=STEPS)
    parser.add_argument("--silent", choices=STEPS)
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--defer", action="append", default=[])
    parser.add_argument("--store-before-drop", action="store_true")
    parser.add_argument("--slow-dot", type=float, default=0)
    parser.add_argument("--no-ehlo", action="store_true")
    args = parser.parse_args()

    server = Server(args)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(16)
    print(f"PORT {listener.getsockname()[1]}", flush=True)

    def accept():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=server.serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    while os.read(sys.stdin.fileno(), 4096):  # until the test closes our stdin
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
