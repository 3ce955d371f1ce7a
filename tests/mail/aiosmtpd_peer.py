#!/usr/bin/python3
"""A real SMTP server for the integration tests: Debian's python3-aiosmtpd, written by
other people, configured like a mail provider's submission port.

    aiosmtpd_peer.py --dir DIR --cert CERT --key KEY --user U --password P [--implicit-tls]

Listens on a free port of 127.0.0.1 and prints "PORT <n>" once ready. By default STARTTLS
and AUTH (after TLS) are required, like smtp.qq.com:587; --implicit-tls speaks TLS from the
first byte, like port 465. Each message is stored as DIR/NNNN.eml (the bytes received after
DATA) with DIR/NNNN.json (envelope, TLS, who authenticated). The server stops when its
stdin closes (the test ended, even by crashing) or on SIGTERM.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, f"{self.count:04d}")
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": session.ssl is not None,
                       "auth": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None},
                      f)
        return "250 2.0.0 Message accepted for delivery"


class Authenticator:
    def __init__(self, user, password):
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
              and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


async def main(args):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    store = Store(args.dir)
    auth = Authenticator(args.user, args.password)

    def factory():
        if args.implicit_tls:
            return SMTP(store, hostname="localhost", authenticator=auth, auth_required=True,
                        auth_require_tls=False)
        return SMTP(store, hostname="localhost", tls_context=context, require_starttls=True,
                    authenticator=auth, auth_required=True, auth_require_tls=True)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host="127.0.0.1", port=0,
                                      ssl=context if args.implicit_tls else None)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 4096) else None)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--implicit-tls", action="store_true")
    asyncio.run(main(parser.parse_args()))
