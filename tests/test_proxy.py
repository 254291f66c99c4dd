"""Proxies: real pproxy subprocesses (HTTP, HTTP over TLS, SOCKS5 with and without credentials)
and, for HTTP proxies with Basic auth, ``tls_servers.HttpProxy`` (pproxy cannot check the
lowercase ``proxy-authorization`` header hyper sends). Every request goes to a local echo server;
each test checks that the target got the request *and* that the proxy carried it (the proxy's
record of the tunnels it opened)."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Literal, Protocol

import pytest

import httpr
from tls_servers import CLIENT_CN, Certs, EchoServer, HttpProxy, PProxy, make_certs

TIMEOUT = 5.0
USER, PASSWORD = "proxy-user", "s3cret-pass"

ProxyKind = Literal["http", "http-auth", "socks5", "socks5-auth", "https"]
PROXY_KINDS: list[ProxyKind] = ["http", "http-auth", "socks5", "socks5-auth", "https"]
AUTH_KINDS: list[ProxyKind] = ["http-auth", "socks5-auth"]


class Proxy(Protocol):
    kind: str
    port: int

    def url(self, scheme: str | None = None, auth: tuple[str, str] | None = None) -> str: ...

    def tunnels(self) -> list[str]: ...

    def wait_for_tunnel(self, destination: str, timeout: float = 5) -> None: ...

    def close(self) -> None: ...


StartProxy = Callable[[ProxyKind], Proxy]


# ---------------------------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("proxy-certs"))


@pytest.fixture(scope="module")
def target() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture(scope="module")
def tls_target(certs: Certs) -> Iterator[EchoServer]:
    with EchoServer(certs.server_context()) as server:
        yield server


@pytest.fixture(scope="module")
def mtls_target(certs: Certs) -> Iterator[EchoServer]:
    with EchoServer(certs.server_context(require_client_cert=True)) as server:
        yield server


@pytest.fixture
def start_proxy(certs: Certs) -> Iterator[StartProxy]:
    """Start a fresh proxy of a kind; stopped at teardown."""
    started: list[Proxy] = []

    def start(kind: ProxyKind) -> Proxy:
        proxy: Proxy
        if kind == "http":
            proxy = PProxy("http")
        elif kind == "http-auth":
            proxy = HttpProxy((USER, PASSWORD))
        elif kind == "socks5":
            proxy = PProxy("socks5")
        elif kind == "socks5-auth":
            proxy = PProxy("socks5", (USER, PASSWORD))
        else:
            proxy = PProxy("https", certs=certs)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPR_PROXY", "HTTPR_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex


def dest(server: EchoServer, host: str = "127.0.0.1") -> str:
    return f"{host}:{server.port}"


def seen_with(server: EchoServer, token: str) -> list[dict[str, str]]:
    """Headers (lowercase names) of each request the server received with this token."""
    return [
        {k.lower(): v for k, v in s.headers}
        for s in server.seen()
        if s.header("X-Token") == token
    ]


def settle() -> None:
    """Let a proxy's asynchronous log catch up before asserting that something did NOT happen."""
    time.sleep(0.3)


# ---------------------------------------------------------------------------------------------
# requests through each kind of proxy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("kind", PROXY_KINDS)
def test_request_goes_through_proxy(
    certs: Certs,
    target: EchoServer,
    tls_target: EchoServer,
    start_proxy: StartProxy,
    kind: ProxyKind,
    scheme: str,
    token: str,
) -> None:
    proxy = start_proxy(kind)
    server = tls_target if scheme == "https" else target
    # both CAs: the HTTPS proxy's certificate comes from the other one
    with httpr.Client(proxy=proxy.url(), ca_cert_file=certs.both_ca_pem, timeout=TIMEOUT) as client:
        assert client.proxy == proxy.url()
        response = client.get(server.url("/echo"), headers={"X-Token": token})
    assert response.status_code == 200
    assert (response.json()["tls_version"] is not None) == (scheme == "https")
    proxy.wait_for_tunnel(dest(server))
    [headers] = seen_with(server, token)
    assert "proxy-authorization" not in headers, "proxy credentials leaked to the target"


@pytest.mark.parametrize("kind", ["socks5", "socks5-auth"])
@pytest.mark.parametrize(
    ("scheme", "resolved_by"), [("socks5h", "proxy"), ("socks5", "client")]
)
def test_socks5h_lets_the_proxy_resolve_the_host(
    target: EchoServer,
    start_proxy: StartProxy,
    kind: ProxyKind,
    scheme: str,
    resolved_by: str,
    token: str,
) -> None:
    """socks5h:// hands the host name to the proxy; socks5:// resolves it first."""
    proxy = start_proxy(kind)
    with httpr.Client(proxy=proxy.url(scheme), timeout=TIMEOUT) as client:
        response = client.get(target.url("/echo", host="localhost"), headers={"X-Token": token})
    assert response.status_code == 200
    assert len(seen_with(target, token)) == 1
    expected = dest(target, "localhost" if resolved_by == "proxy" else "127.0.0.1")
    proxy.wait_for_tunnel(expected)


def test_proxy_credentials_are_percent_decoded(target: EchoServer, token: str) -> None:
    """Credentials with reserved characters, percent-encoded in the proxy URL, reach the proxy
    decoded, as Basic credentials."""
    user, password = "us@r name", "p@ss:w/rd%41#"
    with HttpProxy((user, password)) as proxy:
        with httpr.Client(proxy=proxy.url(), timeout=TIMEOUT) as client:
            response = client.get(target.url("/echo"), headers={"X-Token": token})
        assert response.status_code == 200
        assert len(seen_with(target, token)) == 1
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        assert proxy.auth_headers[-1] == expected


# ---------------------------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("credentials", ["wrong-password", "none"])
@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_wrong_proxy_credentials_raise_proxy_error(
    certs: Certs,
    target: EchoServer,
    tls_target: EchoServer,
    start_proxy: StartProxy,
    kind: ProxyKind,
    credentials: str,
    scheme: str,
    token: str,
) -> None:
    proxy = start_proxy(kind)
    scheme_of_proxy = "http" if kind == "http-auth" else "socks5"
    url = (
        proxy.url(auth=(USER, "wrong-password"))
        if credentials == "wrong-password"
        else f"{scheme_of_proxy}://127.0.0.1:{proxy.port}"
    )
    server = tls_target if scheme == "https" else target
    with httpr.Client(proxy=url, ca_cert_file=certs.ca_pem, timeout=TIMEOUT) as client:
        with pytest.raises(httpr.ProxyError) as info:
            response = client.get(server.url("/echo"), headers={"X-Token": token})
            pytest.fail(f"no exception, got HTTP {response.status_code} from the proxy")
    assert "proxy" in str(info.value).lower(), str(info.value)
    assert seen_with(server, token) == []
    if isinstance(proxy, HttpProxy):
        assert proxy.rejected >= 1
    settle()
    assert dest(server) not in proxy.tunnels()


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("proxy_scheme", ["http", "https", "socks5", "socks5h"])
def test_unreachable_proxy_fails_without_going_direct(
    certs: Certs,
    target: EchoServer,
    tls_target: EchoServer,
    closed_port: int,
    proxy_scheme: str,
    scheme: str,
    token: str,
) -> None:
    server = tls_target if scheme == "https" else target
    proxy_url = f"{proxy_scheme}://127.0.0.1:{closed_port}"
    with httpr.Client(proxy=proxy_url, ca_cert_file=certs.ca_pem, timeout=TIMEOUT) as client:
        with pytest.raises((httpr.ProxyError, httpr.ConnectError)) as info:
            client.get(server.url("/echo"), headers={"X-Token": token})
    message = str(info.value).lower()
    assert "proxy" in message or "refused" in message, message
    assert seen_with(server, token) == []


def test_stopping_the_proxy_breaks_the_client(
    target: EchoServer, start_proxy: StartProxy, token: str
) -> None:
    """The requests really depend on the proxy: once it is gone they fail."""
    proxy = start_proxy("http")
    with httpr.Client(proxy=proxy.url(), timeout=TIMEOUT) as client:
        assert client.get(target.url("/echo"), headers={"X-Token": token}).status_code == 200
        proxy.close()
    with httpr.Client(proxy=proxy.url(), timeout=TIMEOUT) as client:
        with pytest.raises((httpr.ProxyError, httpr.ConnectError)):
            client.get(target.url("/echo"), headers={"X-Token": token})
    assert len(seen_with(target, token)) == 1


@pytest.mark.parametrize("proxy_url", ["ftp://127.0.0.1:{port}", "htp://127.0.0.1:{port}"])
def test_unsupported_proxy_scheme_is_refused(
    target: EchoServer, closed_port: int, proxy_url: str, token: str
) -> None:
    """A proxy URL httpr cannot use must fail, never be ignored (which would send the request
    straight to the target)."""
    url = proxy_url.format(port=closed_port)
    with pytest.raises((httpr.ProxyError, ValueError)) as info:
        with httpr.Client(proxy=url, timeout=TIMEOUT) as client:
            client.get(target.url("/echo"), headers={"X-Token": token})
    assert url.split(":", 1)[0] in str(info.value), str(info.value)
    assert seen_with(target, token) == [], "the request bypassed the configured proxy"


# ---------------------------------------------------------------------------------------------
# HTTPR_PROXY
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["http", "socks5-auth"])
def test_httpr_proxy_env_is_used_by_client(
    target: EchoServer,
    start_proxy: StartProxy,
    monkeypatch: pytest.MonkeyPatch,
    kind: ProxyKind,
    token: str,
) -> None:
    proxy = start_proxy(kind)
    monkeypatch.setenv("HTTPR_PROXY", proxy.url())
    with httpr.Client(timeout=TIMEOUT) as client:
        assert client.proxy == proxy.url()
        response = client.get(target.url("/echo"), headers={"X-Token": token})
    assert response.status_code == 200
    assert len(seen_with(target, token)) == 1
    proxy.wait_for_tunnel(dest(target))


def test_module_functions_read_httpr_proxy_at_call_time(
    target: EchoServer, start_proxy: StartProxy, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """`httpr.get()` honours HTTPR_PROXY as it is when called, like a new Client does."""
    proxy = start_proxy("http")
    assert httpr.get(target.url("/echo"), timeout=TIMEOUT).status_code == 200  # direct
    monkeypatch.setenv("HTTPR_PROXY", proxy.url())
    response = httpr.get(target.url("/echo"), headers={"X-Token": token}, timeout=TIMEOUT)
    assert response.status_code == 200
    proxy.wait_for_tunnel(dest(target))


def test_explicit_proxy_wins_over_env(
    target: EchoServer,
    start_proxy: StartProxy,
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
    token: str,
) -> None:
    proxy = start_proxy("http")
    monkeypatch.setenv("HTTPR_PROXY", f"http://127.0.0.1:{closed_port}")
    with httpr.Client(proxy=proxy.url(), timeout=TIMEOUT) as client:
        assert client.proxy == proxy.url()
        response = client.get(target.url("/echo"), headers={"X-Token": token})
    assert response.status_code == 200
    proxy.wait_for_tunnel(dest(target))


# ---------------------------------------------------------------------------------------------
# the client.proxy setter
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_proxy_setter_switches_a_live_client(
    target: EchoServer, start_proxy: StartProxy, kind: ProxyKind
) -> None:
    proxy = start_proxy(kind)
    marker = uuid.uuid4().hex
    with httpr.Client(
        headers={"X-Default": marker}, params={"from": "client"}, timeout=TIMEOUT
    ) as client:
        assert client.proxy is None

        def get(step: str) -> None:
            response = client.get(target.url("/echo"), headers={"X-Token": step})
            assert response.status_code == 200
            [seen] = [s for s in target.seen() if s.header("X-Token") == step]
            assert seen.header("X-Default") == marker, "default headers lost"
            assert "from=client" in seen.path, "default params lost"

        get(f"{marker}-direct")
        settle()
        assert proxy.tunnels() == []

        client.proxy = proxy.url()
        assert client.proxy == proxy.url()
        get(f"{marker}-proxied")
        proxy.wait_for_tunnel(dest(target))
        tunnels = len(proxy.tunnels())

        client.proxy = None
        assert client.proxy is None
        get(f"{marker}-direct-again")
        settle()
        assert len(proxy.tunnels()) == tunnels, "still using the proxy after client.proxy = None"


# ---------------------------------------------------------------------------------------------
# TLS through proxies
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("trust", ["system-roots", "other-ca"])
@pytest.mark.parametrize("kind", ["http", "socks5", "https"])
def test_tls_is_verified_through_the_proxy(
    certs: Certs,
    tls_target: EchoServer,
    start_proxy: StartProxy,
    kind: ProxyKind,
    trust: str,
    token: str,
) -> None:
    """The proxy tunnels the connection, and the target's certificate is still verified.

    "other-ca" trusts only the CA of the HTTPS proxy's certificate, not the target's: the TLS
    connection to the proxy succeeds and the one to the target must fail. With the system roots,
    the HTTPS proxy's certificate is already refused."""
    proxy = start_proxy(kind)
    ca = None if trust == "system-roots" else certs.other_ca_pem
    with httpr.Client(proxy=proxy.url(), ca_cert_file=ca, timeout=TIMEOUT) as client:
        with pytest.raises(httpr.ConnectError) as info:
            client.get(tls_target.url("/echo"), headers={"X-Token": token})
    assert "certificate" in str(info.value).lower(), str(info.value)
    assert seen_with(tls_target, token) == []
    if kind != "https" or trust == "other-ca":
        proxy.wait_for_tunnel(dest(tls_target))


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_verify_false_through_the_proxy(
    tls_target: EchoServer, start_proxy: StartProxy, kind: ProxyKind, token: str
) -> None:
    proxy = start_proxy(kind)
    with httpr.Client(proxy=proxy.url(), verify=False, timeout=TIMEOUT) as client:
        response = client.get(tls_target.url("/echo"), headers={"X-Token": token})
    assert response.status_code == 200
    assert len(seen_with(tls_target, token)) == 1
    proxy.wait_for_tunnel(dest(tls_target))


@pytest.mark.parametrize("kind", ["http-auth", "socks5"])
def test_mtls_through_the_proxy(
    certs: Certs, mtls_target: EchoServer, start_proxy: StartProxy, kind: ProxyKind, token: str
) -> None:
    proxy = start_proxy(kind)
    with httpr.Client(
        proxy=proxy.url(),
        ca_cert_file=certs.ca_pem,
        client_pem_data=certs.client_pem_data,
        timeout=TIMEOUT,
    ) as client:
        response = client.get(mtls_target.url("/echo"), headers={"X-Token": token})
    assert response.status_code == 200
    assert response.json()["client_cert_cn"] == CLIENT_CN
    seen = [s.client_cert_cn for s in mtls_target.seen() if s.header("X-Token") == token]
    assert seen == [CLIENT_CN]
    proxy.wait_for_tunnel(dest(mtls_target))
