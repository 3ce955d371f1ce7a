"""The docs quote the notes exactly.

A page that shows code "as the notes write it" puts a marker on the line before the fenced
block (or before the block's include comment):

    <!-- notes: section 5 -->
    ```python
    ...
    ```

and the block must occur in section 5 of ../shared/seed/notes.txt (beside the repository),
line for line and character for character. Whitespace is normalised on both sides: each
line's leading and trailing whitespace is dropped, runs of spaces inside a line count as one,
and blank lines are skipped. So a page may re-indent the notes' stray indentation, but not
add a space after a comma, fix a typo or add a comment. Fixes belong outside the block, with
an entry in docs/errata.md.

A fence whose introducing paragraph says "as the notes write it" (or "them"; on the Chinese
pages in docs/zh/, "照笔记原样") must carry a marker, so an unchecked quotation cannot slip in.
Every page under docs/ is checked, the Chinese edition included.
"""
import os
import pathlib
import re
import unittest

ROOT = pathlib.Path(os.environ.get("WORKBOOK_ROOT", pathlib.Path(__file__).resolve().parents[2]))
NOTES = (ROOT / ".." / "shared" / "seed" / "notes.txt").resolve()
DOCS = ROOT / "docs"

MARKER = re.compile(r"^<!--\s*notes:\s*section\s+(?P<section>\d+)\s*-->\s*$")
LOOSE_MARKER = re.compile(r"^<!--\s*notes\b")  # an indented one is an example, not a marker
INCLUDE = re.compile(r"^<!--\s*include:.*-->\s*$")
FENCE = re.compile(r"^(```+|~~~+)")
CLAIM = re.compile(r"as the notes write (it|them)|照笔记原样", re.IGNORECASE)
SECTION = re.compile(r"^(?P<number>\d+)\.")  # "1.flask中的..." starts section 1


def normalise(lines):
    """Lines with outer whitespace dropped, inner runs collapsed, blank lines skipped."""
    return [" ".join(line.split()) for line in lines if line.strip()]


def notes_sections(text):
    """{section number: its normalised lines} of notes.txt."""
    sections, current = {}, None
    for line in text.splitlines():
        heading = SECTION.match(line)
        if heading:
            current = int(heading["number"])
            sections.setdefault(current, [])
        if current is not None:
            sections[current].extend(normalise([line]))
    return sections


def contains_run(haystack, needle):
    return any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def marked_blocks(page_text):
    """[(line number, section, block lines)] for every notes marker, and the problems found."""
    lines = page_text.splitlines()
    blocks, problems = [], []
    for index, line in enumerate(lines):
        if LOOSE_MARKER.match(line) and not MARKER.match(line):
            problems.append(f"line {index + 1}: malformed notes marker {line.strip()!r}; "
                            "write <!-- notes: section N --> alone on its line")
            continue
        marker = MARKER.match(line)
        if not marker:
            continue
        at = index + 1
        if at < len(lines) and INCLUDE.match(lines[at]):
            at += 1
        fence = FENCE.match(lines[at]) if at < len(lines) else None
        if not fence:
            problems.append(f"line {index + 1}: a notes marker must be followed by a fenced "
                            "code block (an include comment may come between)")
            continue
        end = next((j for j in range(at + 1, len(lines)) if lines[j].startswith(fence[1])), None)
        if end is None:
            problems.append(f"line {at + 1}: the fenced block never closes")
            continue
        blocks.append((index + 1, int(marker["section"]), lines[at + 1:end]))
    return blocks, problems


def unmarked_claims(page_text):
    """Line numbers of fences introduced by "as the notes write it" without a marker."""
    lines = page_text.splitlines()
    found, inside = [], False
    for index, line in enumerate(lines):
        if not FENCE.match(line):
            continue
        if inside:
            inside = False
            continue
        inside = True
        before = index - 1
        if before >= 0 and INCLUDE.match(lines[before]):
            before -= 1
        if before >= 0 and MARKER.match(lines[before]):
            continue
        # the paragraph just above the fence (a blank line may separate them)
        while before >= 0 and not lines[before].strip():
            before -= 1
        paragraph = []
        while before >= 0 and lines[before].strip() and not FENCE.match(lines[before]):
            paragraph.insert(0, lines[before])
            before -= 1
        if CLAIM.search(" ".join(paragraph)):
            found.append(index + 1)
    return found


def check_page(page_text, sections):
    """The problems of one page: each a line of text saying what to fix."""
    blocks, problems = marked_blocks(page_text)
    for line, section, block in blocks:
        wanted = normalise(block)
        if section not in sections:
            problems.append(f"line {line}: the notes have no section {section}")
        elif not wanted:
            problems.append(f"line {line}: the marked block is empty")
        elif not contains_run(sections[section], wanted):
            missing = next((w for w in wanted if w not in sections[section]), None)
            hint = (f"this line is not in section {section}: {missing!r}" if missing else
                    f"every line is in section {section}, but not in this order")
            problems.append(f"line {line}: block differs from the notes; {hint}")
    for line in unmarked_claims(page_text):
        problems.append(f"line {line}: a block introduced as 'as the notes write it' has no "
                        "<!-- notes: section N --> marker")
    return problems


def read_notes(ci=None):
    if not NOTES.is_file():
        why = (f"the notes are missing: expected {NOTES} (../shared/seed/notes.txt beside the "
               "repository root). The docs' notes blocks are checked against that file; copy it "
               "there and run again.")
        # CI always has the notes, so there a missing file is a failure; a reader's clone of
        # the repository alone has no notes, and the rest of the suite still means something.
        if (os.environ.get("CI") == "true") if ci is None else ci:
            raise AssertionError(why)
        raise unittest.SkipTest(why)
    return notes_sections(NOTES.read_text(encoding="utf-8"))


class NotesBlocks(unittest.TestCase):
    """Every marked block on every page of docs/ occurs in the notes."""

    def test_every_marked_block_is_in_the_notes(self):
        sections = read_notes()
        report = []
        for page in sorted(DOCS.rglob("*.md")):
            for problem in check_page(page.read_text(encoding="utf-8"), sections):
                report.append(f"{page.relative_to(ROOT)}:{problem}")
        self.assertEqual(report, [], "\n" + "\n".join(report))

    def test_the_chapters_that_quote_the_notes_carry_markers(self):
        # A page that loses its markers would pass the test above by checking nothing.
        for name, least in {"03-config.md": 1, "04-factory-blueprints.md": 2,
                            "05-unittest.md": 2}.items():
            for page in (DOCS / name, DOCS / "zh" / name):
                blocks, _ = marked_blocks(page.read_text(encoding="utf-8"))
                self.assertGreaterEqual(len(blocks), least,
                                        f"{page.relative_to(ROOT)} has too few notes blocks")

    def test_the_chinese_pages_quote_what_the_english_pages_quote(self):
        # A translation keeps every quotation of the notes, in the same order.
        for zh in sorted((DOCS / "zh").glob("*.md")):
            english = DOCS / zh.name
            if not english.is_file():
                continue
            wanted = [(s, b) for _, s, b in marked_blocks(english.read_text(encoding="utf-8"))[0]]
            got = [(s, b) for _, s, b in marked_blocks(zh.read_text(encoding="utf-8"))[0]]
            self.assertEqual([s for s, _ in got], [s for s, _ in wanted],
                             f"{zh.relative_to(ROOT)}: its notes markers (sections) differ from "
                             f"docs/{zh.name}'s")


class Transcripts(unittest.TestCase):
    """Chapter 05 prints the notes' code; its transcript must quote them exactly too."""

    def quoted(self, text, banner, until):
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith(banner)) + 1
        end = next(i for i in range(start, len(lines)) if lines[i].startswith(until))
        return lines[start:end]

    def test_chapter_05_prints_the_notes_code(self):
        sections = read_notes()
        text = (ROOT / "chapters/05-unittest/expected-output.txt").read_text(encoding="utf-8")
        for banner, until in (("---- the notes: test_basic.py", "Typed as written"),
                              ("---- the notes: manager.py", "It discovers")):
            block = normalise(self.quoted(text, banner, until))
            self.assertTrue(block, banner)
            self.assertTrue(contains_run(sections[5], block),
                            f"the transcript's '{banner}' differs from the notes' section 5")


class Checker(unittest.TestCase):
    """The checker itself, on small pages (so the test above can fail)."""

    NOTES_TEXT = ("5.利用unittest\n"
                  "    def test_app_exits(self):  \n"
                  "        self.assertFalse(current_app is None)  \n"
                  "6.\napp/main/__int__.py\n")

    def setUp(self):
        self.sections = notes_sections(self.NOTES_TEXT)

    def page(self, block, section=5, claim=False):
        intro = "As the notes write it:\n" if claim else "Text.\n"
        marker = f"<!-- notes: section {section} -->\n" if section else ""
        return f"# Page\n\n{intro}{marker}```python\n{block}\n```\n"

    def test_exact_block_passes_with_other_indentation(self):
        block = "def test_app_exits(self):\n    self.assertFalse(current_app is None)"
        self.assertEqual(check_page(self.page(block), self.sections), [])

    def test_corrected_typo_fails(self):
        block = "def test_app_exists(self):\n    self.assertFalse(current_app is None)"
        problems = check_page(self.page(block), self.sections)
        self.assertEqual(len(problems), 1)
        self.assertIn("'def test_app_exists(self):'", problems[0])

    def test_added_comment_fails(self):
        block = "def test_app_exits(self):  # typo\n    self.assertFalse(current_app is None)"
        self.assertEqual(len(check_page(self.page(block), self.sections)), 1)

    def test_lines_of_another_section_fail(self):
        problems = check_page(self.page("app/main/__int__.py"), self.sections)
        self.assertEqual(len(problems), 1)
        self.assertIn("not in section 5", problems[0])

    def test_chinese_claim_without_marker_fails(self):
        page = "# 页面\n\n照笔记原样：\n```python\ndef test_app_exits(self):\n```\n"
        problems = check_page(page, self.sections)
        self.assertEqual(len(problems), 1)
        self.assertIn("has no <!-- notes: section N --> marker", problems[0])

    def test_claim_without_marker_fails(self):
        block = "def test_app_exits(self):"
        problems = check_page(self.page(block, section=None, claim=True), self.sections)
        self.assertEqual(len(problems), 1)
        self.assertIn("has no <!-- notes: section N --> marker", problems[0])

    def test_marker_without_block_fails(self):
        problems = check_page("<!-- notes: section 5 -->\ntext\n", self.sections)
        self.assertIn("must be followed by a fenced code block", problems[0])

    def test_missing_notes_file_fails_with_a_clear_message(self):
        global NOTES
        saved, NOTES = NOTES, ROOT / "no-such-folder" / "notes.txt"
        try:
            with self.assertRaises(AssertionError) as caught:
                read_notes(ci=True)
            with self.assertRaises(unittest.SkipTest) as skipped:
                read_notes(ci=False)
        finally:
            NOTES = saved
        for e in (caught.exception, skipped.exception):
            self.assertIn("the notes are missing", str(e))
            self.assertIn("../shared/seed/notes.txt", str(e))

    def test_misspelt_marker_fails(self):
        problems = check_page("<!-- notes section 5 -->\n```\nx\n```\n", self.sections)
        self.assertIn("malformed notes marker", problems[0])


if __name__ == "__main__":
    unittest.main()
