"""Issue 19: what code written for the documented API and for httpr 0.7.8 tripped on. One section
per heading of the issue, a test per bullet (sync and async through :class:`stream_server.Twin`
where both clients apply), against servers on 127.0.0.1 started here.
"""

from __future__ import annotations

import asyncio
import collections.abc
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest

import httpr
from behaviour_servers import BehaviourServer, Seen
from stream_server import Mode, StreamServer, Twin, hexq, run_twin
from tls_servers import Certs, EchoServer, make_certs

CLIENT_CLASSES = pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient], ids=["Client", "AsyncClient"])


@pytest.fixture(scope="module")
def srv() -> Iterator[BehaviourServer]:
    with BehaviourServer("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def proxy_srv() -> Iterator[BehaviourServer]:
    """Used as a plain HTTP proxy (it answers proxied requests itself)."""
    with BehaviourServer("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def stream_srv() -> Iterator[StreamServer]:
    with StreamServer() as server:
        yield server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("upgrade-gaps-certs"))


@pytest.fixture(scope="module")
def mtls_server(certs: Certs) -> Iterator[EchoServer]:
    with EchoServer(certs.server_context(require_client_cert=True)) as server:
        yield server


def only(seen: list[Seen]) -> Seen:
    assert len(seen) == 1, f"expected exactly one request, the server saw {len(seen)}"
    return seen[0]


# ==================================================================================================
# Documented in the spec, missing
# ==================================================================================================

#: Every CBOR type json() also yields, plus bytes (CBOR's byte strings).
CBOR_DOC: dict[str, Any] = {
    "int": 7,
    "neg": -3,
    "big": 2**70,
    "float": 1.5,
    "str": "café",
    "list": [1, "two", None, True, False],
    "nested": {"a": {"b": [1.25]}},
    "bytes": b"\x00\x01raw",
}


def test_cbor_decodes_the_body_whatever_the_content_type(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    url = srv.add(f"/cbor/{uid}", cbor2.dumps(CBOR_DOC), headers=[("Content-Type", "application/octet-stream")])

    async def scenario(t: Twin) -> Any:
        return (await t.get(url)).cbor()

    assert run_twin(mode, scenario) == CBOR_DOC


def test_cbor_and_json_give_the_same_values_for_the_same_document(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    doc = {k: v for k, v in CBOR_DOC.items() if k != "bytes"}
    cbor_url = srv.add(f"/cbor-doc/{uid}", cbor2.dumps(doc), headers=[("Content-Type", "application/cbor")])

    async def scenario(t: Twin) -> tuple[Any, Any, Any]:
        r = await t.get(cbor_url)
        return r.cbor(), r.json(), httpr.Response(200, json=doc).json()

    explicit, auto, from_json = run_twin(mode, scenario)
    assert explicit == auto == from_json == doc
    assert type(explicit["big"]) is int and type(explicit["float"]) is float


@pytest.mark.parametrize("body", [b"", b"\xff\xff\xff", b"\x9f\x01", b"{\"json\": true}"[:1] + b"\xfc"], ids=["empty", "break", "unterminated", "reserved"])
def test_cbor_on_a_body_that_is_not_cbor_raises_decoding_error(mode: Mode, srv: BehaviourServer, uid: str, body: bytes) -> None:
    url = srv.add(f"/not-cbor/{uid}", body, headers=[("Content-Type", "application/cbor")])

    async def scenario(t: Twin) -> BaseException:
        r = await t.get(url)
        with pytest.raises(httpr.DecodingError) as info:
            r.cbor()
        return info.value

    exc = run_twin(mode, scenario)
    assert isinstance(exc, ValueError) and isinstance(exc, httpr.RequestError)
    assert "CBOR" in str(exc) and url in str(exc)


STREAM_PIECES = [b"line one\nline", b" two\r\nline thr", "ee caf\u00e9\n".encode()[:-2], "é\n".encode()[-2:] + b"end"]
STREAM_BODY = b"".join(STREAM_PIECES)


@pytest.mark.parametrize("how", ["iter_bytes", "iter_text", "iter_lines", "for", "read"])
def test_async_stream_iterates_synchronously_as_the_spec_shows(stream_srv: StreamServer, how: str) -> None:
    url = stream_srv.url(f"/pieces?{hexq(*STREAM_PIECES)}&gap_ms=20")

    async def main() -> Any:
        async with httpr.AsyncClient() as client:
            # The spec's AsyncClient page, verbatim: entering is async, iterating is not.
            async with client.stream("GET", url) as response:
                if how == "iter_bytes":
                    return b"".join(chunk for chunk in response.iter_bytes())
                if how == "iter_text":
                    return "".join(response.iter_text())
                if how == "iter_lines":
                    return list(response.iter_lines())
                if how == "for":
                    return b"".join(chunk for chunk in response)
                data = response.read()
                assert response.content == data and response.is_consumed
                return data

    expected = {
        "iter_bytes": STREAM_BODY,
        "for": STREAM_BODY,
        "read": STREAM_BODY,
        "iter_text": STREAM_BODY.decode(),
        "iter_lines": ["line one", "line two", "line three café", "end"],
    }
    assert asyncio.run(main()) == expected[how]


def test_async_stream_mixing_sync_and_async_readers_follows_the_stream_rules(stream_srv: StreamServer) -> None:
    url = stream_srv.url(f"/pieces?{hexq(b'a', b'b', b'c')}")

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with httpr.AsyncClient() as client:
            async with client.stream("GET", url) as r:
                chunks = r.aiter_bytes()
                out["first"] = await anext(chunks)
                out["rest"] = b"".join(r.iter_bytes())  # the sync reader continues the same body
                assert r.is_consumed
                with pytest.raises(httpr.StreamConsumed):
                    await r.aread()
                with pytest.raises(httpr.StreamConsumed):
                    r.iter_lines()
            async with client.stream("GET", url) as r:
                r.close()
                assert r.is_closed
                with pytest.raises(httpr.StreamClosed):
                    r.aiter_bytes()
                with pytest.raises(httpr.StreamClosed):
                    r.read()
            async with client.stream("GET", url) as r:
                await r.aclose()
                with pytest.raises(httpr.StreamClosed):
                    r.iter_bytes()
            # The connection of a closed stream is not reused broken: the next request works.
            out["after"] = (await client.get(url)).content
        return out

    out = asyncio.run(main())
    assert out["first"] + out["rest"] == b"abc"
    assert out["after"] == b"abc"


def test_async_client_close_is_sync_and_a_later_request_reopens(srv: BehaviourServer, uid: str) -> None:
    url = srv.url(f"/echo/{uid}")

    async def main() -> int:
        client = httpr.AsyncClient()
        await client.get(url)
        client.close()  # sync (returns None, not a coroutine): nothing to await
        assert client.is_closed
        with pytest.warns(httpr.ClientReopenedWarning):
            status = (await client.get(url)).status_code
        await client.aclose()
        return status

    assert asyncio.run(main()) == 200
    assert len(srv.seen(f"/echo/{uid}")) == 2


def test_async_client_close_fails_requests_waiting_for_a_slot(srv: BehaviourServer, uid: str) -> None:
    slow = srv.url(f"/delay/{uid}?seconds=1")

    async def main() -> list[BaseException | httpr.Response]:
        client = httpr.AsyncClient(max_concurrency=1)
        tasks = [asyncio.create_task(client.get(slow)) for _ in range(3)]
        await asyncio.sleep(0.2)  # the first holds the only slot, two wait
        client.close()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    closed = [r for r in results if isinstance(r, httpr.ClientClosed)]
    assert len(closed) == 2, results


# ==================================================================================================
# 0.7.8 behaviour that users' code relies on
# ==================================================================================================


def test_client_headers_is_a_full_mutable_mapping(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    url = srv.url(f"/echo/{uid}")

    async def scenario(t: Twin) -> dict[str, Any]:
        h = t.client.headers
        out: dict[str, Any] = {"abc": isinstance(h, collections.abc.MutableMapping)}
        out["len"], out["in"], out["iter"] = len(h), ("X-A" in h, "x-b" in h, "nope" in h), sorted(h)
        out["eq"] = (h == {"x-a": "1", "x-b": "2"}, h == {"X-A": "1", "x-b": "2"}, h == {"x-a": "1"})
        copy = h.copy()
        copy["x-copy"] = "c"
        out["copy_isolated"] = "x-copy" not in t.client.headers
        merged = h | {"x-or": "o"}
        out["or"] = (dict(merged), "x-or" not in t.client.headers)
        out["ror"] = dict({"x-a": "left", "x-left": "l"} | h)
        out["popitem"] = h.popitem()
        h |= {"x-ior": "i"}
        out["ior_live"] = dict(t.client.headers)
        await t.get(url)
        t.client.headers.clear()
        await t.get(url)
        return out

    out = run_twin(mode, scenario, headers={"X-A": "1", "X-B": "2"}, auth=("user", "pw"), cookies={"c": "1"})
    assert out["abc"] is True
    assert out["len"] == 2 and out["in"] == (True, True, False) and out["iter"] == ["x-a", "x-b"]
    assert out["eq"] == (True, True, False)
    assert out["copy_isolated"] is True
    assert out["or"] == ({"x-a": "1", "x-b": "2", "x-or": "o"}, True)
    assert out["ror"] == {"x-a": "1", "x-left": "l", "x-b": "2"}
    assert out["popitem"] == ("x-b", "2")
    assert out["ior_live"] == {"x-a": "1", "x-ior": "i"}
    first, second = srv.seen(f"/echo/{uid}")
    assert first.header("x-a") == "1" and first.header("x-ior") == "i" and first.header("x-b") is None
    # Editing (even clearing) the headers never drops the client's cookies or auth.
    for seen in (first, second):
        assert seen.header("authorization") == "Basic dXNlcjpwdw=="
        assert seen.header("cookie") == "c=1"
    assert second.header("x-a") is None


def test_client_headers_popitem_on_empty_is_key_error() -> None:
    with pytest.raises(KeyError):
        httpr.Client().headers.popitem()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"tag": ["a", "b"]}, {"tag": ["a", "b"]}),
        ({"tag": ["a", "b"], "n": 3}, {"tag": ["a", "b"], "n": "3"}),
        ([("k", "1"), ("k", "2"), ("o", "x")], {"k": ["1", "2"], "o": "x"}),
    ],
    ids=["list-value", "mixed", "pairs"],
)
def test_client_params_round_trip_what_was_given(
    mode: Mode, srv: BehaviourServer, uid: str, given: Any, expected: dict[str, Any]
) -> None:
    url = srv.url(f"/echo/{uid}")

    async def scenario(t: Twin) -> tuple[Any, Any]:
        from_constructor = t.client.params
        t.client.params = given
        await t.get(url)
        return from_constructor, t.client.params

    from_constructor, after_setter = run_twin(mode, scenario, params=given)
    assert from_constructor == expected
    assert after_setter == expected
    sent: dict[str, list[str]] = {}
    for name, value in only(srv.seen(f"/echo/{uid}")).params():
        sent.setdefault(name, []).append(value)
    assert sent == {k: v if isinstance(v, list) else [v] for k, v in expected.items()}


BAD_PAIRS = pytest.mark.parametrize("bad", ["a=1", b"a=1", 5, ["x"]], ids=["str", "bytes", "int", "list-of-str"])


@BAD_PAIRS
def test_request_params_of_the_wrong_type_is_type_error_with_078_wording(mode: Mode, srv: BehaviourServer, bad: Any) -> None:
    async def scenario(t: Twin) -> tuple[str, str]:
        with pytest.raises(TypeError) as params_info:
            await t.get(srv.url("/echo"), params=bad)
        with pytest.raises(TypeError) as data_info:
            await t.call("post", srv.url("/echo"), data=bad)
        return str(params_info.value), str(data_info.value)

    params_msg, data_msg = run_twin(mode, scenario)
    assert "params must be a mapping or a sequence of pairs" in params_msg
    assert "data must be a mapping or a sequence of pairs" in data_msg
    assert type(bad).__name__ in params_msg


@CLIENT_CLASSES
@BAD_PAIRS
def test_client_params_of_the_wrong_type_is_type_error_with_078_wording(cls: type[Any], bad: Any) -> None:
    with pytest.raises(TypeError, match="params must be a mapping"):
        cls(params=bad)
    client = cls()
    with pytest.raises(TypeError, match="params must be a mapping"):
        client.params = bad


@CLIENT_CLASSES
def test_http1_only_with_http2_only_is_value_error_with_078_wording(cls: type[Any]) -> None:
    with pytest.raises(ValueError, match="http1_only or http2_only"):
        cls(http1_only=True, http2_only=True)


def client_sockets_to(port: int) -> int:
    """Sockets of this process connected to 127.0.0.1:``port`` (its client side)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    with open("/proc/net/tcp", encoding="ascii") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == port and fields[9] in inodes:
                count += 1
    return count


@pytest.mark.parametrize("how", ["get", "post", "request", "redirected"])
def test_module_level_call_leaves_no_connection_open(srv: BehaviourServer, uid: str, how: str) -> None:
    url = srv.url(f"/echo/{uid}")
    before = client_sockets_to(srv.port)
    if how == "get":
        r = httpr.get(url)
    elif how == "post":
        r = httpr.post(url, json={"a": 1})
    elif how == "request":
        r = httpr.request("PUT", url, content=b"x")
    else:
        r = httpr.get(srv.url(f"/redirect/{uid}?to=/echo/{uid}"))
    assert r.status_code == 200
    assert client_sockets_to(srv.port) == before == 0


def test_module_level_call_through_a_proxy_leaves_no_connection_open(
    srv: BehaviourServer, proxy_srv: BehaviourServer, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hyper's pool (the proxied path) ends its connection in a task: it must be closed too.
    monkeypatch.setenv("HTTP_PROXY", proxy_srv.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    r = httpr.get(srv.url(f"/echo/{uid}"))
    assert r.status_code == 200 and only(proxy_srv.seen(f"/echo/{uid}")).proxied
    assert client_sockets_to(proxy_srv.port) == 0


def test_client_certificate_is_read_once_at_construction(
    mode: Mode, certs: Certs, mtls_server: EchoServer, proxy_srv: BehaviourServer, tmp_path: Path
) -> None:
    pem = tmp_path / "client.pem"
    shutil.copy(certs.client_pem, pem)

    async def scenario(t: Twin) -> tuple[str | None, str | None]:
        first = (await t.get(mtls_server.url())).json()["client_cert_cn"]
        pem.unlink()
        t.client.proxy = proxy_srv.base_url  # rebuilds the transport
        t.client.proxy = None  # and again, direct
        second = (await t.get(mtls_server.url())).json()["client_cert_cn"]
        return first, second

    first, second = run_twin(mode, scenario, client_pem=str(pem), ca_cert_file=certs.ca_pem)
    assert first == second is not None


@pytest.mark.parametrize("unset", ["", None], ids=["empty", "None"])
def test_response_encoding_unset_goes_back_to_detection(mode: Mode, srv: BehaviourServer, uid: str, unset: str | None) -> None:
    text = "café naïve"
    url = srv.add(f"/latin1/{uid}", text.encode("latin-1"), headers=[("Content-Type", "text/plain; charset=latin-1")])

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(url)

    r = run_twin(mode, scenario)
    detected = r.encoding
    r.encoding = "utf-8"
    assert "\ufffd" in r.text
    r.encoding = unset
    assert r.encoding == detected and r.text == text


def test_unreadable_upload_file_is_a_request_error_and_an_os_error(mode: Mode, srv: BehaviourServer, tmp_path: Path) -> None:
    missing = str(tmp_path / "nonexistent.bin")

    async def scenario(t: Twin) -> BaseException:
        with pytest.raises(httpr.RequestError) as info:
            await t.call("post", srv.url("/echo"), files={"f": missing})
        return info.value

    exc = run_twin(mode, scenario)
    assert isinstance(exc, httpr.UploadFileNotFound)
    assert isinstance(exc, FileNotFoundError) and isinstance(exc, OSError)
    assert exc.errno == errno.ENOENT and exc.filename == missing
    assert "nonexistent.bin" in str(exc) and 'field "f"' in str(exc)
    assert exc.request is not None and exc.request.method == "POST"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_upload_file_permission_error(srv: BehaviourServer, tmp_path: Path) -> None:
    locked = tmp_path / "locked.bin"
    locked.write_bytes(b"x")
    locked.chmod(0)
    with pytest.raises(PermissionError) as info:
        httpr.Client().post(srv.url("/echo"), files={"f": str(locked)})
    assert isinstance(info.value, httpr.RequestError)


def test_upload_of_a_directory_is_a_request_error_and_an_os_error(srv: BehaviourServer, tmp_path: Path) -> None:
    with pytest.raises(httpr.UploadFileError) as info:
        httpr.Client().post(srv.url("/echo"), files={"f": str(tmp_path)})
    assert isinstance(info.value, OSError) and isinstance(info.value, httpr.RequestError)
    assert info.value.errno == errno.EISDIR


@pytest.mark.parametrize("bad", ["not a url", "http://exa mple.com/", "http://[::1/", "http://"])
def test_unparsable_request_url_is_invalid_url_and_request_error(mode: Mode, bad: str) -> None:
    async def scenario(t: Twin) -> BaseException:
        with pytest.raises(httpr.InvalidURL) as info:
            await t.get(bad)
        return info.value

    exc = run_twin(mode, scenario)
    assert isinstance(exc, httpr.RequestError) and isinstance(exc, httpr.HTTPError)
    assert exc.request is not None and exc.request.method == "GET"
    with pytest.raises(httpr.RequestError):
        httpr.get(bad)


def test_invalid_url_stays_catchable_on_its_own() -> None:
    # The class itself is not under HTTPError (httpx, 0.7.8): base_url= raises it alone.
    assert not issubclass(httpr.InvalidURL, httpr.HTTPError)
    with pytest.raises(httpr.InvalidURL) as info:
        httpr.Client(base_url="http://")
    assert not isinstance(info.value, httpr.RequestError)


def test_rclient_is_the_native_client_class_as_exported_by_078(srv: BehaviourServer, uid: str) -> None:
    assert httpr.RClient is httpr.Client and "RClient" in httpr.__all__
    with httpr.RClient() as client:
        assert client.get(srv.url(f"/echo/{uid}")).status_code == 200
