"""HTTP/2 against a real hypercorn server (subprocess), over TLS with ALPN h2 and over cleartext
with prior knowledge (h2c). The ASGI app (``tls_servers.asgi_app``) echoes the HTTP version the
server spoke, so each test checks both sides: ``response.http_version`` and what hypercorn saw."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Literal

import pytest

import httpr
from tls_servers import Certs, EchoServer, Hypercorn, make_certs

TIMEOUT = 5.0

Transport = Literal["tls", "cleartext"]
TRANSPORTS: list[Transport] = ["tls", "cleartext"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("h2-certs"))


@pytest.fixture(scope="module")
def h2_tls(certs: Certs) -> Iterator[Hypercorn]:
    """hypercorn over TLS: offers ALPN h2 and http/1.1."""
    with Hypercorn(certs) as server:
        yield server


@pytest.fixture(scope="module")
def h2_cleartext() -> Iterator[Hypercorn]:
    """hypercorn without TLS: HTTP/1.1, or HTTP/2 when the client starts with the h2 preface."""
    with Hypercorn(None) as server:
        yield server


@pytest.fixture(scope="module")
def h1_tls(certs: Certs) -> Iterator[EchoServer]:
    """A TLS server that only speaks HTTP/1.1 (ALPN http/1.1)."""
    with EchoServer(certs.server_context(alpn=["http/1.1"])) as server:
        yield server


@pytest.fixture(scope="module")
def h1_cleartext() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture
def h2_server(request: pytest.FixtureRequest, transport: Transport) -> Hypercorn:
    server: Hypercorn = request.getfixturevalue("h2_tls" if transport == "tls" else "h2_cleartext")
    return server


def client_for(certs: Certs, **options: Any) -> httpr.Client:
    return httpr.Client(ca_cert_file=certs.ca_pem, timeout=TIMEOUT, **options)


def echoed_header(body: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in body["headers"] if k.lower() == name]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_http2_only_speaks_http2(certs: Certs, h2_server: Hypercorn, transport: Transport) -> None:
    token = uuid.uuid4().hex
    with client_for(certs, http2_only=True) as client:
        response = client.get(h2_server.url("/echo"), headers={"X-Token": token})
    assert response.status_code == 200
    assert response.http_version == "HTTP/2"
    body = response.json()
    assert body["http_version"] == "2"
    assert body["scheme"] == ("https" if transport == "tls" else "http")
    assert echoed_header(body, "x-token") == [token]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_http2_request_body_and_reuse(
    certs: Certs, h2_server: Hypercorn, transport: Transport
) -> None:
    """A body larger than the default h2 flow-control window arrives whole, and several requests
    on one client keep speaking HTTP/2."""
    payload = bytes(range(97, 123)) * 10_000  # 260 kB of a..z
    with client_for(certs, http2_only=True) as client:
        for i in range(3):
            response = client.post(h2_server.url(f"/upload/{i}"), content=payload)
            assert response.http_version == "HTTP/2"
            body = response.json()
            assert body["http_version"] == "2"
            assert body["method"] == "POST"
            assert body["path"] == f"/upload/{i}"
            assert body["body"].encode("latin-1") == payload


@pytest.mark.parametrize("options", [{}, {"http1_only": True}], ids=["default", "http1_only"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_default_and_http1_only_speak_http11(
    certs: Certs, h2_server: Hypercorn, transport: Transport, options: dict[str, bool]
) -> None:
    """The server offers h2 (ALPN over TLS; h2c on cleartext), but without http2_only httpr must
    stay on HTTP/1.1, as the spec says: no silent h2 negotiation."""
    with client_for(certs, **options) as client:
        response = client.get(h2_server.url("/echo"))
    assert response.status_code == 200
    assert response.http_version == "HTTP/1.1"
    assert response.json()["http_version"] == "1.1"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_http2_only_does_not_fall_back_to_http11(
    request: pytest.FixtureRequest, certs: Certs, transport: Transport
) -> None:
    """Against a server that only speaks HTTP/1.1, http2_only fails instead of downgrading."""
    server: EchoServer = request.getfixturevalue("h1_tls" if transport == "tls" else "h1_cleartext")
    path = f"/echo/{uuid.uuid4().hex}"
    with client_for(certs, http2_only=True) as client:
        with pytest.raises(httpr.TransportError) as info:
            client.get(server.url(path))
    assert server.url(path) in str(info.value)
    assert server.seen(path) == [], "an HTTP/1.1 request reached the server"


@pytest.mark.parametrize("via", ["Client", "AsyncClient"])
def test_http1_only_and_http2_only_conflict(via: str) -> None:
    cls: Any = getattr(httpr, via)
    with pytest.raises(ValueError) as info:
        cls(http1_only=True, http2_only=True)
    assert "http1_only" in str(info.value) and "http2_only" in str(info.value)


# -- httpx's http2=True: offered in ALPN, the server picks -----------------------------------------


def test_http2_true_negotiates_and_falls_back(certs: Certs, h2_tls: Hypercorn, h1_tls: EchoServer, h2_cleartext: Hypercorn) -> None:
    # httpx's "HTTP/2" page: Client(http2=True), then check response.http_version.
    with client_for(certs, http2=True) as client:
        r = client.get(h2_tls.url("/echo"))
        assert (r.http_version, r.json()["http_version"]) == ("HTTP/2", "2")
        # One connection carries later requests too.
        assert client.get(h2_tls.url("/echo")).http_version == "HTTP/2"
        assert client.get(h1_tls.url("/echo")).http_version == "HTTP/1.1"  # server offers only 1.1
        assert client.get(h2_cleartext.url("/echo")).http_version == "HTTP/1.1"  # no prior knowledge
    with client_for(certs) as client:
        assert client.get(h2_tls.url("/echo")).http_version == "HTTP/1.1"  # not offered by default

    import asyncio

    async def main() -> str:
        async with httpr.AsyncClient(ca_cert_file=certs.ca_pem, http2=True) as client:
            return (await client.get(h2_tls.url("/echo"))).http_version

    assert asyncio.run(main()) == "HTTP/2"


def test_http1_false_means_http2_only(certs: Certs, h2_cleartext: Hypercorn) -> None:
    with client_for(certs, http1=False, http2=True) as client:
        assert client.get(h2_cleartext.url("/echo")).http_version == "HTTP/2"
    with pytest.raises(ValueError, match="http1=False needs http2=True"):
        httpr.Client(http1=False)
    with pytest.raises(ValueError, match="http2=True and http1_only=True contradict"):
        httpr.Client(http2=True, http1_only=True)
