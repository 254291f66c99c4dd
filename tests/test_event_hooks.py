"""Event hooks (``event_hooks={"request": [...], "response": [...]}``) against a real local server:
what a request hook changes is what the server receives, response hooks see the final response,
and both run once per call, with both clients and with streams."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import httpr
from production_servers import ProdServer
from stream_server import Mode, Twin, run_twin

Hook = Callable[[Any], Any]





def only(srv: ProdServer, path: str) -> Any:
    seen = [s for s in srv.seen(path) if s.path == path]
    assert len(seen) == 1, f"expected one request to {path}, the server saw {len(seen)}"
    return seen[0]


# -- request hooks ---------------------------------------------------------------------------------


def test_request_hook_adds_a_header_the_server_sees(mode: Mode, srv: ProdServer, uid: str) -> None:
    calls: list[tuple[str, str]] = []

    def sign(request: httpr.Request) -> None:
        calls.append((request.method, request.url))
        request.headers["X-Signature"] = f"signed-{uid}"
        del request.headers["X-Remove-Me"]

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/echo/{uid}"), headers={"X-Remove-Me": "1"}, params={"q": "1"})

    response = run_twin(mode, scenario, event_hooks={"request": [sign]}, headers={"X-Default": "d"})
    assert response.status_code == 200
    seen = only(srv, f"/echo/{uid}")
    assert seen.header("X-Signature") == f"signed-{uid}"
    assert seen.header("X-Remove-Me") is None
    assert seen.header("X-Default") == "d", "the hook sees (and keeps) the client's default headers"
    assert calls == [("GET", srv.url(f"/echo/{uid}?q=1"))], "the hook sees the final URL, params included"


def test_request_hook_sees_a_request_object(mode: Mode, srv: ProdServer, uid: str) -> None:
    seen_objects: list[Any] = []

    def look(request: httpr.Request) -> None:
        seen_objects.append(request)
        assert request.headers.get("x-token") == uid

    async def scenario(t: Twin) -> httpr.Response:
        return await t.call("post", srv.url(f"/echo/{uid}"), headers={"X-Token": uid}, content=b"body")

    run_twin(mode, scenario, event_hooks={"request": [look]})
    [request] = seen_objects
    assert isinstance(request, httpr.Request)
    assert request.method == "POST"
    assert repr(request).startswith("<Request [POST ")


def test_request_hooks_run_in_order(mode: Mode, srv: ProdServer, uid: str) -> None:
    def first(request: httpr.Request) -> None:
        request.headers["X-Order"] = "first"

    def second(request: httpr.Request) -> None:
        request.headers["X-Order"] = request.headers["X-Order"] + ",second"

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/echo/{uid}"))

    run_twin(mode, scenario, event_hooks={"request": [first, second]})
    assert only(srv, f"/echo/{uid}").header("X-Order") == "first,second"


def test_request_hook_exception_stops_the_request(mode: Mode, srv: ProdServer, uid: str) -> None:
    class Refused(Exception):
        pass

    def refuse(request: httpr.Request) -> None:
        raise Refused(request.url)

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/echo/{uid}"))

    with pytest.raises(Refused):
        run_twin(mode, scenario, event_hooks={"request": [refuse]})
    assert srv.seen(f"/echo/{uid}") == [], "nothing is sent when a request hook raises"


# -- response hooks --------------------------------------------------------------------------------


def test_response_hook_sees_the_status(mode: Mode, srv: ProdServer, uid: str) -> None:
    statuses: list[tuple[int, str]] = []

    def record(response: httpr.Response) -> None:
        statuses.append((response.status_code, response.url))

    async def scenario(t: Twin) -> list[int]:
        a = await t.get(srv.url(f"/echo/{uid}"))
        b = await t.get(srv.url("/status/418"))
        return [a.status_code, b.status_code]

    assert run_twin(mode, scenario, event_hooks={"response": [record]}) == [200, 418]
    assert statuses == [(200, srv.url(f"/echo/{uid}")), (418, srv.url("/status/418"))]


def test_response_hook_raise_for_status_propagates(mode: Mode, srv: ProdServer) -> None:
    def check(response: httpr.Response) -> None:
        response.raise_for_status()

    async def scenario(t: Twin) -> int:
        ok = await t.get(srv.url("/echo/fine"))
        await t.get(srv.url("/status/503"))
        return ok.status_code

    with pytest.raises(httpr.HTTPStatusError) as info:
        run_twin(mode, scenario, event_hooks={"response": [check]})
    assert "503" in str(info.value), str(info.value)
    assert info.value.response is not None and info.value.response.status_code == 503
    assert any(s.path == "/status/503" for s in srv.seen("/status"))


def test_hooks_run_once_per_call_not_per_redirect(mode: Mode, srv: ProdServer, uid: str) -> None:
    requests: list[str] = []
    responses: list[tuple[int, str]] = []
    final = srv.url(f"/echo/{uid}")
    middle = srv.url("/redirect?to=" + final)
    start = srv.url("/redirect?to=" + middle.replace("?", "%3F").replace("=", "%3D"))

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(start)

    response = run_twin(
        mode,
        scenario,
        event_hooks={
            "request": [lambda r: requests.append(r.url)],
            "response": [lambda r: responses.append((r.status_code, r.url))],
        },
    )
    assert response.status_code == 200 and response.url == final
    assert len(srv.seen(f"/echo/{uid}")) == 1
    assert requests == [start]
    assert responses == [(200, final)]


def test_hooks_run_once_per_call_not_per_retry(mode: Mode, srv: ProdServer, uid: str) -> None:
    counts = {"request": 0, "response": 0}

    def on_request(_: Any) -> None:
        counts["request"] += 1

    def on_response(response: httpr.Response) -> None:
        counts["response"] += 1
        assert response.status_code == 200

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(srv.url(f"/flaky/{uid}?fail=2"))

    retry = httpr.Retry(total=3, backoff_factor=0)
    response = run_twin(
        mode, scenario, retries=retry, event_hooks={"request": [on_request], "response": [on_response]}
    )
    assert response.text == "ok after 3"
    assert len(srv.attempts(uid)) == 3
    assert counts == {"request": 1, "response": 1}


# -- async hooks -------------------------------------------------------------------------------------


def test_async_client_accepts_async_and_sync_hooks(srv: ProdServer, uid: str) -> None:
    order: list[str] = []

    async def async_request(request: httpr.Request) -> None:
        await asyncio.sleep(0.01)
        order.append("async request")
        request.headers["X-Async"] = "yes"

    def sync_request(request: httpr.Request) -> None:
        order.append("sync request")
        request.headers["X-Sync"] = "yes"

    async def async_response(response: httpr.Response) -> None:
        await asyncio.sleep(0.01)
        order.append(f"async response {response.status_code}")

    def sync_response(response: httpr.Response) -> None:
        order.append(f"sync response {response.status_code}")

    async def main() -> httpr.Response:
        hooks: dict[str, list[Hook]] = {
            "request": [async_request, sync_request],
            "response": [sync_response, async_response],
        }
        async with httpr.AsyncClient(event_hooks=hooks) as client:
            return await client.get(srv.url(f"/echo/{uid}"))

    assert asyncio.run(main()).status_code == 200
    seen = only(srv, f"/echo/{uid}")
    assert (seen.header("X-Async"), seen.header("X-Sync")) == ("yes", "yes")
    assert order == ["async request", "sync request", "sync response 200", "async response 200"]


def test_async_response_hook_raising_propagates(srv: ProdServer) -> None:
    async def check(response: httpr.Response) -> None:
        await asyncio.sleep(0)
        response.raise_for_status()

    async def main() -> None:
        async with httpr.AsyncClient(event_hooks={"response": [check]}) as client:
            await client.get(srv.url("/status/404"))

    with pytest.raises(httpr.HTTPStatusError):
        asyncio.run(main())


@pytest.mark.parametrize("which", ["request", "response"])
def test_sync_client_rejects_async_hooks_without_warnings(srv: ProdServer, which: str, uid: str) -> None:
    async def hook(_: Any) -> None:
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with httpr.Client(event_hooks={which: [hook]}) as client:
            with pytest.raises(TypeError) as info:
                client.get(srv.url(f"/echo/{uid}"))
        del client
        gc.collect()
    assert "AsyncClient" in str(info.value), str(info.value)
    assert [str(w.message) for w in caught] == [], "e.g. 'coroutine ... was never awaited'"
    sent = len(srv.seen(f"/echo/{uid}"))
    assert sent == (0 if which == "request" else 1), "an async request hook stops the request"


# -- the event_hooks property ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient])
def test_event_hooks_getter_and_setter(cls: type[httpr.Client] | type[httpr.AsyncClient]) -> None:
    def a(_: Any) -> None:
        pass

    def b(_: Any) -> None:
        pass

    client = cls(event_hooks={"request": [a]})
    assert client.event_hooks == {"request": [a], "response": []}
    assert cls().event_hooks == {"request": [], "response": []}
    client.event_hooks = {"response": [b, a]}
    assert client.event_hooks == {"request": [], "response": [b, a]}
    client.event_hooks = {}
    assert client.event_hooks == {"request": [], "response": []}
    # the getter returns a copy: editing it changes nothing
    client.event_hooks["request"].append(a)
    assert client.event_hooks["request"] == []


def test_setter_replaces_the_hooks_in_use(mode: Mode, srv: ProdServer, uid: str) -> None:
    calls: list[str] = []

    async def scenario(t: Twin) -> None:
        await t.get(srv.url(f"/echo/{uid}/1"))
        t.client.event_hooks = {"request": [lambda r: calls.append("new")]}
        await t.get(srv.url(f"/echo/{uid}/2"))
        t.client.event_hooks = {}
        await t.get(srv.url(f"/echo/{uid}/3"))

    run_twin(mode, scenario, event_hooks={"request": [lambda r: calls.append("old")]})
    assert calls == ["old", "new"]


@pytest.mark.parametrize(
    ("hooks", "fragment"),
    [
        ({"bad": []}, "bad"),
        ({"request": [1]}, "callable"),
        ({"response": [print, "x"]}, "callable"),
        ({"request": "abc"}, "list of callables"),
        ({"request": print}, "list of callables"),
        ([("request", [])], "dict"),
        ({1: []}, "keys"),
    ],
)
@pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient])
def test_invalid_event_hooks(
    cls: type[httpr.Client] | type[httpr.AsyncClient], hooks: Any, fragment: str
) -> None:
    with pytest.raises(TypeError) as info:
        cls(event_hooks=hooks)
    assert fragment in str(info.value), str(info.value)
    client = cls()
    with pytest.raises(TypeError):
        client.event_hooks = hooks
    assert client.event_hooks == {"request": [], "response": []}, "a rejected value changes nothing"


# -- streams ------------------------------------------------------------------------------------------------


def test_hooks_on_a_sync_stream(srv: ProdServer, uid: str) -> None:
    seen_responses: list[Any] = []

    def on_request(request: httpr.Request) -> None:
        request.headers["X-Stream"] = "sync"

    def on_response(response: Any) -> None:
        seen_responses.append((type(response), response.status_code, response.is_consumed))

    hooks: dict[str, list[Hook]] = {"request": [on_request], "response": [on_response]}
    with httpr.Client(event_hooks=hooks) as client:
        with client.stream("GET", srv.url("/trickle?n=3&gap=0.01")) as response:
            assert seen_responses == [(httpr.StreamingResponse, 200, False)], "called before the body"
            assert response.read() == b"xxx"
    assert only(srv, "/trickle").header("X-Stream") == "sync"


def test_hooks_on_an_async_stream(srv: ProdServer, uid: str) -> None:
    seen_responses: list[Any] = []

    async def on_request(request: httpr.Request) -> None:
        request.headers["X-Stream"] = f"async-{uid}"

    async def on_response(response: Any) -> None:
        seen_responses.append((type(response), response.status_code, response.is_consumed))

    async def main() -> bytes:
        hooks: dict[str, list[Hook]] = {"request": [on_request], "response": [on_response]}
        async with httpr.AsyncClient(event_hooks=hooks) as client:
            async with client.stream("GET", srv.url(f"/echo/{uid}")) as response:
                assert seen_responses == [(httpr.AsyncStreamingResponse, 200, False)]
                return await response.aread()

    body = asyncio.run(main())
    assert uid in body.decode()
    assert only(srv, f"/echo/{uid}").header("X-Stream") == f"async-{uid}"


def test_stream_response_hook_can_reject(mode: Mode, srv: ProdServer) -> None:
    def check(response: Any) -> None:
        response.raise_for_status()

    async def scenario(t: Twin) -> None:
        async with t.stream("GET", srv.url("/status/500")):
            pytest.fail("the hook should have raised")

    with pytest.raises(httpr.HTTPStatusError):
        run_twin(mode, scenario, event_hooks={"response": [check]})


@pytest.mark.parametrize("max_connections", [None, 1])
def test_hooks_may_send_requests_with_the_same_client(
    mode: Mode, srv: ProdServer, uid: str, max_connections: int | None
) -> None:
    """A token-refresh style hook: the request hook fetches something with the very client it
    hooks (even with a single connection slot) and puts it in a header; the response hook
    sends another request once the response is in."""
    inner = f"/echo/{uid}/inner"
    after: list[int] = []
    timeout = httpr.Timeout(5, pool=2)

    if mode == "sync":
        client = httpr.Client(max_connections=max_connections, timeout=timeout)

        def on_request(request: httpr.Request) -> None:
            if not request.url.endswith("/inner"):
                request.headers["X-Token"] = client.get(srv.url(inner)).json()["path"]

        def on_response(response: httpr.Response) -> None:
            if not response.url.endswith("/inner"):
                after.append(client.get(srv.url(inner)).status_code)

        client.event_hooks = {"request": [on_request], "response": [on_response]}
        with client:
            response = client.get(srv.url(f"/echo/{uid}/outer"))
    else:
        aclient = httpr.AsyncClient(max_connections=max_connections, timeout=timeout)

        async def on_request_async(request: httpr.Request) -> None:
            if not request.url.endswith("/inner"):
                request.headers["X-Token"] = (await aclient.get(srv.url(inner))).json()["path"]

        async def on_response_async(response: httpr.Response) -> None:
            if not response.url.endswith("/inner"):
                after.append((await aclient.get(srv.url(inner))).status_code)

        aclient.event_hooks = {"request": [on_request_async], "response": [on_response_async]}

        async def main() -> httpr.Response:
            async with aclient:
                return await aclient.get(srv.url(f"/echo/{uid}/outer"))

        response = asyncio.run(main())
    assert response.status_code == 200
    assert only(srv, f"/echo/{uid}/outer").header("X-Token") == inner
    assert after == [200]
    assert len([s for s in srv.seen(inner) if s.path == inner]) == 2


def test_a_hook_raising_on_a_stream_releases_the_connection(mode: Mode, srv: ProdServer) -> None:
    """A response hook that raises inside client.stream(): the `with` block is never entered,
    so httpr must close the stream itself, or the exception (whose .response is the stream)
    keeps the connection and its pool slot for as long as it lives. (A regression test: the
    sync client used to leave it open.)"""
    def check(response: Any) -> None:
        response.raise_for_status()

    kept: list[httpr.HTTPStatusError] = []

    async def scenario(t: Twin) -> int:
        try:
            async with t.stream("GET", srv.url("/status/500")):
                pytest.fail("the hook should have raised")
        except httpr.HTTPStatusError as exc:
            kept.append(exc)  # e.g. logged, or kept for a report
        response = kept[0].response
        assert response is not None and getattr(response, "is_closed") is True, "stream left open"
        return (await t.get(srv.url("/echo/after-hook-error"))).status_code

    status = run_twin(
        mode,
        scenario,
        max_connections=1,
        timeout=httpr.Timeout(5, pool=0.3),
        event_hooks={"response": [check]},
    )
    assert status == 200
