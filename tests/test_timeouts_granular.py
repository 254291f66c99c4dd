"""Granular timeouts (``httpr.Timeout``): connect, read, write, pool and total, each tripped by a
real local server behaving badly in exactly one phase, with both clients."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import pytest

import httpr
from hostile_servers import full_backlog
from production_servers import ProdServer, wait_for
from stream_server import Mode, Twin, run_twin




def timed(mode: Mode, scenario: Any, **client_kwargs: Any) -> tuple[BaseException | None, float, Any]:
    """Run ``scenario`` (see run_twin); return the exception it raised (or None), the seconds it
    took and its result."""
    started = time.monotonic()
    try:
        result = run_twin(mode, scenario, **client_kwargs)
    except Exception as exc:  # noqa: BLE001 - the caller checks exactly what was raised
        return exc, time.monotonic() - started, None
    return None, time.monotonic() - started, result


# -- read ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["read", "stream"])
def test_trickling_body_trips_a_short_read_timeout(mode: Mode, srv: ProdServer, how: str) -> None:
    """One byte every 0.3 s: each wait for a body chunk exceeds read=0.2."""
    url = srv.url("/trickle?n=5&gap=0.3")
    timeout = httpr.Timeout(5, read=0.2)

    async def scenario(t: Twin) -> None:
        if how == "read":
            await t.get(url, timeout=timeout)
            return
        async with t.stream("GET", url, timeout=timeout) as response:
            assert response.status_code == 200, "the headers come at once"
            async for _ in response.iter_bytes():
                pass

    exc, elapsed, _ = timed(mode, scenario)
    assert type(exc) is httpr.ReadTimeout, repr(exc)
    assert "response body" in str(exc), str(exc)
    assert 0.2 <= elapsed < 1.0, f"{elapsed:.3f}s"


def test_trickling_body_within_the_read_timeout_succeeds(mode: Mode, srv: ProdServer) -> None:
    """The same trickle with read=1: no single wait is that long, though the whole body takes
    longer than 1 s (read is per chunk, not for the body)."""

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url("/trickle?n=4&gap=0.3"), timeout=httpr.Timeout(5, read=1))

    exc, elapsed, response = timed(mode, scenario)
    assert exc is None, repr(exc)
    assert response.content == b"xxxx"
    assert elapsed >= 1.1, f"{elapsed:.3f}s: the body should have taken 4 x 0.3 s"


#: Regression (found by these tests): a read or write timeout shorter than the connect timeout
#: was not applied while waiting for the headers or sending the body (the wait was
#: max(read or write, connect)); the "connect-longer" cases below cover it.


@pytest.mark.parametrize(
    "timeout",
    [
        pytest.param(httpr.Timeout(None, read=0.2), id="read-only"),
        pytest.param(httpr.Timeout(5, connect=0.2, read=0.2), id="connect-equal"),
        pytest.param(httpr.Timeout(5, read=0.2), id="connect-longer"),
    ],
)
def test_read_timeout_waiting_for_headers(mode: Mode, srv: ProdServer, timeout: httpr.Timeout) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url("/slow?ms=800"), timeout=timeout)

    exc, elapsed, _ = timed(mode, scenario)
    assert type(exc) is httpr.ReadTimeout, repr(exc)
    assert "waiting for the response headers" in str(exc), str(exc)
    assert 0.2 <= elapsed < 0.7, f"{elapsed:.3f}s"


def test_client_timeout_object_applies_and_request_overrides(mode: Mode, srv: ProdServer) -> None:
    async def scenario(t: Twin) -> tuple[str, bytes]:
        with pytest.raises(httpr.ReadTimeout):
            await t.get(srv.url("/trickle?n=2&gap=0.3"))
        ok = await t.get(srv.url("/trickle?n=2&gap=0.3"), timeout=httpr.Timeout(5))
        return type(t.client.timeout).__name__, ok.content

    assert run_twin(mode, scenario, timeout=httpr.Timeout(5, read=0.2)) == ("Timeout", b"xx")


# -- total -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["read", "stream"])
def test_total_caps_an_endless_trickle(mode: Mode, srv: ProdServer, how: str) -> None:
    """The server sends a byte every 0.1 s forever: no read timeout ever trips, total does."""
    url = srv.url("/trickle?n=0&gap=0.1")
    timeout = httpr.Timeout(5, total=0.5)

    async def scenario(t: Twin) -> int:
        if how == "read":
            await t.get(url, timeout=timeout)
            return -1
        got = 0
        async with t.stream("GET", url, timeout=timeout) as response:
            assert response.status_code == 200
            async for chunk in response.iter_bytes():
                got += len(chunk)
        return got

    exc, elapsed, _ = timed(mode, scenario)
    assert type(exc) is httpr.TimeoutException, repr(exc)
    assert isinstance(exc, TimeoutError)
    assert "total timeout of 0.500s" in str(exc), str(exc)
    assert 0.45 <= elapsed < 1.0, f"{elapsed:.3f}s"


def test_total_caps_a_retry_loop(mode: Mode, srv: ProdServer) -> None:
    key = uuid.uuid4().hex

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{key}?fail=100"))

    retry = httpr.Retry(total=100, backoff_factor=0.15, backoff_max=0.15, backoff_jitter=0)
    exc, elapsed, _ = timed(mode, scenario, retries=retry, timeout=httpr.Timeout(5, total=0.6))
    assert type(exc) is httpr.TimeoutException, repr(exc)
    assert 0.55 <= elapsed < 1.2, f"{elapsed:.3f}s"
    assert 2 <= len(srv.attempts(key)) <= 6


def test_total_caps_redirects_too(srv: ProdServer) -> None:
    """A redirect to a slow page: the total covers both hops."""
    target = srv.url("/slow?ms=2000")
    with httpr.Client(timeout=httpr.Timeout(5, total=0.4)) as client:
        started = time.monotonic()
        with pytest.raises(httpr.TimeoutException) as info:
            client.get(srv.url("/redirect?to=" + target.replace("&", "%26")))
        elapsed = time.monotonic() - started
    assert type(info.value) is httpr.TimeoutException
    assert elapsed < 1.0


# -- connect -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("read", [None, 0.1])
def test_connect_timeout_to_a_full_backlog(mode: Mode, read: float | None) -> None:
    """A listener whose accept queue is full never answers the SYN. connect=0.3 trips as a
    ConnectTimeout, even when the read timeout is shorter (it only starts once connected)."""
    timeout = httpr.Timeout(5, connect=0.3) if read is None else httpr.Timeout(5, connect=0.3, read=read)
    with full_backlog() as port:
        url = f"http://127.0.0.1:{port}/connect"

        async def scenario(t: Twin) -> httpr.Response:
            return await t.get(url, timeout=timeout)

        exc, elapsed, _ = timed(mode, scenario)
    assert type(exc) is httpr.ConnectTimeout, repr(exc)
    assert isinstance(exc, httpr.TimeoutException) and isinstance(exc, TimeoutError)
    assert 0.25 <= elapsed < 1.3, f"{elapsed:.3f}s"


def test_client_connect_timeout_from_a_timeout_object() -> None:
    with full_backlog() as port:

        async def scenario(t: Twin) -> httpr.Response:
            return await t.get(f"http://127.0.0.1:{port}/connect")

        exc, elapsed, _ = timed("sync", scenario, timeout=httpr.Timeout(5, connect=0.3))
    assert type(exc) is httpr.ConnectTimeout, repr(exc)
    assert elapsed < 1.3, f"{elapsed:.3f}s"


# -- write ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timeout",
    [
        pytest.param(httpr.Timeout(None, write=0.3), id="write-only"),
        pytest.param(httpr.Timeout(0.3, read=5), id="connect-equal"),
        pytest.param(httpr.Timeout(5, write=0.3), id="connect-longer"),
    ],
)
def test_write_timeout_when_the_server_never_reads(
    mode: Mode, srv: ProdServer, timeout: httpr.Timeout
) -> None:
    """A 64 MiB POST to a server that never reads it (and hangs up after 1 s): the socket
    buffers fill and the upload stalls; write=0.3 trips."""
    body = b"\0" * (64 * 1024 * 1024)
    tag = uuid.uuid4().hex

    async def scenario(t: Twin) -> httpr.Response:
        return await t.call("post", srv.url(f"/sink?hold=1&t={tag}"), content=body, timeout=timeout)

    exc, elapsed, _ = timed(mode, scenario)
    assert type(exc) is httpr.WriteTimeout, repr(exc)
    assert "sending the request body" in str(exc), str(exc)
    assert 0.3 <= elapsed < 0.9, f"{elapsed:.3f}s"
    assert wait_for(lambda: any(s.arg("t") == tag for s in srv.seen("/sink")))


def test_large_body_to_a_reading_server_is_not_a_write_timeout(mode: Mode, srv: ProdServer) -> None:
    body = b"y" * (8 * 1024 * 1024)

    async def scenario(t: Twin) -> httpr.Response:
        return await t.call("post", srv.url("/echo/big"), content=body, timeout=httpr.Timeout(5, write=2))

    exc, _, response = timed(mode, scenario)
    assert exc is None, repr(exc)
    assert response.json()["body_length"] == len(body)


# -- the client.timeout property ----------------------------------------------------------------------


def test_plain_float_keeps_its_meaning() -> None:
    client = httpr.Client(timeout=2.5)
    assert client.timeout == 2.5 and type(client.timeout) is float
    assert httpr.Client(timeout=3).timeout == 3.0
    assert httpr.Client(timeout=None).timeout is None
    assert httpr.Client().timeout == 30.0
    # a Timeout that one number describes reads back as that number
    assert httpr.AsyncClient(timeout=httpr.Timeout(7)).timeout == 7.0
    assert httpr.Client(timeout=httpr.Timeout(None)).timeout is None


@pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient])
def test_timeout_setter_round_trips(cls: type[httpr.Client] | type[httpr.AsyncClient]) -> None:
    client = cls(timeout=5)
    granular = httpr.Timeout(5, connect=1, read=2, write=3, pool=4, total=9)
    client.timeout = granular
    assert isinstance(client.timeout, httpr.Timeout)
    assert client.timeout == granular
    client.timeout = httpr.Timeout(5, total=1)
    assert client.timeout == httpr.Timeout(5, total=1)
    client.timeout = 1.5
    assert client.timeout == 1.5
    client.timeout = None
    assert client.timeout is None
    with pytest.raises(ValueError):
        client.timeout = -1
    with pytest.raises(TypeError):
        client.timeout = "5"  # type: ignore[assignment]
    assert client.timeout is None, "a rejected value leaves the timeout alone"


def test_timeout_setter_takes_effect(mode: Mode, srv: ProdServer) -> None:
    async def scenario(t: Twin) -> bytes:
        first = await t.get(srv.url("/trickle?n=2&gap=0.3"))
        t.client.timeout = httpr.Timeout(5, read=0.1)
        with pytest.raises(httpr.ReadTimeout):
            await t.get(srv.url("/trickle?n=2&gap=0.3"))
        return first.content

    assert run_twin(mode, scenario, timeout=5) == b"xx"


# -- the Timeout class --------------------------------------------------------------------------------


def test_timeout_properties() -> None:
    t = httpr.Timeout(5, connect=2, total=30)
    assert (t.connect, t.read, t.write, t.pool, t.total) == (2.0, 5.0, 5.0, 5.0, 30.0)
    u = httpr.Timeout(None, read=1.5)
    assert (u.connect, u.read, u.write, u.pool, u.total) == (None, 1.5, None, None, None)
    v = httpr.Timeout(3, pool=None)
    assert v.pool is None and v.connect == 3.0
    assert httpr.Timeout(0.25).read == 0.25


def test_timeout_repr() -> None:
    text = repr(httpr.Timeout(5, connect=2, total=30))
    assert text.startswith("Timeout(") and text.endswith(")"), text
    for fragment in ("connect=2", "read=5", "write=5", "pool=5", "total=30"):
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert "total=None" in repr(httpr.Timeout(1))


def test_timeout_equality() -> None:
    assert httpr.Timeout(5) == httpr.Timeout(5, connect=5, read=5, write=5, pool=5)
    assert httpr.Timeout(5, total=1) != httpr.Timeout(5)
    assert httpr.Timeout(5, read=1) != httpr.Timeout(5, write=1)
    assert httpr.Timeout(5) != 5
    assert httpr.Timeout(None) != None  # noqa: E711 - comparing with None on purpose


@pytest.mark.parametrize("field", ["timeout", "connect", "read", "write", "pool", "total"])
@pytest.mark.parametrize("value", [-1, -0.001, math.nan])
def test_negative_or_nan_is_a_value_error(field: str, value: float) -> None:
    kwargs: dict[str, Any] = {"timeout": 5, field: value}
    with pytest.raises(ValueError) as info:
        httpr.Timeout(**kwargs)
    assert "non-negative" in str(info.value), str(info.value)


@pytest.mark.parametrize("value", ["5", [1], True])
def test_timeout_wrong_type(value: Any, srv: ProdServer) -> None:
    with pytest.raises(TypeError):
        httpr.Timeout(value)
    with httpr.Client() as client:
        with pytest.raises(TypeError):
            client.get(srv.url("/echo/never"), timeout=value)
    assert srv.seen("/echo/never") == []


def test_huge_timeouts_mean_no_limit(srv: ProdServer) -> None:
    t = httpr.Timeout(math.inf, total=10**12)
    with httpr.Client(timeout=t) as client:
        assert client.get(srv.url("/echo/inf")).status_code == 200
