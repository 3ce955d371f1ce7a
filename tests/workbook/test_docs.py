"""tools/docs_include.py on a fixture page: in sync passes, drift fails with a diff, sync mends."""
import os
import pathlib
import re
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


class ChineseEdition(unittest.TestCase):
    """docs/zh/ is checked like docs/, and shows the same code as the English pages."""

    INCLUDE = re.compile(r"^<!--\s*include:\s*\S+\s*-->\s*$")

    def test_default_check_covers_docs_zh(self):
        tmp = pathlib.Path(tempfile.mkdtemp())
        try:
            shutil.copy(FIXTURES / "source.cpp", tmp / "source.cpp")
            (tmp / "chapters").mkdir()
            (tmp / "docs" / "zh").mkdir(parents=True)
            (tmp / "docs" / "zh" / "page.md").write_text(
                PAGE.format(anchor="greet", body=IN_SYNC.replace("hello", "你好")))
            run = subprocess.run([sys.executable, str(TOOL), "check", "--root", str(tmp)],
                                 capture_output=True, text=True)
        finally:
            shutil.rmtree(tmp)
        self.assertEqual(run.returncode, 1, run.stdout)
        self.assertIn("docs/zh/page.md", run.stdout)

    def test_each_chinese_page_has_the_english_pages_includes(self):
        docs = ROOT / "docs"
        zh_pages = sorted((docs / "zh").glob("*.md"))
        self.assertTrue(zh_pages, "docs/zh/ has no pages")
        for zh in zh_pages:
            english = docs / zh.name
            self.assertTrue(english.is_file(), f"docs/zh/{zh.name} has no English page")
            includes = [[l.strip() for l in p.read_text(encoding="utf-8").splitlines()
                         if self.INCLUDE.match(l)] for p in (english, zh)]
            self.assertEqual(includes[1], includes[0],
                             f"docs/zh/{zh.name}: its includes differ from docs/{zh.name}'s")

    def test_each_english_page_links_to_its_chinese_page(self):
        # The first line of an English page: "[中文](zh/<name>)", or the Chinese front page.
        for english in sorted((ROOT / "docs").glob("*.md")):
            first = english.read_text(encoding="utf-8").splitlines()[0]
            twin = "zh/" + english.name if (ROOT / "docs/zh" / english.name).is_file() \
                else "zh/index.md"
            self.assertEqual(first, f"[中文]({twin})",
                             f"docs/{english.name}: the first line should link its Chinese page")

    def test_each_chinese_page_links_to_its_english_page(self):
        for zh in sorted((ROOT / "docs" / "zh").glob("*.md")):
            self.assertIn(f"](../{zh.name})", zh.read_text(encoding="utf-8"),
                          f"docs/zh/{zh.name} does not link back to ../{zh.name}")


if __name__ == "__main__":
    unittest.main()
