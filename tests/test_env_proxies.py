"""Proxies from the environment (``trust_env``): HTTPR_PROXY, HTTP_PROXY, HTTPS_PROXY, ALL_PROXY
(and their lowercase forms) and NO_PROXY with hosts and CIDR ranges.

The proxy is ``tls_servers.HttpProxy``, a real HTTP proxy of the test suite's own that records
the destination of every request it carries and the Proxy-Authorization it was given. Targets
are two servers, on 127.0.0.1 and 127.0.0.2, so that NO_PROXY can tell two hosts apart. Each
test checks both ends: the target got the request, and the proxy did (or did not) carry it.

A client reads the environment when it is built, so every test sets the variables first.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator

import pytest

import httpr
from production_servers import ProdServer
from stream_server import Mode, Twin, run_twin
from tls_servers import Certs, EchoServer, HttpProxy, PProxy, make_certs

pytestmark = pytest.mark.usefixtures("no_proxy_env")


@pytest.fixture(scope="module")
def one() -> Iterator[ProdServer]:
    with ProdServer("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def two() -> Iterator[ProdServer]:
    with ProdServer("127.0.0.2") as server:
        yield server



@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex


def dest(server: ProdServer | EchoServer, host: str = "127.0.0.1") -> str:
    return f"{getattr(server, 'host', host)}:{server.port}"


def fetch(mode: Mode, url: str, token: str, **client_kwargs: object) -> httpr.Response:
    """GET ``url`` with a fresh client of the given kind, tagged with ``token``."""

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(url, headers={"X-Token": token})

    return run_twin(mode, scenario, timeout=5, **client_kwargs)  # type: ignore[arg-type]


def arrived(server: ProdServer, token: str) -> int:
    return sum(1 for s in server.seen("/echo") if s.header("X-Token") == token)


def settle() -> None:
    """Give a proxy's handler thread a moment before asserting it did NOT see something."""
    time.sleep(0.1)


# -- HTTP_PROXY / ALL_PROXY / lowercase / HTTPR_PROXY ---------------------------------------------------


@pytest.mark.parametrize("var", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPR_PROXY"])
def test_env_proxy_routes_http_requests(
    mode: Mode, one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, var: str, token: str
) -> None:
    monkeypatch.setenv(var, proxy.url())
    response = fetch(mode, one.url("/echo/env"), token)
    assert response.status_code == 200
    assert arrived(one, token) == 1
    assert proxy.tunnels() == [dest(one)], "the request did not go through the proxy"
    [seen] = [s for s in one.seen("/echo") if s.header("X-Token") == token]
    assert seen.header("Connection") == "close", "the proxy forwards with Connection: close"


@pytest.mark.parametrize(
    ("winner", "loser", "path"),
    [
        ("http_proxy", "HTTP_PROXY", "/echo/lower"),  # lowercase wins over uppercase
        ("HTTP_PROXY", "ALL_PROXY", "/echo/specific"),  # scheme-specific wins over ALL_PROXY
    ],
)
def test_proxy_variable_precedence(
    mode: Mode,
    one: ProdServer,
    proxy: HttpProxy,
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
    token: str,
    winner: str,
    loser: str,
    path: str,
) -> None:
    monkeypatch.setenv(winner, proxy.url())
    monkeypatch.setenv(loser, f"http://127.0.0.1:{closed_port}")
    assert fetch(mode, one.url(path), token).status_code == 200
    assert proxy.tunnels() == [dest(one)]


def test_httpr_proxy_wins_over_http_proxy(
    mode: Mode, one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, closed_port: int, token: str
) -> None:
    monkeypatch.setenv("HTTPR_PROXY", proxy.url())
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")
    client = httpr.Client()
    assert client.proxy == proxy.url()
    assert fetch(mode, one.url("/echo/httpr"), token).status_code == 200
    assert proxy.tunnels() == [dest(one)]


def test_env_is_read_when_the_client_is_built(
    one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    before = httpr.Client(timeout=5)
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    after = httpr.Client(timeout=5)
    assert before.get(one.url("/echo/before"), headers={"X-Token": token}).status_code == 200
    settle()
    assert proxy.tunnels() == [], "a client built before HTTP_PROXY was set must not use it"
    assert after.get(one.url("/echo/after"), headers={"X-Token": token}).status_code == 200
    assert proxy.tunnels() == [dest(one)]
    assert arrived(one, token) == 2


def test_http_proxy_is_ignored_under_cgi(
    one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """httpoxy: under CGI, HTTP_PROXY comes from a request header; only http_proxy counts."""
    monkeypatch.setenv("REQUEST_METHOD", "GET")
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    assert fetch("sync", one.url("/echo/cgi"), token).status_code == 200
    settle()
    assert proxy.tunnels() == []
    assert arrived(one, token) == 1


# -- HTTPS_PROXY ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("var", ["HTTPS_PROXY", "https_proxy"])
def test_https_proxy_is_not_used_for_http_urls(
    mode: Mode, one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, var: str, token: str
) -> None:
    monkeypatch.setenv(var, proxy.url())
    assert fetch(mode, one.url("/echo/plain"), token).status_code == 200
    assert arrived(one, token) == 1
    settle()
    assert proxy.tunnels() == [], "HTTPS_PROXY must only apply to https:// URLs"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("env-proxy-certs"))


def test_https_proxy_is_used_for_https_urls(
    mode: Mode, certs: Certs, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, closed_port: int, token: str
) -> None:
    """HTTPS_PROXY carries https:// requests (a CONNECT tunnel); HTTP_PROXY (a dead port here)
    is not consulted for them."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url())
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")
    with EchoServer(certs.server_context()) as tls_target:
        response = fetch(mode, tls_target.url("/echo"), token, ca_cert_file=certs.ca_pem)
        assert response.status_code == 200
        assert response.json()["tls_version"] is not None
        assert proxy.tunnels() == [f"127.0.0.1:{tls_target.port}"]
        assert [s.header("X-Token") for s in tls_target.seen()] == [token]


# -- NO_PROXY ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("no_proxy", "direct"),
    [
        ("127.0.0.0/8", {"127.0.0.1", "127.0.0.2"}),
        ("127.0.0.1/32", {"127.0.0.1"}),
        ("127.0.0.2/32", {"127.0.0.2"}),
        ("10.0.0.0/8, 127.0.0.2", {"127.0.0.2"}),
        ("127.0.0.0/31", {"127.0.0.1"}),
        ("192.168.0.0/16", set()),
        ("*", {"127.0.0.1", "127.0.0.2"}),
    ],
)
def test_no_proxy_cidr_ranges(
    mode: Mode,
    one: ProdServer,
    two: ProdServer,
    proxy: HttpProxy,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
    direct: set[str],
    token: str,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("NO_PROXY", no_proxy)
    for server in (one, two):
        assert fetch(mode, server.url("/echo/np"), token).status_code == 200
        assert arrived(server, token) == 1
    settle()
    proxied = {d.split(":")[0] for d in proxy.tunnels()}
    assert proxied == {"127.0.0.1", "127.0.0.2"} - direct, f"NO_PROXY={no_proxy!r}: {proxy.tunnels()}"


def test_lowercase_no_proxy_with_a_port(
    one: ProdServer, two: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """``host:port`` entries only match that port."""
    monkeypatch.setenv("http_proxy", proxy.url())
    monkeypatch.setenv("no_proxy", f"127.0.0.1:{one.port},127.0.0.2:1")
    for server in (one, two):
        assert fetch("sync", server.url("/echo/port"), token).status_code == 200
    settle()
    assert proxy.tunnels() == [dest(two)]


def test_no_proxy_applies_to_all_proxy_and_httpr_proxy(
    mode: Mode, one: ProdServer, two: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("ALL_PROXY", proxy.url())
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    for server in (one, two):
        assert fetch(mode, server.url("/echo/all"), token).status_code == 200
    settle()
    assert proxy.tunnels() == [dest(one)]


# -- trust_env=False and an explicit proxy= ------------------------------------------------------------------


@pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient])
def test_trust_env_false_ignores_every_variable(
    one: ProdServer,
    proxy: HttpProxy,
    monkeypatch: pytest.MonkeyPatch,
    cls: type[httpr.Client] | type[httpr.AsyncClient],
    token: str,
) -> None:
    for var in ("HTTPR_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(var, proxy.url())
    client = cls(trust_env=False)
    assert client.trust_env is False
    assert client.proxy is None
    assert cls().trust_env is True
    mode: Mode = "sync" if cls is httpr.Client else "async"
    assert fetch(mode, one.url("/echo/no-env"), token, trust_env=False).status_code == 200
    assert arrived(one, token) == 1
    settle()
    assert proxy.tunnels() == []


def test_explicit_proxy_wins_over_env_and_ignores_no_proxy(
    mode: Mode,
    one: ProdServer,
    proxy: HttpProxy,
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
    token: str,
) -> None:
    dead = f"http://127.0.0.1:{closed_port}"
    for var in ("HTTPR_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, dead)
    monkeypatch.setenv("NO_PROXY", "127.0.0.0/8")
    response = fetch(mode, one.url("/echo/explicit"), token, proxy=proxy.url())
    assert response.status_code == 200
    assert proxy.tunnels() == [dest(one)], "proxy= must be used, NO_PROXY notwithstanding"


def test_dead_env_proxy_fails_without_going_direct(
    mode: Mode, one: ProdServer, monkeypatch: pytest.MonkeyPatch, closed_port: int, token: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")
    with pytest.raises((httpr.ProxyError, httpr.ConnectError)) as info:
        fetch(mode, one.url("/echo/dead"), token)
    assert "proxy" in str(info.value).lower(), str(info.value)
    assert arrived(one, token) == 0


def test_invalid_env_proxy_is_refused(monkeypatch: pytest.MonkeyPatch, one: ProdServer, token: str) -> None:
    """An env proxy httpr cannot use must fail, never be silently skipped."""
    monkeypatch.setenv("HTTP_PROXY", "ftp://127.0.0.1:21")
    with pytest.raises((httpr.ProxyError, ValueError)) as info:
        fetch("sync", one.url("/echo/ftp"), token)
    assert "ftp" in str(info.value), str(info.value)
    assert arrived(one, token) == 0


# -- credentials ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["HTTP_PROXY", "HTTPR_PROXY", "proxy="])
def test_proxy_auth_with_an_empty_password(
    mode: Mode, one: ProdServer, monkeypatch: pytest.MonkeyPatch, source: str, token: str
) -> None:
    """``http://user:@host:port``: the empty password is still sent, as Basic base64("user:")."""
    with HttpProxy(("user", "")) as proxy:
        url = f"http://user:@127.0.0.1:{proxy.port}"
        kwargs: dict[str, object] = {}
        if source == "proxy=":
            kwargs["proxy"] = url
        else:
            monkeypatch.setenv(source, url)
        response = fetch(mode, one.url("/echo/empty-pw"), token, **kwargs)
        assert response.status_code == 200
        expected = "Basic " + base64.b64encode(b"user:").decode()
        assert proxy.auth_headers == [expected]
        assert proxy.rejected == 0
        assert proxy.tunnels() == [dest(one)]
    [seen] = [s for s in one.seen("/echo") if s.header("X-Token") == token]
    assert seen.header("Proxy-Authorization") is None, "credentials leaked to the target"


def test_env_proxy_with_credentials(
    mode: Mode, one: ProdServer, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    with HttpProxy(("env-user", "p@ss")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        assert "p%40ss" in proxy.url()
        assert fetch(mode, one.url("/echo/creds"), token).status_code == 200
        assert proxy.auth_headers == ["Basic " + base64.b64encode(b"env-user:p@ss").decode()]


def test_wrong_env_proxy_credentials_are_a_proxy_error(
    one: ProdServer, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    with HttpProxy(("user", "right")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url(auth=("user", "hunter2-xyz")))
        with pytest.raises(httpr.ProxyError) as info:
            fetch("sync", one.url("/echo/bad-creds"), token)
        assert "407" in str(info.value), str(info.value)
        assert "hunter2-xyz" not in str(info.value), "the password must not appear in messages"
        assert proxy.rejected == 1
    assert arrived(one, token) == 0


# -- other proxy kinds, the proxy setter, rebuilds ------------------------------------------------------------


def test_all_proxy_socks5(mode: Mode, one: ProdServer, monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    with PProxy("socks5") as socks:
        monkeypatch.setenv("ALL_PROXY", socks.url())
        assert socks.url().startswith("socks5://")
        assert fetch(mode, one.url("/echo/socks"), token).status_code == 200
        socks.wait_for_tunnel(dest(one))
    assert arrived(one, token) == 1


def test_proxy_setter_none_turns_env_proxies_off(
    one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    with httpr.Client(timeout=5) as client:
        assert client.get(one.url("/echo/1"), headers={"X-Token": token}).status_code == 200
        assert proxy.tunnels() == [dest(one)]
        client.proxy = None
        assert client.get(one.url("/echo/2"), headers={"X-Token": token}).status_code == 200
    settle()
    assert proxy.tunnels() == [dest(one)], "client.proxy = None must go direct"
    assert arrived(one, token) == 2


#: Regression (found by these tests): a setter that rebuilds the transport read the proxy
#: environment again, so a timeout change could start or stop routing through HTTP_PROXY.


def test_setting_the_timeout_does_not_pick_up_a_new_env_proxy(
    one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    with httpr.Client(timeout=5) as client:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        assert client.get(one.url("/echo/1"), headers={"X-Token": token}).status_code == 200
        client.timeout = 6
        assert client.get(one.url("/echo/2"), headers={"X-Token": token}).status_code == 200
    settle()
    assert proxy.tunnels() == [], "the client was built without a proxy in the environment"


def test_setting_the_timeout_keeps_the_env_proxy_it_was_built_with(
    one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    with httpr.Client(timeout=5) as client:
        monkeypatch.delenv("HTTP_PROXY")
        assert client.get(one.url("/echo/1"), headers={"X-Token": token}).status_code == 200
        client.timeout = httpr.Timeout(6, total=10)
        assert client.get(one.url("/echo/2"), headers={"X-Token": token}).status_code == 200
    assert proxy.tunnels() == [dest(one), dest(one)]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_env_proxy_without_a_scheme_means_http(
    one: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch, host: str, token: str
) -> None:
    """``HTTP_PROXY=host:port`` (no scheme), as curl, urllib, requests and httpx read it: http.
    Regression: every Client() constructor raised ProxyError."""
    monkeypatch.setenv("HTTP_PROXY", f"{host}:{proxy.port}")
    assert fetch("sync", one.url("/echo/schemeless"), token).status_code == 200
    assert proxy.tunnels() == [dest(one)]
