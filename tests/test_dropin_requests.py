"""Issue 20, the requests surface: code in the style of requests' own quickstart and advanced
guides, run with only the import changed (``import httpr as requests``), against servers on
127.0.0.1 started here.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

import httpr
import httpr as requests
from behaviour_servers import BehaviourServer
from tls_servers import CLIENT_CN, Certs, EchoServer


@pytest.fixture(scope="module")
def srv() -> Iterator[BehaviourServer]:
    with BehaviourServer("127.0.0.1") as server:
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


def test_ok_and_reason(srv: BehaviourServer, uid: str) -> None:
    r = requests.get(srv.add(f"/gone/{uid}", status=410))
    assert (r.ok, r.reason) == (False, "Gone")
    r = requests.get(srv.add(f"/moved/{uid}", status=304))
    assert r.ok  # requests: anything below 400
    with httpr.Client() as c, c.stream("GET", srv.add(f"/teapot/{uid}", status=418)) as s:
        assert (s.ok, s.reason) == (False, "I'm a teapot")


def test_iter_content_on_a_read_response(srv: BehaviourServer, uid: str) -> None:
    r = requests.get(srv.add(f"/body/{uid}", body=b"abcdefg"))
    assert list(r.iter_content(3)) == [b"abc", b"def", b"g"]
    assert b"".join(r.iter_content()) == b"abcdefg"  # requests' default chunk_size is 1
    assert len(list(r.iter_content())) == 7
    assert list(r.iter_content(None)) == [b"abcdefg"]
    assert list(r.iter_content(4, decode_unicode=True)) == ["abcd", "efg"]


def test_iter_content_streams_in_chunk_size_pieces(srv: BehaviourServer, uid: str) -> None:
    body = bytes(range(256)) * 40
    with httpr.Client() as c, c.stream("GET", srv.add(f"/big/{uid}", body=body)) as r:
        pieces = list(r.iter_content(chunk_size=1000))
    assert b"".join(pieces) == body
    assert [len(p) for p in pieces] == [1000] * 10 + [240]


def test_elapsed_is_a_timedelta_that_acts_as_seconds(srv: BehaviourServer, uid: str) -> None:
    import datetime
    import pickle

    r = requests.get(srv.add(f"/t/{uid}", body=b"x"))
    assert isinstance(r.elapsed, datetime.timedelta)
    assert 0 < r.elapsed.total_seconds() < 5
    assert r.elapsed < datetime.timedelta(seconds=5)
    # httpr 0.7.8 returned a float: keep float code working
    assert 0 < float(r.elapsed) < 5
    assert r.elapsed < 5 and r.elapsed > 0 and r.elapsed != 0
    assert isinstance(r.elapsed * 1000, float)
    assert f"{r.elapsed:.6f}" == f"{r.elapsed.total_seconds():.6f}"
    assert round(r.elapsed, 3) == round(r.elapsed.total_seconds(), 3)
    assert pickle.loads(pickle.dumps(r.elapsed)) == r.elapsed


# verify= and cert= as requests (and httpx) take them


@pytest.fixture(scope="module")
def mtls_server(certs: Certs) -> Iterator[EchoServer]:
    with EchoServer(certs.server_context(require_client_cert=True)) as server:
        yield server


def split_identity(certs: Certs, directory: str) -> tuple[str, str]:
    """The client identity as two files, certificate and key, as requests users keep them."""
    import os
    import re

    pem = certs.client_pem_data.decode()
    key = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----\n?", pem, re.S)
    assert key is not None
    cert_path, key_path = os.path.join(directory, "c.pem"), os.path.join(directory, "k.pem")
    with open(cert_path, "w") as f:
        f.write(pem.replace(key.group(0), ""))
    with open(key_path, "w") as f:
        f.write(key.group(0))
    return cert_path, key_path


def test_verify_takes_a_ca_bundle_path(certs: Certs, tls_server: EchoServer) -> None:
    import pathlib

    assert requests.get(tls_server.url(), verify=certs.ca_pem).status_code == 200
    with requests.Session(verify=pathlib.Path(certs.ca_pem)) as s:
        assert s.get(tls_server.url()).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.url(), verify=certs.other_ca_pem)
    with pytest.raises(ValueError, match="pass the CA bundle as verify=<path> or ca_cert_file=, not both"):
        httpr.Client(verify=certs.ca_pem, ca_cert_file=certs.ca_pem)
    with pytest.raises(TypeError, match="verify must be a bool, a path to a CA bundle or an ssl.SSLContext, not int"):
        httpr.Client(verify=1)  # type: ignore[arg-type]


def ca_dir(tmp_path: pathlib.Path, *pems: str) -> str:
    """A CA directory as c_rehash leaves it: the certificates, plus a file that is not one."""
    import shutil

    for i, pem in enumerate(pems):
        shutil.copy(pem, tmp_path / f"ca{i}.pem")
    (tmp_path / "README").write_text("not a certificate\n")
    return str(tmp_path)


def test_verify_takes_a_ca_directory(certs: Certs, tls_server: EchoServer, tmp_path: pathlib.Path) -> None:
    # httpx: verify=<capath>; requests: verify=<directory> (REQUESTS_CA_BUNDLE may be one too).
    (tmp_path / "good").mkdir()
    good = ca_dir(tmp_path / "good", certs.other_ca_pem, certs.ca_pem)
    assert requests.get(tls_server.url(), verify=good).status_code == 200
    (tmp_path / "bad").mkdir()
    bad = ca_dir(tmp_path / "bad", certs.other_ca_pem)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_server.url(), verify=bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(httpr.RequestError, match="no PEM certificate found in the CA directory"):
        httpr.Client(verify=str(tmp_path / "empty")).get(tls_server.url())


def test_trust_env_reads_ssl_cert_file_and_dir(certs: Certs, tls_server: EchoServer, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTPR_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", certs.ca_pem)
    assert httpr.get(tls_server.url()).status_code == 200
    with httpr.Client() as client:
        assert client.get(tls_server.url()).status_code == 200
    with pytest.raises(httpr.SSLError):
        httpr.Client(trust_env=False).get(tls_server.url())
    # An explicit bundle wins over the environment.
    with pytest.raises(httpr.SSLError):
        httpr.get(tls_server.url(), verify=certs.other_ca_pem)
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("SSL_CERT_DIR", ca_dir(tmp_path, certs.ca_pem))
    assert httpr.Client().get(tls_server.url()).status_code == 200
    with pytest.raises(httpr.SSLError):
        httpr.Client(trust_env=False).get(tls_server.url())


def test_verify_takes_an_ssl_context(certs: Certs, tls_server: EchoServer) -> None:
    import ssl

    ctx = ssl.create_default_context(cafile=certs.ca_pem)
    assert httpr.get(tls_server.url(), verify=ctx).status_code == 200
    with pytest.raises(httpr.SSLError):
        httpr.get(tls_server.url(), verify=ssl.create_default_context(cafile=certs.other_ca_pem))
    off = ssl.create_default_context()
    off.check_hostname = False
    off.verify_mode = ssl.CERT_NONE
    assert httpr.get(tls_server.url(), verify=off).status_code == 200
    half = ssl.create_default_context(cafile=certs.ca_pem)
    half.check_hostname = False
    with pytest.raises(ValueError, match="verifies certificates but not the host name is not supported"):
        httpr.Client(verify=half)


def test_cert_as_a_pair_and_as_one_file(certs: Certs, mtls_server: EchoServer, tmp_path: pathlib.Path) -> None:
    cert, key = split_identity(certs, str(tmp_path))
    r = requests.get(mtls_server.url(), verify=certs.ca_pem, cert=(cert, key))
    assert r.json()["client_cert_cn"] == CLIENT_CN
    with httpr.Client(verify=certs.ca_pem, cert=certs.client_pem) as c:
        assert c.get(mtls_server.url()).json()["client_cert_cn"] == CLIENT_CN
    # httpx's (cert, key, password): an unencrypted key with a password given still works
    assert httpr.get(mtls_server.url(), verify=certs.ca_pem, cert=(cert, key, None)).status_code == 200


def test_cert_errors_are_clear(certs: Certs, tmp_path: pathlib.Path) -> None:
    enc = tmp_path / "enc.pem"
    enc.write_bytes(certs.bad_client_identities["encrypted-key"])
    cert, _ = split_identity(certs, str(tmp_path))
    with pytest.raises(ValueError, match=r"rustls takes unencrypted keys only; decrypt it first \(openssl pkey"):
        httpr.Client(cert=(cert, str(enc), "secret"))
    with pytest.raises(httpr.RequestError, match="could not read the client key"):
        httpr.Client(cert=(cert, str(tmp_path / "missing.pem")))
    with pytest.raises(ValueError, match="pass the client certificate as cert= or client_pem/client_pem_data, not both"):
        httpr.Client(cert=certs.client_pem, client_pem=certs.client_pem)
    with pytest.raises(TypeError, match=r"cert must be a path, \(cert, key\) or \(cert, key, password\), not int"):
        httpr.Client(cert=3)  # type: ignore[arg-type]


# -- trust_env: .netrc -----------------------------------------------------------------------------


def test_trust_env_sends_netrc_credentials(httpbin: Any, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests reads ~/.netrc (or $NETRC) when a request brings no auth of its own.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\n  login alice\n  password s3cret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    url = httpbin.url + "/basic-auth/alice/s3cret"
    assert requests.get(url).json() == {"authenticated": True, "user": "alice"}
    with requests.Session() as s:
        assert s.get(url).status_code == 200
        # The request's own auth wins.
        assert s.get(url, auth=("alice", "wrong")).status_code == 401
    assert httpr.Client(trust_env=False).get(url).status_code == 401
    # An auth flow brings its own credentials: no Basic header from .netrc beside it.
    seen: list[str | None] = []

    def flow(request: httpr.Request) -> httpr.Request:
        seen.append(request.headers.get("authorization"))
        return request

    assert httpr.get(httpbin.url + "/headers", auth=flow).status_code == 200
    assert seen == [None]
    netrc.write_text("machine other.example login bob password pw\n")
    assert httpr.get(url).status_code == 401
