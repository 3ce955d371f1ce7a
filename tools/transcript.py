#!/usr/bin/env python3
"""Transcript test: run a chapter's executable and compare what it prints with the chapter's
expected-output.txt.

Both sides are normalised first, so that what legitimately changes from run to run does not
fail the test. The placeholders, in the order they are applied:

    <WORKDIR>       the fresh working directory the executable runs in (temp paths)
    <MESSAGE-ID>    anything in angle brackets after "Message-ID:" / "message id"
    <DATE>          RFC 2822 dates ("Thu, 26 Nov 2026 02:45:57 +0000")
    <TIMESTAMP>     ISO 8601 date-times ("2026-11-26T02:45:57Z", "2026-11-26 02:45:57.123")
    <BOUNDARY>      MIME boundaries (Poco's "MIME_boundary_..." and Python's "===...==")
    <PORT>          loopback ports ("127.0.0.1:40123" → "127.0.0.1:<PORT>")
    <DURATION>      elapsed times ("0.123 s", "12 ms")
    <LINE>          source line numbers in Boost.Test's "file.cpp(57):" (editing a test file
                    must not fail another chapter's transcript)

A mismatch prints a unified diff (expected → actual) and exits 1. With --update, or with
WORKBOOK_UPDATE_TRANSCRIPTS=1 in the environment, the normalised output replaces the expected
file instead (that is what `./workbook test --update-transcripts` sets).
"""
import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys

RULES = [
    (re.compile(r"(Message-ID:\s*)<[^>\s]+>", re.I), r"\1<MESSAGE-ID>"),
    (re.compile(r"(message[- ]id[ =:]+)<[^>\s]+>", re.I), r"\1<MESSAGE-ID>"),
    (re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} "
                r"\d{2}:\d{2}:\d{2} [+-]\d{4}\b"), "<DATE>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
     "<TIMESTAMP>"),
    (re.compile(r"MIME_boundary_[0-9A-Fa-f]+"), "<BOUNDARY>"),
    (re.compile(r"={15}\d+=="), "<BOUNDARY>"),
    (re.compile(r"\b(127\.0\.0\.1|localhost|\[::1\]):\d{2,5}\b"), r"\1:<PORT>"),
    (re.compile(r"\b\d+(?:\.\d+)? ?(?:s|ms|us|µs)\b(?= |$|\)|,)", re.M), "<DURATION>"),
    (re.compile(r"(\.(?:cpp|hpp|h))\(\d+\)"), r"\1(<LINE>)"),
    # A build through ccache (CCACHE_BASEDIR) compiles "../tests/x.cpp" instead of the full
    # path, and Boost.Test prints what the compiler was given: the same file either way.
    (re.compile(r"(?<![\w./])(?:\.\./)+(?=(?:tests|common|chapters)/)"), ""),
]


def normalise(text, workdir=None):
    """Applies the placeholders above; workdir (if given) becomes <WORKDIR>."""
    if workdir:
        text = text.replace(os.path.realpath(workdir), "<WORKDIR>")
        text = text.replace(workdir, "<WORKDIR>")
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def diff(expected, actual, expected_name):
    return "".join(difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile=expected_name, tofile="actual output (normalised)"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expected", required=True, help="expected-output.txt")
    parser.add_argument("--workdir", required=True,
                        help="directory to run in; emptied first so every run starts clean")
    parser.add_argument("--update", action="store_true", help="rewrite the expected file")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    run = subprocess.run(command, cwd=args.workdir, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, errors="replace", timeout=300)
    if run.returncode != 0:
        sys.stdout.write(run.stdout)
        sys.stderr.write(run.stderr)
        print(f"transcript: {' '.join(command)} exited with {run.returncode}", file=sys.stderr)
        return 1
    actual = normalise(run.stdout, args.workdir)

    update = args.update or os.environ.get("WORKBOOK_UPDATE_TRANSCRIPTS") == "1"
    if update:
        with open(args.expected, "w", encoding="utf-8") as f:
            f.write(actual)
        print(f"transcript: wrote {args.expected}")
        return 0
    try:
        with open(args.expected, encoding="utf-8") as f:
            expected = normalise(f.read())
    except FileNotFoundError:
        print(f"transcript: {args.expected} is missing; create it with "
              "./workbook test --update-transcripts", file=sys.stderr)
        return 1
    if expected == actual:
        print(f"transcript: output matches {args.expected}")
        return 0
    sys.stdout.write(diff(expected, actual, args.expected))
    print("transcript: output differs from the expected transcript (diff above). If the change "
          "is intended, run ./workbook test --update-transcripts and review the diff in git.",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
