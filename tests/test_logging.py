"""The ``httpr`` logger: one DEBUG line per request sent (each redirect hop and retry counts),
with the method, the URL without credentials, the status line or the exception class, the time
to the response head, and whether the connection was new or reused; nothing unless enabled.
Against local servers on 127.0.0.1 (httpbin; servers.LocalServer, which keeps connections alive), through Client, Client.stream, AsyncClient and AsyncClient.stream."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

import httpr
from servers import LocalServer

LINE = re.compile(r'^HTTP Request: (?P<method>\w+) (?P<url>\S+) "(?P<status>HTTP/[\d.]+ \d{3} [^"]*)" \((?P<ms>[\d.]+) ms, (?P<conn>new|reused) connection\)$')


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG, logger="httpr"):
        yield caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "httpr"]


def fields(line: str) -> dict[str, str]:
    m = LINE.match(line)
    assert m is not None, line
    return m.groupdict()


def get_twice(kind: str, url: str) -> None:
    """Two GETs of `url` on one client (the second on the first's connection)."""
    if kind in ("sync", "stream"):
        with httpr.Client(timeout=5) as c:
            for _ in range(2):
                if kind == "sync":
                    c.get(url)
                else:
                    with c.stream("GET", url) as r:
                        r.read()
        return

    async def main() -> None:
        async with httpr.AsyncClient(timeout=5) as c:
            for _ in range(2):
                if kind == "async":
                    await c.get(url)
                else:
                    async with c.stream("GET", url) as r:
                        await r.aread()

    asyncio.run(main())


@pytest.mark.parametrize("kind", ["sync", "stream", "async", "astream"])
def test_one_debug_line_per_request_new_then_reused(local_server: LocalServer, debug_log: pytest.LogCaptureFixture, kind: str) -> None:
    url = local_server.url("/echo/logged?q=1")
    get_twice(kind, url)
    got = [fields(line) for line in lines(debug_log)]
    assert [(f["method"], f["url"], f["status"]) for f in got] == [("GET", url, "HTTP/1.1 200 OK")] * 2
    assert [f["conn"] for f in got] == ["new", "reused"]
    assert all(float(f["ms"]) > 0 for f in got)
    assert {r.levelno for r in debug_log.records if r.name == "httpr"} == {logging.DEBUG}


def test_nothing_is_logged_unless_debug_is_enabled(httpbin: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="httpr"):
        get_twice("sync", httpbin.url + "/get")
        get_twice("async", httpbin.url + "/get")
    assert lines(caplog) == []


def test_credentials_are_left_out_of_the_url(httpbin: Any, debug_log: pytest.LogCaptureFixture) -> None:
    host = httpbin.url.removeprefix("http://")
    r = httpr.get(f"http://user:hunter2@{host}/headers", timeout=5)
    assert r.json()["headers"]["Authorization"].startswith("Basic ")  # the credentials were used
    [line] = lines(debug_log)
    assert "hunter2" not in line and "user@" not in line
    assert fields(line)["url"] == f"http://{host}/headers"


def test_each_redirect_hop_and_retry_is_a_line(httpbin: Any, debug_log: pytest.LogCaptureFixture, refused_url: str) -> None:
    with httpr.Client(timeout=5) as c:
        assert c.get(httpbin.url + "/redirect/2").status_code == 200
    statuses = [fields(line)["status"] for line in lines(debug_log)]
    assert statuses == ["HTTP/1.1 302 Found", "HTTP/1.1 302 Found", "HTTP/1.1 200 OK"]

    debug_log.clear()
    with pytest.raises(httpr.ConnectError):
        httpr.get(refused_url, retries=httpr.Retry(total=2, backoff_factor=0, backoff_jitter=0))
    failed = lines(debug_log)
    assert len(failed) == 3
    assert all(re.fullmatch(rf"HTTP Request: GET {re.escape(refused_url)} failed: ConnectError \([\d.]+ ms\)", line) for line in failed), failed


def test_an_async_failure_is_logged(debug_log: pytest.LogCaptureFixture, refused_url: str) -> None:
    async def main() -> None:
        async with httpr.AsyncClient(timeout=5) as c:
            with pytest.raises(httpr.ConnectError):
                await c.get(refused_url)

    asyncio.run(main())
    [line] = lines(debug_log)
    assert line.startswith(f"HTTP Request: GET {refused_url} failed: ConnectError (")


def test_a_mock_transport_request_has_no_connection_part(debug_log: pytest.LogCaptureFixture) -> None:
    transport = httpr.MockTransport(lambda request: httpr.Response(204))
    with httpr.Client(transport=transport) as c:
        c.get("http://mocked.test/x")
    [line] = lines(debug_log)
    assert re.fullmatch(r'HTTP Request: GET http://mocked.test/x "HTTP/1.1 204 No Content" \([\d.]+ ms\)', line), line
