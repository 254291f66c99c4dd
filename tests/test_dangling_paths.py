"""Every repository path named in the docs, the top-level Markdown files and api.yaml's comments exists.

A reference is a token starting with one of the repository's top-level folders (``runtime/``,
``codegen/``, ``tests/`` ... see ``TOP``), written anywhere in the text: in a code span, a table, a
link or plain prose. It is read up to the first character that cannot be part of a path, and then:

* a trailing ``.``, ``,``, ``:`` or ``;`` is punctuation, not part of the path;
* ``file.py::test_name`` (a pytest id, or a Rust test: ``file.rs::name``) checks that the file
  defines that function;
* ``file.md:12`` (a line) and ``#anchor`` are cut off;
* a glob (``docs/api/*.md``, ``docs/**/*.md``) must match at least one file;
* a placeholder (``tests/test_<area>.py``) checks the folder before it.

Links in pages under ``docs/`` are relative to the page, and ``mkdocs build --strict`` already
fails on a broken one, so link targets (``](...)``) there are not read as repository paths.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The top-level folders whose paths are checked (fixed, so a reference to a folder that does not
#: exist at all is caught too).
TOP = ("benchmarks", "codegen", "docs", "examples", "fuzz", "generated", "python", "runtime", "scripts", "tests", ".ci")

_REFERENCE = re.compile(r"(?<![\w./~-])(?:%s)/[\w./*<>:#-]*" % "|".join(re.escape(t) for t in TOP))
_LINK_TARGET = re.compile(r"\]\([^)]*\)")


def _markdown_files() -> list[Path]:
    return sorted([*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md")])


def _texts() -> list[tuple[Path, int, str]]:
    """(file, line number, text to scan) for every line that may name a repository path."""
    out: list[tuple[Path, int, str]] = []
    for path in _markdown_files():
        in_docs = path.is_relative_to(ROOT / "docs")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            out.append((path, n, _LINK_TARGET.sub("]", line) if in_docs else line))
    # api.yaml: only its comments (a doc string naming a path is rendered into docs/api/, read above).
    for n, line in enumerate((ROOT / "api.yaml").read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("#"):
            out.append((ROOT / "api.yaml", n, line))
    return out


def references(text: str) -> list[str]:
    return [m.group(0) for m in _REFERENCE.finditer(text)]


def problem(ref: str) -> str | None:
    """Why ``ref`` names nothing in the repository, or None when it does."""
    path = ref.rstrip(".,:;")
    test_name = None
    if "::" in path:
        path, test_name = path.split("::", 1)
    path = re.sub(r":\d+$", "", path.split("#", 1)[0])
    if "<" in path:
        folder = path[: path.index("<")].rsplit("/", 1)[0]
        return None if (ROOT / folder).is_dir() else f"no folder {folder}/"
    if any(c in path for c in "*?["):
        return None if any(ROOT.glob(path)) else "matches no file"
    target = ROOT / path
    if not target.exists():
        return "does not exist"
    if path.endswith("/") and not target.is_dir():
        return "is not a folder"
    if test_name is not None:
        name = test_name.split("[", 1)[0].split("::")[-1]
        if not re.search(rf"^\s*(?:async )?(?:def|fn) {re.escape(name)}\(", target.read_text(encoding="utf-8"), re.M):
            return f"defines no {name}"
    return None


def test_the_pattern_reads_paths_as_written() -> None:
    line = "see `runtime/src/py/` and tests/test_x.py::test_y, or docs/api/*.md (and ../shared/bench/run.py)."
    assert references(line) == ["runtime/src/py/", "tests/test_x.py::test_y", "docs/api/*.md"]
    assert references("https://example.org/docs/x and my_scripts/a.py") == []
    assert problem("docs/api/*.md") is None
    assert problem("docs/api/*.nothing") == "matches no file"
    assert problem("tests/test_<area>.py") is None
    assert problem("tests/test_dangling_paths.py::test_the_pattern_reads_paths_as_written") is None
    assert problem("tests/test_dangling_paths.py::test_gone") == "defines no test_gone"
    assert problem("runtime/src/lib.rs:12.") is None
    assert problem("runtime/src/nothing.rs") == "does not exist"
    assert problem("runtime/src/lib.rs/") == "is not a folder"


def test_no_dangling_repository_paths() -> None:
    found = 0
    dangling = []
    for path, n, text in _texts():
        for ref in references(text):
            found += 1
            why = problem(ref)
            if why is not None:
                dangling.append(f"{path.relative_to(ROOT)}:{n}: {ref} ({why})")
    assert found > 50, f"only {found} references found: is the pattern still right?"
    if dangling:
        pytest.fail("references to repository paths that do not exist:\n  " + "\n  ".join(dangling))
