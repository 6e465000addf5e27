"""What keeps README.md and docs/*.md honest: links and anchors resolve, `make X` is a Makefile target,
`python -m ml X` is a subcommand, every Terraform module is linked.

Each check takes paths and returns its problems as lines of text (an empty list: nothing wrong), so a
test can run it on the repository or on a broken copy in a temporary folder. Pure Python, no
subprocess: the Makefile's rule lines and the Markdown are parsed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, ...
LINE_ANCHOR = re.compile(r"^L\d+(-L\d+)?$")  # GitHub's anchors into a file that is not Markdown
# `make [VAR=value ...] target`, at the start of a command or after a shell operator
MAKE = re.compile(r"(?:^|[\s;&|(])make(?:\s+[A-Z_][A-Z0-9_]*=\S*)*\s+([a-z][a-z0-9_.-]*)", re.M)
ML_COMMAND = re.compile(r"python -m ml\s+([a-z][a-z_-]*)")
RULE = re.compile(r"^([^\s:=#][^:=\n]*?)[ \t]*:(?![:=])(.*)$", re.M)  # targets: prerequisites (not VAR := x)


def doc_files(root: Path) -> list[Path]:
    """The pages these checks cover: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _shown(doc: Path) -> str:
    """How a message names a page: README.md, docs/x.md."""
    return f"docs/{doc.name}" if doc.parent.name == "docs" else doc.name


def _paragraphs(text: str) -> list[str]:
    """Prose outside fenced code blocks, one string per paragraph (a code span never crosses a blank line)."""
    return re.split(r"\n[ \t]*\n", FENCE.sub("\n\n", text))


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans: where links and headings are."""
    return "\n\n".join(CODE_SPAN.sub("", paragraph) for paragraph in _paragraphs(text))


def code(text: str) -> list[str]:
    """The fenced code blocks and code spans: where commands are."""
    spans = [m[2] for paragraph in _paragraphs(text) for m in CODE_SPAN.finditer(paragraph)]
    return [m[0] for m in FENCE.finditer(text)] + spans


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower case, without punctuation, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor; a repeated one gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for m in HEADING.finditer(FENCE.sub("", text)):
        base = slug(m[2])
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    """The target of every inline, image and reference link outside code."""
    outside = prose(text)
    return [m[1] for m in INLINE_LINK.finditer(outside)] + [m[1] for m in REFERENCE_LINK.finditer(outside)]


def _local_targets(doc: Path) -> Iterable[tuple[str, Path, str]]:
    """(link as written, the file it names, its fragment) for each link into the repository."""
    for url in links(doc.read_text(encoding="utf-8")):
        if EXTERNAL.match(url):
            continue
        target, _, fragment = url.partition("#")
        yield url, (doc.parent / unquote(target)).resolve() if target else doc.resolve(), unquote(fragment)


def broken_links(docs: Iterable[Path], root: Path) -> list[str]:
    """Each relative link whose file, or whose heading (#fragment), does not exist."""
    problems = []
    root = root.resolve()
    for doc in docs:
        where = doc.resolve().relative_to(root)
        for url, path, fragment in _local_targets(doc):
            if not path.is_relative_to(root):
                problems.append(f"{where}: {url}: outside the repository")
            elif not path.exists():
                problems.append(f"{where}: {url}: no such file")
            elif fragment and path.suffix == ".md" and fragment not in anchors(path.read_text(encoding="utf-8")):
                problems.append(f"{where}: {url}: no heading #{fragment} in {path.relative_to(root)}")
            elif fragment and path.suffix != ".md" and not LINE_ANCHOR.match(fragment):
                problems.append(f"{where}: {url}: #{fragment} in a file that is not Markdown")
    return problems


def make_targets(makefile: Path) -> dict[str, bool]:
    """The Makefile's targets, each with whether `make help` lists it (a `## ` note on its rule line)."""
    targets: dict[str, bool] = {}
    for m in RULE.finditer(makefile.read_text(encoding="utf-8")):
        for name in m[1].split():
            if "$" not in name and "%" not in name and not name.startswith("."):
                targets[name] = targets.get(name, False) or "## " in m[2]
    return targets


def make_commands(text: str) -> list[str]:
    """The target of each `make X` in code (a code span or block): prose uses "make" as a verb."""
    return [m[1] for snippet in code(text) for m in MAKE.finditer(snippet)]


def unknown_make_targets(docs: Iterable[Path], makefile: Path) -> list[str]:
    """Each `make X` in the docs whose X is not a Makefile target."""
    targets = make_targets(makefile)
    return [
        f"{_shown(doc)}: make {name}: no such target in {makefile.name}"
        for doc in docs
        for name in make_commands(doc.read_text(encoding="utf-8"))
        if name not in targets
    ]


def undocumented_make_targets(docs: Iterable[Path], makefile: Path) -> list[str]:
    """Each target `make help` lists that no page names as `make X`."""
    named = {name for doc in docs for name in make_commands(doc.read_text(encoding="utf-8"))}
    return [
        f"make {name}: named on no page"
        for name, listed in make_targets(makefile).items()
        if listed and name not in named
    ]


def cli_subcommands() -> set[str]:
    """The subcommands of `python -m ml`, from ml/cli.py's own parser."""
    from ml.cli import subcommands

    return set(subcommands())


def unknown_ml_commands(docs: Iterable[Path], subcommands: set[str]) -> list[str]:
    """Each `python -m ml X` in the docs whose X is not a subcommand."""
    return [
        f"{_shown(doc)}: python -m ml {name}: no such subcommand"
        for doc in docs
        for name in ML_COMMAND.findall(doc.read_text(encoding="utf-8"))
        if name not in subcommands
    ]


def unlinked_modules(docs: Iterable[Path], modules: Path) -> list[str]:
    """Each folder under terraform/modules/ that no page links to (the folder or a file in it)."""
    linked = [path for doc in docs for _, path, _ in _local_targets(doc)]
    return [
        f"{folder.name}: no page links to {folder.name}/"
        for folder in sorted(p.resolve() for p in modules.iterdir() if p.is_dir())
        if not any(path == folder or path.is_relative_to(folder) for path in linked)
    ]
