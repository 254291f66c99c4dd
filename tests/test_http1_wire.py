"""HTTP/1.1 framing as sync clients read it (the lean path of runtime/src/transport/h1/):
chunked bodies with extensions and trailers, bodies that end with the connection, interim 1xx
answers, HTTP/1.0, bodies read straight into the ``bytes`` object (32 KiB and more), and when
a connection is (not) reused. Against a raw-socket server on 127.0.0.1 that records which
connection each request came on; the reuse and large-body cases also over TLS.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import httpr
from threads import errors_in_threads
from tls_servers import Certs, make_certs

def blob(n: int) -> bytes:
    """A deterministic body of ``n`` bytes."""
    out = b""
    seed = b"httpr"
    while len(out) < n:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return out[:n]


BIG = 200 * 1024
#: Just over the size from which a body is read straight into the bytes object.
MID = 33 * 1024


def head(status: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [status] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


#: What the server sends for a path (None: close without answering).
Answer = Callable[[str], bytes]

ANSWERS: dict[str, Answer] = {
    "/chunked": lambda m: head("HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")])
    + b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
    "/until-close": lambda m: head("HTTP/1.1 200 OK", [("Content-Type", "text/plain")]) + b"all of it",
    "/interim": lambda m: head("HTTP/1.1 103 Early Hints", [("Link", "</a.css>; rel=preload")])
    + head("HTTP/1.1 200 OK", [("Content-Length", "5")])
    + b"final",
    "/big": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", str(BIG)), ("Content-Type", "application/octet-stream")])
    + (b"" if m == "HEAD" else blob(BIG)),
    "/mid": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", str(MID))]) + blob(MID),
    "/big-json": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", str(len(big_json()))), ("Content-Type", "application/json")])
    + big_json(),
    "/big-cut": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", str(BIG))]) + blob(BIG // 2),
    "/extra": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", "2")]) + b"okjunk",
    "/close-header": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", "2"), ("Connection", "close")]) + b"ok",
    "/http10": lambda m: head("HTTP/1.0 200 OK", [("Content-Length", "2")]) + b"ok",
    "/two-lengths": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", "2"), ("Content-Length", "3")]) + b"ok",
    # Both framings (a smuggling shape): chunked wins, and the length is not shown.
    "/cl-and-te": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", "99"), ("Transfer-Encoding", "chunked")])
    + b"5\r\nhello\r\n0\r\n\r\n",
    # Trailers ended by a bare LF: parsers disagree on where the body ends (smuggling).
    "/trailer-bare-lf": lambda m: head("HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")]) + b"5\r\nhello\r\n0\r\n\n",
    "/bad-chunk": lambda m: head("HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")]) + b"zz\r\nhello\r\n0\r\n\r\n",
    "/ok": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", "2")]) + b"ok",
    # About 90 KB of headers (accepted), and about 450 KB (refused, as hyper's limit did).
    "/big-head": lambda m: head("HTTP/1.1 200 OK", [(f"X-Pad-{i}", "p" * 1000) for i in range(90)] + [("Content-Length", "2")]) + b"ok",
    "/huge-head": lambda m: head("HTTP/1.1 200 OK", [(f"X-Pad-{i}", "p" * 5000) for i in range(90)] + [("Content-Length", "2")]) + b"ok",
    "/many-headers": lambda m: head("HTTP/1.1 200 OK", [(f"X-N-{i}", "1") for i in range(120)] + [("Content-Length", "2")]) + b"ok",
    "/ok-then-close": lambda m: head("HTTP/1.1 200 OK", [("Content-Length", "2")]) + b"ok",
}

#: Paths after whose answer the server closes the connection.
CLOSES = {"/until-close", "/big-cut", "/close-header", "/http10", "/ok-then-close"}


def big_json() -> bytes:
    return b'{"items": [' + b",".join(b'{"n": %d, "s": "%s"}' % (i, b"x" * 40) for i in range(2000)) + b"]}"


class WireServer:
    """Answers each request per :data:`ANSWERS` and records (path, connection number)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port: int = self.listener.getsockname()[1]
        self.log: list[tuple[str, int]] = []
        self.stall = threading.Event()
        self.conns = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
                n = self.conns
            threading.Thread(target=self.serve, args=(sock, n), daemon=True).start()

    def serve(self, sock: socket.socket, n: int) -> None:
        buf = b""
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                return
        with sock:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                line, _, buf = buf.partition(b"\r\n\r\n")
                method, target = line.decode("latin-1").split(" ")[:2]
                with self.lock:
                    self.log.append((target, n))
                if target == "/big-stall":
                    sock.sendall(head("HTTP/1.1 200 OK", [("Content-Length", str(BIG))]) + blob(BIG // 2))
                    self.stall.wait(10)
                    return
                try:
                    sock.sendall(ANSWERS[target](method))
                except OSError:  # the client gave up (a head too large, a cut connection)
                    return
                if target in CLOSES:
                    sock.shutdown(socket.SHUT_WR)
                    return

    def connection_of(self, path: str) -> list[int]:
        with self.lock:
            return [n for p, n in self.log if p == path]

    def close(self) -> None:
        self.stall.set()
        self.listener.close()


@pytest.fixture
def wire() -> Iterator[WireServer]:
    server = WireServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(Path(tmp_path_factory.mktemp("wire-certs")))


@pytest.fixture
def client() -> Iterator[httpr.Client]:
    with httpr.Client(timeout=5) as c:
        yield c


@pytest.fixture(params=["http", "https"])
def any_wire(request: pytest.FixtureRequest, certs: Certs) -> Iterator[tuple[WireServer, httpr.Client]]:
    """The server over plain TCP or TLS, and a client that trusts it."""
    tls = request.param == "https"
    server = WireServer(certs.server_context() if tls else None)
    with httpr.Client(timeout=5, ca_cert_file=certs.ca_pem if tls else None) as c:
        yield server, c
    server.close()


def test_chunked_body_with_extensions_and_trailers(any_wire: tuple[WireServer, httpr.Client]) -> None:
    wire, client = any_wire
    r = client.get(wire.url("/chunked"))
    assert (r.status_code, r.content) == (200, b"hello, world")
    # The connection is reused after a complete chunked body.
    client.get(wire.url("/ok"))
    assert wire.connection_of("/chunked") == wire.connection_of("/ok") == [1]


def test_transfer_encoding_overrides_content_length(wire: WireServer, client: httpr.Client) -> None:
    """Found by fuzz/fuzz_targets/h1_vs_hyper.rs: hyper 1.13 drops the Content-Length of a
    response that also names Transfer-Encoding (RFC 9112 6.3), and the lean path kept it. Both
    clients now read the chunked body and show the headers hyper shows."""

    async def via_async() -> httpr.Response:
        async with httpr.AsyncClient(timeout=5) as ac:
            return await ac.get(wire.url("/cl-and-te"))

    for r in (client.get(wire.url("/cl-and-te")), asyncio.run(via_async())):
        assert (r.status_code, r.content) == (200, b"hello")
        assert "content-length" not in r.headers
        assert r.headers["transfer-encoding"] == "chunked"


def test_trailers_ended_by_a_bare_lf_are_refused(wire: WireServer, client: httpr.Client) -> None:
    """Found by the differential fuzzer: hyper refuses `0\\r\\n\\n`, the lean path took it as
    the end of the body. Both clients now raise RemoteProtocolError."""

    async def via_async() -> None:
        async with httpr.AsyncClient(timeout=5) as ac:
            await ac.get(wire.url("/trailer-bare-lf"))

    with pytest.raises(httpr.RemoteProtocolError):
        client.get(wire.url("/trailer-bare-lf"))
    with pytest.raises(httpr.RemoteProtocolError):
        asyncio.run(via_async())


def test_body_that_ends_with_the_connection(wire: WireServer, client: httpr.Client) -> None:
    assert client.get(wire.url("/until-close")).text == "all of it"
    assert client.get(wire.url("/ok")).text == "ok"
    assert wire.connection_of("/until-close") == [1]
    assert wire.connection_of("/ok") == [2]


def test_interim_1xx_answer_is_skipped(wire: WireServer, client: httpr.Client) -> None:
    r = client.get(wire.url("/interim"))
    assert (r.status_code, r.text) == (200, "final")
    assert "link" not in r.headers


def test_large_body_of_known_length(any_wire: tuple[WireServer, httpr.Client]) -> None:
    wire, client = any_wire
    # 32 KiB and more: read straight into the bytes object.
    for _ in range(3):
        r = client.get(wire.url("/big"))
        assert r.content == blob(BIG)
        assert r.content is r.content  # built once
    assert client.get(wire.url("/mid")).content == blob(MID)
    assert wire.connection_of("/big") == [1, 1, 1]
    assert wire.connection_of("/mid") == [1]
    r = client.get(wire.url("/big-json"))
    assert r.text == big_json().decode()
    data = r.json()
    assert len(data["items"]) == 2000 and data["items"][-1] == {"n": 1999, "s": "x" * 40}


def test_head_of_a_large_body_reads_nothing(wire: WireServer, client: httpr.Client) -> None:
    r = client.head(wire.url("/big"))
    assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", str(BIG))
    assert client.get(wire.url("/ok")).text == "ok"
    assert wire.connection_of("/big") == wire.connection_of("/ok") == [1]


@pytest.mark.parametrize("mode", ["read", "stream"])
def test_large_body_cut_short_is_a_protocol_error(wire: WireServer, client: httpr.Client, mode: str) -> None:
    url = wire.url("/big-cut")
    with pytest.raises(httpr.RemoteProtocolError, match="closed before the end of the body") as info:
        if mode == "read":
            client.get(url)
        else:
            with client.stream("GET", url) as r:
                r.read()
    assert url in str(info.value)


def test_large_body_stalling_is_a_read_timeout(wire: WireServer) -> None:
    with httpr.Client(timeout=0.3) as client, pytest.raises(httpr.ReadTimeout) as info:
        client.get(wire.url("/big-stall"))
    # The same message as for a small body read in chunks.
    assert str(info.value) == f"timed out after 0.300s waiting for the response body of GET {wire.url('/big-stall')}"


def test_bytes_past_the_end_retire_the_connection(wire: WireServer, client: httpr.Client) -> None:
    assert client.get(wire.url("/extra")).content == b"ok"
    assert client.get(wire.url("/ok")).content == b"ok"
    assert wire.connection_of("/extra") == [1]
    assert wire.connection_of("/ok") == [2]


@pytest.mark.parametrize("path", ["/close-header", "/http10"])
def test_no_reuse_after_connection_close_or_http10(wire: WireServer, client: httpr.Client, path: str) -> None:
    r = client.get(wire.url(path))
    assert r.content == b"ok"
    assert r.http_version == ("HTTP/1.0" if path == "/http10" else "HTTP/1.1")
    assert client.get(wire.url("/ok")).content == b"ok"
    assert wire.connection_of("/ok") == [2]


@pytest.mark.parametrize(("path", "words"), [("/two-lengths", "Content-Length"), ("/bad-chunk", "chunk size")])
def test_invalid_framing_is_a_protocol_error(wire: WireServer, client: httpr.Client, path: str, words: str) -> None:
    with pytest.raises(httpr.RemoteProtocolError, match=words):
        client.get(wire.url(path))


def test_server_closing_right_after_answering(any_wire: tuple[WireServer, httpr.Client]) -> None:
    wire, client = any_wire
    # Answers as if the connection stayed open, then closes it: the next request finds it
    # closed (by a check before reuse, or by getting no answer and sending a GET again).
    for _ in range(5):
        assert client.get(wire.url("/ok-then-close")).content == b"ok"
    assert len(set(wire.connection_of("/ok-then-close"))) == 5


def test_large_response_heads(wire: WireServer, client: httpr.Client) -> None:
    r = client.get(wire.url("/big-head"))
    assert (r.content, r.headers["x-pad-89"]) == (b"ok", "p" * 1000)
    with pytest.raises(httpr.RemoteProtocolError, match="response head is larger than 417792 bytes"):
        client.get(wire.url("/huge-head"))
    with pytest.raises(httpr.RemoteProtocolError, match="too many headers"):
        client.get(wire.url("/many-headers"))


def test_threads_each_reuse_their_connection(wire: WireServer) -> None:
    client = httpr.Client(timeout=5)

    def work() -> None:
        for _ in range(5):
            assert client.get(wire.url("/big")).content == blob(BIG)

    assert errors_in_threads(work, 4) == []
    # One connection per thread, reused for its five requests.
    assert len(set(wire.connection_of("/big"))) == 4
    client.close()
