#!/usr/bin/env python3
"""Chapter 01's transcript on PostgreSQL: runs the chapter on $WORKBOOK_TEST_DATABASE_URI and
compares its output with the SQLite expected-output.txt, after tools/transcript.py's
normalisation. Only the lines that say where the data lives may differ ("database: ...", and
the closing sqlite3 hint, which PostgreSQL has no use for); every REPL line and result must be
the same. The password of the URI must not be printed (SQLAlchemy shows it as ***).

    ch01_transcript.py --expected expected-output.txt -- build/bin/ch01_relationships
"""
import argparse
import os
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import transcript  # noqa: E402  (the workbook's normalisation and diff)

WHERE = ("database: ", "The last tables are left in ", "try: sqlite3 ")


def comparable(text):
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(WHERE))


def password(uri):
    """The password of postgresql://user:password@host/db, or None."""
    userinfo = urllib.parse.urlsplit(uri).netloc.rpartition("@")[0]
    return urllib.parse.unquote(userinfo.partition(":")[2]) if ":" in userinfo else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--expected", required=True)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    uri = os.environ.get("WORKBOOK_TEST_DATABASE_URI", "")
    if not uri.startswith("postgresql://"):
        sys.exit("set WORKBOOK_TEST_DATABASE_URI (run through tests/postgres/throwaway.sh)")
    with tempfile.TemporaryDirectory() as workdir:
        # Twice: the second run meets the first run's tables and must print the same.
        for run in (1, 2):
            proc = subprocess.run(args.command + ["--database", uri], cwd=workdir,
                                  capture_output=True, text=True, timeout=60)
            if proc.returncode != 0:
                sys.exit(f"run {run} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
            actual = transcript.normalise(proc.stdout, workdir)
            if "PostgreSQL database" not in actual:
                sys.exit("the chapter did not report a PostgreSQL location:\n" + actual)
            secret = password(uri)
            if secret and secret in proc.stdout:
                sys.exit("the chapter printed the URI's password:\n" + proc.stdout)
            if ":***@" not in actual:
                sys.exit("the chapter did not print the URI with its password masked (:***@):\n"
                         + actual)
            if "sqlite3" in actual:
                sys.exit("the chapter suggests sqlite3 on PostgreSQL:\n" + actual)
            with open(args.expected, encoding="utf-8") as f:
                expected = transcript.normalise(f.read())
            if comparable(actual) != comparable(expected):
                sys.stdout.write(transcript.diff(comparable(expected), comparable(actual),
                                                 args.expected))
                return 1
    print(f"chapter 01 prints the same on PostgreSQL ({len(comparable(expected).splitlines())} "
          "lines compared, twice)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
