"""Every exception class, triggered for real against servers on 127.0.0.1.

Each test checks the exact class (the most specific one applies), every ancestor named in
docs/api/exceptions.md, that the message names the URL and the cause, and the ``.request``
(method and URL) that request-bound errors carry. The misbehaving servers are in
``hostile_servers``; TLS certificates come from ``tls_servers`` (trustme).

Not triggered here, because httpr never raises them (they are exported so code written for
httpr 0.7.8 or httpx that catches them keeps working, and documented as such):
``CloseError`` (closing a socket cannot fail in a way the transport reports), ``RequestNotRead`` (no
request body is streamed), ``CookieConflict`` (cookies are plain dicts).
``test_never_raised_classes_say_so`` checks that their documentation says it.
"""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Union

import pytest

import httpr
from hostile_servers import NOT_JSON, NOT_JSON_POS, HostileServer, full_backlog
from tls_servers import Certs, EchoServer, make_certs

#: Timeout for requests expected to fail fast; the hang guard in conftest is the backstop.
QUICK = 5.0
#: Timeout for requests expected to time out.
SHORT = 0.5
#: How much later than its timeout a timed-out request may return.
SLACK = 2.0

#: Every ancestor each class must have (docs/api/exceptions.md), most specific first.
_TRANSPORT = (httpr.TransportError, httpr.RequestError, httpr.HTTPError, Exception)
_TIMEOUT = (httpr.TimeoutException, *_TRANSPORT, TimeoutError)
_NETWORK = (httpr.NetworkError, *_TRANSPORT)
_PROTOCOL = (httpr.ProtocolError, *_TRANSPORT)
_DECODING = (httpr.DecodingError, httpr.RequestError, httpr.HTTPError, ValueError, Exception)
_STREAM = (httpr.StreamError, RuntimeError, Exception)
ANCESTORS: dict[type[BaseException], tuple[type[BaseException], ...]] = {
    httpr.ConnectTimeout: _TIMEOUT,
    httpr.ReadTimeout: _TIMEOUT,
    httpr.WriteTimeout: _TIMEOUT,
    httpr.ConnectError: _NETWORK,
    httpr.SSLError: (httpr.ConnectError, *_NETWORK),
    httpr.ReadError: _NETWORK,
    httpr.WriteError: _NETWORK,
    httpr.LocalProtocolError: _PROTOCOL,
    httpr.RemoteProtocolError: _PROTOCOL,
    httpr.ProxyError: _TRANSPORT,
    httpr.UnsupportedProtocol: _TRANSPORT,
    httpr.DecodingError: _DECODING,
    httpr.JSONDecodeError: (*_DECODING, json.JSONDecodeError, ValueError),
    httpr.TooManyRedirects: (httpr.RequestError, httpr.HTTPError, Exception),
    httpr.HTTPStatusError: (httpr.HTTPError, Exception),
    httpr.InvalidURL: (Exception,),
    httpr.InvalidRequestURL: (httpr.InvalidURL, httpr.RequestError, httpr.HTTPError, Exception),
    httpr.StreamConsumed: _STREAM,
    httpr.StreamClosed: _STREAM,
    httpr.ClientReopenedWarning: (ResourceWarning, Warning),
    httpr.PoolTimeout: _TIMEOUT,
    httpr.TimeoutException: _TIMEOUT[1:],
    httpr.ClientClosed: (RuntimeError, Exception),
    httpr.ResponseNotRead: _STREAM,
}

#: A word the message must contain, or a tuple of alternatives one of which must appear.
Word = Union[str, tuple[str, ...]]


def short(text: object, limit: int = 400) -> str:
    """``str(text)``, cut in the middle when longer than ``limit`` (some URLs here are 70 kB)."""
    s = str(text)
    return s if len(s) <= limit else f"{s[: limit // 2]}...{s[-limit // 2 :]}"


def check(
    error: BaseException,
    cls: type[BaseException],
    *,
    words: Sequence[Word],
    method: str | None = None,
    url: str | None = None,
) -> None:
    """Exact class, every ancestor, ``.request`` and the message words (case-insensitive).

    With ``method``, ``.request`` must be ``(method, url)``; with ``url`` the message must name
    it. The message is checked last, so a failure there means everything else held.
    """
    assert type(error) is cls, f"expected {cls.__name__}, got {type(error).__name__}: {short(error)}"
    for ancestor in ANCESTORS[cls]:
        assert isinstance(error, ancestor), f"{cls.__name__} is not a {ancestor.__name__}"
    if method is not None:
        assert isinstance(error, httpr.HTTPError)
        request = error.request
        assert request is not None, f"{cls.__name__} has no .request"
        assert (request.method, request.url) == (method, url)
    message = str(error)
    lowered = message.lower()
    for word in [url, *words] if url is not None else list(words):
        alternatives = (word,) if isinstance(word, str) else word
        assert any(w.lower() in lowered for w in alternatives), f"none of {alternatives} in {short(message)!r}"


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpr.Client]:
    with httpr.Client(timeout=QUICK) as c:
        yield c


@pytest.fixture
def tag() -> str:
    """A unique query string, so a test can find its own requests in the server's log."""
    return f"t={uuid.uuid4().hex}"


# -- connecting -------------------------------------------------------------------------------


def test_connect_error_connection_refused(client: httpr.Client, refused_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(httpr.ConnectError) as info:
        client.get(refused_url)

    assert time.monotonic() - started < QUICK
    check(info.value, httpr.ConnectError, words=["refused"], method="GET", url=refused_url)


#: How the timeout is given: on the Client, on the request, or to a module function.
TIMEOUT_VIA: dict[str, Callable[[str, float], object]] = {
    "client-timeout": lambda url, t: httpr.Client(timeout=t).get(url),
    "request-timeout": lambda url, t: httpr.Client(timeout=QUICK * 6).get(url, timeout=t),
    "module-function": lambda url, t: httpr.get(url, timeout=t),
}


@pytest.mark.parametrize("via", list(TIMEOUT_VIA))
def test_connect_timeout(via: str) -> None:
    # A listener whose accept queue is full: Linux drops the SYN, so connect() just waits.
    with full_backlog() as port:
        url = f"http://127.0.0.1:{port}/connect-timeout"
        started = time.monotonic()
        with pytest.raises(httpr.TimeoutException) as info:
            TIMEOUT_VIA[via](url, SHORT)
        elapsed = time.monotonic() - started

    assert SHORT * 0.9 <= elapsed < SHORT + SLACK
    check(info.value, httpr.ConnectTimeout, words=[("connect",), ("timed out", "timeout")], method="GET", url=url)


@pytest.mark.parametrize("via", list(TIMEOUT_VIA))
def test_read_timeout_waiting_for_headers(hostile: HostileServer, via: str, tag: str) -> None:
    # The server accepts and reads the request, then never answers.
    url = hostile.url(f"/black-hole?{tag}")
    started = time.monotonic()
    with pytest.raises(httpr.TimeoutException) as info:
        TIMEOUT_VIA[via](url, SHORT)
    elapsed = time.monotonic() - started

    assert SHORT * 0.9 <= elapsed < SHORT + SLACK
    check(info.value, httpr.ReadTimeout, words=[("timed out", "timeout"), "headers"], method="GET", url=url)
    assert len([s for s in hostile.seen("/black-hole") if tag in s.target]) == 1


@pytest.mark.parametrize("mode", ["read", "stream"])
def test_read_timeout_waiting_for_body(hostile: HostileServer, client: httpr.Client, mode: str) -> None:
    # Headers and part of the body arrive, then the server stalls.
    url = hostile.url("/stall-body")
    started = time.monotonic()
    with pytest.raises(httpr.TimeoutException) as info:
        if mode == "read":
            client.get(url, timeout=SHORT)
        else:
            with client.stream("GET", url, timeout=SHORT) as response:
                assert response.status_code == 200
                for _ in response.iter_bytes():
                    pass
    elapsed = time.monotonic() - started

    assert SHORT * 0.9 <= elapsed < SHORT + SLACK
    check(info.value, httpr.ReadTimeout, words=[("timed out", "timeout"), "body"], method="GET", url=url)


def test_write_timeout_server_never_reads_the_body(hostile: HostileServer) -> None:
    # 64 MiB cannot fit in the loopback socket buffers: with the server reading nothing,
    # sending the body blocks until the timeout.
    url = hostile.url("/never-read")
    started = time.monotonic()
    with pytest.raises(httpr.TimeoutException) as info:
        httpr.Client(timeout=SHORT).post(url, content=b"x" * (64 << 20))
    elapsed = time.monotonic() - started

    assert SHORT * 0.9 <= elapsed < SHORT + SLACK
    check(info.value, httpr.WriteTimeout, words=[("timed out", "timeout")], method="POST", url=url)


# -- the server breaks the protocol or the connection -----------------------------------------

# (route, words the message must contain)
REMOTE_PROTOCOL_CASES: list[tuple[str, list[Word]]] = [
    # Content-Length: 10000, a few bytes, then FIN.
    ("/truncated", [("end of file", "incomplete", "closed", "before message")]),
    # The request is read, the connection closed without a byte of answer.
    ("/close-without-answer", [("closed", "incomplete", "end of file")]),
    # An SSH banner instead of a status line.
    ("/garbage", [("invalid", "parse")]),
]


@pytest.mark.parametrize(
    ("path", "words"), REMOTE_PROTOCOL_CASES, ids=[c[0] for c in REMOTE_PROTOCOL_CASES]
)
@pytest.mark.parametrize("mode", ["read", "stream"])
def test_remote_protocol_error(
    hostile: HostileServer, client: httpr.Client, path: str, words: list[Word], mode: str
) -> None:
    url = hostile.url(path)
    with pytest.raises(httpr.HTTPError) as info:
        if mode == "read":
            client.get(url)
        else:
            with client.stream("GET", url) as response:
                response.read()

    check(info.value, httpr.RemoteProtocolError, words=words, method="GET", url=url)


@pytest.mark.parametrize("mode", ["read", "stream"])
def test_read_error_connection_reset_mid_body(hostile: HostileServer, client: httpr.Client, mode: str) -> None:
    # Headers and part of the body, then an RST (SO_LINGER 0): the socket read fails with
    # ECONNRESET, a network failure while receiving, not a protocol violation.
    url = hostile.url("/reset")
    with pytest.raises(httpr.HTTPError) as info:
        if mode == "read":
            client.get(url)
        else:
            with client.stream("GET", url) as response:
                for _ in response.iter_bytes():
                    pass

    check(info.value, httpr.ReadError, words=["reset"], method="GET", url=url)


def test_write_error_connection_reset_while_sending(hostile: HostileServer, client: httpr.Client) -> None:
    # The server reads the request head, then resets the connection while the client is still
    # sending a body far larger than the socket buffers: the write fails.
    url = hostile.url("/reset-while-sending")
    with pytest.raises(httpr.HTTPError) as info:
        client.post(url, content=b"x" * (64 << 20))

    check(info.value, httpr.WriteError, words=["reset"], method="POST", url=url)


def test_too_many_redirects(hostile: HostileServer, tag: str) -> None:
    url = hostile.url(f"/redirect-loop?{tag}")
    with httpr.Client(timeout=QUICK, max_redirects=3) as client:
        with pytest.raises(httpr.HTTPError) as info:
            client.put(url, content=b"body")

    check(info.value, httpr.TooManyRedirects, words=["3", "redirect"], method="PUT", url=url)
    # The first request and three redirects were sent; the fourth redirect was not followed.
    assert len([s for s in hostile.seen("/redirect-loop") if tag in s.target]) == 4


# -- refused before sending --------------------------------------------------------------------


@pytest.mark.parametrize("case", ["ftp-scheme", "https-only"])
def test_unsupported_protocol(hostile: HostileServer, case: str, tag: str) -> None:
    if case == "ftp-scheme":
        url = f"ftp://127.0.0.1:{hostile.port}/unsupported?{tag}"
        client, words = httpr.Client(timeout=QUICK), ["ftp"]
    else:
        url = hostile.url(f"/unsupported?{tag}")
        client, words = httpr.Client(timeout=QUICK, https_only=True), ["https_only"]
    with client, pytest.raises(httpr.HTTPError) as info:
        client.post(url, content=b"body")

    check(info.value, httpr.UnsupportedProtocol, words=words, method="POST", url=url)
    assert [s for s in hostile.seen() if tag in s.target] == []


@pytest.mark.parametrize(
    "url",
    ["http://exa mple.com/", "http://127.0.0.1:99999/", "http://[::1/", "http://", "://no-scheme"],
)
def test_invalid_url(client: httpr.Client, url: str) -> None:
    with pytest.raises(Exception) as info:
        client.get(url)

    # A request method's own URL: an InvalidURL that is also a RequestError (issue 19, as 0.7.8).
    check(info.value, httpr.InvalidRequestURL, words=[url], method="GET", url=url)


@pytest.mark.parametrize("where", ["path", "params"])
def test_invalid_url_too_long_for_http(hostile: HostileServer, client: httpr.Client, where: str, tag: str) -> None:
    # The URL parses, but no HTTP request target can be that long (http::Uri stops at 64 KiB):
    # a URL problem (httpx: InvalidURL "URL too long"), not an unsupported protocol.
    long = "a" * 70_000
    if where == "path":
        url = hostile.url(f"/{long}?{tag}")
        call: Callable[[], object] = lambda: client.get(url)
    else:
        url = hostile.url(f"/ok?{tag}")
        call = lambda: client.get(url, params={"q": long})
    with pytest.raises(Exception) as info:
        call()

    # Not check(error, ...) directly: pytest would print the 70 kB message as its argument.
    error = info.value
    assert type(error) is httpr.InvalidRequestURL, f"expected InvalidRequestURL, got {type(error).__name__}: {short(error)}"
    check(error, httpr.InvalidRequestURL, words=[("too long", "length")])
    assert [s for s in hostile.seen() if tag in s.target] == []


# (id, headers, the header name the message must mention)
BAD_HEADERS: list[tuple[str, dict[str, str], str]] = [
    ("crlf-in-value", {"X-Bad": "a\r\nInjected: 1"}, "x-bad"),
    ("lf-in-value", {"X-Bad": "a\nInjected: 1"}, "x-bad"),
    ("cr-in-value", {"X-Bad": "a\rInjected: 1"}, "x-bad"),
    ("nul-in-value", {"X-Bad": "a\x00b"}, "x-bad"),
    ("nul-in-name", {"X-B\x00ad": "value"}, "x-b"),
    ("crlf-in-name", {"X-Bad\r\nInjected": "value"}, "x-bad"),
    ("space-in-name", {"X Bad": "value"}, "x bad"),
]


@pytest.mark.parametrize(
    ("headers", "name"), [c[1:] for c in BAD_HEADERS], ids=[c[0] for c in BAD_HEADERS]
)
def test_local_protocol_error_for_header_injection(
    hostile: HostileServer, client: httpr.Client, headers: dict[str, str], name: str, tag: str
) -> None:
    url = hostile.url(f"/ok?{tag}")
    with pytest.raises(httpr.HTTPError) as info:
        client.get(url, headers=headers)

    check(info.value, httpr.LocalProtocolError, words=[name], method="GET", url=url)
    assert [s for s in hostile.seen() if tag in s.target] == []


# -- decoding the response ---------------------------------------------------------------------


def test_decoding_error_gzip_header_on_plain_body(hostile: HostileServer, client: httpr.Client) -> None:
    url = hostile.url("/bad-gzip")
    with pytest.raises(httpr.HTTPError) as info:
        client.get(url)

    check(info.value, httpr.DecodingError, words=["gzip"], method="GET", url=url)


def test_decoding_error_malformed_cbor(hostile: HostileServer, client: httpr.Client) -> None:
    url = hostile.url("/bad-cbor")
    response = client.get(url)
    assert response.status_code == 200

    with pytest.raises(httpr.HTTPError) as info:
        response.json()

    check(info.value, httpr.DecodingError, words=["cbor"], method="GET", url=url)


def test_json_decode_error(hostile: HostileServer, client: httpr.Client) -> None:
    url = hostile.url("/not-json")
    response = client.post(url)

    with pytest.raises(json.JSONDecodeError) as info:
        response.json()

    error = info.value
    check(error, httpr.JSONDecodeError, words=["line 1 column"], method="POST", url=url)
    assert (error.pos, error.lineno, error.colno) == (NOT_JSON_POS, 1, NOT_JSON_POS + 1)


def test_json_decode_error_doc_is_the_body(hostile: HostileServer, client: httpr.Client) -> None:
    # json.JSONDecodeError's contract: .doc is the document and .pos an index into it.
    response = client.get(hostile.url("/not-json"))

    with pytest.raises(json.JSONDecodeError) as info:
        response.json()

    assert info.value.doc == NOT_JSON.decode()
    assert info.value.doc[info.value.pos] == "}"


@pytest.mark.parametrize("status", [400, 404, 418, 500, 503])
def test_http_status_error(hostile: HostileServer, client: httpr.Client, status: int) -> None:
    url = hostile.url(f"/status/{status}")
    response = client.delete(url)
    assert response.status_code == status
    assert response.is_error

    with pytest.raises(httpr.HTTPError) as info:
        response.raise_for_status()

    kind = "client error" if status < 500 else "server error"
    check(info.value, httpr.HTTPStatusError, words=[kind, str(status)], method="DELETE", url=url)
    assert not isinstance(info.value, httpr.RequestError)
    assert info.value.response is response


@pytest.mark.parametrize("status", [200, 204])
def test_raise_for_status_returns_the_response_when_not_an_error(
    hostile: HostileServer, status: int
) -> None:
    with httpr.Client(timeout=QUICK, follow_redirects=False) as client:
        response = client.get(hostile.url(f"/status/{status}"))

    assert response.raise_for_status() is response


def test_raise_for_status_on_an_unfollowed_redirect_raises(hostile: HostileServer) -> None:
    # As httpx and httpr 0.7.8: only 2xx passes.
    with httpr.Client(timeout=QUICK, follow_redirects=False) as client:
        response = client.get(hostile.url("/status/302"))
    with pytest.raises(httpr.HTTPStatusError, match="Redirect response '302") as info:
        response.raise_for_status()
    assert info.value.response is response


# -- proxy and TLS -----------------------------------------------------------------------------


def test_proxy_error_unreachable_proxy(hostile: HostileServer, closed_port: int, tag: str) -> None:
    proxy = f"http://127.0.0.1:{closed_port}"
    url = hostile.url(f"/ok?{tag}")
    with httpr.Client(timeout=QUICK, proxy=proxy) as client, pytest.raises(httpr.HTTPError) as info:
        client.get(url)

    check(info.value, httpr.ProxyError, words=["proxy", proxy, "refused"], method="GET", url=url)
    assert [s for s in hostile.seen() if tag in s.target] == []


def test_proxy_error_proxy_refuses_the_tunnel(hostile: HostileServer) -> None:
    # The proxy answers CONNECT with 403: the proxy cannot be used.
    proxy = f"http://127.0.0.1:{hostile.port}"
    url = "https://tunnel.invalid/refused"
    with httpr.Client(timeout=QUICK, proxy=proxy) as client, pytest.raises(httpr.HTTPError) as info:
        client.get(url)

    # The message must say which proxy refused the tunnel and what it answered.
    words: list[Word] = ["proxy", f"127.0.0.1:{hostile.port}", "refused the tunnel", "403"]
    check(info.value, httpr.ProxyError, words=words, method="GET", url=url)
    assert [s.target for s in hostile.seen() if s.method == "CONNECT"][-1] == "tunnel.invalid:443"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("trigger-certs"))


@pytest.mark.parametrize("trust", ["system-roots", "unrelated-ca"])
def test_connect_error_untrusted_certificate(certs: Certs, trust: str) -> None:
    ca = None if trust == "system-roots" else certs.other_ca_pem
    with EchoServer(certs.server_context()) as server:
        url = server.url("/untrusted")
        with httpr.Client(timeout=QUICK, ca_cert_file=ca) as client, pytest.raises(httpr.HTTPError) as info:
            client.get(url)
        assert server.seen() == []

    # A TLS failure is an SSLError (requests' name), which is a ConnectError.
    check(info.value, httpr.SSLError, words=["certificate"], method="GET", url=url)


# -- streams and the client's lifecycle --------------------------------------------------------


#: Ways to read a stream's body a second time, after it was read to the end.
SECOND_READS: dict[str, Callable[[httpr.StreamingResponse], object]] = {
    "read": lambda r: r.read(),
    "iter_bytes": lambda r: list(r.iter_bytes()),
    "iter_text": lambda r: list(r.iter_text()),
    "iter_lines": lambda r: list(r.iter_lines()),
}


@pytest.mark.parametrize("again", list(SECOND_READS))
def test_stream_consumed(hostile: HostileServer, client: httpr.Client, again: str) -> None:
    with client.stream("GET", hostile.url("/ok")) as response:
        assert response.read() == b"line one\nline two\nline three\n"
        assert response.is_consumed
        with pytest.raises(httpr.StreamError) as info:
            SECOND_READS[again](response)

    check(info.value, httpr.StreamConsumed, words=["read"])
    assert not isinstance(info.value, httpr.HTTPError)


@pytest.mark.parametrize("how", ["close", "with-block"])
@pytest.mark.parametrize("again", list(SECOND_READS))
def test_stream_closed(hostile: HostileServer, client: httpr.Client, again: str, how: str) -> None:
    with client.stream("GET", hostile.url("/ok")) as response:
        if how == "close":
            response.close()
    assert response.is_closed and not response.is_consumed

    with pytest.raises(httpr.StreamError) as info:
        SECOND_READS[again](response)

    check(info.value, httpr.StreamClosed, words=["closed"])
    assert not isinstance(info.value, httpr.HTTPError)


def test_client_reopened_warning(hostile: HostileServer, tag: str) -> None:
    client = httpr.Client(timeout=QUICK)
    client.close()
    assert client.is_closed

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.get(hostile.url(f"/ok?{tag}"))

    assert response.status_code == 200
    assert not client.is_closed
    assert [type(w.message) for w in caught] == [httpr.ClientReopenedWarning]
    warning = caught[0]
    check(warning.message, httpr.ClientReopenedWarning, words=["closed", "reopen"])
    # Attributed to the caller (stacklevel), so the warning points at the offending line.
    assert Path(warning.filename).resolve() == Path(__file__).resolve()
    assert len([s for s in hostile.seen("/ok") if tag in s.target]) == 1
    client.close()


# -- limits, the total timeout, closing ---------------------------------------------------------


def test_pool_timeout_waiting_for_a_held_connection(hostile: HostileServer) -> None:
    # The only connection is held by an open stream, so the next request waits for the pool.
    url = hostile.url("/ok")
    with httpr.Client(max_connections=1, timeout=httpr.Timeout(QUICK, pool=SHORT)) as client:
        with client.stream("GET", url) as held:
            assert held.status_code == 200
            started = time.monotonic()
            with pytest.raises(httpr.TimeoutException) as info:
                client.get(url)
            elapsed = time.monotonic() - started
        assert client.get(url).status_code == 200  # the slot came back with the stream

    assert SHORT * 0.9 <= elapsed < SHORT + SLACK
    check(info.value, httpr.PoolTimeout, words=["free connection", "max_connections=1"], method="GET", url=url)


def test_total_timeout_is_the_base_class(hostile: HostileServer) -> None:
    # A stalled body with a generous read timeout: only the total cap can end it.
    url = hostile.url("/stall-body")
    started = time.monotonic()
    with pytest.raises(httpr.TimeoutException) as info:
        httpr.Client(timeout=httpr.Timeout(QUICK, total=SHORT)).get(url)
    elapsed = time.monotonic() - started

    assert SHORT * 0.9 <= elapsed < SHORT + SLACK
    check(info.value, httpr.TimeoutException, words=["total timeout"], method="GET", url=url)


def test_client_closed_while_waiting_for_a_slot(hostile: HostileServer) -> None:
    import asyncio

    url = hostile.url("/black-hole")

    async def main() -> BaseException:
        client = httpr.AsyncClient(max_concurrency=1, timeout=QUICK)
        busy = asyncio.ensure_future(client.get(url))  # takes the only slot, never answered
        await asyncio.sleep(0.2)
        waiting = asyncio.ensure_future(client.get(url))
        await asyncio.sleep(0.1)
        await client.aclose()
        with pytest.raises(httpr.ClientClosed) as info:
            await waiting
        busy.cancel()
        return info.value

    error = asyncio.run(main())
    check(error, httpr.ClientClosed, words=["closed", "max_concurrency"], url=url)


def test_response_not_read_before_read(hostile: HostileServer) -> None:
    import asyncio

    url = hostile.url("/ok")
    with httpr.Client(timeout=QUICK).stream("GET", url) as response:
        with pytest.raises(httpr.StreamError) as info:
            response.content
        body = response.read()
        assert response.content == body == b"line one\nline two\nline three\n"
    check(info.value, httpr.ResponseNotRead, words=["read()", "content"])

    async def main() -> tuple[BaseException, bytes, bytes]:
        async with httpr.AsyncClient(timeout=QUICK) as client:
            async with client.stream("GET", url) as r:
                with pytest.raises(httpr.StreamError) as ainfo:
                    r.content
                read = await r.aread()
                return ainfo.value, read, r.content

    error, read, content = asyncio.run(main())
    assert read == content == body
    check(error, httpr.ResponseNotRead, words=["aread()"])


@pytest.mark.parametrize("name", ["CloseError", "RequestNotRead", "CookieConflict"])
def test_never_raised_classes_say_so(name: str) -> None:
    cls = getattr(httpr, name)
    assert cls.__doc__ is not None and "Never raised by httpr" in cls.__doc__
    docs = (Path(__file__).resolve().parent.parent / "docs" / "api" / "exceptions.md").read_text()
    section = docs[docs.index(f"`{name}`") :][:600]
    assert "Never raised by httpr" in section
