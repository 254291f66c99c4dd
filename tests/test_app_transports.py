"""httpr._transports: WSGITransport and ASGITransport answer requests from an app in process
(plain WSGI/ASGI callables written here, plus Flask and Starlette when installed).

The transports are routed through MockTransport(t.handle_request) for now, so requests are
built by the real client (params, form and JSON bodies, cookies) before the app sees them.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest

import httpr
from httpr._transports import ASGITransport, AsyncBaseTransport, BaseTransport, WSGITransport
from httpr._transports import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def sync_client(transport: BaseTransport, **kwargs: Any) -> httpr.Client:
    return httpr.Client(transport=httpr.MockTransport(transport.handle_request), **kwargs)


def async_client(transport: AsyncBaseTransport, **kwargs: Any) -> httpr.AsyncClient:
    return httpr.AsyncClient(transport=httpr.MockTransport(transport.handle_async_request), **kwargs)


@dataclass
class DupRequest:
    """Stands in for an httpr.Request with a repeated header (httpr.Request keeps one value per name)."""

    url: str
    method: str = "GET"
    content: bytes = b""
    pairs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def headers(self) -> DupRequest:
        return self

    def multi_items(self) -> list[tuple[str, str]]:
        return self.pairs


# -- WSGI ------------------------------------------------------------------------------------

ENVIRON_KEYS = [
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
    "SERVER_PROTOCOL", "REMOTE_ADDR", "CONTENT_TYPE", "CONTENT_LENGTH", "wsgi.url_scheme",
    "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once",
]  # fmt: skip


def echo_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Answers with the environ (the CGI keys, HTTP_* headers and the body) as JSON."""
    body = environ["wsgi.input"].read()
    out = {k: environ.get(k) for k in ENVIRON_KEYS}
    out["headers"] = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
    out["body"] = body.decode("latin-1")
    out["wsgi.version"] = list(environ["wsgi.version"])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]


def test_wsgi_environ_describes_the_request() -> None:
    with sync_client(WSGITransport(echo_wsgi)) as client:
        r = client.get("http://testserver:8080/a%20b/%C3%A9", params={"x": "1", "y": " z"}, headers={"X-Trace": "t1"})
    assert r.status_code == 200
    env = r.json()
    assert {k: env[k] for k in ENVIRON_KEYS} == {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        # PEP 3333: the percent-decoded bytes, as latin-1 ("é" is UTF-8 C3 A9).
        "PATH_INFO": "/a b/\xc3\xa9",
        "QUERY_STRING": "x=1&y=+z",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": None,
        "CONTENT_LENGTH": None,
        "wsgi.url_scheme": "http",
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    assert env["wsgi.version"] == [1, 0]
    assert env["headers"]["HTTP_X_TRACE"] == "t1"
    assert env["headers"]["HTTP_HOST"] == "testserver:8080"
    assert env["headers"]["HTTP_USER_AGENT"].startswith("httpr/")
    assert env["body"] == ""


def test_wsgi_https_default_port_script_name_and_remote_addr() -> None:
    transport = WSGITransport(echo_wsgi, script_name="/mounted", remote_addr="10.1.2.3")
    with sync_client(transport) as client:
        env = client.get("https://example.org/mounted/x").json()
    assert (env["wsgi.url_scheme"], env["SERVER_NAME"], env["SERVER_PORT"]) == ("https", "example.org", "443")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"], env["REMOTE_ADDR"]) == ("/mounted", "/mounted/x", "10.1.2.3")


def test_wsgi_repeated_request_headers_are_joined() -> None:
    pairs = [("X-Dup", "a"), ("x-dup", "b"), ("Cookie", "a=1"), ("Cookie", "b=2"), ("Host", "h.test")]
    request = DupRequest("http://h.test/", pairs=pairs)
    env = WSGITransport(echo_wsgi).handle_request(cast(httpr.Request, request)).json()
    assert env["headers"] == {"HTTP_X_DUP": "a, b", "HTTP_COOKIE": "a=1; b=2", "HTTP_HOST": "h.test"}


def test_wsgi_form_and_json_bodies() -> None:
    with sync_client(WSGITransport(echo_wsgi)) as client:
        form = client.post("http://h.test/form", data={"a": "1", "b": "x y"}).json()
        js = client.put("http://h.test/json", json={"k": [1, 2]}).json()
    assert (form["REQUEST_METHOD"], form["CONTENT_TYPE"]) == ("POST", "application/x-www-form-urlencoded")
    assert form["body"] == "a=1&b=x+y" and form["CONTENT_LENGTH"] == "9"
    assert "HTTP_CONTENT_TYPE" not in form["headers"] and "HTTP_CONTENT_LENGTH" not in form["headers"]
    assert (js["REQUEST_METHOD"], js["CONTENT_TYPE"]) == ("PUT", "application/json")
    assert json.loads(js["body"]) == {"k": [1, 2]} and js["CONTENT_LENGTH"] == str(len(js["body"]))


def test_wsgi_content_length_without_a_header() -> None:
    env = WSGITransport(echo_wsgi).handle_request(httpr.Request("POST", "http://h.test/", content=b"raw")).json()
    assert env["CONTENT_LENGTH"] == "3" and env["body"] == "raw"


def test_wsgi_status_and_repeated_response_headers() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("404 Not Found", [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-App", "wsgi")])
        return [b"no such page"]

    with sync_client(WSGITransport(app)) as client:
        r = client.get("http://h.test/missing")
    assert r.status_code == 404 and r.text == "no such page"
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"] and r.headers["x-app"] == "wsgi"
    assert r.cookies == {"a": "1", "b": "2"}


class Streamed:
    """A WSGI body iterable with close(), as servers must call however iteration ends."""

    def __init__(self, chunks: list[bytes], fail: bool = False) -> None:
        self.chunks, self.fail, self.closed = chunks, fail, False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.fail:
            raise ValueError("body failed")

    def close(self) -> None:
        self.closed = True


def test_wsgi_streaming_body_is_joined_and_closed() -> None:
    body = Streamed([b"one ", b"", b"two ", b"three"])

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    def generator_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        for i in range(3):
            yield f"chunk{i};".encode()

    with sync_client(WSGITransport(app)) as client:
        assert client.get("http://h.test/").text == "one two three"
    assert body.closed
    with sync_client(WSGITransport(generator_app)) as client:
        assert client.get("http://h.test/").text == "chunk0;chunk1;chunk2;"


def test_wsgi_legacy_write_callable() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("201 Created", [])
        write(b"written, ")
        return [b"then returned"]

    r = WSGITransport(app).handle_request(httpr.Request("GET", "http://h.test/"))
    assert r.status_code == 201 and r.content == b"written, then returned"


def failing_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    raise KeyError("missing setting")


def test_wsgi_app_exception_propagates_by_default() -> None:
    with sync_client(WSGITransport(failing_wsgi)) as client, pytest.raises(KeyError, match="missing setting"):
        client.get("http://h.test/")
    body = Streamed([b"partial"], fail=True)
    transport = WSGITransport(lambda environ, start_response: (start_response("200 OK", []), body)[1])
    with pytest.raises(ValueError, match="body failed"):
        transport.handle_request(httpr.Request("GET", "http://h.test/"))
    assert body.closed


def test_wsgi_app_exception_becomes_500_and_is_logged() -> None:
    errors = io.StringIO()
    with sync_client(WSGITransport(failing_wsgi, raise_app_exceptions=False, wsgi_errors=errors)) as client:
        r = client.get("http://h.test/")
    assert r.status_code == 500 and r.content == b""
    assert "KeyError: 'missing setting'" in errors.getvalue() and "Traceback" in errors.getvalue()


def test_wsgi_app_reporting_exc_info() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            raise RuntimeError("handled by the app")
        except RuntimeError:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
            return [b"error page"]

    with pytest.raises(RuntimeError, match="handled by the app"):
        WSGITransport(app).handle_request(httpr.Request("GET", "http://h.test/"))
    r = WSGITransport(app, raise_app_exceptions=False).handle_request(httpr.Request("GET", "http://h.test/"))
    assert r.status_code == 503 and r.text == "error page"


def test_wsgi_error_reported_after_the_body_started_is_raised() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        try:
            yield b"half a page"
            raise OSError("disk gone")
        except OSError:
            # Too late to change the status: start_response re-raises (PEP 3333).
            start_response("500 Internal Server Error", [], sys.exc_info())

    with pytest.raises(OSError, match="disk gone"):
        WSGITransport(app).handle_request(httpr.Request("GET", "http://h.test/"))
    errors = io.StringIO()
    transport = WSGITransport(app, raise_app_exceptions=False, wsgi_errors=errors)
    r = transport.handle_request(httpr.Request("GET", "http://h.test/"))
    assert r.status_code == 500 and "OSError: disk gone" in errors.getvalue()


def test_wsgi_app_that_never_starts_a_response() -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return [b"no status"]

    with pytest.raises(RuntimeError, match="returned without calling start_response"):
        WSGITransport(app).handle_request(httpr.Request("GET", "http://h.test/"))


def test_flask_app() -> None:
    pytest.importorskip("flask")
    from flask import Flask, abort, jsonify, make_response, request

    app = Flask(__name__)

    @app.get("/hello/<name>")
    def hello(name: str) -> Any:
        greeting = f"{request.args.get('greet', 'hi')} {name}"
        response = make_response(jsonify(greeting=greeting, agent=request.headers.get("X-Agent")))
        response.set_cookie("seen", name)
        return response

    @app.post("/form")
    def form() -> Any:
        return jsonify(fields=request.form.to_dict(flat=False), cookie=request.cookies.get("seen"))

    @app.post("/json")
    def echo_json() -> Any:
        return jsonify(got=request.get_json(), path=request.path)

    @app.get("/teapot")
    def teapot() -> Any:
        abort(418)

    @app.get("/boom")
    def boom() -> Any:
        raise ZeroDivisionError("flask view failed")

    with sync_client(WSGITransport(app)) as client:
        r = client.get("http://testserver/hello/ana", params={"greet": "olá"}, headers={"X-Agent": "tests"})
        assert r.status_code == 200 and r.json() == {"greeting": "olá ana", "agent": "tests"}
        assert client.cookies == {"seen": "ana"}
        r = client.post("http://testserver/form", data={"a": ["1", "2"], "b": "x y"})
        assert r.json() == {"fields": {"a": ["1", "2"], "b": ["x y"]}, "cookie": "ana"}
        assert client.post("http://testserver/json", json={"n": 1}).json() == {"got": {"n": 1}, "path": "/json"}
        assert client.get("http://testserver/teapot").status_code == 418
        assert client.get("http://testserver/nowhere").status_code == 404
        # Flask turns a view's exception into its own 500 page, unless it propagates (testing).
        r = client.get("http://testserver/boom")
        assert r.status_code == 500 and b"Internal Server Error" in r.content
        app.testing = True
        with pytest.raises(ZeroDivisionError, match="flask view failed"):
            client.get("http://testserver/boom")


def test_base_transport_subclass_and_context_manager() -> None:
    class Canned(BaseTransport):
        closed = False

        def handle_request(self, request: httpr.Request) -> httpr.Response:
            return httpr.Response(200, text=f"canned {request.method} {request.url}")

        def close(self) -> None:
            self.closed = True

    with Canned() as transport, sync_client(transport) as client:
        assert client.delete("http://h.test/x").text == "canned DELETE http://h.test/x"
    assert transport.closed
    with pytest.raises(NotImplementedError, match=r"BaseTransport must implement handle_request\(request\)"):
        BaseTransport().handle_request(httpr.Request("GET", "http://h.test/"))


# -- ASGI ------------------------------------------------------------------------------------


async def echo_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the scope and the body as JSON, sent in three body messages."""
    message = await receive()
    out = {k: v for k, v in scope.items() if k not in ("headers", "raw_path", "query_string")}
    out["raw_path"] = scope["raw_path"].decode()
    out["query_string"] = scope["query_string"].decode()
    out["headers"] = [[k.decode(), v.decode()] for k, v in scope["headers"]]
    out["body"] = message["body"].decode()
    out["more_body"] = message["more_body"]
    data = json.dumps(out).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    third = len(data) // 3
    for part, more in ((data[:third], True), (data[third : 2 * third], True), (data[2 * third :], False)):
        await send({"type": "http.response.body", "body": part, "more_body": more})


def test_asgi_scope_describes_the_request() -> None:
    async def main() -> httpr.Response:
        async with async_client(ASGITransport(echo_asgi, root_path="/api", client=("10.0.0.9", 5555))) as client:
            return await client.get("https://testserver/a%20b/%C3%A9", params={"q": "1 2"}, headers={"X-Trace": "t1"})

    r = asyncio.run(main())
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    scope = r.json()
    headers = scope.pop("headers")
    assert scope == {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/a b/é",
        "raw_path": "/a%20b/%C3%A9",
        "query_string": "q=1+2",
        "root_path": "/api",
        "server": ["testserver", 443],
        "client": ["10.0.0.9", 5555],
        "body": "",
        "more_body": False,
    }
    assert ["x-trace", "t1"] in headers and ["host", "testserver"] in headers
    assert all(name == name.lower() for name, _ in headers)


def test_asgi_repeated_request_headers_stay_separate() -> None:
    request = DupRequest("http://h.test:8000/", pairs=[("X-Dup", "a"), ("X-Dup", "b")])
    r = asyncio.run(ASGITransport(echo_asgi).handle_async_request(cast(httpr.Request, request)))
    scope = r.json()
    assert scope["headers"] == [["x-dup", "a"], ["x-dup", "b"]]
    assert scope["server"] == ["h.test", 8000] and scope["client"] == ["127.0.0.1", 123]


def test_asgi_post_bodies() -> None:
    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        async with async_client(ASGITransport(echo_asgi)) as client:
            form = (await client.post("http://h.test/f", data={"a": "1", "b": "x y"})).json()
            js = (await client.patch("http://h.test/j", json={"k": True})).json()
            return form, js

    form, js = asyncio.run(main())
    assert form["method"] == "POST" and form["body"] == "a=1&b=x+y"
    assert ["content-type", "application/x-www-form-urlencoded"] in form["headers"]
    assert js["method"] == "PATCH" and json.loads(js["body"]) == {"k": True}
    assert ["content-length", str(len(js["body"]))] in js["headers"]


def test_asgi_status_headers_and_disconnect_after_the_response() -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == "http.request"

        async def watch() -> None:
            # Resolves only once the response is complete, as a server's disconnect does.
            events.append((await receive())["type"])

        watcher = asyncio.ensure_future(watch())
        cookies = [[b"set-cookie", b"a=1"], [b"set-cookie", b"b=2"]]
        await send({"type": "http.response.start", "status": 409, "headers": cookies})
        await asyncio.sleep(0.01)
        events.append("still connected" if not watcher.done() else "disconnected early")
        await send({"type": "http.response.body", "body": b"conflict"})
        await watcher

    r = asyncio.run(ASGITransport(app).handle_async_request(httpr.Request("GET", "http://h.test/")))
    assert r.status_code == 409 and r.text == "conflict"
    assert r.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert events == ["still connected", "http.disconnect"]


async def failing_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    raise LookupError("asgi app failed")


async def fails_after_start(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise LookupError("failed mid-body")


def test_asgi_app_exception_propagates_by_default() -> None:
    async def main() -> None:
        async with async_client(ASGITransport(failing_asgi)) as client:
            await client.get("http://h.test/")

    with pytest.raises(LookupError, match="asgi app failed"):
        asyncio.run(main())
    with pytest.raises(LookupError, match="failed mid-body"):
        asyncio.run(ASGITransport(fails_after_start).handle_async_request(httpr.Request("GET", "http://h.test/")))


def test_asgi_app_exception_becomes_500() -> None:
    async def main() -> tuple[httpr.Response, httpr.Response]:
        async with async_client(ASGITransport(failing_asgi, raise_app_exceptions=False)) as client:
            before = await client.get("http://h.test/")
        transport = ASGITransport(fails_after_start, raise_app_exceptions=False)
        after = await transport.handle_async_request(httpr.Request("GET", "http://h.test/"))
        return before, after

    before, after = asyncio.run(main())
    assert before.status_code == 500 and before.content == b""
    # The response had started: what the app sent until it failed.
    assert after.status_code == 200 and after.content == b"partial"


def test_asgi_protocol_misuse_is_an_error() -> None:
    async def body_first(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.body", "body": b"x"})

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        return None

    request = httpr.Request("GET", "http://h.test/")
    with pytest.raises(RuntimeError, match="sent http.response.body before http.response.start"):
        asyncio.run(ASGITransport(body_first).handle_async_request(request))
    # uvicorn answers an app that never responded with a 500 as well.
    assert asyncio.run(ASGITransport(silent).handle_async_request(request)).status_code == 500


def test_starlette_app() -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def item(request: Request) -> Response:
        item_id = int(request.path_params["item_id"])
        if item_id > 10:
            raise HTTPException(status_code=404, detail="no such item")
        q = request.query_params.getlist("q")
        response = JSONResponse({"id": item_id, "q": q, "ua": request.headers["user-agent"][:6]})
        response.set_cookie("last", str(item_id))
        return response

    async def create(request: Request) -> Response:
        return JSONResponse({"created": await request.json(), "last": request.cookies.get("last")}, status_code=201)

    async def stream(request: Request) -> Response:
        async def numbers() -> Any:
            for i in range(4):
                await asyncio.sleep(0)
                yield f"{i}\n"

        return StreamingResponse(numbers(), media_type="text/plain")

    async def boom(request: Request) -> Response:
        raise ArithmeticError("starlette view failed")

    routes = [
        Route("/items/{item_id}", item),
        Route("/items", create, methods=["POST"]),
        Route("/stream", stream),
        Route("/boom", boom),
        Route("/text", lambda request: PlainTextResponse("plain")),
    ]
    app = Starlette(routes=routes)

    async def main(raise_app_exceptions: bool) -> list[httpr.Response]:
        transport = ASGITransport(cast(Any, app), raise_app_exceptions=raise_app_exceptions)
        async with async_client(transport) as client:
            return [
                await client.get("http://testserver/items/3", params={"q": ["a", "b"]}),
                await client.post("http://testserver/items", json={"name": "x"}),
                await client.get("http://testserver/items/99"),
                await client.get("http://testserver/stream"),
                await client.get("http://testserver/text"),
                await client.get("http://testserver/boom"),
            ]

    got, created, missing, streamed, text, boom_500 = asyncio.run(main(raise_app_exceptions=False))
    assert got.status_code == 200 and got.json() == {"id": 3, "q": ["a", "b"], "ua": "httpr/"}
    assert created.status_code == 201 and created.json() == {"created": {"name": "x"}, "last": "3"}
    assert missing.status_code == 404 and missing.text == "no such item"
    assert streamed.status_code == 200 and streamed.text == "0\n1\n2\n3\n"
    assert text.text == "plain" and text.headers["content-type"] == "text/plain; charset=utf-8"
    # Starlette sends its own 500 page, then re-raises for the server.
    assert boom_500.status_code == 500 and boom_500.text == "Internal Server Error"
    with pytest.raises(ArithmeticError, match="starlette view failed"):
        asyncio.run(main(raise_app_exceptions=True))


def test_async_base_transport_subclass_and_context_manager() -> None:
    class Canned(AsyncBaseTransport):
        closed = False

        async def handle_async_request(self, request: httpr.Request) -> httpr.Response:
            await asyncio.sleep(0)
            return httpr.Response(202, json={"url": request.url})

        async def aclose(self) -> None:
            self.closed = True

    async def main() -> tuple[Canned, httpr.Response]:
        async with Canned() as transport, async_client(transport) as client:
            return transport, await client.get("http://h.test/y")

    transport, r = asyncio.run(main())
    assert r.status_code == 202 and r.json() == {"url": "http://h.test/y"}
    assert transport.closed
    with pytest.raises(NotImplementedError, match=r"AsyncBaseTransport must implement async handle_async_request"):
        asyncio.run(AsyncBaseTransport().handle_async_request(httpr.Request("GET", "http://h.test/")))


def test_transports_answer_messages_of_other_types() -> None:
    # Trailers and unknown extension messages are accepted and ignored.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"ok"})
        message: Message = {"type": "http.response.trailers", "headers": [], "more_trailers": False}
        await send(message)

    r = asyncio.run(ASGITransport(app).handle_async_request(httpr.Request("GET", "http://h.test/")))
    assert r.status_code == 200 and r.text == "ok"
