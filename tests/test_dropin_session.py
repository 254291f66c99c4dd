"""Issue 20, requests' Session attributes and per-request arguments: ``proxies=`` (a dict per
scheme, on the session and the module functions), ``hooks=``, and ``session.proxies`` /
``session.hooks`` / ``session.verify`` / ``session.cert`` edited in place, as requests' own
"Advanced Usage" page does. Real servers and a real HTTP proxy on 127.0.0.1.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import httpr
import httpr as requests
from production_servers import ProdServer
from tls_servers import Certs, EchoServer, HttpProxy

pytestmark = pytest.mark.usefixtures("no_proxy_env")


def dest(server: ProdServer) -> str:
    return f"{server.host}:{server.port}"


def tag() -> dict[str, str]:
    return {"X-Token": uuid.uuid4().hex}


# -- proxies= ---------------------------------------------------------------------------------------


def test_proxies_dict_on_module_functions_and_sessions(srv: ProdServer, proxy: HttpProxy, closed_port: int) -> None:
    # requests' "Proxies" section: a dict per scheme, per call or on the session.
    proxies = {"http": proxy.url(), "https": f"http://127.0.0.1:{closed_port}"}
    assert requests.get(srv.url("/echo/p1"), proxies=proxies, headers=tag()).status_code == 200
    assert proxy.tunnels() == [dest(srv)]
    with requests.Session(proxies={"all": proxy.url()}) as s:
        assert s.get(srv.url("/echo/p2")).status_code == 200
    assert proxy.tunnels() == [dest(srv)] * 2
    # None for a scheme goes direct; httpx's mount-style keys work too.
    assert requests.get(srv.url("/echo/p3"), proxies={"http": None}).status_code == 200
    assert httpr.get(srv.url("/echo/p4"), proxies={"http://": proxy.url()}).status_code == 200
    assert proxy.tunnels() == [dest(srv)] * 3


def test_proxies_respect_no_proxy(srv: ProdServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    assert httpr.get(srv.url("/echo/np1"), proxies={"http": proxy.url(), "no_proxy": "127.0.0.1"}).status_code == 200
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert httpr.get(srv.url("/echo/np2"), proxies={"http": proxy.url()}).status_code == 200
    assert proxy.tunnels() == []
    # trust_env=False: the environment's NO_PROXY no longer applies.
    assert httpr.get(srv.url("/echo/np3"), proxies={"http": proxy.url()}, trust_env=False).status_code == 200
    assert proxy.tunnels() == [dest(srv)]


def test_proxies_errors_are_clear(proxy: HttpProxy) -> None:
    with pytest.raises(ValueError, match="pass proxy= .* or proxies= .*, not both"):
        httpr.Client(proxy=proxy.url(), proxies={"http": proxy.url()})
    with pytest.raises(ValueError, match=r'proxies keys are .* not "http://example.com" \(per-host proxies are not supported\)'):
        httpr.Client(proxies={"http://example.com": proxy.url()})
    with pytest.raises(TypeError, match=r'proxies\["http"\] must be a proxy URL \(str\) or None, not int'):
        httpr.Client(proxies={"http": 8080})  # type: ignore[dict-item]
    with pytest.raises(httpr.ProxyError):
        httpr.Client(proxies={"http": "ftp://nope:1"}).get("http://127.0.0.1:1/")


def test_session_proxies_edited_in_place(srv: ProdServer, proxy: HttpProxy) -> None:
    with requests.Session() as s:
        assert s.proxies == {}
        s.get(srv.url("/echo/s0"))
        assert proxy.tunnels() == []
        s.proxies.update({"http": proxy.url()})
        assert s.get(srv.url("/echo/s1")).status_code == 200
        assert proxy.tunnels() == [dest(srv)]
        assert s.proxies == {"http": proxy.url()}
        del s.proxies["http"]
        s.get(srv.url("/echo/s2"))
        assert proxy.tunnels() == [dest(srv)]
        s.proxies = {"all": proxy.url()}
        assert s.proxies == {"all": proxy.url()}
        s.get(srv.url("/echo/s3"))
        assert proxy.tunnels() == [dest(srv)] * 2


# -- hooks= -----------------------------------------------------------------------------------------


def test_request_hooks_are_called_and_may_replace_the_response(srv: ProdServer) -> None:
    seen: list[str] = []

    def print_url(r: httpr.Response, *args: Any, **kwargs: Any) -> None:
        seen.append(str(r.url))

    r = requests.get(srv.url("/echo/h1"), hooks={"response": print_url})
    assert r.status_code == 200 and seen == [srv.url("/echo/h1")]

    def replace(r: httpr.Response, *args: Any, **kwargs: Any) -> httpr.Response:
        return httpr.Response(299, text="replaced")

    with requests.Session() as s:
        r = s.get(srv.url("/echo/h2"), hooks={"response": [print_url, replace]})
        assert (r.status_code, r.text) == (299, "replaced")
        assert len(seen) == 2
    with pytest.raises(ValueError, match='Unsupported event specified, with event name "request"'):
        requests.get(srv.url("/echo/h3"), hooks={"request": print_url})
    with pytest.raises(TypeError, match="hooks must be a dict"):
        requests.get(srv.url("/echo/h3"), hooks=[print_url])  # type: ignore[arg-type]


def test_session_hooks_list_is_live(srv: ProdServer) -> None:
    seen: list[int] = []
    with requests.Session() as s:
        assert s.hooks == {"response": []}
        s.hooks["response"].append(lambda r, *a, **k: seen.append(r.status_code))
        s.get(srv.url("/echo/sh1"))
        s.get(srv.url("/echo/sh2"))
        assert seen == [200, 200]
        # A request's own hooks replace the session's (requests' merge_hooks).
        s.get(srv.url("/echo/sh3"), hooks={"response": lambda r: None})
        assert seen == [200, 200]
        s.hooks = {"response": []}
        s.get(srv.url("/echo/sh4"))
        assert seen == [200, 200]


def test_async_request_hooks(srv: ProdServer) -> None:
    import asyncio

    async def main() -> tuple[int, str]:
        async def marker(r: httpr.Response) -> httpr.Response:
            return httpr.Response(201, text="async")

        async with httpr.AsyncClient() as client:
            r = await client.get(srv.url("/echo/ah"), hooks={"response": marker})
            return r.status_code, r.text

    assert asyncio.run(main()) == (201, "async")


# -- session.verify / session.cert ------------------------------------------------------------------


def test_session_verify_and_cert_can_be_set(certs: Certs, tls_server: EchoServer) -> None:
    with requests.Session() as s:
        assert s.verify is True and s.cert is None
        with pytest.raises(requests.exceptions.SSLError):
            s.get(tls_server.url())
        s.verify = False
        assert s.verify is False
        assert s.get(tls_server.url()).status_code == 200
        s.verify = certs.ca_pem
        assert s.verify == certs.ca_pem
        assert s.get(tls_server.url()).status_code == 200
        s.cert = certs.client_pem
        assert s.cert == certs.client_pem
        assert s.get(tls_server.url()).status_code == 200
        s.cert = None
        assert s.cert is None
        with pytest.raises(TypeError, match="verify must be a bool"):
            s.verify = 3
