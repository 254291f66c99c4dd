"""TLS verification, custom CA bundles (argument and HTTPR_CA_BUNDLE) and mTLS, against real TLS
servers on 127.0.0.1 with certificates made by trustme at test time (see ``tls_servers``)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, TypedDict

import pytest

import httpr
from tls_servers import CLIENT_CN, Certs, EchoServer, make_certs

TIMEOUT = 5.0

Via = Literal["client", "function"]
VIAS: list[Via] = ["client", "function"]


class TlsKwargs(TypedDict, total=False):
    verify: bool
    ca_cert_file: str | None
    client_pem: str | None
    client_pem_data: bytes | None


# ---------------------------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls-certs"))


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[EchoServer]:
    with EchoServer(certs.server_context()) as server:
        yield server


@pytest.fixture(scope="module")
def mtls_server(certs: Certs) -> Iterator[EchoServer]:
    with EchoServer(certs.server_context(require_client_cert=True)) as server:
        yield server


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HTTPR_* setting from the outside may change what these tests see."""
    for name in ("HTTPR_CA_BUNDLE", "HTTPR_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex


def send(via: Via, url: str, token: str, tls: TlsKwargs) -> httpr.Response:
    """GET ``url`` with an ``X-Token`` header through a fresh Client or the module function."""
    headers = {"X-Token": token}
    if via == "client":
        with httpr.Client(timeout=TIMEOUT, **tls) as client:
            return client.get(url, headers=headers)
    return httpr.get(url, headers=headers, timeout=TIMEOUT, **tls)


def seen_with(server: EchoServer, token: str) -> list[str | None]:
    """Client certificate CNs of the requests the server received with this token."""
    return [s.client_cert_cn for s in server.seen() if s.header("X-Token") == token]


def wait_for_handshake_error(server: EchoServer, before: int, timeout: float = 3) -> str:
    """The first handshake error the server recorded after the first ``before`` ones."""
    deadline = time.monotonic() + timeout
    while len(server.handshake_errors) <= before:
        assert time.monotonic() < deadline, "the server recorded no failed TLS handshake"
        time.sleep(0.02)
    return server.handshake_errors[before]


def assert_ok_from(server: EchoServer, response: httpr.Response, token: str) -> None:
    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "/echo"
    assert body["tls_version"] is not None and body["tls_version"].startswith("TLS")
    assert [h[1] for h in body["headers"] if h[0].lower() == "x-token"] == [token]
    assert len(seen_with(server, token)) == 1




# ---------------------------------------------------------------------------------------------
# server verification
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize("via", VIAS)
def test_ca_cert_file_makes_server_trusted(
    certs: Certs, tls_server: EchoServer, via: Via, host: str, token: str
) -> None:
    response = send(via, tls_server.url(host=host), token, {"ca_cert_file": certs.ca_pem})
    assert_ok_from(tls_server, response, token)
    assert response.url == tls_server.url(host=host)


@pytest.mark.parametrize("trust", ["system-roots", "unrelated-ca"])
@pytest.mark.parametrize("via", VIAS)
def test_untrusted_server_certificate_is_rejected(
    certs: Certs, tls_server: EchoServer, via: Via, trust: str, token: str
) -> None:
    tls: TlsKwargs = {} if trust == "system-roots" else {"ca_cert_file": certs.other_ca_pem}
    with pytest.raises(httpr.ConnectError) as info:
        send(via, tls_server.url(), token, tls)
    assert "certificate" in str(info.value).lower(), str(info.value)
    assert info.value.request is not None and info.value.request.url == tls_server.url()
    assert seen_with(tls_server, token) == []


@pytest.mark.parametrize("via", VIAS)
def test_verify_false_accepts_untrusted_certificate(
    tls_server: EchoServer, via: Via, token: str
) -> None:
    response = send(via, tls_server.url(), token, {"verify": False})
    assert_ok_from(tls_server, response, token)


def test_verify_false_with_https_only_still_talks_tls(tls_server: EchoServer, token: str) -> None:
    with httpr.Client(verify=False, https_only=True, timeout=TIMEOUT) as client:
        response = client.get(tls_server.url(), headers={"X-Token": token})
        assert_ok_from(tls_server, response, token)
        with pytest.raises(httpr.UnsupportedProtocol, match="(?i)https"):
            client.get(tls_server.url().replace("https://", "http://"))


# ---------------------------------------------------------------------------------------------
# HTTPR_CA_BUNDLE
# ---------------------------------------------------------------------------------------------


def test_ca_bundle_env_is_used_by_client(
    certs: Certs, tls_server: EchoServer, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("HTTPR_CA_BUNDLE", certs.ca_pem)
    response = send("client", tls_server.url(), token, {})
    assert_ok_from(tls_server, response, token)


def test_module_functions_read_ca_bundle_env_at_call_time(
    certs: Certs, tls_server: EchoServer, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """`httpr.get()` must honour HTTPR_CA_BUNDLE as it is when called, like a new Client does,
    not as it was at the first module-level call of the process."""
    with pytest.raises(httpr.ConnectError, match="(?i)certificate"):
        httpr.get(tls_server.url(), timeout=TIMEOUT)
    monkeypatch.setenv("HTTPR_CA_BUNDLE", certs.ca_pem)
    response = httpr.get(tls_server.url(), headers={"X-Token": token}, timeout=TIMEOUT)
    assert_ok_from(tls_server, response, token)
    monkeypatch.delenv("HTTPR_CA_BUNDLE")
    with pytest.raises(httpr.ConnectError, match="(?i)certificate"):
        httpr.get(tls_server.url(), timeout=TIMEOUT)


@pytest.mark.parametrize("bogus", ["missing-file", "garbage-file", "unrelated-ca"])
@pytest.mark.parametrize("via", VIAS)
def test_explicit_ca_cert_file_wins_over_env(
    certs: Certs,
    tls_server: EchoServer,
    monkeypatch: pytest.MonkeyPatch,
    via: Via,
    bogus: str,
    token: str,
) -> None:
    env_value = {
        "missing-file": str(certs.directory / "does-not-exist.pem"),
        "garbage-file": certs.garbage_pem,
        "unrelated-ca": certs.other_ca_pem,
    }[bogus]
    monkeypatch.setenv("HTTPR_CA_BUNDLE", env_value)
    response = send(via, tls_server.url(), token, {"ca_cert_file": certs.ca_pem})
    assert_ok_from(tls_server, response, token)


def test_explicit_wrong_ca_wins_over_good_env(
    certs: Certs, tls_server: EchoServer, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("HTTPR_CA_BUNDLE", certs.ca_pem)
    with pytest.raises(httpr.ConnectError, match="(?i)certificate"):
        send("client", tls_server.url(), token, {"ca_cert_file": certs.other_ca_pem})
    assert seen_with(tls_server, token) == []


# ---------------------------------------------------------------------------------------------
# bad CA files
# ---------------------------------------------------------------------------------------------

BAD_CA_KINDS = ["missing", "garbage", "empty", "directory"]


def bad_ca_path(certs: Certs, kind: str) -> str:
    if kind == "missing":
        return str(certs.directory / "no-such-dir" / "missing-ca.pem")
    if kind == "garbage":
        return certs.garbage_pem
    if kind == "empty":
        path = certs.directory / "empty-ca.pem"
        path.write_bytes(b"")
        return str(path)
    assert kind == "directory"  # a CA directory without certificates (one with them is fine)
    path = certs.directory / "empty-ca-dir"
    path.mkdir(exist_ok=True)
    return str(path)


@pytest.mark.parametrize("kind", BAD_CA_KINDS)
def test_bad_ca_cert_file_fails_at_client_construction(certs: Certs, kind: str) -> None:
    path = bad_ca_path(certs, kind)
    with pytest.raises(httpr.RequestError) as info:
        httpr.Client(ca_cert_file=path)
    assert path in str(info.value)


@pytest.mark.parametrize("kind", ["missing", "garbage"])
def test_bad_ca_cert_file_in_module_function(
    certs: Certs, tls_server: EchoServer, kind: str, token: str
) -> None:
    path = bad_ca_path(certs, kind)
    with pytest.raises(httpr.RequestError) as info:
        send("function", tls_server.url(), token, {"ca_cert_file": path})
    assert path in str(info.value)
    assert seen_with(tls_server, token) == []


@pytest.mark.parametrize("kind", ["missing", "garbage"])
def test_bad_ca_bundle_env_fails_at_client_construction(
    certs: Certs, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    path = bad_ca_path(certs, kind)
    monkeypatch.setenv("HTTPR_CA_BUNDLE", path)
    with pytest.raises(httpr.RequestError) as info:
        httpr.Client()
    assert path in str(info.value)


# ---------------------------------------------------------------------------------------------
# mTLS
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["client_pem", "client_pem_data"])
@pytest.mark.parametrize("via", VIAS)
def test_mtls_client_certificate_is_presented(
    certs: Certs, mtls_server: EchoServer, via: Via, source: str, token: str
) -> None:
    tls: TlsKwargs = {"ca_cert_file": certs.ca_pem}
    if source == "client_pem":
        tls["client_pem"] = certs.client_pem
    else:
        tls["client_pem_data"] = certs.client_pem_data
    response = send(via, mtls_server.url(), token, tls)
    assert_ok_from(mtls_server, response, token)
    assert response.json()["client_cert_cn"] == CLIENT_CN
    assert seen_with(mtls_server, token) == [CLIENT_CN]


@pytest.mark.parametrize("identity", ["none", "cert-from-unrelated-ca"])
def test_mtls_without_acceptable_client_certificate_fails(
    certs: Certs, mtls_server: EchoServer, identity: str, token: str
) -> None:
    tls: TlsKwargs = {"ca_cert_file": certs.ca_pem}
    if identity != "none":
        tls["client_pem_data"] = certs.other_client_pem_data
    errors_before = len(mtls_server.handshake_errors)
    started = time.monotonic()
    with pytest.raises(httpr.TransportError) as info:
        send("client", mtls_server.url(), token, tls)
    assert time.monotonic() - started < TIMEOUT, "failed only by timing out"
    assert re.search(r"certificate|UnknownCA", str(info.value), re.IGNORECASE), str(info.value)
    assert seen_with(mtls_server, token) == []
    server_error = wait_for_handshake_error(mtls_server, errors_before)
    assert "certificate" in server_error.lower(), server_error


@pytest.mark.parametrize("via", VIAS)
def test_client_pem_and_client_pem_data_are_exclusive(
    certs: Certs, mtls_server: EchoServer, via: Via, token: str
) -> None:
    tls: TlsKwargs = {
        "ca_cert_file": certs.ca_pem,
        "client_pem": certs.client_pem,
        "client_pem_data": certs.client_pem_data,
    }
    with pytest.raises(ValueError) as info:
        send(via, mtls_server.url(), token, tls)
    assert "client_pem" in str(info.value) and "client_pem_data" in str(info.value)
    assert seen_with(mtls_server, token) == []


@pytest.mark.parametrize(
    "name", ["junk", "cert-only", "key-only", "encrypted-key", "mismatched-key"]
)
def test_malformed_client_pem_data_is_a_clear_error(
    certs: Certs, mtls_server: EchoServer, name: str, token: str
) -> None:
    data = certs.bad_client_identities[name]
    # A pyo3 PanicException derives from BaseException: it would escape this and fail the test.
    with pytest.raises((httpr.HTTPError, ValueError)) as info:
        tls: TlsKwargs = {"ca_cert_file": certs.ca_pem, "client_pem_data": data}
        send("client", mtls_server.url(), token, tls)
    message = str(info.value)
    assert re.search(r"certificate|\bkey\b|client_pem_data", message, re.IGNORECASE), message
    assert seen_with(mtls_server, token) == []


@pytest.mark.parametrize("kind", ["missing", "garbage"])
def test_bad_client_pem_file_names_the_path(certs: Certs, kind: str, tmp_path: Path) -> None:
    path = str(tmp_path / "missing-client.pem") if kind == "missing" else certs.garbage_pem
    with pytest.raises((httpr.HTTPError, ValueError)) as info:
        httpr.Client(ca_cert_file=certs.ca_pem, client_pem=path)
    assert path in str(info.value)
