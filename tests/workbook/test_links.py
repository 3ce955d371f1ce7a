"""Every relative link in docs/ and README.md leads somewhere: the file exists, and a
#fragment names a heading of the target page (GitHub's heading ids). The Chinese edition in
docs/zh/ is checked too: its links to the English pages and to repository files go up a
level more (../../bench/README.md), and its headings keep their Chinese characters in the id."""
import os
import pathlib
import re
import unittest

ROOT = pathlib.Path(os.environ.get("WORKBOOK_ROOT", pathlib.Path(__file__).resolve().parents[2]))
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(?P<text>.+?)\s*$")


def slug(heading):
    """GitHub's id for a heading: the rendered text, lowercased, punctuation dropped."""
    text = heading.replace("\\_", "_").replace("`", "").replace("*", "")
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).lower()
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def headings(page):
    ids, inside = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
        elif not inside and (m := HEADING.match(line)):
            ids.add(slug(m["text"]))
    return ids


def broken_links(page):
    problems, inside = [], False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            inside = not inside
        if inside:
            continue
        for m in LINK.finditer(line):
            target = m["target"]
            if re.match(r"^[a-z]+:", target):
                continue  # http:, mailto:
            path, _, fragment = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                problems.append(f"{page.relative_to(ROOT)}:{number}: no such file {path}")
            elif fragment and file.suffix == ".md" and fragment not in headings(file):
                problems.append(f"{page.relative_to(ROOT)}:{number}: {file.name} has no "
                                f"heading #{fragment}")
    return problems


def checked_pages():
    """Every page of docs/, its translations (docs/zh/) included, and the README."""
    return sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]


class Links(unittest.TestCase):
    def test_every_relative_link_resolves(self):
        problems = [p for page in checked_pages() for p in broken_links(page)]
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_slug_follows_github(self):
        self.assertEqual(slug("Section 3 — config.py"), "section-3--configpy")
        self.assertEqual(slug("app/main/\\_\\_init\\_\\_.py — the blueprint"),
                         "appmain__init__py--the-blueprint")
        self.assertEqual(slug("A request's path through the code"),
                         "a-requests-path-through-the-code")
        self.assertEqual(slug("第 3 节 —— config.py"), "第-3-节--configpy")
        self.assertEqual(slug("app/main/\\_\\_init\\_\\_.py —— blueprint"),
                         "appmain__init__py--blueprint")

    def test_the_chinese_edition_is_checked(self):
        zh = sorted((ROOT / "docs" / "zh").glob("*.md"))
        self.assertTrue(zh, "docs/zh/ has no pages")
        self.assertTrue(set(zh) <= set(checked_pages()), "docs/zh/ is not checked")

if __name__ == "__main__":
    unittest.main()
