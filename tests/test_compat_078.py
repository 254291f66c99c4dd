"""Issue 12 as a checklist: the surface of the published httpr 0.7.8 that its users' code relies
on, beyond the user docs. One section per heading of the issue, at least one test per bullet, named
after the bullet; sync and async (``mode``, through :class:`stream_server.Twin`) wherever both
clients apply. Everything runs against servers on 127.0.0.1 started here.

Several bullets are also covered in more depth elsewhere (test_exceptions, test_client_behaviour,
test_async_client, test_streaming, test_tls, test_bad_input); the tests here are the compact form.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import os
import time
import urllib.parse
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from typing_extensions import Unpack

import httpr
from behaviour_servers import BehaviourServer, Seen
from stream_server import Mode, StreamServer, Twin, await_until, hexq, run_twin
from tls_servers import Certs, EchoServer, make_certs

# -- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv() -> Iterator[BehaviourServer]:
    """The server most tests talk to: it records every request it receives."""
    with BehaviourServer("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def proxy_srv() -> Iterator[BehaviourServer]:
    """A second server, used as a plain HTTP proxy (it answers proxied requests itself)."""
    with BehaviourServer("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def stream_srv() -> Iterator[StreamServer]:
    """Chunked bodies with controlled gaps (``/pieces``)."""
    with StreamServer() as server:
        yield server


@pytest.fixture
def fresh_stream_srv() -> Iterator[StreamServer]:
    """A StreamServer of the test's own, so that its ``slow_active`` counts only this test."""
    with StreamServer() as server:
        yield server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("compat-078-certs"))


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[EchoServer]:
    with EchoServer(certs.server_context()) as server:
        yield server


@pytest.fixture(scope="module")
def h2_preferring_tls_server(certs: Certs) -> Iterator[EchoServer]:
    """A TLS server that picks ``h2`` in ALPN whenever the client offers it, although it only
    speaks HTTP/1.1: only a client that never offers h2 gets an answer."""
    with EchoServer(certs.server_context(alpn=["h2", "http/1.1"])) as server:
        yield server



CLIENT_CLASSES = pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient], ids=["Client", "AsyncClient"])



def only(seen: list[Seen]) -> Seen:
    assert len(seen) == 1, f"expected exactly one request, the server saw {len(seen)}"
    return seen[0]


def x_headers(seen: Seen) -> dict[str, list[str]]:
    """The ``x-*`` headers of a request as the server saw them, lowercase name -> values."""
    out: dict[str, list[str]] = {}
    for name, value in seen.headers:
        if name.lower().startswith("x-"):
            out.setdefault(name.lower(), []).append(value)
    return out


def grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Query/form pairs grouped by name, keeping the order of each name's values."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def cookie_header_pairs(seen: Seen) -> list[tuple[str, str]]:
    headers = seen.header_list("cookie")
    assert len(headers) == 1, f"expected one Cookie header, got {headers}"
    pairs = [item.strip().split("=", 1) for item in headers[0].split(";") if item.strip()]
    return sorted((name, value) for name, value in pairs)


# ==================================================================================================
# Exceptions (names and bases)
# ==================================================================================================

#: (name, the base the issue names): every class must have that base among its direct bases.
DIRECT_BASES: list[tuple[str, type[BaseException] | str]] = [
    ("HTTPError", Exception),
    ("RequestError", "HTTPError"),
    ("TransportError", "RequestError"),
    ("NetworkError", "TransportError"),
    ("ConnectError", "NetworkError"),
    ("ReadError", "NetworkError"),
    ("WriteError", "NetworkError"),
    ("CloseError", "NetworkError"),
    ("TimeoutException", "TransportError"),
    ("ConnectTimeout", "TimeoutException"),
    ("ReadTimeout", "TimeoutException"),
    ("WriteTimeout", "TimeoutException"),
    ("PoolTimeout", "TimeoutException"),
    ("ProtocolError", "TransportError"),
    ("LocalProtocolError", "ProtocolError"),
    ("RemoteProtocolError", "ProtocolError"),
    ("UnsupportedProtocol", "TransportError"),
    ("ProxyError", "TransportError"),
    ("TooManyRedirects", "RequestError"),
    ("DecodingError", "RequestError"),
    ("HTTPStatusError", "HTTPError"),
    ("StreamError", Exception),
    ("StreamConsumed", "StreamError"),
    ("ResponseNotRead", "StreamError"),
    ("RequestNotRead", "StreamError"),
    ("StreamClosed", "StreamError"),
    ("InvalidURL", Exception),
    ("CookieConflict", Exception),
    ("ClientClosed", RuntimeError),
    ("ClientReopenedWarning", ResourceWarning),
]


def exc_class(name: str) -> type[BaseException]:
    cls = getattr(httpr, name)
    assert isinstance(cls, type) and issubclass(cls, BaseException), f"httpr.{name} is not an exception class"
    return cls


@pytest.mark.parametrize(("name", "base"), DIRECT_BASES, ids=[name for name, _ in DIRECT_BASES])
def test_exceptions_names_and_bases(name: str, base: type[BaseException] | str) -> None:
    cls = exc_class(name)
    if isinstance(base, str):  # an httpr class: a direct base, as in 0.7.8
        parent = exc_class(base)
        assert parent in cls.__bases__, f"httpr.{name} bases are {cls.__bases__}, expected {base} among them"
    else:  # a builtin: more specific builtin bases are welcome
        assert issubclass(cls, base), f"httpr.{name} is not a {base.__name__}"
    assert name in httpr.__all__, f"{name} missing from httpr.__all__ (star-imports)"


@pytest.mark.parametrize(
    "name", ["StreamError", "StreamConsumed", "ResponseNotRead", "RequestNotRead", "StreamClosed", "InvalidURL", "CookieConflict", "ClientClosed"]
)
def test_exceptions_stream_errors_invalid_url_cookie_conflict_not_under_http_error(name: str) -> None:
    cls = exc_class(name)
    assert not issubclass(cls, httpr.HTTPError)
    if name in ("InvalidURL", "CookieConflict"):  # they stand alone
        assert not issubclass(cls, httpr.StreamError)


def test_exceptions_raised_connect_error_caught_by_every_ancestor(mode: Mode, refused_url: str) -> None:
    async def scenario(t: Twin) -> BaseException:
        with pytest.raises(httpr.ConnectError) as info:
            await t.get(refused_url)
        return info.value

    exc = run_twin(mode, scenario, timeout=5)
    for ancestor in (httpr.NetworkError, httpr.TransportError, httpr.RequestError, httpr.HTTPError):
        assert isinstance(exc, ancestor)


@pytest.mark.parametrize("name", ["TimeoutException", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout"])
def test_exceptions_timeouts_are_also_builtin_timeout_error(name: str) -> None:
    cls = exc_class(name)
    assert issubclass(cls, TimeoutError)
    assert issubclass(cls, httpr.TimeoutException) and issubclass(cls, httpr.TransportError)


def test_exceptions_raised_read_timeout_is_caught_as_timeout_error(mode: Mode, srv: BehaviourServer) -> None:
    async def scenario(t: Twin) -> BaseException:
        try:
            await t.get(srv.url("/delay/to-timeout-error?seconds=2"))
        except TimeoutError as exc:  # the builtin
            return exc
        raise AssertionError("no timeout")

    exc = run_twin(mode, scenario, timeout=0.3)
    assert isinstance(exc, httpr.ReadTimeout)


def test_exceptions_json_errors_are_also_json_decode_error(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    url = srv.add(f"/not-json/{uid}", b"<html>not json</html>", headers=[("Content-Type", "application/json")])

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(url)

    response = run_twin(mode, scenario)
    with pytest.raises(json.JSONDecodeError) as info:
        response.json()
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, httpr.JSONDecodeError)
    assert (info.value.lineno, info.value.colno, info.value.pos) == (1, 1, 0)


BUILDER_ERRORS: dict[str, Callable[[Certs], dict[str, Any]]] = {
    "http1_only+http2_only": lambda c: {"http1_only": True, "http2_only": True},
    "client_pem+client_pem_data": lambda c: {"client_pem": c.client_pem, "client_pem_data": c.client_pem_data},
    "negative-timeout": lambda c: {"timeout": -1},
    "nan-timeout": lambda c: {"timeout": math.nan},
}


@CLIENT_CLASSES
@pytest.mark.parametrize("case", list(BUILDER_ERRORS))
def test_exceptions_builder_errors_are_also_value_error(cls: type[Any], certs: Certs, case: str) -> None:
    with pytest.raises(ValueError):
        cls(**BUILDER_ERRORS[case](certs))


# ==================================================================================================
# Client
# ==================================================================================================


def test_client_http1_only_constructor(mode: Mode, certs: Certs, h2_preferring_tls_server: EchoServer) -> None:
    """``http1_only=True`` never offers h2: the h2-preferring server answers over HTTP/1.1."""

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(h2_preferring_tls_server.url("/echo/http1-only"))

    response = run_twin(mode, scenario, http1_only=True, ca_cert_file=certs.ca_pem, timeout=5)
    assert response.status_code == 200
    assert response.http_version == "HTTP/1.1"
    assert response.json()["path"] == "/echo/http1-only"


@CLIENT_CLASSES
def test_client_http1_only_with_http2_only_is_value_error_naming_both(cls: type[Any]) -> None:
    with pytest.raises(ValueError) as info:
        cls(http1_only=True, http2_only=True)
    assert "http1_only" in str(info.value) and "http2_only" in str(info.value)


def test_client_request_on_closed_client_reopens_with_warning(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> tuple[list[warnings.WarningMessage], int, bool, bool]:
        await t.aclose()
        closed = t.client.is_closed
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response = await t.get(srv.url(f"/echo/{uid}"))
        return caught, response.status_code, closed, t.client.is_closed

    caught, status, closed_before, closed_after = run_twin(mode, scenario)
    reopen = [w for w in caught if issubclass(w.category, httpr.ClientReopenedWarning)]
    assert len(reopen) == 1, [str(w.message) for w in caught]
    assert "reopening" in str(reopen[0].message)
    assert (status, closed_before, closed_after) == (200, True, False)
    only(srv.seen(f"/echo/{uid}"))


def test_client_reopen_warning_as_error_sends_no_request(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        await t.aclose()
        with warnings.catch_warnings():
            warnings.simplefilter("error", httpr.ClientReopenedWarning)
            with pytest.raises(httpr.ClientReopenedWarning, match="reopening"):
                await t.get(srv.url(f"/echo/{uid}"))

    run_twin(mode, scenario)
    assert srv.seen(f"/echo/{uid}") == []


#: In-place mutations of ``client.headers`` (starting from X-Keep: k, X-Old: o), and the x-headers
#: the next request must carry. Every mutation goes through a reference taken beforehand.
HEADER_MUTATIONS: dict[str, tuple[Callable[[Any], None], dict[str, list[str]]]] = {
    "setitem": (lambda h: h.__setitem__("X-New", "n"), {"x-keep": ["k"], "x-old": ["o"], "x-new": ["n"]}),
    "setitem-other-case-replaces": (lambda h: h.__setitem__("x-OLD", "o2"), {"x-keep": ["k"], "x-old": ["o2"]}),
    "delitem-other-case": (lambda h: h.__delitem__("X-OLD"), {"x-keep": ["k"]}),
    "update": (lambda h: h.update({"X-New": "n", "x-old": "o2"}), {"x-keep": ["k"], "x-old": ["o2"], "x-new": ["n"]}),
    "pop": (lambda h: h.pop("X-Old"), {"x-keep": ["k"]}),
    "setdefault": (lambda h: h.setdefault("X-New", "n"), {"x-keep": ["k"], "x-old": ["o"], "x-new": ["n"]}),
    "clear": (lambda h: h.clear(), {}),
}


@pytest.mark.parametrize("op", list(HEADER_MUTATIONS))
def test_client_headers_live_in_place_mutation_changes_next_request(
    mode: Mode, srv: BehaviourServer, uid: str, op: str
) -> None:
    mutate, expected = HEADER_MUTATIONS[op]

    async def scenario(t: Twin) -> None:
        headers = t.client.headers  # taken before the change: it must be live
        mutate(headers)
        await t.get(srv.url(f"/echo/{uid}"))

    run_twin(mode, scenario, headers={"X-Keep": "k", "X-Old": "o"})
    assert x_headers(only(srv.seen(f"/echo/{uid}"))) == expected


def test_client_headers_case_insensitive_dict(mode: Mode) -> None:
    async def scenario(t: Twin) -> None:
        headers = t.client.headers
        assert isinstance(headers, httpr.CaseInsensitiveDict)
        assert headers["x-token"] == headers["X-TOKEN"] == "t"
        assert "X-Token" in headers and "x-token" in headers and "x-absent" not in headers
        assert headers.get("X-TOKEN") == "t" and headers.get("x-absent") is None
        assert dict(headers.items()) == {"x-token": "t"}
        assert headers == {"x-token": "t"}

    run_twin(mode, scenario, headers={"X-Token": "t"})


def test_client_set_header_and_del_header(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        t.client.set_header("X-Added", "a")
        t.client.set_header("x-keep", "k2")  # replaces, case-insensitively
        t.client.del_header("X-DROP")
        t.client.del_header("x-never-set")  # absent: no error
        assert t.client.headers == {"x-keep": "k2", "x-added": "a"}
        await t.get(srv.url(f"/echo/{uid}"))

    run_twin(mode, scenario, headers={"X-Keep": "k", "X-Drop": "d"})
    assert x_headers(only(srv.seen(f"/echo/{uid}"))) == {"x-keep": ["k2"], "x-added": ["a"]}


def test_client_setting_proxy_keeps_every_other_setting(
    mode: Mode, srv: BehaviourServer, proxy_srv: BehaviourServer, uid: str
) -> None:
    target = srv.url(f"/echo/{uid}/via-proxy")
    redirect = srv.url(f"/redirect/{uid}?" + urllib.parse.urlencode({"to": "/echo/elsewhere"}))

    async def scenario(t: Twin) -> None:
        client = t.client
        await t.get(srv.url(f"/echo/{uid}/before"))  # leaves a pooled direct connection behind
        client.proxy = proxy_srv.base_url
        assert client.proxy is not None and client.proxy.startswith(proxy_srv.base_url)
        # every other setting survives the rebuilt transport
        assert client.timeout == 0.5
        assert client.headers == {"x-keep": "k"}
        assert client.params == {"p": "1"}
        assert client.auth == ("user", "pw")
        assert client.cookies == {"c": "1"}
        await t.get(target)
        assert (await t.get(redirect)).status_code == 302, "follow_redirects=False was lost"
        started = time.monotonic()
        with pytest.raises(httpr.ReadTimeout):
            await t.get(srv.url(f"/delay/{uid}?seconds=2"))
        assert time.monotonic() - started < 1.5, "the 0.5 s timeout was lost"
        client.proxy = None
        assert client.proxy is None
        await t.get(srv.url(f"/echo/{uid}/direct"))

    run_twin(
        mode,
        scenario,
        timeout=0.5,
        headers={"X-Keep": "k"},
        params={"p": "1"},
        auth=("user", "pw"),
        cookies={"c": "1"},
        follow_redirects=False,
    )

    expectations = [
        (srv, f"/echo/{uid}/before", False),
        (proxy_srv, f"/echo/{uid}/via-proxy", True),
        (srv, f"/echo/{uid}/direct", False),
    ]
    for server, path, proxied in expectations:
        seen = only(server.seen(path))
        assert seen.proxied is proxied
        assert seen.header("x-keep") == "k"
        assert seen.params() == [("p", "1")]
        assert seen.header("authorization") == "Basic dXNlcjpwdw=="
        assert cookie_header_pairs(seen) == [("c", "1")]
    assert srv.seen(f"/echo/{uid}/via-proxy") == [], "the request bypassed the proxy (a pooled connection?)"
    assert only(proxy_srv.seen(f"/redirect/{uid}")).proxied
    assert proxy_srv.seen("/echo/elsewhere") == [] and srv.seen("/echo/elsewhere") == []


@CLIENT_CLASSES
def test_client_client_pem_with_client_pem_data_is_value_error(cls: type[Any], certs: Certs) -> None:
    with pytest.raises(ValueError) as info:
        cls(client_pem=certs.client_pem, client_pem_data=certs.client_pem_data)
    assert "client_pem" in str(info.value) and "client_pem_data" in str(info.value)


@CLIENT_CLASSES
@pytest.mark.parametrize("kind", ["missing", "empty", "directory"])
def test_client_unreadable_or_empty_ca_file_is_request_error_at_construction(
    cls: type[Any], certs: Certs, tmp_path: Path, kind: str
) -> None:
    if kind == "missing":
        path = tmp_path / "no-such-dir" / "ca.pem"
    elif kind == "empty":
        path = tmp_path / "empty-ca.pem"
        path.write_bytes(b"")
    else:
        path = tmp_path
    with pytest.raises(httpr.RequestError):
        cls(ca_cert_file=str(path))


@pytest.mark.parametrize("via", ["Client", "AsyncClient", "function"])
def test_client_ca_cert_file_never_modifies_the_environment(
    via: str, certs: Certs, tls_server: EchoServer, uid: str
) -> None:
    before = dict(os.environ)
    url = tls_server.url(f"/echo/{uid}")

    if via == "function":
        response = httpr.get(url, ca_cert_file=certs.ca_pem, timeout=5)
    else:
        response = run_twin("sync" if via == "Client" else "async", lambda t: t.get(url), ca_cert_file=certs.ca_pem, timeout=5)
        assert dict(os.environ) == before

    assert response.status_code == 200
    changed = {k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k)}
    assert not changed, f"os.environ changed: {sorted(changed)}"


@pytest.mark.parametrize("via", ["request", "stream"])
@pytest.mark.parametrize("method", ["BREW", "FOO BAR", ""])
def test_client_unknown_http_method_is_value_error(
    mode: Mode, srv: BehaviourServer, uid: str, via: str, method: str
) -> None:
    url = srv.url(f"/echo/{uid}")

    async def scenario(t: Twin) -> None:
        with pytest.raises(ValueError, match=r"^Unsupported HTTP method"):
            if via == "request":
                await t.request(cast("httpr.HttpMethod", method), url)
            else:
                async with t.stream(cast("httpr.HttpMethod", method), url):
                    pass

    run_twin(mode, scenario)
    assert srv.seen(f"/echo/{uid}") == []


BODIES: dict[str, tuple[dict[str, Any], bytes, str]] = {
    "json": ({"json": {"k": [1, 2]}}, b'{"k":[1,2]}', "application/json"),
    "content": ({"content": b"raw \x00 bytes"}, b"raw \x00 bytes", ""),
    "data": ({"data": {"field": "v a"}}, b"field=v+a", "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("kind", list(BODIES))
@pytest.mark.parametrize("method", ["get", "head", "options", "delete"])
def test_client_bodies_are_allowed_on_any_method(
    mode: Mode, srv: BehaviourServer, uid: str, method: str, kind: str
) -> None:
    kwargs, body, ctype = BODIES[kind]

    async def scenario(t: Twin) -> httpr.Response:
        return await t.call(method, srv.url(f"/echo/{uid}"), **kwargs)

    assert run_twin(mode, scenario).status_code == 200
    seen = only(srv.seen(f"/echo/{uid}"))
    assert seen.method == method.upper()
    if kind == "json":
        assert json.loads(seen.body) == json.loads(body)
    else:
        assert seen.body == body
    if ctype:
        assert (seen.header("content-type") or "").startswith(ctype)


def test_client_max_concurrency_default_and_none() -> None:
    assert httpr.DEFAULT_MAX_CONCURRENCY == 64
    assert "DEFAULT_MAX_CONCURRENCY" in dir(httpr)
    assert httpr.AsyncClient().max_concurrency == httpr.DEFAULT_MAX_CONCURRENCY
    assert httpr.AsyncClient(max_concurrency=64).max_concurrency == 64
    assert httpr.AsyncClient(max_concurrency=3).max_concurrency == 3
    assert httpr.AsyncClient(max_concurrency=None).max_concurrency is None


@pytest.mark.parametrize(
    ("limits", "per_client", "expected_peak"),
    [((2,), 6, 2), ((None,), 6, 6), ((2, 2), 4, 4)],
    ids=["capped-at-2", "none-is-unlimited", "per-client"],
)
def test_client_max_concurrency_caps_requests_in_flight(
    fresh_stream_srv: StreamServer, limits: tuple[int | None, ...], per_client: int, expected_peak: int
) -> None:
    server = fresh_stream_srv
    slow = server.url("/slow?ms=300")

    async def main() -> tuple[list[int], int]:
        peak = 0
        running = True

        async def sample() -> None:
            nonlocal peak
            while running:
                peak = max(peak, server.slow_active)
                await asyncio.sleep(0.005)

        sampler = asyncio.create_task(sample())
        clients = [httpr.AsyncClient(timeout=10, max_concurrency=limit) for limit in limits]
        try:
            responses = await asyncio.gather(*(c.get(slow) for c in clients for _ in range(per_client)))
        finally:
            for c in clients:
                await c.aclose()
            running = False
            await sampler
        return [r.status_code for r in responses], peak

    statuses, peak = asyncio.run(main())
    assert statuses == [200] * per_client * len(limits)
    assert peak == expected_peak, f"{peak} requests in flight at once, expected {expected_peak} (limits {limits})"


def test_client_aclose_returns_promptly_with_requests_in_flight(fresh_stream_srv: StreamServer) -> None:
    server = fresh_stream_srv
    slow = server.url("/slow?ms=1000")

    async def main() -> tuple[float, bool]:
        client = httpr.AsyncClient(timeout=10)
        # ensure_future, not create_task: test_client_async_methods_are_coroutines_for_create_task
        # covers that separately
        tasks = [asyncio.ensure_future(client.get(slow)) for _ in range(4)]
        try:
            assert await await_until(lambda: server.slow_active == 4, 5), "the requests never reached the server"
            started = time.monotonic()
            await client.aclose()
            took = time.monotonic() - started
            closed = client.is_closed
        finally:  # what becomes of the requests themselves is not this bullet's business
            for task in tasks:
                task.cancel()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        return took, closed

    took, closed = asyncio.run(main())
    assert took < 0.25, f"aclose() took {took:.3f}s with 4 requests in flight"
    assert closed


@pytest.mark.parametrize("name", ["request", "get", "post", "aclose"])
def test_client_async_methods_are_coroutines_for_create_task(srv: BehaviourServer, uid: str, name: str) -> None:
    """As in 0.7.8 (``async def``), so ``asyncio.create_task(client.get(url))`` and TaskGroups work
    for the in-flight requests the aclose() bullet is about."""
    url = srv.url(f"/echo/{uid}")

    async def main() -> str:
        client = httpr.AsyncClient(timeout=5)
        try:
            method = getattr(client, name)
            awaitable = method("GET", url) if name == "request" else method() if name == "aclose" else method(url)
            kind = type(awaitable).__name__
            if asyncio.iscoroutine(awaitable):
                result = await asyncio.create_task(awaitable)
            else:
                result = await awaitable  # still awaited, so that nothing is left pending
            if name != "aclose":
                assert result.status_code == 200
            return kind
        finally:
            await client.aclose()

    kind = asyncio.run(main())
    assert kind == "coroutine", f"AsyncClient.{name}() returned a {kind}, which asyncio.create_task() rejects"
    # Deliberate difference (docs/guides/migrating.md): the methods are compiled, so
    # inspect.iscoroutinefunction() is False although every call returns a coroutine.


#: Every constructor parameter of httpr 0.7.8's Client, with its default.
PARAMS_078: dict[str, Any] = {
    "auth": None,
    "auth_bearer": None,
    "params": None,
    "headers": None,
    "cookies": None,
    "cookie_store": True,
    "referer": True,
    "proxy": None,
    "timeout": 30,
    "follow_redirects": True,
    "max_redirects": 20,
    "verify": True,
    "ca_cert_file": None,
    "client_pem": None,
    "client_pem_data": None,
    "https_only": False,
    "http2_only": False,
    "http1_only": False,
}
ASYNC_PARAMS_078: dict[str, Any] = {**PARAMS_078, "max_concurrency": 64}

SIGNATURE_TARGETS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "Client": (httpr.Client, PARAMS_078),
    "AsyncClient": (httpr.AsyncClient, ASYNC_PARAMS_078),
    # Deliberate difference (docs/guides/migrating.md): the classes are compiled, so their
    # parameters are on the class (inspect.signature(httpr.Client)), not on `__init__`.
}


@pytest.mark.parametrize("target", list(SIGNATURE_TARGETS))
def test_client_inspect_signature_shows_every_parameter_with_its_default(target: str) -> None:
    obj, expected = SIGNATURE_TARGETS[target]
    signature = inspect.signature(obj)
    params = {name: p for name, p in signature.parameters.items() if name != "self"}
    shown = {name: p.default for name, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    missing = sorted(set(expected) - set(shown))
    assert not missing, f"inspect.signature({target}) = {signature}: missing {missing}"
    wrong = {name: (shown[name], default) for name, default in expected.items() if shown[name] != default}
    assert not wrong, f"defaults differ from 0.7.8 (ours, 0.7.8): {wrong}"
    for name, default in expected.items():
        assert type(shown[name]) is type(default), f"{name}: default {shown[name]!r}, 0.7.8 has {default!r}"


# ==================================================================================================
# Params, cookies, timeouts
# ==================================================================================================

#: Values of every accepted type, and what the server must receive for them.
PARAM_VALUES: list[tuple[str, Any]] = [
    ("list", ["a", "b"]),
    ("tuple", ("c", 1)),
    ("yes", True),
    ("no", False),
    ("none", None),
    ("int", 3),
    ("float", 1.5),
    ("str", "s p"),
]
PARAM_EXPECTED: dict[str, list[str]] = {
    "list": ["a", "b"],
    "tuple": ["c", "1"],
    "yes": ["true"],
    "no": ["false"],
    "none": [""],
    "int": ["3"],
    "float": ["1.5"],
    "str": ["s p"],
}


def received_pairs(seen: Seen, where: str) -> list[tuple[str, str]]:
    if where == "params":
        return seen.params()
    return urllib.parse.parse_qsl(seen.body.decode(), keep_blank_values=True)


@pytest.mark.parametrize("shape", ["dict", "pairs"])
@pytest.mark.parametrize("where", ["params", "data"])
def test_params_value_rules_and_form_data_follows_them(
    mode: Mode, srv: BehaviourServer, uid: str, where: str, shape: str
) -> None:
    value: Any = dict(PARAM_VALUES)
    if shape == "pairs":  # list values are only for the mapping form; pairs repeat the key instead
        value = [(k, v) for k, v in PARAM_VALUES if not isinstance(v, (list, tuple))] + [("list", "a"), ("list", "b")]

    async def scenario(t: Twin) -> None:
        kwargs: dict[str, Any] = {where: value}
        await t.call("post", srv.url(f"/echo/{uid}"), **kwargs)

    run_twin(mode, scenario)
    got = grouped(received_pairs(only(srv.seen(f"/echo/{uid}")), where))
    expected = dict(PARAM_EXPECTED)
    if shape == "pairs":
        del expected["tuple"]
    assert got == expected


def test_params_client_and_request_merge_request_replaces_client(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        await t.get(srv.url(f"/echo/{uid}/merged"), params={"shared": "request", "multi": ["r1"], "own": 1})
        await t.get(srv.url(f"/echo/{uid}/client-only"))

    run_twin(mode, scenario, params={"shared": "client", "multi": ["c1", "c2"], "keep": True})
    merged = grouped(only(srv.seen(f"/echo/{uid}/merged")).params())
    assert merged == {"shared": ["request"], "multi": ["r1"], "own": ["1"], "keep": ["true"]}
    client_only = grouped(only(srv.seen(f"/echo/{uid}/client-only")).params())
    assert client_only == {"shared": ["client"], "multi": ["c1", "c2"], "keep": ["true"]}


BAD_VALUES: list[tuple[str, Any, str]] = [
    ("dict", {"x": 1}, "dict"),
    ("object", object(), "object"),
    ("complex", 1j, "complex"),
    ("set", {"a"}, "set"),
]


@pytest.mark.parametrize(("value", "type_name"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES])
@pytest.mark.parametrize("where", ["params", "data", "client-params"])
def test_params_other_types_are_type_error_naming_key_and_type(
    mode: Mode, srv: BehaviourServer, uid: str, where: str, value: Any, type_name: str
) -> None:
    async def scenario(t: Twin) -> None:
        kwargs: dict[str, Any] = {where: {"ok": "1", "the_bad_key": value}}
        with pytest.raises(TypeError) as info:
            await t.call("post", srv.url(f"/echo/{uid}"), **kwargs)
        assert "the_bad_key" in str(info.value) and type_name in str(info.value), str(info.value)

    if where == "client-params":
        with pytest.raises(TypeError) as info:
            (httpr.Client if mode == "sync" else httpr.AsyncClient)(params={"ok": "1", "the_bad_key": value})
        assert "the_bad_key" in str(info.value) and type_name in str(info.value), str(info.value)
    else:
        run_twin(mode, scenario)
    assert srv.seen(f"/echo/{uid}") == []


def test_cookies_client_and_request_merge_into_one_cookie_header(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        await t.get(srv.url(f"/echo/{uid}"), cookies={"b": "2", "shared": "request"})

    run_twin(mode, scenario, cookies={"a": "1", "shared": "client"})
    assert cookie_header_pairs(only(srv.seen(f"/echo/{uid}"))) == [("a", "1"), ("b", "2"), ("shared", "request")]


@CLIENT_CLASSES
def test_timeout_default_is_30_seconds(cls: type[Any]) -> None:
    assert cls().timeout == 30
    assert inspect.signature(cls).parameters["timeout"].default == 30


@pytest.mark.parametrize("how", ["get", "stream"])
def test_timeout_bounds_each_stall_not_the_whole_transfer(mode: Mode, stream_srv: StreamServer, how: str) -> None:
    pieces = [f"piece {i}\n".encode() for i in range(6)]
    url = stream_srv.url(f"/pieces?{hexq(*pieces)}&gap_ms=100")  # 0.5 s in all

    async def scenario(t: Twin) -> tuple[bytes, float]:
        started = time.monotonic()
        if how == "get":
            body = (await t.get(url)).content
        else:
            async with t.stream("GET", url) as r:
                body = b"".join([chunk async for chunk in r.iter_bytes()])
        return body, time.monotonic() - started

    body, took = run_twin(mode, scenario, timeout=0.3)
    assert body == b"".join(pieces)
    assert took > 0.4, f"the transfer took {took:.2f}s: the server's gaps did not happen"


@pytest.mark.parametrize(
    ("stage", "path", "said", "not_said"),
    [
        ("headers", "/delay/{uid}?seconds=1.5", "response headers", "body"),
        ("body", "/stall/{uid}?sent=5&total=100&seconds=1.5", "body", "headers"),
    ],
    ids=["headers", "body"],
)
def test_timeout_read_timeout_message_says_headers_or_body(
    mode: Mode, srv: BehaviourServer, uid: str, stage: str, path: str, said: str, not_said: str
) -> None:
    async def scenario(t: Twin) -> tuple[BaseException, float]:
        started = time.monotonic()
        with pytest.raises(httpr.ReadTimeout) as info:
            await t.get(srv.url(path.format(uid=uid)))
        return info.value, time.monotonic() - started

    exc, took = run_twin(mode, scenario, timeout=0.3)
    message = str(exc)  # (the URL, if included, contains neither word)
    assert said in message and not_said not in message, message
    assert took < 1.2, f"the 0.3 s timeout fired after {took:.2f}s"


@pytest.mark.parametrize("value", [-1, -0.001, math.nan], ids=["-1", "-0.001", "nan"])
@pytest.mark.parametrize("where", ["constructor", "request", "setter"])
def test_timeout_negative_or_nan_is_value_error_non_negative(
    mode: Mode, srv: BehaviourServer, uid: str, where: str, value: float
) -> None:
    async def scenario(t: Twin) -> None:
        with pytest.raises(ValueError, match="non-negative"):
            if where == "request":
                await t.get(srv.url(f"/echo/{uid}"), timeout=value)
            else:
                t.client.timeout = value

    if where == "constructor":
        with pytest.raises(ValueError, match="non-negative"):
            (httpr.Client if mode == "sync" else httpr.AsyncClient)(timeout=value)
    else:
        run_twin(mode, scenario)
    assert srv.seen(f"/echo/{uid}") == []


# ==================================================================================================
# Response / StreamingResponse
# ==================================================================================================

#: status -> (reason phrase, Location header or None)
STATUSES: dict[int, tuple[str, str | None]] = {
    200: ("OK", None),
    201: ("Created", None),
    204: ("No Content", None),
    301: ("Moved Permanently", "/elsewhere"),
    302: ("Found", None),
    304: ("Not Modified", None),
    307: ("Temporary Redirect", "/elsewhere"),
    404: ("Not Found", None),
    500: ("Internal Server Error", None),
    503: ("Service Unavailable", None),
}

FLAGS = [
    "is_informational",
    "is_success",
    "is_redirect",
    "is_client_error",
    "is_server_error",
    "is_error",
    "has_redirect_location",
]


def expected_flags(status: int) -> dict[str, bool]:
    return {
        "is_informational": 100 <= status < 200,
        "is_success": 200 <= status < 300,
        # A deliberate difference from 0.7.8 (any 3xx there): httpx's meaning, a followable
        # redirect with a Location (issue 20; docs/guides/migrating.md).
        "is_redirect": status in (301, 302, 303, 307, 308) and STATUSES[status][1] is not None,
        "is_client_error": 400 <= status < 500,
        "is_server_error": 500 <= status < 600,
        "is_error": 400 <= status < 600,
        "has_redirect_location": STATUSES[status][1] is not None,
    }


def status_url(srv: BehaviourServer, uid: str, status: int) -> str:
    location = STATUSES[status][1]
    headers = [("Content-Type", "text/plain")] + ([("Location", location)] if location else [])
    return srv.add(f"/status/{uid}/{status}", b"" if status in (204, 304) else b"body", status=status, headers=headers)


def check_status_surface(response: object, status: int, kind: str) -> None:
    """The status surface of a Response, StreamingResponse or AsyncStreamingResponse (read with
    getattr so that a missing attribute fails the test instead of mypy)."""
    reason = STATUSES[status][0]
    assert getattr(response, "status_code") == status
    assert getattr(response, "reason_phrase") == reason
    assert getattr(response, "http_version") == "HTTP/1.1"
    missing = [name for name in FLAGS + ["raise_for_status"] if not hasattr(response, name)]
    assert not missing, f"{type(response).__name__} has no {missing}"
    assert {name: getattr(response, name) for name in FLAGS} == expected_flags(status)
    if status < 300:
        assert getattr(response, "raise_for_status")() is response
    elif status >= 400:
        with pytest.raises(httpr.HTTPStatusError):
            getattr(response, "raise_for_status")()
    # 3xx: see test_response_raise_for_status_on_3xx_raises_as_in_078
    if kind in ("Response", "StreamingResponse"):
        assert repr(response) == f"<{kind} [{status} {reason}]>"


@pytest.mark.parametrize("status", list(STATUSES))
def test_response_status_properties_raise_for_status_and_repr(
    mode: Mode, srv: BehaviourServer, uid: str, status: int
) -> None:
    url = status_url(srv, uid, status)

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(url)

    response = run_twin(mode, scenario, follow_redirects=False)
    check_status_surface(response, status, "Response")


@pytest.mark.parametrize("status", [200, 301, 302, 404, 503])
def test_streaming_response_status_properties_and_raise_for_status(
    mode: Mode, srv: BehaviourServer, uid: str, status: int
) -> None:
    url = status_url(srv, uid, status)

    if mode == "sync":
        with httpr.Client(follow_redirects=False) as client, client.stream("GET", url) as response:
            check_status_surface(response, status, "StreamingResponse")
        return

    async def main() -> None:
        async with httpr.AsyncClient(follow_redirects=False) as client, client.stream("GET", url) as aresponse:
            check_status_surface(aresponse, status, "AsyncStreamingResponse")

    asyncio.run(main())


@pytest.mark.parametrize("kind", ["Response", "StreamingResponse"])
@pytest.mark.parametrize("status", [301, 302, 304, 307])
def test_response_raise_for_status_on_3xx_raises_as_in_078(
    mode: Mode, srv: BehaviourServer, uid: str, status: int, kind: str
) -> None:
    """httpr 0.7.8 (like httpx) raises HTTPStatusError for every status that is not 2xx, so an
    unfollowed redirect (follow_redirects=False) raises too: code relying on that must keep working."""
    url = status_url(srv, uid, status)

    async def scenario(t: Twin) -> None:
        if kind == "Response":
            response: object = await t.get(url)
            with pytest.raises(httpr.HTTPStatusError):
                getattr(response, "raise_for_status")()
        else:
            async with t.stream("GET", url) as view:
                with pytest.raises(httpr.HTTPStatusError):
                    getattr(view.raw, "raise_for_status")()

    run_twin(mode, scenario, follow_redirects=False)


@pytest.mark.parametrize("name", ["iso-8859-1", "latin-1", "windows-1252"])
def test_response_encoding_is_settable_and_changes_text(mode: Mode, srv: BehaviourServer, uid: str, name: str) -> None:
    text = "café naïve"
    url = srv.add(f"/latin1/{uid}", text.encode("latin-1"), headers=[("Content-Type", "text/plain; charset=utf-8")])

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(url)

    response = run_twin(mode, scenario)
    assert response.encoding.lower() == "utf-8"
    assert response.text != text and "\ufffd" in response.text
    response.encoding = name
    assert response.encoding.lower() != "utf-8"
    assert response.text == text
    response.encoding = "utf-8"
    assert "\ufffd" in response.text


STREAM_PIECES = [b"line one\nline", b" two\r\nline thr", "ee caf\u00e9\n".encode()[:-2], "é\n".encode()[-2:] + b"end"]
STREAM_BODY = b"".join(STREAM_PIECES)


def read_async_stream(url: str, how: str) -> Any:
    async def main() -> Any:
        async with httpr.AsyncClient(timeout=5) as client, client.stream("GET", url) as response:
            assert isinstance(response, httpr.AsyncStreamingResponse)
            assert response.status_code == 200
            if how == "aiter_bytes":
                return b"".join([chunk async for chunk in response.aiter_bytes()])
            if how == "aiter_text":
                return "".join([text async for text in response.aiter_text()])
            if how == "aiter_lines":
                return [line async for line in response.aiter_lines()]
            if how == "async-for":
                return b"".join([chunk async for chunk in response])
            if how == "aread":
                return await response.aread()
            assert how == "aclose"
            await response.aclose()
            assert response.is_closed
            with pytest.raises(httpr.StreamClosed):
                await response.aread()
            return None

    return asyncio.run(main())


STREAM_EXPECTED: dict[str, Any] = {
    "aiter_bytes": STREAM_BODY,
    "aiter_text": STREAM_BODY.decode(),
    "aiter_lines": ["line one", "line two", "line three café", "end"],
    "async-for": STREAM_BODY,
    "aread": STREAM_BODY,
    "aclose": None,
}


@pytest.mark.parametrize("how", list(STREAM_EXPECTED))
def test_async_stream_yields_async_streaming_response_with_aiter_aread_aclose(
    stream_srv: StreamServer, how: str
) -> None:
    url = stream_srv.url(f"/pieces?{hexq(*STREAM_PIECES)}&gap_ms=20")
    assert read_async_stream(url, how) == STREAM_EXPECTED[how]


@pytest.mark.parametrize("how", ["aiter_bytes", "aiter_text", "aiter_lines", "async-for", "aread"])
def test_async_stream_iterating_never_blocks_the_event_loop(stream_srv: StreamServer, how: str) -> None:
    url = stream_srv.url(f"/pieces?{hexq(*STREAM_PIECES)}&gap_ms=100")  # ~0.3 s of waiting on chunks

    async def main() -> tuple[Any, int, float]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async with httpr.AsyncClient(timeout=5) as client, client.stream("GET", url) as response:
            ticker = asyncio.create_task(tick())
            started = time.monotonic()
            result: Any
            if how == "aiter_bytes":
                result = b"".join([chunk async for chunk in response.aiter_bytes()])
            elif how == "aiter_text":
                result = "".join([text async for text in response.aiter_text()])
            elif how == "aiter_lines":
                result = [line async for line in response.aiter_lines()]
            elif how == "async-for":
                result = b"".join([chunk async for chunk in response])
            else:
                result = await response.aread()
            took = time.monotonic() - started
            ticker.cancel()
        return result, ticks, took

    result, ticks, took = asyncio.run(main())
    assert result == STREAM_EXPECTED[how]
    assert took > 0.25, f"the body arrived in {took:.2f}s: the server's gaps did not happen"
    assert ticks >= 0.5 * took / 0.01, f"another task ticked only {ticks} times in {took:.2f}s of iteration"


def fetch_with(client: httpr.Client, url: str, **kwargs: Unpack[httpr.RequestParams]) -> httpr.Response:
    """0.7.8-style user code typing its pass-through kwargs with httpr.RequestParams."""
    return client.get(url, **kwargs)


def fetch_once(url: str, **kwargs: Unpack[httpr.ClientRequestParams]) -> httpr.Response:
    return httpr.get(url, **kwargs)


def test_exported_helpers_case_insensitive_dict(srv: BehaviourServer, uid: str) -> None:
    headers = httpr.CaseInsensitiveDict({"Content-Type": "text/plain", "X-Token": "t"})
    assert headers["content-type"] == headers["CONTENT-TYPE"] == "text/plain"
    assert "x-TOKEN" in headers and headers.get("X-TOKEN") == "t"
    headers["X-New"] = "n"
    assert headers["x-new"] == "n"
    del headers["X-TOKEN"]
    assert "x-token" not in headers
    assert "CaseInsensitiveDict" in dir(httpr)
    # usable as request headers
    with httpr.Client() as client:
        # runtime accepts it; the cast only because the stubs' HeaderTypes does not list Headers
        client.get(srv.url(f"/echo/{uid}"), headers=cast("dict[str, str]", headers))
    assert x_headers(only(srv.seen(f"/echo/{uid}"))) == {"x-new": ["n"]}


def test_exported_helpers_typing_names(srv: BehaviourServer, tls_server: EchoServer, certs: Certs, uid: str) -> None:
    from httpr import ClientRequestParams, QueryParamTypes, RequestParams

    def keys(typed_dict: Any) -> set[str]:
        return set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)

    request_keys_078 = {"auth", "auth_bearer", "params", "headers", "cookies", "timeout", "content", "data", "json", "files"}
    assert request_keys_078 <= keys(RequestParams)
    assert request_keys_078 | {"verify", "ca_cert_file", "client_pem", "client_pem_data"} <= keys(ClientRequestParams)

    query: QueryParamTypes = {"q": "tea", "n": 2}
    options: RequestParams = {"params": query, "headers": {"X-Typed": "1"}}
    with httpr.Client() as client:
        assert fetch_with(client, srv.url(f"/echo/{uid}/typed"), **options).status_code == 200
    seen = only(srv.seen(f"/echo/{uid}/typed"))
    assert seen.params() == [("q", "tea"), ("n", "2")] and seen.header("x-typed") == "1"

    tls: ClientRequestParams = {"ca_cert_file": certs.ca_pem, "timeout": 5}
    assert fetch_once(tls_server.url(f"/echo/{uid}/typed-tls"), **tls).status_code == 200


def test_cookie_in_default_headers_becomes_client_cookies(srv: BehaviourServer, uid: str) -> None:
    """As in 0.7.8: `client.headers` excludes Cookie; a Cookie default header becomes cookies."""
    with httpr.Client(headers={"Cookie": "a=1; b=2", "X-Kept": "y"}, cookies={"c": "3"}) as client:
        assert "cookie" not in client.headers
        assert client.headers["x-kept"] == "y"
        assert client.cookies == {"a": "1", "b": "2", "c": "3"}
        client.get(srv.url(f"/echo/{uid}"))
    cookie_headers = [v for k, v in only(srv.seen(f"/echo/{uid}")).headers if k.lower() == "cookie"]
    assert len(cookie_headers) == 1
    assert sorted(cookie_headers[0].split("; ")) == ["a=1", "b=2", "c=3"]
