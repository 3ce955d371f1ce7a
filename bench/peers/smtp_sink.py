#!/usr/bin/python3
"""A counting SMTP sink (aiosmtpd) for the mail benchmark, when no C++ capture server is built.

Accepts every message, keeps none, and on SIGTERM/SIGINT prints `received <count>`.

    /usr/bin/python3 bench/peers/smtp_sink.py PORT
"""
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return '250 OK'


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit('usage: smtp_sink.py PORT')
    handler = Counter()
    controller = Controller(handler, hostname='127.0.0.1', port=int(sys.argv[1]))
    controller.start()
    print('listening 127.0.0.1:%s' % sys.argv[1], flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    print('received %d' % handler.count, flush=True)


if __name__ == '__main__':
    main()
