"""Issue 26: httpr under httpx and requests. httpx's and requests' own client APIs driven through
``httpr.HTTPXTransport`` / ``httpr.RequestsAdapter`` against servers on 127.0.0.1, and a real SDK
built on httpx's successor (the Anthropic SDK, on httpx2) against a local stand-in of its API."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

import httpr
from production_servers import ProdServer
from tls_servers import Certs, EchoServer, HttpProxy


@pytest.fixture(scope="module")
def one() -> Iterator[ProdServer]:
    with ProdServer("127.0.0.1") as server:
        yield server


def echoed(body: Any) -> tuple[bytes, dict[str, str]]:
    data = body if isinstance(body, dict) else json.loads(body)
    return base64.b64decode(data["body"]), {k.lower(): v for k, v in data["headers"]}


# -- httpx ------------------------------------------------------------------------------------------


def test_httpx_client_through_the_transport(httpbin: Any) -> None:
    transport = httpr.HTTPXTransport()
    assert isinstance(transport, httpx.BaseTransport)
    with httpx.Client(transport=transport, follow_redirects=True) as client:
        r = client.get(httpbin.url + "/redirect/2", params={"q": "1"})
        assert r.status_code == 200 and len(r.history) == 2  # redirects: httpx's job
        assert r.http_version == "HTTP/1.1" and r.reason_phrase == "OK"
        client.get(httpbin.url + "/cookies/set", params={"k": "v"})
        assert client.cookies["k"] == "v"  # cookies: httpx's jar
        assert client.get(httpbin.url + "/cookies").json() == {"cookies": {"k": "v"}}
        r = client.post(httpbin.url + "/post", json={"a": 1}, auth=("u", "p"))
        assert r.json()["json"] == {"a": 1} and r.json()["headers"]["Authorization"].startswith("Basic ")
        assert client.get(httpbin.url + "/gzip").json()["gzipped"] is True
        r = client.get(httpbin.url + "/digest-auth/auth/user/passwd/MD5", auth=httpx.DigestAuth("user", "passwd"))
        assert r.status_code == 200


def test_httpx_streaming_download_and_upload(echo_url: str, httpbin: Any) -> None:
    with httpx.Client(transport=httpr.HTTPXTransport()) as client:
        with client.stream("GET", httpbin.url + "/stream-bytes/50000", params={"chunk_size": 1000}) as r:
            total = sum(len(c) for c in r.iter_bytes())
        assert total == 50000

        def produce() -> Iterator[bytes]:
            yield b"streamed-"
            yield b"upload"

        body, headers = echoed(client.post(echo_url, content=produce()).json())
        assert body == b"streamed-upload" and headers["transfer-encoding"] == "chunked"
        body, _ = echoed(client.post(echo_url, files={"f": ("a.txt", b"file-bytes")}).json())
        assert b"file-bytes" in body


def test_httpx_errors_are_httpx_classes(closed_port: int, one: ProdServer, local_server: Any) -> None:
    with httpx.Client(transport=httpr.HTTPXTransport()) as client:
        with pytest.raises(httpx.ConnectError) as info:
            client.get(f"http://127.0.0.1:{closed_port}/")
        assert info.value.request.url.port == closed_port
        with pytest.raises(httpx.ReadTimeout):
            client.get(one.url("/slow?ms=2000"), timeout=0.2)
        # A body cut short while httpx reads it: the error is httpx's too.
        with pytest.raises(httpx.RemoteProtocolError, match="ended before its end marker"):
            with client.stream("GET", local_server.url("/zstd-cut")) as r:
                r.read()


def test_httpx_tls_http2_retries_and_proxy(certs: Certs, tls_server: EchoServer, one: ProdServer, closed_port: int) -> None:
    with httpx.Client(transport=httpr.HTTPXTransport(verify=certs.ca_pem, http2=True)) as client:
        assert client.get(tls_server.url()).status_code == 200
    with httpx.Client(transport=httpr.HTTPXTransport()) as client:
        with pytest.raises(httpx.ConnectError, match="(?i)certificate"):
            client.get(tls_server.url())
    with HttpProxy() as proxy:
        with httpx.Client(transport=httpr.HTTPXTransport(proxy=proxy.url(), trust_env=False)) as client:
            assert client.get(one.url("/echo/via-proxy")).status_code == 200
        assert proxy.tunnels() == [f"{one.host}:{one.port}"]
    with httpx.Client(transport=httpr.HTTPXTransport(retries=2)) as client:
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{closed_port}/")


def test_async_httpx_client_through_the_transport(httpbin: Any, echo_url: str) -> None:
    async def produce() -> Any:
        yield b"async-"
        yield b"upload"

    async def main() -> tuple[int, int, bytes]:
        transport = httpr.AsyncHTTPXTransport()
        assert isinstance(transport, httpx.AsyncBaseTransport)
        async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
            r = await client.get(httpbin.url + "/redirect/1")
            async with client.stream("GET", httpbin.url + "/bytes/4000") as s:
                n = sum([len(c) async for c in s.aiter_bytes()])
            up = await client.post(echo_url, content=produce())
            return r.status_code, n, echoed(up.json())[0]

    assert asyncio.run(main()) == (200, 4000, b"async-upload")


# -- requests ---------------------------------------------------------------------------------------


def requests_session() -> requests.Session:
    s = requests.Session()
    adapter = httpr.RequestsAdapter()
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def test_requests_session_through_the_adapter(httpbin: Any) -> None:
    assert isinstance(httpr.RequestsAdapter(), requests.adapters.BaseAdapter)
    with requests_session() as s:
        r = s.get(httpbin.url + "/redirect/2")
        assert r.status_code == 200 and len(r.history) == 2  # redirects: requests' job
        assert s.get(httpbin.url + "/get", params={"q": "1"}).json()["args"] == {"q": "1"}
        s.get(httpbin.url + "/cookies/set", params={"k": "v"})
        assert s.cookies.get("k") == "v"
        assert s.get(httpbin.url + "/cookies").json() == {"cookies": {"k": "v"}}
        r = s.post(httpbin.url + "/post", data={"a": "1"}, files={"f": ("x.txt", b"xyz")})
        assert r.json()["form"] == {"a": "1"} and r.json()["files"] == {"f": "xyz"}
        assert s.get(httpbin.url + "/basic-auth/u/p", auth=("u", "p")).json()["authenticated"] is True
        assert s.get(httpbin.url + "/gzip").json()["gzipped"] is True
        assert r.reason == "OK" and r.headers["content-type"] == "application/json"


def test_requests_stream_and_raw(httpbin: Any) -> None:
    with requests_session() as s:
        r = s.get(httpbin.url + "/bytes/3000", stream=True)
        assert [len(c) for c in r.iter_content(1024)] == [1024, 1024, 952]
        r = s.get(httpbin.url + "/stream/3", stream=True)
        assert len(list(r.iter_lines())) == 3
        r = s.get(httpbin.url + "/bytes/10", stream=True)
        assert len(r.raw.read(4)) == 4 and len(r.raw.read()) == 6


def test_requests_timeouts_and_errors(one: ProdServer, closed_port: int, certs: Certs, tls_server: EchoServer) -> None:
    with requests_session() as s:
        with pytest.raises(requests.exceptions.ReadTimeout):
            s.get(one.url("/slow?ms=2000"), timeout=(1, 0.2))
        with pytest.raises(requests.exceptions.ConnectionError):
            s.get(f"http://127.0.0.1:{closed_port}/", timeout=2)
        with pytest.raises(requests.exceptions.SSLError):
            s.get(tls_server.url())
        assert s.get(tls_server.url(), verify=certs.ca_pem).status_code == 200
        assert s.get(tls_server.url(), verify=False).status_code == 200
        assert s.get(tls_server.url(), verify=certs.ca_pem, cert=certs.client_pem).status_code == 200


def test_requests_proxies(one: ProdServer) -> None:
    with HttpProxy() as proxy, requests_session() as s:
        assert s.get(one.url("/echo/rq-proxy"), proxies={"http": proxy.url()}).status_code == 200
        assert proxy.tunnels() == [f"{one.host}:{one.port}"]


# -- optional packages ------------------------------------------------------------------------------


def test_a_clear_import_error_without_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for name in ("httpx", "httpx2", "requests"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"httpr.HTTPXTransport needs the 'httpx' package"):
        httpr.HTTPXTransport()
    with pytest.raises(ImportError, match=r"httpr.RequestsAdapter needs the 'requests' package"):
        httpr.RequestsAdapter()


# -- a real SDK ---------------------------------------------------------------------------------------


class FakeAnthropic:
    """A stand-in of the Messages API on 127.0.0.1: records each request, answers one message."""

    def __init__(self) -> None:
        import http.server

        outer = self
        self.seen: list[dict[str, Any]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
                reply = {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [{"type": "text", "text": "hello from 127.0.0.1"}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": 3, "output_tokens": 5},
                }
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_anthropic_sdk_through_the_transport() -> None:
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")
    fake = FakeAnthropic()
    try:
        client = anthropic.Anthropic(
            api_key="sk-test", base_url=fake.url, http_client=httpx2.Client(transport=httpr.HTTPXTransport()), max_retries=0
        )
        message = client.messages.create(model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
        assert message.content[0].text == "hello from 127.0.0.1"
        seen = fake.seen[0]
        assert seen["path"] == "/v1/messages" and seen["headers"]["user-agent"].startswith("Anthropic/Python")
        assert seen["headers"]["authorization"] == "Bearer sk-test"
        assert fake.seen[0]["body"]["messages"] == [{"role": "user", "content": "hi"}]
    finally:
        fake.close()


def test_http2_through_both_adapters(certs: Certs) -> None:
    from tls_servers import Hypercorn

    with Hypercorn(certs) as h2:
        with httpx.Client(transport=httpr.HTTPXTransport(verify=certs.ca_pem, http2=True)) as client:
            r = client.get(h2.url("/echo"))
            assert r.http_version == "HTTP/2" and r.json()["http_version"] == "2"
        with requests.Session() as s:
            s.mount("https://", httpr.RequestsAdapter(http2=True))
            assert s.get(h2.url("/echo"), verify=certs.ca_pem).json()["http_version"] == "2"
