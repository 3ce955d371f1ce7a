"""./workbook's argument errors: each names what is valid and exits 2, before installing
or building anything."""
import os
import pathlib
import subprocess
import unittest

ROOT = pathlib.Path(os.environ.get("WORKBOOK_ROOT", pathlib.Path(__file__).resolve().parents[2]))


def workbook(*args):
    return subprocess.run([str(ROOT / "workbook"), *args], capture_output=True, text=True,
                          timeout=60)


class Arguments(unittest.TestCase):
    def test_unknown_subcommand_lists_the_valid_ones(self):
        run = workbook("frobnicate")
        self.assertEqual(run.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", run.stderr)
        for name in ("run", "test", "serve", "bench", "docs"):
            self.assertIn(name, run.stderr)

    def test_unknown_chapter_lists_the_valid_ones(self):
        for command in ("run", "test"):
            run = workbook(command, "99")
            self.assertEqual(run.returncode, 2, run.stderr)
            self.assertIn("unknown chapter '99'", run.stderr)
            self.assertIn("valid chapters:", run.stderr)
            chapters = sorted(p.name[:2] for p in (ROOT / "chapters").glob("[0-9][0-9]-*")
                              if (p / "CMakeLists.txt").exists())
            for nn in chapters:
                self.assertIn(nn, run.stderr)

    def test_unknown_option_is_refused(self):
        run = workbook("test", "--frobnicate")
        self.assertEqual(run.returncode, 2)
        self.assertIn("unknown option", run.stderr)

    def test_help_lists_every_subcommand(self):
        run = workbook("--help")
        self.assertEqual(run.returncode, 0)
        for name in ("run", "test", "serve", "bench", "docs", "fuzz", "tsan", "--update-transcripts"):
            self.assertIn(name, run.stdout)

    def test_help_has_no_leftovers_from_the_build_up(self):
        # Every command is here now; the usage must not promise them for later.
        run = workbook("--help")
        for stale in ("brought by", "benchmarks issue", "not here yet"):
            self.assertNotIn(stale, run.stdout)
        self.assertNotIn("not here yet", (ROOT / "workbook").read_text())

    def test_no_command_prints_usage_and_fails(self):
        run = workbook()
        self.assertEqual(run.returncode, 2)
        self.assertIn("Usage:", run.stderr)


if __name__ == "__main__":
    unittest.main()
