"""Issue 20, the requests surface: code in the style of requests' own quickstart and advanced
guides, run with only the import changed (``import httpr as requests``), against servers on
127.0.0.1 started here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import httpr
import httpr as requests
from behaviour_servers import BehaviourServer
from tls_servers import Certs, EchoServer, make_certs


@pytest.fixture(scope="module")
def srv() -> Iterator[BehaviourServer]:
    with BehaviourServer("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("dropin-requests-certs"))


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[EchoServer]:
    with EchoServer(certs.server_context()) as server:
        yield server


# -- requests.exceptions and requests.codes --------------------------------------------------------


def test_exceptions_module_names_map_onto_the_tree(refused_url: str) -> None:
    # requests' quickstart: "Errors and Exceptions".
    try:
        requests.get(refused_url, timeout=5)
    except requests.exceptions.ConnectionError as exc:
        assert isinstance(exc, httpr.ConnectError)
        assert isinstance(exc, requests.exceptions.RequestException)
    else:
        raise AssertionError("expected ConnectionError")
    assert requests.ConnectionError is requests.exceptions.ConnectionError is httpr.TransportError
    assert requests.RequestException is requests.exceptions.RequestException is httpr.HTTPError
    assert requests.exceptions.HTTPError is httpr.HTTPStatusError
    assert requests.exceptions.Timeout is httpr.TimeoutException
    for name in ("ConnectTimeout", "ReadTimeout", "SSLError", "ProxyError", "TooManyRedirects", "JSONDecodeError", "InvalidURL"):
        assert getattr(requests.exceptions, name) is getattr(httpr, name), name
    assert issubclass(requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError)
    assert issubclass(requests.exceptions.ConnectTimeout, requests.exceptions.Timeout)


def test_raise_for_status_raises_requests_http_error(srv: BehaviourServer, uid: str) -> None:
    url = srv.add(f"/missing/{uid}", b"nope", status=404)
    bad_r = requests.get(url)
    assert bad_r.status_code == 404
    with pytest.raises(requests.exceptions.HTTPError) as info:
        bad_r.raise_for_status()
    assert isinstance(info.value, httpr.HTTPStatusError)
    assert info.value.response is not None and info.value.response.status_code == 404


def test_read_timeout_is_requests_timeout(srv: BehaviourServer, uid: str) -> None:
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(srv.url(f"/delay/{uid}?seconds=2"), timeout=0.2)


def test_tls_failure_is_ssl_error(tls_server: EchoServer) -> None:
    with pytest.raises(requests.exceptions.SSLError) as info:
        requests.get(tls_server.url())  # a certificate no system root trusts
    assert isinstance(info.value, requests.exceptions.ConnectionError) and isinstance(info.value, httpr.ConnectError)
    assert "certificate" in str(info.value).lower()


def test_status_codes_lookup(srv: BehaviourServer, uid: str) -> None:
    r = requests.get(srv.url(f"/echo/{uid}"))
    assert r.status_code == requests.codes.ok
    assert int(requests.codes.OK) == 200 and int(requests.codes.not_found) == 404
    assert requests.codes(404).phrase == "Not Found" and requests.codes.get_reason_phrase(418) == "I'm a teapot"
    assert requests.codes.is_success(r.status_code) and not requests.codes.is_error(r.status_code)
    assert f"{requests.codes.NO_CONTENT}" == "204"
