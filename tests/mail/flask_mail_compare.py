#!/usr/bin/python3
"""Compares a message our C++ code delivered with what Flask-Mail builds for the same input.

    flask_mail_compare.py --case CASE RECEIVED.eml
    flask_mail_compare.py --send-four HOST:PORT

Builds the case's message with Flask-Mail (Debian's python3-flask-mail), parses both with
Python's email package, and compares what a mail reader sees: the MIME tree (content types
in order, charsets, attachment file names, decoded bodies) and the decoded Subject, From,
To, Cc and Reply-To headers (address lists as sets: Flask-Mail joins them in set order), and
that no Bcc header leaks. Transfer encodings may differ (we use quoted-printable where
Flask-Mail writes 8bit) and are printed, not compared. Exits 0 when equal, 1 otherwise.

--send-four sends the four-recipient message of the refused-recipient test (to b and c, cc d,
bcc e) with Flask-Mail, then with smtplib directly, to the server at HOST:PORT, and prints
what each reports: Flask-Mail returns nothing; smtplib's sendmail returns the refused ones.
"""
import argparse
import email
import email.policy
import email.utils
import smtplib
import sys

from flask import Flask
from flask_mail import Mail, Message


# The long-header cases; each must match long_message() in test_mail_integration.cpp.
def long_subject():
    msg = Message(("Flasky " * 143)[:1000], sender="a@example.com", recipients=["b@example.com"])
    msg.body = "long subject"
    return msg


def many_recipients():
    msg = Message("sixty", sender="a@example.com",
                  recipients=[f"User Number {i} <user{i}@example.com>" for i in range(60)])
    msg.body = "sixty recipients"
    return msg


def long_chinese():
    msg = Message("你好，Flasky：" + "一封很长的测试邮件标题" * 20, sender=("张三", "zhang@example.com"),
                  recipients=["li@example.com"])
    msg.body = "正文"
    return msg


def chinese_attachment():
    msg = Message("attachment", sender="a@example.com", recipients=["b@example.com"])
    msg.body = "see the file"
    msg.attach("报告 2026 年.csv", "text/csv", b"id,name\n1,Hyman\n")
    msg.attach("一个很长很长很长很长很长很长很长很长很长很长的文件名.txt", "text/plain", b"hello")
    return msg


def body_only():
    msg = Message("body only", sender="a@example.com", recipients=["b@example.com"])
    msg.body = "text body"
    return msg


LONG_CASES = {"long-subject": long_subject, "many-recipients": many_recipients,
              "long-chinese": long_chinese, "chinese-attachment": chinese_attachment,
              "body-only": body_only}


def longest_header_line(raw):
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return max(len(line) for line in head.split(b"\n"))


def build(case):
    app = Flask(__name__)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_SUPPRESS_SEND=True)
    Mail(app)
    with app.app_context():
        if case == "seed":
            # The notes, section 2 (flask_mail instead of the removed flask.ext.mail).
            msg = Message("My Subject", sender="879651072@qq.com", recipients=["879651072@qq.com"])
            msg.body = "text body"
            msg.html = "<b>HTML</b> body"
        elif case in LONG_CASES:
            msg = LONG_CASES[case]()
        else:
            # Must match full_message() in test_mail_integration.cpp.
            msg = Message("你好，Flasky：测试邮件", sender=("张三", "zhang@example.com"),
                          recipients=["li@example.com"], cc=["cc@example.com"],
                          bcc=["hidden@example.com"], reply_to="reply@example.com")
            msg.body = "正文：你好\nsecond line"
            msg.html = "<p>你好 <b>HTML</b></p>"
            msg.attach("report.csv", "text/csv", b"id,name\n1,Hyman\n")
        return msg.as_bytes()


def send_four(where):
    host, port = where.rsplit(":", 1)
    app = Flask(__name__)
    app.config.update(MAIL_SERVER=host, MAIL_PORT=int(port), MAIL_DEFAULT_SENDER="a@example.com")
    mail = Mail(app)
    with app.app_context():
        msg = Message("four", recipients=["b@example.com", "c@example.com"],
                      cc=["d@example.com"], bcc=["e@example.com"], body="x")
        print("Flask-Mail send() returned:", mail.send(msg))
        with smtplib.SMTP(host, int(port)) as smtp:
            refused = smtp.sendmail("a@example.com", list(msg.send_to), msg.as_bytes())
    print("smtplib refused:", refused)
    return 0


def tree(message):
    lines = []

    def walk(part, depth):
        line = "  " * depth + part.get_content_type()
        if not part.is_multipart():
            payload = part.get_payload(decode=True) or b""
            charset = part.get_content_charset()
            text = payload.decode(charset or "latin-1").replace("\r\n", "\n")
            # SMTP ends DATA with CRLF before the final ".": a single-part body that had no
            # line end arrives with one (smtplib adds it too). One trailing line end is noise.
            text = text[:-1] if text.endswith("\n") else text
            line += f"; charset={charset}; filename={part.get_filename()}; body={text!r}"
        lines.append(line)
        for child in (part.get_payload() if part.is_multipart() else []):
            walk(child, depth + 1)

    walk(message, 0)
    return lines


def headers(message):
    out = {"Subject": str(message.get("Subject", ""))}
    for name in ("From", "To", "Cc", "Reply-To"):
        values = message.get_all(name, [])
        out[name] = sorted(email.utils.getaddresses([str(v) for v in values]))
    out["Bcc present"] = "Bcc" in message
    return out


def encodings(message):
    return [p.get("Content-Transfer-Encoding", "-") for p in message.walk() if not p.is_multipart()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["seed", "full", *LONG_CASES])
    parser.add_argument("--send-four", metavar="HOST:PORT")
    parser.add_argument("received", nargs="?")
    args = parser.parse_args()
    if args.send_four:
        return send_four(args.send_four)
    if not args.case or not args.received:
        parser.error("give --case and RECEIVED.eml, or --send-four HOST:PORT")

    raw = open(args.received, "rb").read()
    ours = email.message_from_bytes(raw, policy=email.policy.default)
    built = build(args.case)
    theirs = email.message_from_bytes(built, policy=email.policy.default)
    same = True
    every_line = [len(line) for line in raw.split(b"\r\n")]
    print(f"longest line: C++ {max(every_line)}, Flask-Mail {max(len(l) for l in built.splitlines())}")
    print(f"longest top-level header line: C++ {longest_header_line(raw)}, "
          f"Flask-Mail {longest_header_line(built)}")
    if max(every_line) > 998:
        print("C++ wrote a line over 998 characters")
        same = False
    for label, a, b in (("MIME tree", tree(ours), tree(theirs)), ("headers", headers(ours), headers(theirs))):
        print(f"{label}, C++:\n  {a}\n{label}, Flask-Mail:\n  {b}")
        if a != b:
            print(f"DIFFERENT {label}")
            same = False
    print(f"transfer encodings: C++ {encodings(ours)}, Flask-Mail {encodings(theirs)}")
    print("same MIME tree and headers as Flask-Mail" if same else "MISMATCH")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
