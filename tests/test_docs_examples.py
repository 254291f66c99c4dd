"""Every code example in the docs runs here, against loopback servers, so a stale example fails CI.

Conventions for whoever writes the docs
---------------------------------------

* A fenced block whose info string is exactly ``python`` is an **executed** example. The blocks of
  ``README.md``, ``docs/index.md`` and ``docs/guides/*.md`` are collected; each one becomes a test
  with the id ``<file>:<line of the opening fence>``. There are no skips: a ``python`` block always
  runs. A block under ``docs/`` must contain at least one ``assert`` (or ``raise AssertionError``
  in the ``else:`` of a ``try``), checked below, so that wrong behaviour fails the test instead of
  merely printing something different. Every executed block is also type-checked
  with ``mypy --strict``.
* A block fenced as ``pycon-norun`` is rendered like Python (see ``extend_pygments_lang`` in
  ``mkdocs.yml``) but is **never executed or type-checked**. Use it only for what a test run cannot
  provide (a real HTTP/2 server, a SOCKS proxy, a private network) or for an API that is still being
  built. Prefer a runnable ``python`` block: write a temporary file, start a small local server in the
  example, and so on.
* Any other language (``bash``, ``text``, ``toml``...) is ignored. A block whose language looks like
  Python but is neither of the two above (``py``, ``python3``, ``pycon``) fails
  :func:`test_python_like_blocks_use_a_known_fence`, so no example is skipped by accident.

Hostnames swapped before a block runs
-------------------------------------

=====================================================  ==========================================
in the docs                                            during the test
=====================================================  ==========================================
``http(s)://httpbin.org``                              httpbin on ``http://127.0.0.1:<port>``
``http(s)://example.com``, ``example.org``,            ``<httpbin>/anything``: every method and
``www.example.com``, ``api.example.com``               path answers 200 with an echo of the request
``https://self-signed.example.com``                    httpbin over HTTPS, with a certificate from a
                                                       throw-away CA that nothing trusts
``http://proxy.example.com:8080``                      the plain httpbin server, used as a forward
                                                       proxy (it answers absolute-form requests)
=====================================================  ==========================================

The httpbin app (the one pytest-httpbin serves) runs here on werkzeug's *threaded* server rather
than through pytest-httpbin's fixtures, whose server handles one connection at a time: an example
that times out on ``/delay/3`` would keep it busy and make the next example time out too, and it
does not accept the absolute-form request targets a forward proxy receives.

Each block runs as ``__main__`` in a fresh namespace and a temporary working directory; the
environment variables are restored afterwards. Tracebacks point at the Markdown file and line.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: The fence language of executed examples, and of examples shown but never run.
RUN = "python"
NORUN = "pycon-norun"


def _doc_files() -> list[Path]:
    files = [ROOT / "README.md", DOCS / "index.md", *sorted((DOCS / "guides").glob("*.md"))]
    return [f for f in files if f.exists()]


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")


def _blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        lang = opening["info"].strip().split(" ")[0] if opening["info"].strip() else ""
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        else:
            raise AssertionError(f"{path}:{i + 1}: code fence never closed")
        yield Block(path, i + 1, lang, "\n".join(body) + "\n")
        i = j + 1


ALL_BLOCKS = [block for path in _doc_files() for block in _blocks(path)]
RUN_BLOCKS = [block for block in ALL_BLOCKS if block.lang == RUN]


def _swap_hosts(code: str, httpbin_url: str, httpbin_secure_url: str) -> str:
    end = r"(?![\w.-])"
    code = re.sub(r"https://self-signed\.example\.com" + end, httpbin_secure_url, code)
    code = re.sub(r"http://proxy\.example\.com:8080" + end, httpbin_url, code)
    code = re.sub(r"https?://httpbin\.org" + end, httpbin_url, code)
    code = re.sub(r"https?://(?:www\.|api\.)?example\.(?:com|org)" + end, httpbin_url + "/anything", code)
    return code


@dataclass(frozen=True)
class DocServers:
    http_url: str
    https_url: str


@pytest.fixture(scope="module")
def doc_servers() -> Iterator[DocServers]:
    """httpbin over HTTP and over HTTPS (certificate from an untrusted CA), on threaded servers."""
    from httpbin import app  # type: ignore[import-untyped]
    from werkzeug.serving import make_server

    ca = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(tls)
    plain = make_server("127.0.0.1", 0, app, threaded=True)
    secure = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=tls)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (plain, secure)]
    for thread in threads:
        thread.start()
    try:
        yield DocServers(f"http://127.0.0.1:{plain.server_port}", f"https://127.0.0.1:{secure.server_port}")
    finally:
        for server in (plain, secure):
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=5)


@pytest.fixture
def isolated(tmp_path: Path) -> Iterator[Path]:
    """A temporary working directory; the environment and cwd are restored afterwards."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=[b.id for b in RUN_BLOCKS])
def test_doc_example_runs(block: Block, doc_servers: DocServers, isolated: Path) -> None:
    code = _swap_hosts(block.code, doc_servers.http_url, doc_servers.https_url)
    # Pad so that line numbers in a traceback are the Markdown file's line numbers.
    source = "\n" * block.line + code
    compiled = compile(source, str(block.path), "exec")
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(block.path)}
    exec(compiled, namespace)


DOCS_RUN_BLOCKS = [block for block in RUN_BLOCKS if block.path.is_relative_to(DOCS)]


def _checks_something(node: ast.AST) -> bool:
    """An ``assert`` statement, or ``raise AssertionError(...)`` (the ``else:`` of a try)."""
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Raise) and node.exc is not None:
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        return isinstance(target, ast.Name) and target.id == "AssertionError"
    return False


@pytest.mark.parametrize("block", DOCS_RUN_BLOCKS, ids=[b.id for b in DOCS_RUN_BLOCKS])
def test_doc_example_asserts_something(block: Block) -> None:
    # README.md is exempt: it is the project's front page, not part of the site.
    assert any(_checks_something(node) for node in ast.walk(ast.parse(block.code))), (
        f"{block.id}: an executed example needs an assert, so that wrong behaviour fails it"
    )


def test_python_like_blocks_use_a_known_fence() -> None:
    odd = [
        f"{b.id} ({b.lang!r})"
        for b in ALL_BLOCKS
        if b.lang not in (RUN, NORUN) and (b.lang.startswith("py") or b.lang in ("", "python3"))
        and _looks_like_python(b.code)
    ]
    assert not odd, f"use ```{RUN} (executed) or ```{NORUN} (shown only) for Python examples: {odd}"


def _looks_like_python(code: str) -> bool:
    return bool(re.search(r"^\s*(import |from \S+ import |>>> )", code, re.M))


def test_examples_were_found() -> None:
    assert len(RUN_BLOCKS) >= 50, f"only {len(RUN_BLOCKS)} executed examples found: is the parser broken?"
    guides = {b.path.name for b in RUN_BLOCKS if b.path.parent.name == "guides"}
    assert len(guides) >= 10, guides


def test_doc_examples_pass_mypy_strict(tmp_path: Path) -> None:
    from mypy import api as mypy_api

    names: dict[str, Block] = {}
    for block in RUN_BLOCKS:
        stem = re.sub(r"\W", "_", block.id.replace(".md:", "_line"))
        name = f"ex_{stem}.py"
        names[name] = block
        (tmp_path / name).write_text(block.code, encoding="utf-8")
    stdout, stderr, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy_cache"), str(tmp_path)]
    )
    # Point each message at the Markdown file and line the code came from.
    def locate(match: re.Match[str]) -> str:
        block = names[match["name"]]
        return f"{block.path.relative_to(ROOT).as_posix()}:{block.line + int(match['line'])}"

    report = re.sub(r"(?:[^\s:]*/)?(?P<name>ex_\w+\.py):(?P<line>\d+)", locate, stdout)
    assert status == 0, f"mypy --strict failed on the docs examples:\n{report}{stderr}"


def _nav_text() -> str:
    return (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_every_docs_page_is_in_the_nav() -> None:
    nav = _nav_text()
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    missing = [page for page in pages if not re.search(rf":\s*{re.escape(page)}\s*$", nav, re.M)]
    assert not missing, f"add these pages to the nav in mkdocs.yml: {missing}"


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    for module in ("mkdocs", "material"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install -r docs/requirements.txt")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, textwrap.indent(result.stdout + result.stderr, "    ")
