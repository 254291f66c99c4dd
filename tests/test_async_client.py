"""httpr.AsyncClient: the async twin of every Client scenario that makes sense (parametrized over
``mode`` = sync / async through :class:`stream_server.Twin`), then what only an async client on
native futures has to show: concurrency without threads, cancellation that releases connections,
flat memory over many requests, and uvloop.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import httpr
from servers import LocalServer
from stream_server import (
    MIB,
    Mode,
    StreamServer,
    Twin,
    await_until,
    hexq,
    rss_bytes,
    run_twin,
    socket_count,
    thread_count,
    thread_names,
)


@pytest.fixture(scope="module")
def server() -> Iterator[StreamServer]:
    with StreamServer() as s:
        yield s



def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- the same Response class ---------------------------------------------------------------------


def test_response_is_the_same_class(mode: Mode, echo_url: str) -> None:
    response = run_twin(mode, lambda t: t.get(echo_url, params={"x": "1"}))

    assert type(response) is httpr.Response
    assert response.status_code == 200
    assert response.json()["query"] == "x=1"


def test_sync_and_async_responses_agree(local_server: LocalServer, echo_path: str) -> None:
    url = local_server.url(echo_path)

    def observe(r: httpr.Response) -> tuple[Any, ...]:
        body = r.json()
        return (r.status_code, r.reason_phrase, r.http_version, r.url, r.headers["content-type"],
                r.encoding, body["method"], body["query"], base64.b64decode(body["body"]))

    sync = run_twin("sync", lambda t: t.call("post", url, params={"q": "1"}, content=b"body"))
    asyn = run_twin("async", lambda t: t.call("post", url, params={"q": "1"}, content=b"body"))

    assert observe(sync) == observe(asyn)


# -- methods and bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["get", "post", "put", "patch", "delete", "head", "options"])
def test_each_method(mode: Mode, local_server: LocalServer, echo_path: str, name: str) -> None:
    response = run_twin(mode, lambda t: t.call(name, local_server.url(echo_path)), timeout=10)

    assert response.status_code == 200
    assert [r.method for r in local_server.received(echo_path)] == [name.upper()]
    if name == "head":
        assert response.content == b""
    else:
        assert response.json()["method"] == name.upper()


def test_request_with_any_method(mode: Mode, local_server: LocalServer, echo_path: str) -> None:
    response = run_twin(mode, lambda t: t.request("PATCH", local_server.url(echo_path), content="é"))

    assert response.json()["method"] == "PATCH"
    [seen] = local_server.received(echo_path)
    assert seen.body == "é".encode()


@pytest.mark.parametrize(
    "payload",
    [{"name": "httpr", "n": 1, "ok": True, "tags": ["a", "é"], "none": None}, [1, "two", 3.5], "text"],
    ids=["object", "array", "string"],
)
def test_json_body(mode: Mode, local_server: LocalServer, echo_path: str, payload: Any) -> None:
    run_twin(mode, lambda t: t.call("post", local_server.url(echo_path), json=payload))

    [seen] = local_server.received(echo_path)
    assert json.loads(seen.body) == payload
    assert seen.header("content-type") == "application/json"


def test_form_body(mode: Mode, httpbin: Any) -> None:
    response = run_twin(mode, lambda t: t.call("post", httpbin.url + "/post", data={"a": "x y", "n": 1, "q": "é&="}))

    assert response.json()["form"] == {"a": "x y", "n": "1", "q": "é&="}
    assert response.json()["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_content_body(mode: Mode, local_server: LocalServer, echo_path: str) -> None:
    raw = bytes(range(256)) * 64
    run_twin(mode, lambda t: t.call("put", local_server.url(echo_path), content=raw))

    [seen] = local_server.received(echo_path)
    assert seen.body == raw


def test_files_and_data(mode: Mode, local_server: LocalServer, echo_path: str, tmp_path: Path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_bytes(b"hello from a file\n")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)))

    run_twin(
        mode,
        lambda t: t.call(
            "post", local_server.url(echo_path), data={"title": "t", "n": 3}, files={"doc": str(doc), "blob": str(blob)}
        ),
    )

    [seen] = local_server.received(echo_path)
    files = {name: content for name, filename, content in seen.multipart() if filename}
    fields = {name: content for name, filename, content in seen.multipart() if not filename}
    assert files == {"doc": b"hello from a file\n", "blob": bytes(range(256))}
    assert fields == {"title": b"t", "n": b"3"}


# -- defaults: params, headers, cookies, auth -----------------------------------------------------


@pytest.mark.parametrize(
    ("client_params", "request_params", "expected"),
    [
        ({"api_key": "k"}, None, {"api_key": "k"}),
        ({"page": 1, "ratio": 1.5}, None, {"page": "1", "ratio": "1.5"}),
        ({"api_key": "k", "page": 1}, {"page": 2, "q": "x"}, {"api_key": "k", "page": "2", "q": "x"}),
    ],
    ids=["client-only", "numbers-become-strings", "request-wins"],
)
def test_params_merge(
    mode: Mode, httpbin: Any, client_params: dict[str, Any], request_params: dict[str, Any] | None, expected: Any
) -> None:
    response = run_twin(mode, lambda t: t.get(httpbin.url + "/get", params=request_params), params=client_params)

    assert response.json()["args"] == expected


def test_headers_merge(mode: Mode, httpbin: Any) -> None:
    async def scenario(t: Twin) -> tuple[Any, Any]:
        sent = (await t.get(httpbin.url + "/headers", headers={"X-Request": "r", "x-both": "request"})).json()
        plain = (await t.get(httpbin.url + "/headers")).json()
        return sent["headers"], plain["headers"]

    sent, plain = run_twin(mode, scenario, headers={"X-Default": "d", "X-Both": "client"})

    assert (sent["X-Default"], sent["X-Request"], sent["X-Both"]) == ("d", "r", "request")
    assert (plain["X-Default"], plain["X-Both"]) == ("d", "client")
    assert "X-Request" not in plain


def test_cookies_merge_and_store(mode: Mode, httpbin: Any) -> None:
    async def scenario(t: Twin) -> list[Any]:
        return [
            (await t.get(httpbin.url + "/cookies")).json(),
            (await t.get(httpbin.url + "/cookies", cookies={"extra": "1"})).json(),
            (await t.get(httpbin.url + "/cookies/set?stored=yes")).json(),
            (await t.get(httpbin.url + "/cookies")).json(),
        ]

    alone, merged, after_set, later = run_twin(mode, scenario, cookies={"session": "abc"})

    assert alone == {"cookies": {"session": "abc"}}
    assert merged == {"cookies": {"session": "abc", "extra": "1"}}
    assert after_set == {"cookies": {"session": "abc", "stored": "yes"}}
    assert later == {"cookies": {"session": "abc", "stored": "yes"}}


def test_cookie_store_disabled(mode: Mode, httpbin: Any) -> None:
    async def scenario(t: Twin) -> Any:
        await t.get(httpbin.url + "/cookies/set?stored=yes")
        return (await t.get(httpbin.url + "/cookies")).json()

    assert run_twin(mode, scenario, cookie_store=False) == {"cookies": {}}


AUTH_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    # client kwargs, request kwargs, expected Authorization header
    "client basic": ({"auth": ("user", "pass")}, {}, basic("user", "pass")),
    "client basic without password": ({"auth": ("api-key", None)}, {}, basic("api-key", "")),
    "client bearer": ({"auth_bearer": "secret"}, {}, "Bearer secret"),
    "request basic overrides client": ({"auth": ("wrong", "creds")}, {"auth": ("user", "pass")}, basic("user", "pass")),
    "request bearer overrides client": ({"auth_bearer": "client"}, {"auth_bearer": "request"}, "Bearer request"),
}


@pytest.mark.parametrize("case", list(AUTH_CASES))
def test_auth(mode: Mode, httpbin: Any, case: str) -> None:
    client_kwargs, request_kwargs, expected = AUTH_CASES[case]

    async def scenario(t: Twin) -> tuple[str, int]:
        headers = (await t.get(httpbin.url + "/headers", **request_kwargs)).json()["headers"]
        protected = await t.get(httpbin.url + "/basic-auth/user/pass", **request_kwargs)
        return headers["Authorization"], protected.status_code

    authorization, protected_status = run_twin(mode, scenario, **client_kwargs)

    assert authorization == expected
    assert protected_status == (200 if expected == basic("user", "pass") else 401)


# -- redirects and status errors -----------------------------------------------------------------


def test_redirects(mode: Mode, httpbin: Any) -> None:
    followed = run_twin(mode, lambda t: t.get(httpbin.url + "/redirect/3"))
    assert (followed.status_code, followed.url) == (200, httpbin.url + "/get")

    not_followed = run_twin(mode, lambda t: t.get(httpbin.url + "/redirect/1"), follow_redirects=False)
    assert not_followed.status_code == 302
    assert not_followed.has_redirect_location

    with pytest.raises(httpr.TooManyRedirects):
        run_twin(mode, lambda t: t.get(httpbin.url + "/redirect/3"), max_redirects=2)


def test_raise_for_status(mode: Mode, httpbin: Any) -> None:
    response = run_twin(mode, lambda t: t.get(httpbin.url + "/status/404"))

    with pytest.raises(httpr.HTTPStatusError) as info:
        response.raise_for_status()
    assert info.value.response is not None
    assert info.value.response.status_code == 404


# -- timeouts and errors -------------------------------------------------------------------------

TIMEOUT = 0.5


@pytest.mark.parametrize("where", ["client", "request"])
def test_timeout_raises_read_timeout_promptly(mode: Mode, local_server: LocalServer, where: str) -> None:
    slow = local_server.url("/slow?seconds=5")
    client_timeout = TIMEOUT if where == "client" else 30.0

    async def scenario(t: Twin) -> float:
        started = time.monotonic()
        with pytest.raises(httpr.TimeoutException) as info:
            if where == "request":
                await t.get(slow, timeout=TIMEOUT)
            else:
                await t.get(slow)
        assert isinstance(info.value, httpr.ReadTimeout)
        assert isinstance(info.value, TimeoutError)
        return time.monotonic() - started

    elapsed = run_twin(mode, scenario, timeout=client_timeout)

    assert TIMEOUT * 0.8 <= elapsed < TIMEOUT + 1.0


def test_request_timeout_can_extend_client_timeout(mode: Mode, local_server: LocalServer) -> None:
    response = run_twin(mode, lambda t: t.get(local_server.url("/slow?seconds=0.6"), timeout=5), timeout=0.2)

    assert (response.status_code, response.text) == (200, "finally")


def test_connection_refused(mode: Mode, refused_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(httpr.ConnectError) as info:
        run_twin(mode, lambda t: t.call("post", refused_url), timeout=5)

    assert time.monotonic() - started < 5
    assert refused_url in str(info.value)
    assert info.value.request is not None
    assert (info.value.request.method, str(info.value.request.url)) == ("POST", refused_url)


@pytest.mark.parametrize("url", ["http://", "not a url", "http://exa mple.com", "http://127.0.0.1:99999/"])
def test_invalid_url(mode: Mode, url: str) -> None:
    with pytest.raises(httpr.InvalidURL) as info:
        run_twin(mode, lambda t: t.get(url), timeout=5)

    assert url in str(info.value)


def test_unsupported_scheme(mode: Mode) -> None:
    with pytest.raises(httpr.UnsupportedProtocol, match="ftp"):
        run_twin(mode, lambda t: t.get("ftp://127.0.0.1/x"), timeout=5)


# -- lifecycle and constructor -------------------------------------------------------------------


def test_close_and_reopen(mode: Mode, echo_url: str) -> None:
    async def scenario(t: Twin) -> tuple[int, bool, int]:
        first = await t.get(echo_url)
        await t.aclose()
        closed = t.client.is_closed
        with pytest.warns(httpr.ClientReopenedWarning):
            again = await t.get(echo_url)
        return first.status_code, closed, again.status_code

    assert run_twin(mode, scenario) == (200, True, 200)


async def _async_with_yields_the_client(echo_url: str) -> tuple[bool, int, bool]:
    async with httpr.AsyncClient() as client:
        is_client = isinstance(client, httpr.AsyncClient)
        status = (await client.get(echo_url)).status_code
    return is_client, status, client.is_closed


def test_async_with_yields_the_client_and_closes_it(echo_url: str) -> None:
    assert asyncio.run(_async_with_yields_the_client(echo_url)) == (True, 200, True)


def test_constructor_matches_client() -> None:
    kwargs: httpr.ClientParams = {
        "auth": ("user", "pw"),
        "params": {"a": "1"},
        "headers": {"X-Default": "d"},
        "cookies": {"c": "v"},
        "cookie_store": False,
        "referer": False,
        "timeout": 2.5,
        "follow_redirects": False,
        "max_redirects": 3,
        "verify": False,
        "https_only": False,
        "http1_only": True,
    }
    props = ["headers", "cookies", "auth", "params", "timeout", "proxy", "is_closed"]

    sync = httpr.Client(**kwargs)
    asyn = httpr.AsyncClient(**kwargs)

    assert {p: getattr(asyn, p) for p in props} == {p: getattr(sync, p) for p in props}
    assert asyn.timeout == 2.5 and asyn.auth == ("user", "pw")
    assert (sync.max_concurrency, asyn.max_concurrency) == (None, httpr.DEFAULT_MAX_CONCURRENCY)
    sync.close()


# -- what native futures must show ---------------------------------------------------------------


def test_concurrent_requests_overlap_and_the_loop_stays_free(server: StreamServer) -> None:
    slow = server.url("/slow?ms=500")

    async def main() -> tuple[list[httpr.Response], float, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        async with httpr.AsyncClient(timeout=10, max_concurrency=None) as client:
            started = time.monotonic()
            responses = await asyncio.gather(*(client.get(slow) for _ in range(200)))
            elapsed = time.monotonic() - started
        ticker.cancel()
        return responses, elapsed, ticks

    responses, elapsed, ticks = asyncio.run(main())

    assert [(r.status_code, r.text) for r in responses] == [(200, "slow")] * 200
    assert elapsed < 1.5, f"200 concurrent 0.5 s requests took {elapsed:.1f}s: they did not overlap"
    assert ticks >= 20, f"the event loop ran only {ticks} ticks in {elapsed:.2f}s"


def test_max_concurrency_bounds_the_requests_in_flight(server: StreamServer) -> None:
    slow = server.url("/slow?ms=200")

    async def main() -> tuple[list[httpr.Response], int, float, Any, Any]:
        default = httpr.AsyncClient().max_concurrency
        peak = 0
        running = True

        async def sample() -> None:
            nonlocal peak
            while running:
                peak = max(peak, server.slow_active)
                await asyncio.sleep(0.005)

        sampler = asyncio.create_task(sample())
        async with httpr.AsyncClient(timeout=10, max_concurrency=8) as client:
            limit = client.max_concurrency
            started = time.monotonic()
            responses = await asyncio.gather(*(client.get(slow) for _ in range(40)))
            elapsed = time.monotonic() - started
        running = False
        await sampler
        return responses, peak, elapsed, limit, default

    responses, peak, elapsed, limit, default = asyncio.run(main())

    assert (default, limit) == (httpr.DEFAULT_MAX_CONCURRENCY, 8)
    assert [r.status_code for r in responses] == [200] * 40
    assert peak == 8, f"{peak} requests were in flight at once with max_concurrency=8"
    assert 0.9 <= elapsed < 3, f"40 requests of 0.2 s, 8 at a time, took {elapsed:.2f}s"


LIMITS = pytest.mark.parametrize("limit", ["default", None], ids=["default-limit", "unlimited"])


def limit_kwargs(limit: str | None) -> httpr.AsyncClientParams:
    return {} if limit == "default" else {"max_concurrency": None}


@LIMITS
def test_2000_concurrent_requests_with_a_bounded_thread_count(server: StreamServer, limit: str | None) -> None:
    tiny = server.url("/tiny")

    async def main() -> tuple[list[httpr.Response], int, int, dict[str, int]]:
        baseline = peak = thread_count()
        names = thread_names()
        running = True

        async def sample() -> None:
            nonlocal peak, names
            while running:
                if (count := thread_count()) > peak:
                    peak, names = count, thread_names()
                await asyncio.sleep(0.005)

        sampler = asyncio.create_task(sample())
        async with httpr.AsyncClient(timeout=20, **limit_kwargs(limit)) as client:
            responses = await asyncio.gather(*(client.get(tiny, params={"i": i}) for i in range(2000)))
        running = False
        await sampler
        return responses, baseline, peak, names

    responses, baseline, peak, names = asyncio.run(main())

    assert len(responses) == 2000
    assert all(r.status_code == 200 and r.content == b"ok" for r in responses)
    # The whole process, not the growth: idle threads left over from an earlier burst count too.
    assert peak < 40, f"threads: {baseline} before, {peak} at the peak: {names}"


@LIMITS
def test_cancelled_requests_release_their_connections(server: StreamServer, limit: str | None) -> None:
    # With the default limit most of the 500 are cancelled while waiting for a slot (the slots
    # must come back); unlimited, all 500 are cancelled on the wire.
    slow = server.url("/slow?ms=10000")
    tiny = server.url("/tiny")

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        gc.collect()
        out["sockets_before"] = socket_count()
        client = httpr.AsyncClient(timeout=30, **limit_kwargs(limit))
        started = time.monotonic()
        out["cancelled"] = await asyncio.gather(
            *(asyncio.wait_for(client.get(slow), 0.05) for _ in range(500)), return_exceptions=True
        )
        out["cancel_elapsed"] = time.monotonic() - started
        out["server_released"] = await await_until(lambda: server.slow_active == 0, 3)
        out["slow_still_waiting"] = server.slow_active
        out["normal"] = await asyncio.gather(*(client.get(tiny) for _ in range(500)))
        await client.aclose()
        out["sockets_settled"] = await await_until(lambda: socket_count() <= out["sockets_before"] + 4, 5)
        out["sockets_after"] = socket_count()
        return out

    out = asyncio.run(main())

    kinds = {type(r).__name__ for r in out["cancelled"]}
    assert all(isinstance(r, TimeoutError) and not isinstance(r, httpr.HTTPError) for r in out["cancelled"]), kinds
    assert out["cancel_elapsed"] < 3, f"cancelling 500 requests took {out['cancel_elapsed']:.1f}s"
    assert out["server_released"], f"{out['slow_still_waiting']} cancelled requests still hold a connection"
    assert all(r.status_code == 200 for r in out["normal"])
    assert out["sockets_settled"], f"sockets: {out['sockets_before']} before, {out['sockets_after']} after aclose()"


def test_20000_requests_keep_rss_flat(server: StreamServer) -> None:
    tiny = server.url("/tiny")
    batch, batches = 200, 100

    async def main() -> tuple[int, int, float]:
        async with httpr.AsyncClient(timeout=10) as client:

            async def run_batch() -> int:
                responses = await asyncio.gather(*(client.get(tiny) for _ in range(batch)))
                return sum(r.status_code == 200 and r.content == b"ok" for r in responses)

            for _ in range(10):  # warm-up: connections, buffers, allocator arenas
                await run_batch()
            gc.collect()
            baseline = rss_bytes()
            started = time.monotonic()
            ok = 0
            for _ in range(batches):
                ok += await run_batch()
            elapsed = time.monotonic() - started
            gc.collect()
            return ok, rss_bytes() - baseline, elapsed

    ok, growth, elapsed = asyncio.run(main())

    assert ok == batch * batches
    assert growth < 20 * MIB, f"RSS grew by {growth / MIB:.1f} MiB over {ok} requests"
    assert elapsed < 25, f"{ok} requests took {elapsed:.1f}s"


def test_works_under_uvloop(server: StreamServer) -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (pip install uvloop)")
    tiny, echo, slow = server.url("/tiny"), server.url("/echo"), server.url("/slow?ms=5000")
    pieces = server.url("/pieces?" + hexq(b"a\n", b"b\n"))

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {"loop": type(asyncio.get_running_loop()).__module__}
        async with httpr.AsyncClient(timeout=10) as client:
            out["echo"] = (await client.post(echo, json={"k": "v"})).json()
            out["many"] = await asyncio.gather(*(client.get(tiny) for _ in range(200)))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.get(slow), 0.05)
            async with client.stream("GET", pieces) as r:
                out["lines"] = [line async for line in r.aiter_lines()]
        return out

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        out = runner.run(main())

    assert out["loop"].startswith("uvloop")
    assert (out["echo"]["method"], json.loads(base64.b64decode(out["echo"]["body"]))) == ("POST", {"k": "v"})
    assert [r.status_code for r in out["many"]] == [200] * 200
    assert out["lines"] == ["a", "b"]
