"""httpx's ``mounts=`` and ``HTTPTransport``: transports chosen by URL pattern, and httpx's
network transport with settings of its own (proxy, retries, TLS), against real servers and a
real HTTP proxy on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import httpr as httpx
from production_servers import ProdServer
from tls_servers import Certs, EchoServer, HttpProxy

pytestmark = pytest.mark.usefixtures("no_proxy_env")


def answer(text: str) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, text=f"{text} {request.url.host}"))


def test_mounts_route_by_pattern_as_httpx() -> None:
    mounts = {
        "all://": answer("any"),
        "https://": answer("https"),
        "all://example.com": answer("exact"),
        "all://*.example.org": answer("subdomains"),
        "all://*example.net": answer("domain-and-subdomains"),
        "https://example.com:8443": answer("port"),
    }
    with httpx.Client(mounts=mounts) as client:
        got = [client.get(u).text for u in [
            "http://other.test/",
            "https://other.test/",
            "http://example.com/",
            "https://example.com:8443/",
            "https://www.example.org/",
            "http://example.net/",
            "http://a.b.example.net/",
        ]]
    assert got == [
        "any other.test",
        "https other.test",
        "exact example.com",
        "port example.com",
        "subdomains www.example.org",
        "domain-and-subdomains example.net",
        "domain-and-subdomains a.b.example.net",
    ]
    with httpx.Client(mounts={"all://*.example.org": answer("sub")}, transport=answer("default")) as client:
        assert client.get("http://example.org/").text == "default example.org"


def test_mount_none_uses_the_client_transport_and_unmatched_go_to_the_network(srv: ProdServer) -> None:
    with httpx.Client(mounts={"all://mocked.test": answer("mock"), "all://127.0.0.1": None}) as client:
        assert client.get("http://mocked.test/").text == "mock mocked.test"
        assert client.get(srv.url("/echo/direct")).status_code == 200


def test_mounts_errors_are_clear() -> None:
    with pytest.raises(ValueError, match='invalid mounts key "example.com"'):
        httpx.Client(mounts={"example.com": answer("x")})
    with pytest.raises(TypeError, match="transport must be an httpr.MockTransport or have a handle_request"):
        httpx.Client(mounts={"all://": object()})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="mounts must be a dict"):
        httpx.Client(mounts=[("all://", None)])  # type: ignore[arg-type]


def test_http_transport_with_a_proxy_mounted_per_scheme(srv: ProdServer, proxy: HttpProxy) -> None:
    # httpx's "Proxies" page: mounts={"http://": httpx.HTTPTransport(proxy=...)}.
    with httpx.Client(mounts={"http://": httpx.HTTPTransport(proxy=proxy.url())}) as client:
        token = uuid.uuid4().hex
        r = client.get(srv.url("/echo/mounted"), headers={"X-Token": token}, params={"q": "1"})
    assert r.status_code == 200
    assert proxy.tunnels() == [f"{srv.host}:{srv.port}"]
    [seen] = [s for s in srv.seen("/echo") if s.header("X-Token") == token]
    assert seen.arg("q") == "1"


def test_http_transport_as_transport_keeps_redirects_and_cookies_with_the_client(srv: ProdServer, httpbin: object) -> None:
    url = getattr(httpbin, "url")
    with httpx.Client(transport=httpx.HTTPTransport(retries=2)) as client:
        r = client.get(url + "/redirect/2")
        assert r.status_code == 200 and len(r.history) == 2
        client.get(url + "/cookies/set", params={"k": "v"})
        assert client.cookies["k"] == "v"
        r = client.post(url + "/post", json={"a": 1})
        assert r.json()["json"] == {"a": 1}
        gz = client.get(url + "/gzip")
        assert gz.json()["gzipped"] is True


def test_http_transport_tls_settings_and_errors(certs: Certs, tls_server: EchoServer, closed_port: int) -> None:
    with httpx.Client(transport=httpx.HTTPTransport(verify=certs.ca_pem)) as client:
        assert client.get(tls_server.url()).status_code == 200
    with httpx.Client(transport=httpx.HTTPTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            client.get(tls_server.url())
        with pytest.raises(httpx.ConnectError):
            client.get(f"http://127.0.0.1:{closed_port}/")
    with pytest.raises(NotImplementedError, match=r"HTTPTransport\(uds=...\) is not supported"):
        httpx.HTTPTransport(uds="/tmp/sock")


def test_http_transport_honours_the_client_timeout(srv: ProdServer) -> None:
    seen: list[object] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(record), timeout=httpx.Timeout(3, connect=1)) as client:
        client.get("http://t.test/")
    assert seen == [{"connect": 1.0, "read": 3.0, "write": 3.0, "pool": 3.0}]
    assert httpx.Request("GET", "http://t.test/").extensions == {}
    stall = srv.url("/slow?ms=3000")
    with httpx.Client(transport=httpx.HTTPTransport(), timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(stall)


def test_async_http_transport(httpbin: object) -> None:
    url = getattr(httpbin, "url")

    async def main() -> tuple[int, int]:
        async with httpx.AsyncClient(mounts={"all://": httpx.AsyncHTTPTransport(retries=1)}) as client:
            r = await client.get(url + "/redirect/1")
            return r.status_code, len(r.history)

    assert asyncio.run(main()) == (200, 1)
