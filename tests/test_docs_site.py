"""The built docs site: llms.txt/llms-full.txt, the API tables' HTML, and the site in a real browser.

The site is built once (``mkdocs build --strict``, with the hook ``scripts/docs_llms_txt.py``)
into a temporary folder. The browser test serves that folder on 127.0.0.1 and drives Debian's
headless Chromium through its chromedriver with selenium (``scripts/test.sh`` installs both with
apt-get); it saves screenshots into ``$HTTPR_ARTIFACTS`` (default ``.ci/artifacts/``).
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ARTIFACTS = Path(os.environ.get("HTTPR_ARTIFACTS") or ROOT / ".ci" / "artifacts")


@dataclass(frozen=True)
class NavPage:
    title: str
    path: str  # under docs/

    @property
    def url(self) -> str:
        """The page's URL relative to the site root (mkdocs' directory URLs)."""
        stem = self.path.removesuffix(".md")
        if stem == "index":
            return "./"
        return stem.removesuffix("index") if stem.endswith("/index") else stem + "/"


def _flatten(items: list[Any]) -> Iterator[NavPage]:
    for item in items:
        assert isinstance(item, dict) and len(item) == 1, f"unexpected nav entry {item!r}"
        ((title, value),) = item.items()
        if isinstance(value, list):
            yield from _flatten(value)
        else:
            yield NavPage(str(title), str(value))


def _raw_nav() -> list[Any]:
    from mkdocs.utils.yaml import yaml_load  # mkdocs' own loader (it knows its !ENV tags)

    nav = yaml_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    assert isinstance(nav, list)
    return nav


def _nav() -> list[NavPage]:
    return list(_flatten(_raw_nav()))


def _sections() -> list[tuple[str, list[NavPage]]]:
    """llms.txt's sections: the top-level pages as "Docs", then each nav section in order."""
    loose = [item for item in _raw_nav() if not isinstance(next(iter(item.values())), list)]
    nested = [item for item in _raw_nav() if isinstance(next(iter(item.values())), list)]
    return [("Docs", list(_flatten(loose)))] + [(str(next(iter(i))), list(_flatten([i]))) for i in nested]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("mkdocs", "material"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install -r docs/requirements.txt")
    out = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, textwrap.indent(result.stdout + result.stderr, "    ")
    return out


# ------------------------------------------------------------------------------ llms.txt


def test_llms_txt_lists_every_nav_page(site: Path) -> None:
    text = (site / "llms.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# httpr"
    assert lines[2].startswith("> ") and "HTTP client" in lines[2], "the summary blockquote"
    sections = re.split(r"^## (.+)$", text, flags=re.M)
    found = [(title, re.findall(r"^- \[([^\]]+)\]\(([^)]*)\): (.*)$", body, re.M)) for title, body in zip(sections[1::2], sections[2::2])]
    expected = [(title, [(p.title, p.url) for p in pages]) for title, pages in _sections()]
    assert [(title, [(t, u) for t, u, _ in entries]) for title, entries in found] == expected
    assert sum(len(pages) for _, pages in expected) == len(_nav())
    sources = {p.url: re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", (DOCS / p.path).read_text(encoding="utf-8")) for p in _nav()}
    for _, entries in found:
        for title, url, description in entries:
            # The description is the page's own prose (links as their text), not empty.
            opening = " ".join(description.split()[:4])
            assert len(opening) > 10 and opening in " ".join(sources[url].split()), f"{title}: description {description!r}"
            assert (site / url / "index.html").is_file(), f"{title}: {url} is not a page of the site"


def test_llms_full_txt_holds_every_page_in_index_order(site: Path) -> None:
    text = (site / "llms-full.txt").read_text(encoding="utf-8")
    assert text.startswith("# httpr\n")
    positions: list[int] = []
    for page in [page for _, pages in _sections() for page in pages]:
        marker = f"\nPage: {page.title} ({page.url})\n"
        assert text.count(marker) == 1, f"{page.path} is not in llms-full.txt once"
        source = (DOCS / page.path).read_text(encoding="utf-8")
        body = re.sub(r"\A\s*<!--.*?-->\s*", "", source, count=1, flags=re.S).strip()
        at = text.index(marker)
        assert text.startswith(body, at + len(marker) + 1), f"{page.path}: its Markdown does not follow its marker"
        positions.append(at)
    assert positions == sorted(positions)


# ------------------------------------------------------------------------------ API tables


class _Tables(html.parser.HTMLParser):
    """Rows of every <table> (each a list of its cells' text) and the text of every <code>."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.code: list[str] = []
        self._cell: list[str] | None = None
        self._code_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "code":
            self._code_depth += 1
            self.code.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "code":
            self._code_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._code_depth:
            self.code[-1] += data


def _parse(page: Path) -> _Tables:
    parser = _Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_api_tables_show_pipes_without_backslashes(site: Path) -> None:
    pages = sorted((site / "api").glob("*/index.html"))
    assert len(pages) >= 20
    for page in pages:
        parsed = _parse(page)
        for table in parsed.tables:
            widths = {len(row) for row in table}
            assert len(widths) == 1, f"{page}: a table row has a different number of cells: {table}"
        shown = [c for c in parsed.code if "\\|" in c]
        assert not shown, f"{page}: a backslash before a pipe is shown: {shown[:3]}"
    client = _parse(site / "api" / "client" / "index.html")
    params = next(t for t in client.tables if t[0] == ["Parameter", "Type", "Default", "Description"])
    assert ["auth", "AuthTypes | None", "None"] == params[1][:3]
    timeout = next(row for row in params if row[0] == "timeout")
    assert timeout[1] == "float | tuple[float | None, ...] | Timeout | None"


# ------------------------------------------------------------------------------ in Chromium


def _browser_binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("Chromium or chromedriver is not installed: apt-get install chromium chromium-driver (scripts/test.sh does)")
    return browser, driver


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def served_site(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary, driver_path = _browser_binaries()
    if importlib.util.find_spec("selenium") is None:
        pytest.skip("selenium is not installed: pip install -r docs/requirements.txt")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / f"docs-{name}.png"))


def test_site_in_chromium(browser: Any, served_site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    # Home: the page and material's chrome (the theme's JS and CSS) are there.
    browser.get(served_site)
    _screenshot(browser, "home")
    assert "httpr" in browser.title
    assert browser.find_element(By.CSS_SELECTOR, "article h1").text == "httpr"
    nav_links = browser.find_elements(By.CSS_SELECTOR, "nav.md-nav--primary a.md-nav__link")
    assert len(nav_links) >= len(_nav())
    body_color = browser.execute_script("return getComputedStyle(document.body).getPropertyValue('--md-primary-fg-color')")
    assert body_color.strip(), "material's stylesheet did not load"

    # The Client reference: its parameter table as a reader sees it.
    browser.get(served_site + "api/client/")
    _screenshot(browser, "api-client")
    table = browser.find_element(By.XPATH, "//table[.//th[normalize-space()='Parameter']]")
    headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headers == ["Parameter", "Type", "Default", "Description"]
    row = table.find_element(By.XPATH, ".//tr[td[1][normalize-space()='auth']]")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[:3] == ["auth", "AuthTypes | None", "None"]
    assert "\\|" not in browser.find_element(By.TAG_NAME, "article").text

    # Search (material's JS, over search_index.json): typing a query lists matching pages.
    # At this window width the search box is in the header; a click on it opens the search.
    query = WebDriverWait(browser, 10).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input")))
    query.click()
    query.send_keys("retries")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    )
    _screenshot(browser, "search")
    results = browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item a")
    hrefs = [a.get_attribute("href") or "" for a in results]
    assert any("guides/production/" in href for href in hrefs), hrefs[:10]
    meta = browser.find_element(By.CSS_SELECTOR, ".md-search-result__meta").text
    assert re.search(r"\d+ matching documents?", meta), meta
