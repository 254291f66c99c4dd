"""httpr.MockTransport and user-built httpr.Response: a handler answers instead of the network,
and the request it sees is the one the network would get (same request-building path), while
the response goes through the real redirect, cookie, streaming and status code.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

import httpr


def recorder(
    answer: Callable[[httpr.Request], httpr.Response] = lambda r: httpr.Response(200, text="ok"),
) -> tuple[list[httpr.Request], httpr.MockTransport]:
    seen: list[httpr.Request] = []

    def handler(request: httpr.Request) -> httpr.Response:
        seen.append(request)
        return answer(request)

    return seen, httpr.MockTransport(handler)


# -- httpr.Response built by hand ---------------------------------------------------------


def test_response_from_json_sets_body_and_content_type() -> None:
    r = httpr.Response(201, json={"id": 1, "tags": ["a"]})
    assert r.status_code == 201
    assert r.json() == {"id": 1, "tags": ["a"]}
    assert r.headers["content-type"] == "application/json"
    assert r.url == ""
    assert r.is_success and r.reason_phrase == "Created"


def test_response_text_content_and_headers() -> None:
    r = httpr.Response(200, text="héllo")
    assert r.content == "héllo".encode() and r.text == "héllo"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    r = httpr.Response(200, content=b"\x00\x01", headers={"Content-Type": "application/octet-stream"})
    assert r.content == b"\x00\x01" and r.headers["content-type"] == "application/octet-stream"
    r = httpr.Response(404, headers=[("set-cookie", "a=1"), ("set-cookie", "b=2")])
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert r.cookies == {"a": "1", "b": "2"}
    assert r.content == b"" and r.is_client_error


def test_response_constructor_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="between 100 and 999"):
        httpr.Response(42)
    with pytest.raises(ValueError, match="only one of content, text or json"):
        httpr.Response(200, text="a", json={})
    with pytest.raises(httpr.LocalProtocolError):
        httpr.Response(200, headers={"x": "a\r\nb"})
    with pytest.raises(TypeError):
        httpr.Response(200, json=object())


def test_built_response_raise_for_status() -> None:
    with pytest.raises(httpr.HTTPStatusError, match="503") as info:
        httpr.Response(503).raise_for_status()
    assert info.value.response is not None and info.value.response.status_code == 503


# -- what the handler sees ----------------------------------------------------------------


def test_handler_sees_the_request_as_sent() -> None:
    seen, transport = recorder()
    with httpr.Client(
        transport=transport, params={"a": "1"}, headers={"X-Default": "d"}, auth=("user", "pw"), cookies={"c": "v"}
    ) as client:
        r = client.post("https://api.example.com/items", params={"b": 2}, json={"name": "x"}, headers={"X-Req": "r"})
    assert r.status_code == 200 and r.text == "ok"
    assert r.url == "https://api.example.com/items?a=1&b=2"
    (req,) = seen
    assert req.method == "POST"
    assert req.url == "https://api.example.com/items?a=1&b=2"
    assert req.headers["x-default"] == "d" and req.headers["x-req"] == "r"
    assert req.headers["authorization"] == "Basic dXNlcjpwdw=="
    assert req.headers["cookie"] == "c=v"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["user-agent"].startswith("httpr/")
    assert req.headers["host"] == "api.example.com" and req.headers["accept"] == "*/*"
    assert req.headers["content-length"] == str(len(req.content))
    assert req.json() == {"name": "x"}
    assert json.loads(req.content) == {"name": "x"}


def test_form_and_raw_bodies_are_encoded_as_for_the_network() -> None:
    seen, transport = recorder()
    with httpr.Client(transport=transport) as client:
        client.post("http://h.test/form", data={"a": "1", "b": "x y"})
        client.put("http://h.test/raw", content="plain")
        client.get("http://h.test/none", auth_bearer="tok")
    form, raw, none = seen
    assert form.content == b"a=1&b=x+y"
    assert form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert raw.content == b"plain" and raw.method == "PUT"
    assert none.content == b"" and "content-length" not in none.headers
    assert none.headers["authorization"] == "Bearer tok"
    with pytest.raises(httpr.JSONDecodeError):
        raw.json()


def test_files_are_sent_as_multipart(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("file body")
    seen, transport = recorder()
    with httpr.Client(transport=transport) as client:
        client.post("http://h.test/upload", files={"doc": str(path)})
    (req,) = seen
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="doc"; filename="a.txt"' in req.content and b"file body" in req.content


# -- the response goes through the real pipeline --------------------------------------------


def test_redirects_and_cookie_store_apply_to_mocked_responses() -> None:
    def answer(request: httpr.Request) -> httpr.Response:
        if request.url.endswith("/login"):
            return httpr.Response(302, headers=[("location", "/home"), ("set-cookie", "session=abc; Path=/")])
        return httpr.Response(200, json={"cookie": request.headers.get("cookie")})

    seen, transport = recorder(answer)
    with httpr.Client(transport=transport) as client:
        r = client.get("http://app.test/login")
        assert r.status_code == 200 and r.url == "http://app.test/home"
        assert r.json() == {"cookie": "session=abc"}
        assert r.cookies == {"session": "abc"}
        assert client.cookies == {"session": "abc"}
        assert [q.url for q in seen] == ["http://app.test/login", "http://app.test/home"]
    with httpr.Client(transport=transport, follow_redirects=False) as client:
        assert client.get("http://app.test/login").status_code == 302


def test_head_responses_have_no_body_and_host_keeps_a_port() -> None:
    seen, transport = recorder(lambda r: httpr.Response(200, text="body a HEAD must not carry"))
    with httpr.Client(transport=transport) as client:
        r = client.head("http://h.test:8080/x")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert seen[0].headers["host"] == "h.test:8080"


def test_too_many_redirects_is_raised_for_a_loop() -> None:
    _, transport = recorder(lambda r: httpr.Response(302, headers={"location": r.url}))
    with httpr.Client(transport=transport, max_redirects=3) as client:
        with pytest.raises(httpr.TooManyRedirects):
            client.get("http://loop.test/")


def test_raise_for_status_on_a_mocked_response() -> None:
    _, transport = recorder(lambda r: httpr.Response(404, text="nope"))
    with httpr.Client(transport=transport) as client:
        r = client.get("http://h.test/missing")
        with pytest.raises(httpr.HTTPStatusError, match="404") as info:
            r.raise_for_status()
    assert info.value.request is not None and info.value.request.url == "http://h.test/missing"


def test_streaming_a_mocked_response() -> None:
    body = "\n".join(f"line {i}" for i in range(100))
    _, transport = recorder(lambda r: httpr.Response(200, text=body))
    with httpr.Client(transport=transport) as client:
        with client.stream("GET", "http://h.test/lines") as r:
            assert r.status_code == 200
            lines = list(r.iter_lines())
        assert lines == body.split("\n")
        with client.stream("GET", "http://h.test/lines") as r:
            assert b"".join(r.iter_bytes()) == body.encode()
            assert r.is_consumed


def test_stream_raise_for_status() -> None:
    _, transport = recorder(lambda r: httpr.Response(500))
    with httpr.Client(transport=transport) as client:
        with client.stream("GET", "http://h.test/") as r:
            with pytest.raises(httpr.HTTPStatusError, match="500"):
                r.raise_for_status()


# -- errors ---------------------------------------------------------------------------------


def test_an_exception_from_the_handler_propagates_unchanged() -> None:
    class Boom(Exception):
        pass

    def handler(request: httpr.Request) -> httpr.Response:
        raise Boom("in handler")

    with httpr.Client(transport=httpr.MockTransport(handler)) as client:
        with pytest.raises(Boom, match="in handler"):
            client.get("http://h.test/")


def test_handler_can_simulate_network_errors_and_gets_the_request_attached() -> None:
    def handler(request: httpr.Request) -> httpr.Response:
        raise httpr.ConnectTimeout("simulated")

    with httpr.Client(transport=httpr.MockTransport(handler)) as client:
        with pytest.raises(httpr.ConnectTimeout, match="simulated") as info:
            client.get("http://h.test/slow")
    assert info.value.request is not None
    assert (info.value.request.method, info.value.request.url) == ("GET", "http://h.test/slow")


def test_handler_must_return_a_response() -> None:
    transport = httpr.MockTransport(lambda r: {"status": 200})  # type: ignore[arg-type,return-value]
    with httpr.Client(transport=transport) as client:
        with pytest.raises(TypeError, match="must return an httpr.Response, not dict"):
            client.get("http://h.test/")


def test_constructor_and_client_reject_non_transports() -> None:
    with pytest.raises(TypeError, match="must be callable"):
        httpr.MockTransport("not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        httpr.Client(transport=lambda r: r)  # type: ignore[arg-type]


def test_async_handler_on_a_sync_client_is_a_clear_type_error() -> None:
    async def handler(request: httpr.Request) -> httpr.Response:
        return httpr.Response(200)

    with httpr.Client(transport=httpr.MockTransport(handler)) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # and no "coroutine was never awaited" warning
            with pytest.raises(TypeError, match="returned an awaitable, but this is a sync Client"):
                client.get("http://h.test/")


def test_transport_repr_and_handler() -> None:
    def handler(request: httpr.Request) -> httpr.Response:
        return httpr.Response(204)

    transport = httpr.MockTransport(handler)
    assert transport.handler is handler
    assert repr(transport).startswith("<MockTransport handler=<function")


def test_request_built_by_hand_carries_content() -> None:
    req = httpr.Request("post", "http://h.test/", headers={"a": "b"}, content='{"x": 1}')
    assert req.method == "POST" and req.content == b'{"x": 1}' and req.json() == {"x": 1}
    assert httpr.Request("GET", "http://h.test/").content == b""


# -- AsyncClient ------------------------------------------------------------------------------


def test_async_client_with_an_async_handler() -> None:
    async def handler(request: httpr.Request) -> httpr.Response:
        await asyncio.sleep(0.01)  # runs on the caller's event loop
        echo = request.json() if request.content else None
        return httpr.Response(200, json={"echo": echo, "path": request.url})

    async def main() -> None:
        async with httpr.AsyncClient(transport=httpr.MockTransport(handler)) as client:
            rs = await asyncio.gather(*(client.post(f"http://h.test/{i}", json={"i": i}) for i in range(20)))
            assert [r.json() for r in rs] == [{"echo": {"i": i}, "path": f"http://h.test/{i}"} for i in range(20)]
            async with client.stream("GET", "http://h.test/s") as s:
                assert s.status_code == 200
                assert b"".join([c async for c in s.aiter_bytes()]) == b'{"echo":null,"path":"http://h.test/s"}'

    asyncio.run(main())


def test_async_client_with_a_sync_handler_and_streaming() -> None:
    _, transport = recorder(lambda r: httpr.Response(200, text="a\nb\nc"))

    async def main() -> None:
        async with httpr.AsyncClient(transport=transport) as client:
            r = await client.get("http://h.test/")
            assert r.text == "a\nb\nc"
            async with client.stream("GET", "http://h.test/") as s:
                assert [line async for line in s.aiter_lines()] == ["a", "b", "c"]

    asyncio.run(main())


def test_async_handler_exceptions_propagate() -> None:
    async def handler(request: httpr.Request) -> httpr.Response:
        raise httpr.ReadTimeout("slow server")

    async def main() -> None:
        async with httpr.AsyncClient(transport=httpr.MockTransport(handler)) as client:
            with pytest.raises(httpr.ReadTimeout, match="slow server") as info:
                await client.get("http://h.test/x")
            assert info.value.request is not None and info.value.request.url == "http://h.test/x"

    asyncio.run(main())


# -- install(): clients without a transport of their own ----------------------------------


def test_install_answers_module_functions_and_clients_without_a_transport(refused_url: str) -> None:
    seen, transport = recorder()
    _, own = recorder(lambda r: httpr.Response(200, text="own"))
    assert not transport.installed
    transport.install()
    try:
        assert transport.installed
        # refused_url: nothing listens there, so an answer can only come from the mock.
        assert httpr.get(refused_url, params={"q": 1}).text == "ok"
        with httpr.Client() as client:
            assert client.post(refused_url, json=[1]).text == "ok"
        with httpr.Client(transport=own) as client:
            assert client.get(refused_url).text == "own"  # its own transport wins

        async def main() -> str:
            async with httpr.AsyncClient() as client:
                return (await client.get(refused_url)).text

        assert asyncio.run(main()) == "ok"
    finally:
        transport.uninstall()
    assert not transport.installed
    assert [q.method for q in seen] == ["GET", "POST", "GET"]
    assert seen[0].url.endswith("?q=1")
    with pytest.raises(httpr.ConnectError):
        httpr.get(refused_url)


def test_install_replaces_and_uninstall_only_removes_itself(refused_url: str) -> None:
    _, first = recorder(lambda r: httpr.Response(200, text="first"))
    _, second = recorder(lambda r: httpr.Response(200, text="second"))
    first.install()
    second.install()
    try:
        assert second.installed and not first.installed
        first.uninstall()  # not the installed one: no effect
        assert httpr.get(refused_url).text == "second"
    finally:
        second.uninstall()
    assert not second.installed


def test_the_timeout_bounds_an_async_handler_that_never_answers() -> None:
    async def handler(request: httpr.Request) -> httpr.Response:
        await asyncio.Event().wait()  # a server that never answers
        raise AssertionError("unreachable")

    async def main() -> None:
        async with httpr.AsyncClient(transport=httpr.MockTransport(handler), timeout=0.05) as client:
            with pytest.raises(httpr.ReadTimeout, match="waiting for the MockTransport handler") as info:
                await client.get("http://h.test/silent")
            assert info.value.request is not None and info.value.request.url == "http://h.test/silent"

    asyncio.run(main())


def test_a_sync_handler_on_an_async_client_may_block_and_send_requests() -> None:
    backend = httpr.Client(transport=httpr.MockTransport(lambda r: httpr.Response(200, text="from backend")))

    def passthrough(request: httpr.Request) -> httpr.Response:
        # Runs off the event loop and off the runtime's workers: a sync request is fine here.
        return httpr.Response(200, text=backend.get("http://backend.test/").text.upper())

    async def main() -> list[str]:
        async with httpr.AsyncClient(transport=httpr.MockTransport(passthrough)) as client:
            rs = await asyncio.gather(*(client.get(f"http://front.test/{i}") for i in range(4)))
            return [r.text for r in rs]

    assert asyncio.run(main()) == ["FROM BACKEND"] * 4
