"""tools/transcript.py: normalisation, and a readable diff when a transcript drifts."""
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(os.environ.get("WORKBOOK_ROOT", pathlib.Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(ROOT / "tools"))
import transcript  # noqa: E402


class Normalise(unittest.TestCase):
    def test_dates_message_ids_and_boundaries_become_placeholders(self):
        text = ("Date: Thu, 26 Nov 2026 02:45:57 +0000\n"
                "Message-ID: <176.1234.5@host.example>\n"
                "Content-Type: multipart/mixed; boundary=\"MIME_boundary_01234567\"\n"
                "stored at 2026-11-26T02:45:57Z\n")
        self.assertEqual(transcript.normalise(text),
                         "Date: <DATE>\nMessage-ID: <MESSAGE-ID>\n"
                         "Content-Type: multipart/mixed; boundary=\"<BOUNDARY>\"\n"
                         "stored at <TIMESTAMP>\n")

    def test_workdir_ports_and_durations(self):
        text = "wrote /tmp/xyz/run/ch01.db via 127.0.0.1:40123 in 0.25 s\n"
        self.assertEqual(transcript.normalise(text, "/tmp/xyz/run"),
                         "wrote <WORKDIR>/ch01.db via 127.0.0.1:<PORT> in <DURATION>\n")

    def test_boost_test_line_numbers(self):
        text = 'tests/flasky/test_basics.cpp(64): error: in "SeedErrata/x": check failed\n'
        self.assertEqual(transcript.normalise(text),
                         'tests/flasky/test_basics.cpp(<LINE>): error: in "SeedErrata/x": '
                         "check failed\n")

    def test_ordinary_text_is_left_alone(self):
        text = ">>> u.ident\n<Identification 123>\n>>> print u.role\n<Role admin>\n"
        self.assertEqual(transcript.normalise(text), text)


class Compare(unittest.TestCase):
    def run_tool(self, expected_text, *extra, program="print('hello'); print('world')"):
        with tempfile.TemporaryDirectory() as tmp:
            expected = pathlib.Path(tmp, "expected-output.txt")
            if expected_text is not None:
                expected.write_text(expected_text)
            run = subprocess.run(
                [sys.executable, str(ROOT / "tools/transcript.py"), "--expected", str(expected),
                 "--workdir", str(pathlib.Path(tmp, "work")), *extra, "--",
                 sys.executable, "-c", program],
                capture_output=True, text=True, env={**os.environ, "WORKBOOK_UPDATE_TRANSCRIPTS": ""})
            written = expected.read_text() if expected.exists() else None
            return run, written

    def test_matching_output_passes(self):
        run, _ = self.run_tool("hello\nworld\n")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_wrong_expected_output_fails_with_unified_diff(self):
        run, _ = self.run_tool("hello\nplanet\n")
        self.assertEqual(run.returncode, 1)
        self.assertIn("-planet", run.stdout)
        self.assertIn("+world", run.stdout)
        self.assertIn("@@", run.stdout)
        self.assertIn("--update-transcripts", run.stderr)

    def test_missing_expected_file_says_how_to_create_it(self):
        run, _ = self.run_tool(None)
        self.assertEqual(run.returncode, 1)
        self.assertIn("--update-transcripts", run.stderr)

    def test_update_rewrites_the_expected_file(self):
        run, written = self.run_tool("stale\n", "--update")
        self.assertEqual(run.returncode, 0)
        self.assertEqual(written, "hello\nworld\n")

    def test_failing_program_fails_the_transcript(self):
        run, _ = self.run_tool("", program="import sys; print('partial'); sys.exit(3)")
        self.assertEqual(run.returncode, 1)
        self.assertIn("exited with 3", run.stderr)


if __name__ == "__main__":
    unittest.main()
