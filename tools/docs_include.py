#!/usr/bin/env python3
"""Docs pull code from the sources by anchor, so what a page shows is what compiles.

A page writes

    <!-- include: chapters/01-relationships/relationships.cpp#models -->
    ```cpp
    ...
    ```

and the fenced block must equal the lines between `// ANCHOR: models` and
`// ANCHOR_END: models` in that file (common indentation removed; anchor lines inside the
region are dropped, as mdBook does). `check` reports every drifted block with a unified diff
and exits 1; `sync` rewrites the blocks from the sources.

By default every page under docs/ is checked, the translations in docs/<lang>/ (docs/zh/)
included: a Chinese page includes the same anchors as its English page, so both show the
code that compiles.
"""
import argparse
import difflib
import pathlib
import re
import sys
import textwrap

INCLUDE = re.compile(r"^<!--\s*include:\s*(?P<path>[^#\s]+)#(?P<anchor>[\w-]+)\s*-->\s*$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<info>.*)$")
MARK = re.compile(r"^\s*(?://|#|<!--|\{\{!)\s*ANCHOR(?P<end>_END)?:\s*(?P<name>[\w-]+)")


class DocsError(Exception):
    pass


def anchor_lines(root, path, anchor):
    """The lines of `path` between ANCHOR and ANCHOR_END for `anchor`, dedented."""
    source = root / path
    if not source.is_file():
        raise DocsError(f"{path}: no such file")
    lines, inside, found = [], False, False
    for line in source.read_text(encoding="utf-8").splitlines():
        mark = MARK.match(line)
        if mark:
            if mark["name"] == anchor:
                if mark["end"] and inside:
                    inside = False
                elif not mark["end"]:
                    inside, found = True, True
            continue  # anchor lines of any name never show in the docs
        if inside:
            lines.append(line)
    if not found:
        raise DocsError(f"{path}: no '// ANCHOR: {anchor}' marker")
    if inside:
        raise DocsError(f"{path}: '// ANCHOR: {anchor}' has no ANCHOR_END")
    return textwrap.dedent("\n".join(lines)).splitlines()


def process(page, root, sync):
    """Returns (problems, new_text) for one Markdown page."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out, problems, i = [], [], 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        include = INCLUDE.match(line)
        i += 1
        if not include:
            continue
        where = f"{page}:{i}"
        if i >= len(lines) or not FENCE.match(lines[i]):
            problems.append(f"{where}: the include must be followed by a fenced code block")
            continue
        fence = FENCE.match(lines[i])["fence"]
        out.append(lines[i])
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        if j >= len(lines):
            problems.append(f"{where}: code block is not closed")
            break
        block = lines[i + 1:j]
        try:
            wanted = anchor_lines(root, include["path"], include["anchor"])
        except DocsError as e:
            problems.append(f"{where}: {e}")
            wanted = block
        if block != wanted and not sync:
            problems.append(f"{where}: block differs from {include['path']}#{include['anchor']}\n"
                            + "".join(difflib.unified_diff(
                                [l + "\n" for l in block], [l + "\n" for l in wanted],
                                fromfile=f"{page} (docs)",
                                tofile=f"{include['path']}#{include['anchor']} (source)")))
        out.extend(wanted if sync else block)
        out.append(lines[j])
        i = j + 1
    return problems, "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description="check or sync code blocks in docs")
    parser.add_argument("mode", choices=["check", "sync"])
    parser.add_argument("paths", nargs="*", help="Markdown files or folders (default: docs/, "
                        "its translations docs/<lang>/ included, and chapters/*/README.md)")
    parser.add_argument("--root", default=pathlib.Path(__file__).resolve().parent.parent,
                        type=pathlib.Path, help="where include paths start (repo root)")
    args = parser.parse_intermixed_args(argv)
    root = args.root
    paths = [pathlib.Path(p) for p in args.paths] or [root / "docs", *sorted((root / "chapters").glob("*/README.md"))]
    pages = []
    for p in paths:
        pages.extend(sorted(p.rglob("*.md")) if p.is_dir() else [p])
    problems, includes = [], 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        includes += sum(1 for l in text.splitlines() if INCLUDE.match(l))
        page_problems, new_text = process(page, root, args.mode == "sync")
        problems += page_problems
        if args.mode == "sync" and new_text != text:
            page.write_text(new_text, encoding="utf-8")
            print(f"docs: synced {page}")
    for p in problems:
        print(p)
    if problems:
        print(f"docs: {len(problems)} problem(s); run ./workbook docs --sync to take the code "
              "from the sources", file=sys.stderr)
        return 1
    translated = [p for p in pages if p.parent.parent == root / "docs"]
    print(f"docs: {includes} include(s) in {len(pages)} page(s) match their sources"
          + (f" ({len(translated)} of them translations in docs/<lang>/)" if translated else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
