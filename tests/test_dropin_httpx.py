"""httpx idioms that run with only the import changed: redirect history and per-request
redirect control, `response.request`, timeout tuples and `httpx.Timeout` rules, `Limits`.
Against pytest-httpbin on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import httpr
import httpr as httpx  # the point: code written for httpx, import changed


def test_history_lists_each_redirect_oldest_first(httpbin: Any) -> None:
    r = httpx.get(httpbin.url + "/redirect/3")
    assert r.status_code == 200
    assert [h.status_code for h in r.history] == [302, 302, 302]
    assert [h.url for h in r.history] == [httpbin.url + "/redirect/3", httpbin.url + "/relative-redirect/2", httpbin.url + "/relative-redirect/1"]
    assert all(isinstance(h, httpr.Response) and h.is_redirect for h in r.history)
    assert r.history[0].headers["location"].endswith("/relative-redirect/2")
    assert r.url == httpbin.url + "/get"


def test_no_redirect_no_history(httpbin: Any) -> None:
    assert httpx.get(httpbin.url + "/get").history == []


def test_per_request_follow_redirects_overrides_client(httpbin: Any) -> None:
    with httpx.Client() as client:  # follows by default
        r = client.get(httpbin.url + "/redirect/1", follow_redirects=False)
        assert r.status_code == 302
        assert r.is_redirect
        assert r.history == []
        assert r.next_request is not None
        assert r.next_request.method == "GET"
        assert r.next_request.url == httpbin.url + "/get"
        # the next request can be sent as is
        assert client.request(r.next_request.method, r.next_request.url).json()["url"].endswith("/get")
    with httpx.Client(follow_redirects=False) as client:
        r = client.get(httpbin.url + "/redirect/1", follow_redirects=True)
        assert r.status_code == 200
        assert len(r.history) == 1


def test_requests_allow_redirects(httpbin: Any) -> None:
    r = httpr.get(httpbin.url + "/redirect/1", allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == "/get"
    # follow_redirects wins when both are given
    assert httpr.get(httpbin.url + "/redirect/1", allow_redirects=False, follow_redirects=True).status_code == 200


def test_next_request_is_none_when_followed_or_not_a_redirect(httpbin: Any) -> None:
    assert httpx.get(httpbin.url + "/get").next_request is None
    assert httpx.get(httpbin.url + "/redirect/1").next_request is None


def test_is_redirect_needs_a_location(httpbin: Any) -> None:
    # 304 is 3xx but not a redirect to follow; httpbin's /status/302 sends a Location
    assert not httpx.get(httpbin.url + "/status/304").is_redirect
    r = httpx.get(httpbin.url + "/status/302", follow_redirects=False)
    assert r.is_redirect and r.has_redirect_location


def test_post_303_next_request_is_get_without_body(httpbin: Any) -> None:
    r = httpx.post(httpbin.url + "/redirect-to", params={"url": "/get", "status_code": 303}, content=b"abc", follow_redirects=False)
    assert r.status_code == 303
    nxt = r.next_request
    assert nxt is not None and nxt.method == "GET" and nxt.content == b""


def test_response_request_is_what_was_sent(httpbin: Any) -> None:
    r = httpx.post(httpbin.url + "/post", headers={"X-Trace": "t1"}, content=b"payload")
    req = r.request
    assert isinstance(req, httpr.Request)
    assert req.method == "POST"
    assert req.url == httpbin.url + "/post"
    assert req.headers["x-trace"] == "t1"
    assert req.content == b"payload"
    # after redirects: the final hop's request
    r = httpx.get(httpbin.url + "/redirect/2")
    assert r.request.url == httpbin.url + "/get"
    assert r.history[0].request.url == httpbin.url + "/redirect/2"


def test_streamed_response_has_history_and_request(httpbin: Any) -> None:
    with httpx.Client() as client:
        with client.stream("GET", httpbin.url + "/redirect/2") as r:
            assert [h.status_code for h in r.history] == [302, 302]
            assert r.request.url == httpbin.url + "/get"
            assert r.next_request is None
        with client.stream("GET", httpbin.url + "/redirect/1", follow_redirects=False) as r:
            assert r.next_request is not None and r.next_request.url == httpbin.url + "/get"


def test_async_history_and_per_request_redirects(httpbin: Any) -> None:
    async def main() -> tuple[int, int, bool]:
        async with httpx.AsyncClient() as client:
            followed = await client.get(httpbin.url + "/redirect/2")
            stopped = await client.get(httpbin.url + "/redirect/2", follow_redirects=False)
            return len(followed.history), stopped.status_code, stopped.next_request is not None

    assert asyncio.run(main()) == (2, 302, True)


def test_user_built_response_has_no_request() -> None:
    with pytest.raises(RuntimeError, match="The request instance has not been set on this response."):
        httpr.Response(200).request
    assert httpr.Response(200).history == []


# timeouts as httpx and requests spell them


def test_timeout_tuples() -> None:
    c = httpx.Client(timeout=(2, 10))
    assert c.timeout == httpr.Timeout(connect=2, read=10, write=10, pool=2)
    c = httpx.Client(timeout=(1, 2, 3, 4))
    assert c.timeout == httpr.Timeout(connect=1, read=2, write=3, pool=4)
    with pytest.raises(ValueError, match=r"a timeout tuple must be \(connect, read\) or \(connect, read, write, pool\), got 3 values"):
        httpx.Client(timeout=(1, 2, 3))
    with pytest.raises(TypeError, match="timeout must be a number of seconds or None, not str"):
        httpx.Client(timeout=(1, "2"))  # type: ignore[arg-type]


def test_request_timeout_tuple_applies(httpbin: Any) -> None:
    with pytest.raises(httpr.ReadTimeout):
        httpr.get(httpbin.url + "/delay/2", timeout=(5, 0.3))
    assert httpr.get(httpbin.url + "/get", timeout=(5, None)).status_code == 200


def test_timeout_class_rules_as_httpx() -> None:
    t = httpx.Timeout(10.0, connect=60.0)
    assert (t.connect, t.read, t.write, t.pool) == (60.0, 10.0, 10.0, 10.0)
    t = httpx.Timeout(connect=5, read=10, write=15, pool=20)
    assert (t.connect, t.read, t.write, t.pool) == (5, 10, 15, 20)
    with pytest.raises(ValueError, match="must either include a default, or set all four parameters explicitly"):
        httpx.Timeout(connect=5)
    assert httpx.Timeout(None).read is None
    assert httpx.Timeout((1, 2, 3, 4)).write == 3
    base = httpx.Timeout(5, total=30)
    assert httpx.Timeout(base, read=1) == httpx.Timeout(5, read=1, total=30)


# pool limits


def test_limits_value_class() -> None:
    lim = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    assert (lim.max_connections, lim.max_keepalive_connections, lim.keepalive_expiry) == (100, 20, 5.0)
    assert lim == httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
    assert repr(httpx.Limits()) == "Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=5.0)"
    with pytest.raises(ValueError, match="max_connections must be at least 1"):
        httpx.Limits(max_connections=0)
    with pytest.raises(ValueError, match="max_keepalive_connections must be 0 or more"):
        httpx.Limits(max_keepalive_connections=-1)
    with pytest.raises(TypeError, match="limits must be an httpr.Limits, not dict"):
        httpx.Client(limits={"max_connections": 1})  # type: ignore[arg-type]


def test_limits_bound_the_pool(httpbin: Any) -> None:
    import concurrent.futures
    import time

    with httpx.Client(limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(10, pool=0.3)) as client:
        with client.stream("GET", httpbin.url + "/get"):
            started = time.monotonic()
            with pytest.raises(httpr.PoolTimeout):
                client.get(httpbin.url + "/get")
            assert time.monotonic() - started < 5
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda _: client.get(httpbin.url + "/get", timeout=10).status_code, range(8)))
        assert codes == [200] * 8


# readers on a response that is already read, and the other httpx response fields


def test_readers_on_a_read_response(httpbin: Any) -> None:
    r = httpx.get(httpbin.url + "/range/26")
    assert r.read() == r.content == b"abcdefghijklmnopqrstuvwxyz"
    assert list(r.iter_bytes()) == [r.content]
    assert list(r.iter_bytes(chunk_size=10)) == [b"abcdefghij", b"klmnopqrst", b"uvwxyz"]
    assert "".join(r.iter_text(chunk_size=7)) == r.text
    assert r.num_bytes_downloaded == 26
    lines = httpx.get(httpbin.url + "/stream/3")
    assert len(list(lines.iter_lines())) == 3
    assert list(httpx.get(httpbin.url + "/status/204").iter_bytes()) == []


def test_links_parses_the_link_header(httpbin: Any) -> None:
    link = '<https://api.example/items?page=2>; rel="next", <https://api.example/items?page=9>; rel="last"'
    r = httpx.get(httpbin.url + "/response-headers", params={"Link": link})
    assert r.links == {
        "next": {"url": "https://api.example/items?page=2", "rel": "next"},
        "last": {"url": "https://api.example/items?page=9", "rel": "last"},
    }
    assert httpx.get(httpbin.url + "/get").links == {}


def test_stream_iter_bytes_chunk_size(httpbin: Any) -> None:
    with httpx.Client() as client:
        with client.stream("GET", httpbin.url + "/bytes/5000", params={"seed": 1}) as r:
            pieces = list(r.iter_bytes(chunk_size=1024))
        assert [len(p) for p in pieces] == [1024] * 4 + [904]

    async def main() -> list[int]:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", httpbin.url + "/bytes/5000") as r:
                return [len(p) async for p in r.aiter_bytes(chunk_size=2000)]

    assert asyncio.run(main()) == [2000, 2000, 1000]


def test_module_level_stream(httpbin: Any) -> None:
    with httpx.stream("GET", httpbin.url + "/stream-bytes/3000", params={"chunk_size": 500}) as r:
        assert r.status_code == 200
        body = b"".join(r.iter_bytes())
    assert len(body) == 3000
    assert r.is_closed
    with httpx.stream("POST", httpbin.url + "/post", json={"a": 1}) as r:
        assert json.loads(r.read())["json"] == {"a": 1}
    with pytest.raises(httpr.ConnectError):
        httpx.stream("GET", "http://127.0.0.1:1/")


def test_session_alias_is_the_client() -> None:
    assert httpr.Session is httpr.Client
    with httpr.Session() as s:
        s.headers["X-A"] = "1"
        assert s.headers["x-a"] == "1"


def test_response_url_is_an_httpx_url_and_a_str(httpbin: Any) -> None:
    r = httpx.get(httpbin.url + "/get", params={"q": "tea"})
    assert isinstance(r.url, httpr.URL) and isinstance(r.url, str)
    assert r.url == httpbin.url + "/get?q=tea"  # 0.7.8 code compared strings
    assert r.url.endswith("?q=tea")
    assert r.url.scheme == "http" and r.url.host == "127.0.0.1" and r.url.port == httpbin.port
    assert r.url.path == "/get" and r.url.params["q"] == "tea"
    assert r.url.copy_with(path="/headers", query=None) == httpbin.url + "/headers"
    assert r.request.url.host == "127.0.0.1"
    assert json.loads(json.dumps({"u": r.url})) == {"u": str(r.url)}
    assert httpr.Response(200).url == ""


def test_cookies_jar_as_cookies_argument(httpbin: Any) -> None:
    jar = httpx.Cookies()
    jar.set("flavour", "oat", domain="127.0.0.1")
    assert httpx.get(httpbin.url + "/cookies", cookies=jar).json() == {"cookies": {"flavour": "oat"}}
    assert httpx.QueryParams({"a": [1, 2]}).get_list("a") == ["1", "2"]


# uploads as httpx takes them


def test_files_as_httpx_takes_them(httpbin: Any, tmp_path: Any) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"a,b\n1,2\n")
    with open(path, "rb") as f:
        r = httpx.post(httpbin.url + "/post", files={"upload": f})
    assert r.json()["files"] == {"upload": "a,b\n1,2\n"}
    r = httpx.post(
        httpbin.url + "/post",
        files={
            "raw": b"raw bytes",
            "named": ("notes.txt", b"hello"),
            "typed": ("data.json", '{"k": 1}', "application/json"),
            "extra": ("x.bin", b"\x00\x01", "application/octet-stream", {"X-Part": "1"}),
            "path": str(path),
        },
        data={"field": "v"},
    )
    body = r.json()
    assert body["files"]["raw"] == "raw bytes"
    assert body["files"]["named"] == "hello"
    assert body["files"]["typed"] == '{"k": 1}'
    assert body["files"]["path"] == "a,b\n1,2\n"
    assert body["form"] == {"field": "v"}
    # a list of pairs repeats a field
    r = httpx.post(httpbin.url + "/post", files=[("many", ("a.txt", b"1")), ("many", ("b.txt", b"2"))])
    assert r.json()["files"]["many"] in (["1", "2"], "1")  # httpbin keeps the first of a repeated file field
    sent = r.request.content
    assert sent.count(b'name="many"') == 2 and b'filename="a.txt"' in sent and b'filename="b.txt"' in sent


def test_file_part_headers_and_defaults_on_the_wire(httpbin: Any) -> None:
    r = httpx.post(httpbin.url + "/post", files={"f": ("x.bin", b"\x00", "application/x-thing", {"X-Part": "1"}), "b": b"zz"})
    sent = r.request.content
    assert b'name="f"; filename="x.bin"\r\nContent-Type: application/x-thing\r\nX-Part: 1\r\n\r\n\x00\r\n' in sent
    assert b'name="b"; filename="upload"\r\nContent-Type: application/octet-stream\r\n' in sent


def test_bad_files_values_are_type_errors(httpbin: Any) -> None:
    with pytest.raises(TypeError, match=r"argument 'files': files\[\"f\"\] must be a path, bytes, an open file, or a \(filename, content"):
        httpx.post(httpbin.url + "/post", files={"f": 3})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match=r'files\["f"\] must be'):
        httpx.post(httpbin.url + "/post", files={"f": ("a", b"b", None, None, None)})  # type: ignore[dict-item]


def echoed(r: httpr.Response) -> tuple[bytes, dict[str, str]]:
    """The body and headers the local /echo endpoint received."""
    import base64

    body = r.json()
    return base64.b64decode(body["body"]), {k.lower(): v for k, v in body["headers"]}


def test_content_from_a_generator_is_sent_chunked(echo_url: str) -> None:
    # httpx's "Streaming requests": a generator of bytes goes out as it is produced.
    produced: list[int] = []

    def chunks() -> Any:
        for i in range(3):
            produced.append(i)
            yield b"part%d," % i

    r = httpx.post(echo_url, content=chunks())
    body, headers = echoed(r)
    assert body == b"part0,part1,part2," and produced == [0, 1, 2]
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    with pytest.raises(TypeError, match="content iterator must yield bytes, not int"):
        httpx.post(echo_url, content=iter([1, 2]))  # type: ignore[arg-type]

    def broken() -> Any:
        yield b"a"
        raise RuntimeError("generator broke")

    with pytest.raises(httpx.WriteError, match="generator broke"):
        httpx.post(echo_url, content=broken())


def test_an_iterator_body_is_not_resent_on_a_307(echo_url: str, uid: str) -> None:
    # A 307 keeps method and body: a one-shot iterator cannot be replayed (httpx: StreamConsumed).
    from behaviour_servers import BehaviourServer

    with BehaviourServer() as srv:
        target = srv.add(f"/moved/{uid}", status=307, headers=[("Location", echo_url)])
        _check_307(target)


def _check_307(target: str) -> None:
    with pytest.raises(httpx.StreamConsumed, match="cannot be sent again"):
        httpx.post(target, content=iter([b"x"]))
    r = httpx.post(target, content=b"x")
    assert echoed(r)[0] == b"x"


# auth flows and transports given directly, as httpx code passes them


def test_digest_auth_against_httpbin(httpbin: Any) -> None:
    url = httpbin.url + "/digest-auth/auth/user/passwd/SHA-256"
    r = httpx.get(url, auth=httpx.DigestAuth("user", "passwd"))
    assert r.status_code == 200 and r.json() == {"authenticated": True, "user": "user"}
    with httpx.Client(auth=httpx.DigestAuth("user", "passwd")) as client:
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 200  # the nonce is reused
    assert httpx.get(url, auth=httpx.DigestAuth("user", "wrong")).status_code == 401


def test_callable_and_custom_auth_flow(httpbin: Any) -> None:
    def sign(request: httpr.Request) -> httpr.Request:
        request.headers["X-Signature"] = "s1"
        return request

    assert httpx.get(httpbin.url + "/headers", auth=sign).json()["headers"]["X-Signature"] == "s1"

    class TokenAuth(httpx.Auth):
        def __init__(self) -> None:
            self.refreshes = 0

        def auth_flow(self, request: httpr.Request) -> Any:
            request.headers["Authorization"] = "Bearer stale"
            response = yield request
            if response.status_code == 401:
                self.refreshes += 1
                request.headers["Authorization"] = "Bearer fresh"
                yield request

    def app(request: httpr.Request) -> httpr.Response:
        ok = request.headers.get("authorization") == "Bearer fresh"
        return httpr.Response(200 if ok else 401, text="ok" if ok else "no")

    auth = TokenAuth()
    with httpx.Client(transport=httpx.MockTransport(app), auth=auth) as client:
        assert client.get("http://test/").text == "ok"
    assert auth.refreshes == 1

    async def main() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(app)) as client:
            return (await client.get("http://test/", auth=TokenAuth())).text

    assert asyncio.run(main()) == "ok"
    with httpx.Client() as client:
        with client.stream("GET", httpbin.url + "/headers", auth=sign) as r:
            r.read()
            assert r.json()["headers"]["X-Signature"] == "s1"


def test_bad_auth_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"auth must be a \(username, password\) tuple, an httpr.Auth instance"):
        httpx.Client(auth="user:pass")  # type: ignore[arg-type]


def test_wsgi_and_asgi_transports_given_directly() -> None:
    def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}?{environ['QUERY_STRING']}".encode()]

    with httpx.Client(transport=httpx.WSGITransport(app=wsgi_app), base_url="http://testserver") as client:
        assert client.get("/items", params={"a": "1"}).text == "GET /items?a=1"

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-app", b"asgi")]})
        await send({"type": "http.response.body", "body": scope["method"].encode() + b" " + body})

    async def main() -> tuple[int, str, str]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi_app), base_url="http://testserver") as client:
            r = await client.post("/x", content=b"payload")
            return r.status_code, r.headers["x-app"], r.text

    assert asyncio.run(main()) == (201, "asgi", "POST payload")

    class Echo(httpx.BaseTransport):
        def handle_request(self, request: httpr.Request) -> httpr.Response:
            return httpr.Response(200, json={"url": str(request.url)})

    assert httpx.Client(transport=Echo()).get("http://x/y").json() == {"url": "http://x/y"}
    with pytest.raises(TypeError, match="transport must be an httpr.MockTransport or have a handle_request"):
        httpx.Client(transport=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="only has handle_async_request\\(\\): use it with httpr.AsyncClient"):
        httpx.Client(transport=httpx.ASGITransport(app=asgi_app))


def test_build_request_and_send(httpbin: Any) -> None:
    with httpx.Client(headers={"X-Client": "c"}, params={"p": "1"}) as client:
        request = client.build_request("POST", httpbin.url + "/post", json={"a": 1}, headers={"X-Req": "r"})
        assert isinstance(request, httpr.Request)
        assert request.url == httpbin.url + "/post?p=1"
        assert request.headers["x-client"] == "c" and request.headers["x-req"] == "r"
        assert request.headers["content-type"] == "application/json"
        request.headers["X-Edited"] = "yes"
        body = client.send(request).json()
        assert body["json"] == {"a": 1} and body["args"] == {"p": "1"}  # params not added twice
        assert body["headers"]["X-Edited"] == "yes" and body["headers"]["X-Client"] == "c"
        assert client.send(httpr.Request("GET", httpbin.url + "/get")).status_code == 200
    # following redirects by hand, as httpx code does (send() uses the client's redirect setting)
    with httpx.Client(follow_redirects=False) as client:
        r = client.get(httpbin.url + "/redirect/2")
        hops = 0
        while r.next_request is not None:
            r = client.send(r.next_request)
            hops += 1
        assert (hops, r.status_code) == (2, 200)

    async def main() -> int:
        async with httpx.AsyncClient() as client:
            req = client.build_request("GET", httpbin.url + "/get")
            return (await client.send(req)).status_code

    assert asyncio.run(main()) == 200


def test_a_cookie_header_joins_the_stored_cookies(httpbin: Any) -> None:
    with httpx.Client() as client:
        client.get(httpbin.url + "/cookies/set", params={"a": "1", "c": "9"})
        got = client.get(httpbin.url + "/cookies", headers={"Cookie": "a=2; b=3"}).json()["cookies"]
    assert got == {"a": "2", "b": "3", "c": "9"}


def test_repeated_request_headers_are_all_sent(echo_url: str) -> None:
    with httpx.Client(headers={"X-Tag": "client"}) as client:
        r = client.get(echo_url, headers=[("X-Tag", "a"), ("X-Tag", "b"), ("X-Other", "1")])
    sent = [(k.lower(), v) for k, v in r.json()["headers"]]
    assert [v for k, v in sent if k == "x-tag"] == ["a", "b"]
    assert ("x-other", "1") in sent


def test_a_cookies_jar_sends_each_cookie_where_its_domain_and_path_match() -> None:
    # httpx's Cookies: `cookies.set(name, value, domain=, path=)`, then `Client(cookies=jar)`.
    seen: list[tuple[str, str]] = []

    def app(request: httpr.Request) -> httpr.Response:
        seen.append((str(request.url), request.headers.get("cookie") or ""))
        return httpr.Response(200)

    jar = httpx.Cookies()
    jar.set("everywhere", "1")
    jar.set("api", "2", domain="api.example.org")
    jar.set("sub", "3", domain=".example.org", path="/app")
    with httpx.Client(transport=httpx.MockTransport(app), cookies=jar) as client:
        for url in ["http://api.example.org/x", "http://www.example.org/app/page", "http://other.test/app"]:
            client.get(url)
        client.get("http://api.example.org/", cookies=jar)  # per request too
        assert client.cookies["api"] == "2"
    sent = {url: sorted(header.split("; ")) for url, header in seen[:3]}
    assert sent["http://api.example.org/x"] == ["api=2", "everywhere=1"]
    assert sent["http://www.example.org/app/page"] == ["everywhere=1", "sub=3"]
    assert sent["http://other.test/app"] == ["everywhere=1"]
    assert sorted(seen[-1][1].split("; ")) == ["api=2", "everywhere=1"]


def test_credentials_in_the_url_are_sent_as_basic_auth(httpbin: Any) -> None:
    """httpx, requests and httpr 0.7.8 turn `http://user:pass@host/` into Basic auth (decoded,
    so `%40` is an `@`); an explicit `auth=` wins over them."""
    host = httpbin.url.removeprefix("http://")
    assert httpx.get(f"http://user:secret@{host}/basic-auth/user/secret").json() == {"authenticated": True, "user": "user"}
    assert httpx.get(f"http://a%40b:p%3Aw@{host}/basic-auth/a@b/p:w").status_code == 200
    assert httpx.get(f"http://user:wrong@{host}/basic-auth/user/secret", auth=("user", "secret")).status_code == 200

    async def main() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://user:secret@{host}/basic-auth/user/secret")).status_code

    assert asyncio.run(main()) == 200
