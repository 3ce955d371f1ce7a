#!/usr/bin/env python3
"""Renders docs/ to a static site with pandoc: the book as a reader sees it in a browser.

    tools/docs_site.py --out build/docs --ch01-bin build/bin/ch01_relationships

The pages stay plain GitHub Markdown (readable on any forge); everything the site adds is
worked out here, so no page has to know about it:

- the pages and their order: docs/index.md's links first, in the order they appear, then any
  other page, placed after the page whose file name sorts just before it (a split page
  `04-factory-blueprints-routes.md` lands after `04-factory-blueprints.md`);
- a table of contents of the whole book beside every page, one of the page's own sections on
  top, previous/next links at the bottom;
- a language switch: an edition is a folder docs/<lang>/ with its own index.md (docs/zh/);
  a page with the same name in another edition is linked from the switch;
- links between pages (`02-mail.md#sending`) point at the rendered page; a link to a file
  outside docs/ (bench/README.md, a source file) renders or copies that file under repo/;
- `<!-- diagram: NAME -->` before a drawing in a page puts the generated figure NAME in its
  place on the site (the forge keeps showing the drawing); see DIAGRAMS;
- `<!-- include: path#anchor -->` (tools/docs_include.py) becomes a caption naming the source.

After rendering, check_site() walks the HTML: every local link and image must resolve, every
`#fragment` must name an id on its page, and every page must be reachable from index.html.
"""
import argparse
import concurrent.futures
import copy
import html
import json
import os
import pathlib
import posixpath
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATES = pathlib.Path(__file__).resolve().parent / "site_templates"
LANG_NAMES = {"en": "English", "zh": "中文"}
EDITION_DIR = re.compile(r"[a-z]{2}(-[A-Z]{2})?")
DIAGRAM = re.compile(r"^<!--\s*diagram:\s*(?P<name>[\w-]+)\s*-->\s*$")
INCLUDE = re.compile(r"^<!--\s*include:\s*(?P<path>[^#\s]+)#(?P<anchor>[\w-]+)\s*-->\s*$")
CURRENT = ' class="current"'
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, mailto:, data: ...


class SiteError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Diagrams: drawn from the code itself so that they cannot drift from it.


def ch01_tables_dot(ch01_bin):
    """DOT for chapter 01's tables, read back from the schema the chapter really creates.

    The chapter's executable runs create_all() on a fresh SQLite file in a temporary folder;
    sqlite3 then lists the tables, their columns (PRAGMA table_info), unique indexes and
    foreign keys (PRAGMA foreign_key_list). Change a model and the figure follows."""
    if not ch01_bin or not pathlib.Path(ch01_bin).is_file():
        raise SiteError(f"the chapter 01 executable is missing ({ch01_bin or 'not given'}); build "
                        "it first: cmake --build build --target ch01_relationships")
    with tempfile.TemporaryDirectory() as tmp:
        database = pathlib.Path(tmp) / "ch01.db"
        run = subprocess.run([str(ch01_bin), "--database", f"sqlite:///{database}"], cwd=tmp,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0 or not database.is_file():
            raise SiteError(f"{ch01_bin} failed ({run.returncode}): {run.stderr.strip()}")
        with sqlite3.connect(database) as con:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name")]
            schema = {}
            for t in tables:
                info = con.execute(f'PRAGMA table_info("{t}")')
                columns = [(r[1], r[2], bool(r[5])) for r in info]  # name, type, primary key
                unique = set()
                for index in con.execute(f'PRAGMA index_list("{t}")'):
                    if index[2]:  # unique
                        cols = [r[2] for r in con.execute(f'PRAGMA index_info("{index[1]}")')]
                        if len(cols) == 1:
                            unique.add(cols[0])
                keys = [(r[3], r[2], r[4]) for r in con.execute(f'PRAGMA foreign_key_list("{t}")')]
                schema[t] = (columns, unique, keys)
    if not schema:
        raise SiteError(f"{ch01_bin} created no tables")
    lines = ["digraph ch01 {", "  rankdir=LR;", '  node [shape=plaintext, fontname="Helvetica"];',
             '  edge [arrowhead=crow, arrowtail=none, fontname="Helvetica", fontsize=10];']
    for t, (columns, unique, keys) in schema.items():
        fk = {k[0] for k in keys}
        rows = [f'<tr><td bgcolor="#343a40" colspan="2"><font color="white"><b>{t}</b></font>'
                '</td></tr>']
        for name, type_, pk in columns:
            flags = (("PK", pk), ("FK", name in fk), ("UNIQUE", name in unique))
            marks = " ".join(mark for mark, on in flags if on)
            rows.append(f'<tr><td port="{name}" align="left">{html.escape(name)}</td>'
                        f'<td port="{name}_e" align="left"><font color="#6c757d">'
                        f'{html.escape(f"{type_} {marks}".strip())}</font></td></tr>')
        lines.append(f'  "{t}" [label=<<table border="0" cellborder="1" cellspacing="0" '
                     f'cellpadding="4">{"".join(rows)}</table>>];')
    for t, (_, _, keys) in schema.items():
        for column, target, target_column in keys:
            # An arrow from the referenced row to the rows that point at it: one → many.
            lines.append(f'  "{target}":"{target_column}_e":e -> "{t}":"{column}":w '
                         '[dir=both, arrowtail=tee];')
    lines.append("}")
    return "\n".join(lines) + "\n"


DIAGRAMS = {
    "ch01-tables": ("Chapter 01's tables and foreign keys, drawn by graphviz from the schema "
                    "that create_all() makes", ch01_tables_dot),
}


def render_diagram(name, out, options):
    caption, make_dot = DIAGRAMS[name]
    dot = make_dot(options.ch01_bin)
    target = out / "images" / f"{name}.svg"
    target.parent.mkdir(parents=True, exist_ok=True)
    (out / "images" / f"{name}.dot").write_text(dot, encoding="utf-8")
    run = subprocess.run(["dot", "-Tsvg", "-o", str(target)], input=dot, text=True,
                         capture_output=True)
    if run.returncode != 0:
        raise SiteError(f"graphviz failed on diagram {name}: {run.stderr.strip()}")
    return f"images/{name}.svg", caption


# ---------------------------------------------------------------------------------------------
# Pages: where they come from, where they go, in which order.


def editions(docs):
    """[(lang, folder)]: English is docs/ itself, every docs/<lang>/index.md another edition."""
    found = [("en", docs)]
    for d in sorted(p for p in docs.iterdir() if p.is_dir()):
        if EDITION_DIR.fullmatch(d.name) and (d / "index.md").is_file():
            found.append((d.name, d))
    return found


def site_path(repo_path, root):
    """Where a repository file lands on the site: docs/x → x, anything else → repo/x; a
    Markdown page becomes .html."""
    rel = pathlib.PurePosixPath(repo_path.relative_to(root).as_posix())
    parts = rel.parts
    if parts[0] == "docs":
        rel = pathlib.PurePosixPath(*parts[1:])
    else:
        rel = pathlib.PurePosixPath("repo", *parts)
    return rel.with_suffix(".html") if rel.suffix == ".md" else rel


_parsed = {}


def parse_all(pages):
    """pandoc's AST of every page, parsed side by side (pandoc is most of the run time)."""
    todo = [p for p in pages if p not in _parsed]
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for page, ast in zip(todo, pool.map(_pandoc_json, todo)):
            _parsed[page] = ast


def pandoc_json(page):
    if page not in _parsed:
        _parsed[page] = _pandoc_json(page)
    return copy.deepcopy(_parsed[page])


def _pandoc_json(page):
    run = subprocess.run(["pandoc", "-f", "gfm", "-t", "json", str(page)], capture_output=True,
                         text=True)
    if run.returncode != 0:
        raise SiteError(f"pandoc could not read {page}: {run.stderr.strip()}")
    return json.loads(run.stdout)


def walk(node, visit):
    """Calls visit on every pandoc element (a dict with "t") of the AST, depth first."""
    if isinstance(node, dict):
        if "t" in node:
            visit(node)
        for value in node.values():
            walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            walk(value, visit)


def stringify(inlines):
    parts = []

    def visit(el):
        if el["t"] in ("Str", "Code"):
            parts.append(el["c"] if el["t"] == "Str" else el["c"][1])
        elif el["t"] in ("Space", "SoftBreak"):
            parts.append(" ")
    walk(inlines, visit)
    return "".join(parts)


def local_target(url, page, root):
    """(repo path, fragment) for a link from `page` to a file of the repository, else None."""
    if not url or url.startswith("#") or url.startswith("/") or EXTERNAL.match(url):
        return None
    path, _, fragment = url.partition("#")
    target = pathlib.Path(os.path.normpath(page.parent / path))
    if target.is_dir():
        for name in ("README.md", "index.md"):
            if (target / name).is_file():
                return target / name, fragment
    return target, fragment


def link_order(page, root, candidates):
    """The pages of `candidates` that `page` links to, in the order of the links."""
    order = []

    def visit(el):
        if el["t"] == "Link":
            hit = local_target(el["c"][2][0], page, root)
            if hit and hit[0] in candidates and hit[0] not in order and hit[0] != page:
                order.append(hit[0])
    walk(pandoc_json(page)["blocks"], visit)
    return order


def reading_order(folder, index, root, skip):
    """index.md, the pages it links to in order, then the rest by name (see the module doc)."""
    pages = {p for p in folder.rglob("*.md") if not any(s in p.parents for s in skip)}
    parse_all(pages)
    order = [index] + link_order(index, root, pages - {index})
    def key(page):  # without ".md", so that "02-mail" sorts before "02-mail-appendix"
        return page.relative_to(folder).with_suffix("").as_posix()

    for extra in sorted(pages - set(order), key=key):
        before = [p for p in order[1:] if key(p) <= key(extra)]
        if before:
            order.insert(order.index(max(before, key=key)) + 1, extra)
        else:
            order.append(extra)
    return order


class Page:
    def __init__(self, source, lang, root, folder=None):
        self.source, self.lang = source, lang
        # Its name inside its edition (04-factory-blueprints.md): the key of the language switch.
        self.name = source.relative_to(folder).as_posix() if folder else None
        self.site = site_path(source, root)
        self.ast = pandoc_json(source)
        self.title, self.title_id = source.stem, ""
        for n, block in enumerate(self.ast["blocks"]):
            if block["t"] == "Header" and block["c"][0] == 1:
                # The title goes above the page's table of contents, not inside it.
                self.title, self.title_id = stringify(block["c"][2]), block["c"][1][0]
                del self.ast["blocks"][n]
                break
        # The book's contents list the short title: "02 — Mail", not its whole subtitle.
        self.short_title = re.split(r"[:：]", self.title, maxsplit=1)[0].strip()

    def href(self, other_site):
        """A relative link from this page to a site path."""
        return posixpath.relpath(str(other_site), str(self.site.parent) or ".")


# ---------------------------------------------------------------------------------------------
# Rendering.


class Renderer:
    def __init__(self, root, out, options):
        self.root, self.out, self.options = root, out, options
        self.warnings = []
        self.copied = set()
        self.extra = []  # pages outside docs/ that a page links to, rendered on demand
        self.pages = {}  # source → Page
        self.diagrams = {}
        self.highlight_css = ""

    def rewrite(self, page, blocks):
        """Points links at rendered pages and copied files; expands the two comment markers."""
        def fix(el):
            if el["t"] not in ("Link", "Image"):
                return
            target = el["c"][2]
            hit = local_target(target[0], page.source, self.root)
            if not hit:
                return
            path, fragment = hit
            if path.is_dir():
                self.warnings.append(f"{page.source.relative_to(self.root)}: link to a folder "
                                     f"with no README.md: {target[0]}; the site can only show "
                                     "files, so link one of its files")
                return
            if not path.is_file():
                self.warnings.append(f"{page.source.relative_to(self.root)}: link to a missing "
                                     f"file: {target[0]}")
                return
            try:
                path.relative_to(self.root)
            except ValueError:
                self.warnings.append(f"{page.source.relative_to(self.root)}: link leaves the "
                                     f"repository: {target[0]}")
                return
            dest = site_path(path, self.root)
            if path.suffix == ".md":
                if path not in self.pages and path not in self.extra:
                    self.extra.append(path)
            elif path not in self.copied:
                self.copied.add(path)
                (self.out / dest).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, self.out / dest)
            target[0] = page.href(dest) + (f"#{fragment}" if fragment else "")
        walk(blocks, fix)

        result, skip_drawing = [], False
        for block in blocks:
            if skip_drawing and block["t"] == "CodeBlock" and not block["c"][0][1]:
                skip_drawing = False
                continue  # the figure takes the place of the drawing (a block with no language)
            skip_drawing = False
            is_html = block["t"] == "RawBlock" and block["c"][0] == "html"
            raw = block["c"][1].strip() if is_html else ""
            if DIAGRAM.match(raw):
                name = DIAGRAM.match(raw)["name"]
                if name not in DIAGRAMS:
                    raise SiteError(f"{page.source}: unknown diagram '{name}'; known: "
                                    f"{', '.join(DIAGRAMS)}")
                if name not in self.diagrams:
                    self.diagrams[name] = render_diagram(name, self.out, self.options)
                src, caption = self.diagrams[name]
                result.append(self.raw(f'<figure class="diagram"><img src="{page.href(src)}" '
                                       f'alt="{html.escape(caption)}"><figcaption>'
                                       f'{html.escape(caption)}</figcaption></figure>'))
                skip_drawing = True
            elif INCLUDE.match(raw):
                include = INCLUDE.match(raw)
                result.append(self.raw(f'<p class="source"><code>{html.escape(include["path"])}'
                                       f'</code> · {html.escape(include["anchor"])}</p>'))
            else:
                result.append(block)
        return result

    @staticmethod
    def raw(text):
        return {"t": "RawBlock", "c": ["html", text]}

    def pandoc_html(self, job):
        """pandoc's HTML for a page: (table of contents, body)."""
        page, ast = job
        args = ["pandoc", "-f", "json", "-t", "html5", "--standalone",
                f"--template={TEMPLATES / 'body.pandoc'}", "--highlight-style=tango",
                "--metadata", f"pagetitle={page.title}"]
        if page.source.name != "index.md":
            args += ["--toc", "--toc-depth=3"]
        run = subprocess.run(args, input=json.dumps(ast), capture_output=True, text=True)
        if run.returncode != 0:
            raise SiteError(f"pandoc failed on {page.source}: {run.stderr.strip()}")
        css, _, rest = run.stdout.partition("<!-- toc -->")
        toc_html, _, body_html = rest.partition("<!-- body -->")
        if css.strip() and not self.highlight_css:
            self.highlight_css = css.strip()
        return toc_html.strip(), body_html.strip()

    def render(self):
        docs = self.root / "docs"
        if not (docs / "index.md").is_file():
            raise SiteError(f"{docs / 'index.md'} is missing: it is the site's front page")
        eds = editions(docs)
        skip = [d for lang, d in eds if lang != "en"] + [docs / "images"]
        books = {}
        for lang, folder in eds:
            order = reading_order(folder, folder / "index.md", self.root,
                                  [s for s in skip if s != folder])
            books[lang] = [Page(p, lang, self.root, folder) for p in order]
            for p in books[lang]:
                self.pages[p.source] = p
        if self.out.exists():
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        # (page, its book, its place in the book's previous/next chain)
        jobs = [(page, book, i) for book in books.values() for i, page in enumerate(book)]
        # Files outside docs/ that pages link to (bench/README.md) are found while rewriting
        # links; they get the English book's contents and stay outside the chain.
        done = 0
        while done < len(jobs) or self.extra:
            for source in self.extra:
                page = Page(source, "en", self.root)
                self.pages[source] = page
                jobs.append((page, books["en"], None))
            self.extra = []
            asts = []
            for page, _, _ in jobs[done:]:
                ast = dict(page.ast)
                ast["blocks"] = self.rewrite(page, page.ast["blocks"])
                asts.append((page, ast))
            with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
                results = list(pool.map(self.pandoc_html, asts))
            page_tpl = (TEMPLATES / "page.html").read_text(encoding="utf-8")
            for (page, book, i), (toc, body) in zip(jobs[done:], results):
                self.write(page, page_tpl, book, books, i, toc, body)
            done = len(jobs)
        shutil.copyfile(TEMPLATES / "style.css", self.out / "style.css")
        (self.out / "highlight.css").write_text(self.highlight_css + "\n", encoding="utf-8")
        return self.out / "index.html"

    def write(self, page, template, book, books, i, toc, body):
        nav = "\n".join(
            f'<li{CURRENT if p is page else ""}><a href="{page.href(p.site)}">'
            f"{html.escape(p.short_title)}</a></li>" for p in book)
        prev_next = ""
        if i is not None:
            links = []
            if i > 0:
                links.append(f'<a class="prev" rel="prev" href="{page.href(book[i - 1].site)}">'
                             f"← {html.escape(book[i - 1].short_title)}</a>")
            if i + 1 < len(book):
                links.append(f'<a class="next" rel="next" href="{page.href(book[i + 1].site)}">'
                             f"{html.escape(book[i + 1].short_title)} →</a>")
            prev_next = "\n".join(links)
        switch = []
        for lang, other in books.items():
            if lang == page.lang:
                switch.append(f'<span class="current">{LANG_NAMES.get(lang, lang)}</span>')
                continue
            # The same page in the other edition, else that edition's front page.
            same = [p for p in other if page.name and p.name == page.name]
            target = (same or other)[0]
            switch.append(f'<a hreflang="{lang}" href="{page.href(target.site)}">'
                          f"{LANG_NAMES.get(lang, lang)}</a>")
        root = page.href(pathlib.PurePosixPath("index.html")).rsplit("index.html", 1)[0]
        text = (template.replace("{{lang}}", page.lang)
                .replace("{{title}}", html.escape(page.title))
                .replace("{{title_id}}", html.escape(page.title_id))
                .replace("{{root}}", root)
                .replace("{{home}}", page.href(book[0].site))
                .replace("{{book}}", html.escape(re.split(r" — |[:：]", book[0].title)[0]))
                .replace("{{nav}}", nav)
                .replace("{{languages}}", " · ".join(switch) if len(books) > 1 else "")
                .replace("{{toc}}", toc and f'<nav class="page-toc" aria-label="On this page">'
                                            f"\n{toc}\n</nav>")
                .replace("{{prevnext}}", prev_next)
                .replace("{{body}}", body))
        dest = self.out / page.site
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The check: what a reader clicking around would run into.


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "name" in attrs:
            self.ids.add(attrs["name"])
        for attr in ("href", "src"):
            if attrs.get(attr) is not None and not (tag == "link" and attr == "href" and
                                                    attrs.get("rel") == "alternate"):
                self.links.append((tag, attr, attrs[attr]))


def check_site(out):
    """Problems found walking the site from index.html (an empty list when all is well)."""
    out = pathlib.Path(out).resolve()
    index = out / "index.html"
    if not index.is_file():
        return [f"{index}: missing"]
    parsed = {}

    def parse(page):
        if page not in parsed:
            parser = _Links()
            parser.feed(page.read_text(encoding="utf-8"))
            parsed[page] = parser
        return parsed[page]

    problems, seen, queue = [], {index}, [index]
    while queue:
        page = queue.pop(0)
        for tag, attr, url in parse(page).links:
            where = f"{page.relative_to(out)}: <{tag} {attr}=\"{url}\">"
            if EXTERNAL.match(url) or url.startswith("//"):
                continue  # leaves the site; not ours to check offline
            path, _, fragment = url.partition("#")
            target = page if not path else (page.parent / path).resolve()
            if path.startswith("/") or out not in target.parents and target != out:
                problems.append(f"{where}: points outside the site")
                continue
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{where}: {'image' if tag == 'img' else 'file'} not found")
                continue
            if target.suffix == ".html":
                if fragment and fragment not in parse(target).ids:
                    problems.append(f"{where}: no id '{fragment}' on {target.relative_to(out)}")
                if tag == "a" and target not in seen:
                    seen.add(target)
                    queue.append(target)
    for page in sorted(out.rglob("*.html")):
        if page not in seen:
            problems.append(f"{page.relative_to(out)}: not reachable from index.html")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description="render docs/ to a static site with pandoc")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "build" / "docs")
    parser.add_argument("--root", type=pathlib.Path, default=ROOT,
                        help="the repository (its docs/ is rendered)")
    parser.add_argument("--ch01-bin", type=pathlib.Path,
                        default=ROOT / "build" / "bin" / "ch01_relationships",
                        help="chapter 01's executable, run to draw its tables")
    options = parser.parse_args(argv)
    for tool, package in (("pandoc", "pandoc"), ("dot", "graphviz")):
        if not shutil.which(tool):
            print(f"docs_site: '{tool}' is missing; install the Debian package {package}",
                  file=sys.stderr)
            return 2
    renderer = Renderer(options.root.resolve(), options.out.resolve(), options)
    try:
        index = renderer.render()
    except SiteError as e:
        print(f"docs_site: {e}", file=sys.stderr)
        return 1
    problems = renderer.warnings + check_site(options.out)
    for p in problems:
        print(f"docs_site: {p}", file=sys.stderr)
    print(index)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
