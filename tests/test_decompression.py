"""Transparent gzip / deflate / br / zstd decompression of response bodies."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

import httpr
from servers import ZSTD_PAYLOAD, LocalServer


@pytest.mark.parametrize(
    ("path", "flag"),
    [("/gzip", "gzipped"), ("/deflate", "deflated"), ("/brotli", "brotli")],
)
def test_httpbin_compressed_bodies_are_decompressed(httpbin: Any, path: str, flag: str) -> None:
    response = httpr.get(httpbin.url + path)

    assert response.status_code == 200
    assert response.json()[flag] is True
    assert json.loads(response.content) == response.json()
    assert json.loads(response.text) == response.json()


def test_zstd_body_is_decompressed(local_server: LocalServer) -> None:
    response = httpr.get(local_server.url("/zstd"))

    assert response.status_code == 200
    assert response.json() == ZSTD_PAYLOAD
    assert json.loads(response.content) == ZSTD_PAYLOAD


def test_a_compressed_body_cut_short_is_an_error(local_server: LocalServer) -> None:
    # The server sent fewer bytes than the zstd frame needs: never a silently short body.
    url = local_server.url("/zstd-cut")
    with pytest.raises(httpr.RemoteProtocolError, match="compressed body ended"):
        httpr.get(url)


def test_bare_deflate_stream_is_decompressed(local_server: LocalServer) -> None:
    # "deflate" means zlib-wrapped (RFC 9110), yet some servers send a bare deflate stream.
    response = httpr.get(local_server.url("/deflate-raw"))

    assert response.json() == ZSTD_PAYLOAD
    assert "content-encoding" not in response.headers


def test_several_codings_are_undone_in_reverse_order(local_server: LocalServer) -> None:
    response = httpr.get(local_server.url("/deflate-gzip"))

    assert response.json() == ZSTD_PAYLOAD
    assert "content-encoding" not in response.headers


def test_a_coding_httpr_does_not_know_leaves_the_body_as_it_came(local_server: LocalServer) -> None:
    response = httpr.get(local_server.url("/gzip-compress"))

    assert response.headers["content-encoding"] == "gzip, compress"
    assert json.loads(gzip.decompress(response.content)) == ZSTD_PAYLOAD


def test_default_accept_headers(local_server: LocalServer, echo_path: str) -> None:
    httpr.get(local_server.url(echo_path))

    [seen] = local_server.received(echo_path)
    assert seen.header("accept") == "*/*"
    assert seen.header("accept-encoding") == "gzip, deflate, br, zstd"


def test_a_range_request_asks_for_the_identity_encoding(local_server: LocalServer, echo_path: str) -> None:
    # A byte range of a compressed body is not a range of the content.
    httpr.get(local_server.url(echo_path), headers={"Range": "bytes=0-9"})

    [seen] = local_server.received(echo_path)
    assert seen.header("accept-encoding") is None
    assert seen.header("range") == "bytes=0-9"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_accept_encoding_advertises(local_server: LocalServer, echo_path: str, encoding: str) -> None:
    httpr.get(local_server.url(echo_path))

    [seen] = local_server.received(echo_path)
    offered = {token.split(";")[0].strip() for token in (seen.header("accept-encoding") or "").split(",")}
    assert encoding in offered
