"""The docs site (tools/docs_site.py): the real docs/ render with no broken link, no missing
image and no page out of reach; a small fixture book shows the order, the language switch and
the diagram; and the link walk catches each kind of breakage it is there for."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = pathlib.Path(os.environ.get("WORKBOOK_ROOT", pathlib.Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(ROOT / "tools"))
import docs_site  # noqa: E402

CH01_BIN = os.environ.get("CH01_BIN", str(ROOT / "build" / "bin" / "ch01_relationships"))


def render(root, out):
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "docs_site.py"), "--root", str(root),
                          "--out", str(out), "--ch01-bin", CH01_BIN],
                         capture_output=True, text=True, timeout=50)
    return run


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


class RealDocs(unittest.TestCase):
    """docs/ as it is in the tree: whatever pages the other chapters' authors add."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = pathlib.Path(cls.tmp.name) / "site"
        cls.result = render(ROOT, cls.out)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_renders_and_prints_index(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertEqual(self.result.stdout.strip(), str(self.out / "index.html"))

    def test_every_link_and_image_resolves_and_every_page_is_reachable(self):
        self.assertEqual(docs_site.check_site(self.out), [])

    def test_every_page_of_docs_is_rendered_and_in_the_contents(self):
        index = (self.out / "index.html").read_text(encoding="utf-8")
        nav = re.search(r'<nav class="book".*?</nav>', index, re.S).group(0)
        for page in (ROOT / "docs").rglob("*.md"):
            rel = page.relative_to(ROOT / "docs").with_suffix(".html").as_posix()
            self.assertTrue((self.out / rel).is_file(), rel)
            if not re.fullmatch(r"[a-z]{2}(-[A-Z]{2})?/.*", rel):  # other editions: own nav
                self.assertIn(f'href="{rel}"', nav)

    def test_the_chinese_edition_has_its_contents_and_a_switch_to_english(self):
        zh_pages = sorted((ROOT / "docs" / "zh").glob("*.md"))
        if not zh_pages:
            self.skipTest("docs/zh/ has no pages")
        index = (self.out / "zh" / "index.html").read_text(encoding="utf-8")
        nav = re.search(r'<nav class="book".*?</nav>', index, re.S).group(0)
        for page in zh_pages:
            name = page.with_suffix(".html").name
            self.assertIn(f'href="{name}"', nav, f"zh/{name} is not in the Chinese contents")
            if (ROOT / "docs" / page.name).is_file():
                html = (self.out / "zh" / name).read_text(encoding="utf-8")
                self.assertIn(f'<a hreflang="en" href="../{name}">', html, f"zh/{name}")

    def test_code_is_highlighted_and_pages_chain(self):
        cpp_page = next(p for p in (ROOT / "docs").glob("*.md") if "```cpp" in p.read_text())
        html = (self.out / cpp_page.with_suffix(".html").name).read_text(encoding="utf-8")
        highlighted = r'<pre\s+class="sourceCode cpp"><code class="sourceCode cpp">.*?<span class="kw">'
        self.assertTrue(re.search(highlighted, html, re.S), f"no highlighted C++ in {cpp_page.name}")
        self.assertIn('rel="prev"', html)
        self.assertIn(".kw { color:", (self.out / "highlight.css").read_text())

    def test_images_the_pages_show_are_copied(self):
        for page in (ROOT / "docs").rglob("*.md"):
            for image in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", page.read_text(encoding="utf-8")):
                if "://" not in image:
                    target = (page.parent / image).resolve().relative_to((ROOT / "docs").resolve())
                    self.assertTrue((self.out / target).is_file(), f"{page.name}: {image}")


class FixtureBook(unittest.TestCase):
    """A small book in a temporary repository: order, editions, diagram, outside links."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.tmp.name) / "repo"
        self.out = pathlib.Path(self.tmp.name) / "site"
        write(self.root, {
            "docs/index.md": """\
                # Book — reading order

                1. [Two](02-two.md) comes first on purpose, then [One](01-one.md#later).
                2. [the benchmarks](../bench/README.md)
                """,
            "docs/01-one.md": """\
                # 01 — One: the first

                ## Later

                <!-- diagram: ch01-tables -->

                    +-------+
                    | users |
                    +-------+

                ```cpp
                int main() { return 0; }
                ```
                """,
            "docs/02-two.md": "# 02 — Two\n\nSee [one](01-one.md) and ![shot](images/x.png).\n",
            "docs/02-two-appendix.md": "# 02 — Two, appendix\n\nNot linked from the index.\n",
            "docs/images/x.png": "not really a png",
            "docs/zh/index.md": "# 书\n\n[一](01-one.md)\n",
            "docs/zh/01-one.md": "# 01 — 一\n",
            "bench/README.md": "# Bench\n\nBack to [the book](../docs/index.md).\n",
        })

    def tearDown(self):
        self.tmp.cleanup()

    def test_fixture_book(self):
        run = render(self.root, self.out)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(docs_site.check_site(self.out), [])
        index = (self.out / "index.html").read_text(encoding="utf-8")
        nav = re.search(r'<nav class="book".*?</nav>', index, re.S).group(0)
        # Order: the index's links, then the unlinked appendix right after its sibling.
        self.assertEqual(re.findall(r'href="([^"]+)"', nav),
                         ["index.html", "02-two.html", "02-two-appendix.html", "01-one.html"])
        self.assertIn('href="01-one.html#later"', index)
        self.assertIn('href="repo/bench/README.html"', index)
        one = (self.out / "01-one.html").read_text(encoding="utf-8")
        # Language switch to the same page; the drawing replaced by the generated figure.
        self.assertIn('<a hreflang="zh" href="zh/01-one.html">', one)
        self.assertIn('<img src="images/ch01-tables.svg"', one)
        self.assertNotIn("| users |", one)
        self.assertIn('rel="prev" href="02-two-appendix.html"', one)
        zh = (self.out / "zh" / "01-one.html").read_text(encoding="utf-8")
        self.assertIn('<a hreflang="en" href="../01-one.html">', zh)
        self.assertIn('<html lang="zh">', zh)
        # The diagram comes from the tables create_all() really made.
        svg = (self.out / "images" / "ch01-tables.svg").read_text(encoding="utf-8")
        for table in ("idents", "users", "roles", "students", "classes", "relations"):
            self.assertIn(f">{table}<", svg)
        dot = (self.out / "images" / "ch01-tables.dot").read_text(encoding="utf-8")
        self.assertIn('"roles":"id_e":e -> "users":"role_id":w', dot)

    def test_a_link_to_a_missing_page_fails_the_render(self):
        write(self.root, {"docs/02-two.md": "# Two\n\n[gone](03-gone.md)\n"})
        run = render(self.root, self.out)
        self.assertEqual(run.returncode, 1)
        self.assertIn("docs/02-two.md: link to a missing file: 03-gone.md", run.stderr)


class CheckCatches(unittest.TestCase):
    """check_site on hand-made sites: each kind of breakage is reported."""

    def site(self, files):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        root = pathlib.Path(tmp.name)
        write(root, files)
        return root

    def test_broken_link_missing_image_bad_fragment_orphan(self):
        out = self.site({
            "index.html": '<a href="a.html#x">a</a> <a href="gone.html">gone</a>',
            "a.html": '<h2 id="y">y</h2><img src="img/missing.png"><a href="index.html">home</a>',
            "orphan.html": "<p>nobody links here</p>",
        })
        problems = "\n".join(docs_site.check_site(out))
        self.assertIn("index.html: <a href=\"gone.html\">: file not found", problems)
        self.assertIn("no id 'x' on a.html", problems)
        self.assertIn("a.html: <img src=\"img/missing.png\">: image not found", problems)
        self.assertIn("orphan.html: not reachable from index.html", problems)

    def test_clean_site_passes(self):
        out = self.site({"index.html": '<a href="a.html#y">a</a>', "a.html": '<h2 id="y">y</h2>'})
        self.assertEqual(docs_site.check_site(out), [])


if __name__ == "__main__":
    unittest.main()
