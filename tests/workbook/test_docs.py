"""tools/docs_include.py on a fixture page: in sync passes, drift fails with a diff, sync mends."""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(os.environ.get("WORKBOOK_ROOT", pathlib.Path(__file__).resolve().parents[2]))
TOOL = ROOT / "tools/docs_include.py"
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"

PAGE = """# Fixture

<!-- include: source.cpp#{anchor} -->
```cpp
{body}
```
"""
IN_SYNC = '// Two lines the docs show.\nconst char* greeting = "hello";'


class DocsAnchors(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp())
        shutil.copy(FIXTURES / "source.cpp", self.tmp / "source.cpp")
        self.page = self.tmp / "page.md"

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_tool(self, mode, body, anchor="greet"):
        self.page.write_text(PAGE.format(anchor=anchor, body=body))
        return subprocess.run([sys.executable, str(TOOL), mode, "--root", str(self.tmp),
                               str(self.page)], capture_output=True, text=True)

    def test_block_equal_to_the_anchor_passes(self):
        run = self.run_tool("check", IN_SYNC)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("1 include(s)", run.stdout)

    def test_drifted_block_fails_with_a_diff(self):
        run = self.run_tool("check", IN_SYNC.replace("hello", "bye"))
        self.assertEqual(run.returncode, 1)
        self.assertIn("block differs from source.cpp#greet", run.stdout)
        self.assertIn('-const char* greeting = "bye";', run.stdout)
        self.assertIn('+const char* greeting = "hello";', run.stdout)

    def test_missing_anchor_fails(self):
        run = self.run_tool("check", IN_SYNC, anchor="nope")
        self.assertEqual(run.returncode, 1)
        self.assertIn("no '// ANCHOR: nope' marker", run.stdout)

    def test_sync_rewrites_the_block_from_the_source(self):
        run = self.run_tool("sync", "stale")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn(IN_SYNC, self.page.read_text())
        again = subprocess.run([sys.executable, str(TOOL), "check", "--root", str(self.tmp),
                                str(self.page)], capture_output=True, text=True)
        self.assertEqual(again.returncode, 0, again.stdout)


if __name__ == "__main__":
    unittest.main()
