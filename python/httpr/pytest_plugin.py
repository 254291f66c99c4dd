"""httpr's pytest plugin: the ``httpr_mock`` fixture.

pytest loads this module through the ``pytest11`` entry point; ``import httpr`` never imports
it (nor pytest). The fixture is a router behind an :class:`httpr.MockTransport`: register
routes (method + URL, optionally headers/JSON/body matchers) with a canned response or a
callback, run the code under test, then inspect the recorded calls. While the fixture is
active its transport is installed (``MockTransport.install()``), so every client without a
``transport=`` of its own, and ``httpr.get()`` & co, are answered by it; no request reaches
the network. At teardown, a route that was never requested fails the test.

Options, as ``@pytest.mark.httpr_mock(...)`` keywords (or attributes of the fixture):

* ``assert_all_requested=False``: unrequested routes do not fail the test.
* ``mock_all_clients=False``: do not install the transport; only clients given
  ``transport=httpr_mock.transport`` are mocked, others reach the network.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from typing import Any, Union
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

import httpr

__all__ = ["HTTPRMock", "Route", "UnmatchedRequestError", "httpr_mock"]

#: What a route's callback returns: a response, or (on AsyncClient) an awaitable of one.
Callback = Callable[[httpr.Request], Union[httpr.Response, Awaitable[httpr.Response]]]
#: A URL to match exactly (query order and default ports do not matter) or a regex.
URLPattern = Union[str, re.Pattern[str]]

# Marks "not given" where None is a meaningful value (JSON null).
_UNSET: Any = object()


class UnmatchedRequestError(httpr.TransportError):
    """A request matched no ``httpr_mock`` route. The message lists the registered routes."""


def _normalize(url: str) -> tuple[str, str, str, list[tuple[str, str]]]:
    """Compare URLs as the wire sees them: case-insensitive scheme/host, no default port,
    ``/`` for an empty path, percent-encoding undone, query parameters in any order."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    netloc = parts.netloc.lower()
    default_port = {"http": ":80", "https": ":443"}.get(scheme)
    if default_port and netloc.endswith(default_port):
        netloc = netloc[: -len(default_port)]
    return scheme, netloc, unquote(parts.path) or "/", sorted(parse_qsl(parts.query, keep_blank_values=True))


def _response(status_code: int, headers: Mapping[str, str] | None, content: bytes | str | None, text: str | None, json: Any) -> httpr.Response:
    if json is _UNSET:
        return httpr.Response(status_code, headers=headers, content=content, text=text)
    if content is not None or text is not None:
        raise ValueError("pass only one of content, text or json")
    if json is not None:
        return httpr.Response(status_code, headers=headers, json=json)
    # JSON null: for httpr.Response, json=None means "no JSON body".
    typed = any(k.lower() == "content-type" for k in headers or {})
    extra = {} if typed else {"content-type": "application/json"}
    return httpr.Response(status_code, headers={**extra, **(headers or {})}, content=b"null")


class Route:
    """One registered route: what it matches, how it answers, and the requests it got."""

    def __init__(
        self,
        method: str,
        url: URLPattern,
        answer: Callback,
        *,
        match_headers: Mapping[str, str] | None = None,
        match_json: Any = _UNSET,
        match_content: bytes | None = None,
    ) -> None:
        self.method = method.upper()
        self.url = url
        self._answer = answer
        self._exact = None if isinstance(url, re.Pattern) else _normalize(url)
        self.match_headers = dict(match_headers or {})
        self.match_json = match_json
        self.match_content = match_content
        #: The requests this route answered, in order.
        self.calls: list[httpr.Request] = []

    @property
    def called(self) -> bool:
        return bool(self.calls)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    def matches(self, request: httpr.Request) -> bool:
        if request.method != self.method:
            return False
        if isinstance(self.url, re.Pattern):
            if not self.url.match(request.url):
                return False
        elif _normalize(request.url) != self._exact:
            return False
        if any(request.headers.get(k) != v for k, v in self.match_headers.items()):
            return False
        if self.match_content is not None and request.content != self.match_content:
            return False
        if self.match_json is not _UNSET:
            try:
                if request.json() != self.match_json:
                    return False
            except httpr.DecodingError:
                return False
        return True

    def answer(self, request: httpr.Request) -> httpr.Response | Awaitable[httpr.Response]:
        self.calls.append(request)
        return self._answer(request)

    def __repr__(self) -> str:
        url = f"re.compile({self.url.pattern!r})" if isinstance(self.url, re.Pattern) else self.url
        text = f"{self.method} {url}"
        if self.match_headers:
            text += f" headers={self.match_headers!r}"
        if self.match_json is not _UNSET:
            text += f" json={self.match_json!r}"
        if self.match_content is not None:
            text += f" content={self.match_content!r}"
        return text


class HTTPRMock:
    """Routes requests sent through :attr:`transport` to registered answers.

    When several routes match a request, the first one not requested yet answers, else the
    last matching one: registering two responses for one URL answers them in order, then
    repeats the second.
    """

    def __init__(self, *, assert_all_requested: bool = True, mock_all_clients: bool = True) -> None:
        #: Fail the test at teardown when a route was never requested.
        self.assert_all_requested = assert_all_requested
        #: Answer the requests of clients without their own transport too (read at setup).
        self.mock_all_clients = mock_all_clients
        self.routes: list[Route] = []
        #: Every request received, matched or not, in order.
        self.requests: list[httpr.Request] = []
        #: Give this to the client under test: ``httpr.Client(transport=httpr_mock.transport)``.
        self.transport = httpr.MockTransport(self._handle)

    def add(
        self,
        method: str,
        url: URLPattern,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        text: str | None = None,
        json: Any = _UNSET,
        callback: Callback | None = None,
        match_headers: Mapping[str, str] | None = None,
        match_json: Any = _UNSET,
        match_content: bytes | None = None,
    ) -> Route:
        """Answer ``method url`` (an exact URL or a compiled regex, matched with ``re.match``)
        with a response built from ``status_code``/``headers``/``content``/``text``/``json``,
        or with ``callback(request)`` (sync, or async on AsyncClient). ``match_headers``,
        ``match_json`` and ``match_content`` narrow the route to requests that carry them."""
        if callback is not None:
            if any(v is not None for v in (content, text, headers)) or json is not _UNSET or status_code != 200:
                raise TypeError("give either a callback or the response's fields, not both")
            answer = callback
        else:
            # Built now, so a bad status or header fails at registration, not mid-test.
            response = _response(status_code, headers, content, text, json)

            def answer(request: httpr.Request) -> httpr.Response:
                return response

        route = Route(method, url, answer, match_headers=match_headers, match_json=match_json, match_content=match_content)
        self.routes.append(route)
        return route

    @property
    def unrequested_routes(self) -> list[Route]:
        return [r for r in self.routes if not r.called]

    def reset(self) -> None:
        """Forget every route and recorded request."""
        self.routes.clear()
        self.requests.clear()

    def _handle(self, request: httpr.Request) -> httpr.Response | Awaitable[httpr.Response]:
        self.requests.append(request)
        matching = [r for r in self.routes if r.matches(request)]
        if not matching:
            routes = "\n".join(f"  {r!r} (requested {r.call_count} times)" for r in self.routes) or "  (none)"
            raise UnmatchedRequestError(f"httpr_mock has no route for {request.method} {request.url}; registered routes:\n{routes}")
        route = next((r for r in matching if not r.called), matching[-1])
        return route.answer(request)


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report, so the fixture's teardown knows whether the test failed.
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "httpr_mock(assert_all_requested=True, mock_all_clients=True): options of the httpr_mock "
        "fixture (assert_all_requested=False: routes never requested do not fail the test; "
        "mock_all_clients=False: only clients given transport=httpr_mock.transport are mocked)",
    )


@pytest.fixture
def httpr_mock(request: pytest.FixtureRequest) -> Iterator[HTTPRMock]:
    """A router for ``httpr.MockTransport``; see :class:`HTTPRMock`."""
    marker = request.node.get_closest_marker("httpr_mock")
    mock = HTTPRMock(**(marker.kwargs if marker else {}))
    if mock.mock_all_clients:
        mock.transport.install()
    try:
        yield mock
    finally:
        mock.transport.uninstall()
    # Only a test that ran and passed: a failed or skipped one has its own report already.
    call = request.node.stash.get(_REPORTS, {}).get("call")
    if mock.assert_all_requested and mock.unrequested_routes and call is not None and call.passed:
        listed = "\n".join(f"  {r!r}" for r in mock.unrequested_routes)
        pytest.fail(
            "httpr_mock: these routes were never requested:\n"
            f"{listed}\n"
            "(use @pytest.mark.httpr_mock(assert_all_requested=False) if that is expected)",
            pytrace=False,
        )
