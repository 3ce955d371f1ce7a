#!/usr/bin/python3
"""The Flask peer of the mail benchmark: N messages over one SMTP connection with Flask-Mail.

The message is the notes' section 2 ('My Subject', text body, <b>HTML</b> body), sent through
`mail.connect()` so that every message rides the same SMTP session, as the C++ side does.
No TLS and no login: the server is the local capture sink on 127.0.0.1.
Prints `send <seconds> s` for the whole batch.

    /usr/bin/python3 bench/peers/mail_flask.py HOST PORT [N]
"""
import argparse
import sys
import time

from flask import Flask
from flask_mail import Mail, Message

mail = Mail()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('host')
    parser.add_argument('port', type=int)
    parser.add_argument('n', nargs='?', type=int, default=1000, help='messages to send')
    args = parser.parse_args()

    app = Flask(__name__)
    app.config.update(MAIL_SERVER=args.host, MAIL_PORT=args.port, MAIL_USE_TLS=False,
                      MAIL_USE_SSL=False, MAIL_USERNAME=None, MAIL_PASSWORD=None,
                      MAIL_DEFAULT_SENDER='flasky@example.com')
    mail.init_app(app)
    with app.app_context():
        started = time.perf_counter()
        try:
            with mail.connect() as conn:
                for i in range(args.n):
                    msg = Message('My Subject', sender='flasky@example.com',
                                  recipients=['reader%d@example.com' % i])
                    msg.body = 'text body'
                    msg.html = '<b>HTML</b> body'
                    conn.send(msg)
        except OSError as e:
            sys.exit('mail_flask.py: cannot talk to %s:%d: %s' % (args.host, args.port, e))
        print('send %.4f s' % (time.perf_counter() - started), flush=True)


if __name__ == '__main__':
    main()
