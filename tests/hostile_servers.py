"""Misbehaving servers on 127.0.0.1 for the exception-trigger tests.

* :class:`HostileServer` is a raw-socket HTTP/1.1 server (one thread per connection) whose
  behaviour is chosen by the request path; see :data:`ROUTES` for what each path does. Unlike
  ``http.server`` it can break the protocol on purpose: stall forever, close or reset mid-body,
  answer with garbage, redirect in a loop, send a body that contradicts its headers. Used as a
  proxy, it refuses every CONNECT with 403.
* :class:`EchoServer` is ``servers.LocalServer`` (its ``/echo`` endpoint and request log) with
  Nagle's algorithm off, for the property-based tests that send thousands of requests.
* :func:`full_backlog` holds a listening socket whose accept queue is full, so that a new
  ``connect()`` to it gets no answer at all (Linux drops the SYN): the way to get a connect
  timeout on loopback without a firewall rule.

Everything listens on 127.0.0.1 on a port the OS picks; nothing reaches the internet.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import servers

#: Bytes a route sends as the body of the truncated / reset responses before giving up.
PARTIAL_BODY = b"only part of the promised body"

#: What ``/garbage`` answers instead of an HTTP status line.
GARBAGE = b"SSH-2.0-OpenSSH_9.6 this is not HTTP at all\r\n\x00\x01\x02\r\n\r\n"

#: The (non-gzip) body ``/bad-gzip`` sends with ``Content-Encoding: gzip``.
NOT_GZIP = b"this body is not gzip-compressed, whatever the header says"

#: A body that is not CBOR: 0xff is a "break" with nothing to break, 0x1c-0x1e are reserved.
NOT_CBOR = b"\xff\x1c\x1d\x1e"

#: ``/not-json`` serves this with ``Content-Type: application/json``; the JSON error is at
#: :data:`NOT_JSON_POS` (the stray ``}``).
NOT_JSON = b'{"ok": 1, }'
NOT_JSON_POS = NOT_JSON.index(b"}")


class EchoServer(servers.LocalServer):
    """``servers.LocalServer`` (which answers without the Nagle delay)."""


@dataclass(frozen=True)
class Seen:
    """One request head as the hostile server received it."""

    method: str
    target: str
    headers: list[tuple[str, str]]

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path


class _Conn:
    """One client connection: buffered reads of request heads and bodies."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def read_request(self, skip_body_of: frozenset[str] = frozenset()) -> Seen | None:
        """The next request head, with its body read and dropped unless the path is in
        ``skip_body_of``; None when the client went away or sent something unparseable."""
        while b"\r\n\r\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > 1 << 20:
                return None
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = line.split(" ")
        if len(parts) != 3:
            return None
        headers = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines)]
        seen = Seen(method=parts[0], target=parts[1], headers=headers)
        if seen.path in skip_body_of:
            return seen
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
        while len(self.buf) < length:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            self.buf += chunk
        self.buf = self.buf[length:]
        return seen

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self,
        status: str,
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
        length: int | None = None,
    ) -> None:
        """A complete response head (and ``body``); ``length`` overrides Content-Length."""
        lines = [f"HTTP/1.1 {status}"]
        lines += [f"{k}: {v}" for k, v in headers or []]
        lines.append(f"Content-Length: {len(body) if length is None else length}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


#: A route returns True to keep the connection open for the next request.
Route = Callable[["HostileServer", _Conn, Seen], bool]


def _black_hole(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """Read the request, then never answer (until the server stops)."""
    server.stopping.wait()
    return False


def _stall_body(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """Send the head and part of the body, then stall (until the server stops)."""
    conn.respond("200 OK", PARTIAL_BODY, [("Content-Type", "text/plain")], length=10_000)
    server.stopping.wait()
    return False


def _truncated(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """Promise 10 000 bytes, send a few, close the connection cleanly (FIN)."""
    conn.respond("200 OK", PARTIAL_BODY, [("Content-Type", "text/plain")], length=10_000)
    conn.sock.shutdown(socket.SHUT_WR)
    return False


def _close_without_answer(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """Read the request and close the connection without a byte of response."""
    return False


def _garbage(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """Answer with something that is not an HTTP status line, then close."""
    conn.send(GARBAGE)
    conn.sock.shutdown(socket.SHUT_WR)
    return False


def _reset(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """Send the head and part of the body, then reset the connection (RST, not FIN)."""
    conn.respond("200 OK", PARTIAL_BODY, [("Content-Type", "text/plain")], length=10_000_000)
    # Let the client read what was sent, so the reset hits it while it waits for the rest.
    time.sleep(0.2)
    _reset_now(conn.sock)
    return False


def _never_read(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """Read the request head, then neither read the body nor answer (until the server stops):
    a client sending a large body fills the socket buffers and blocks."""
    server.stopping.wait()
    return False


def _reset_while_sending(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """Read the request head, then reset the connection while the client sends the body."""
    time.sleep(0.1)
    _reset_now(conn.sock)
    return False


def _redirect_loop(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """302 to itself, forever."""
    conn.respond("302 Found", headers=[("Location", seen.target)])
    return True


def _bad_gzip(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    headers = [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")]
    conn.respond("200 OK", NOT_GZIP, headers)
    return True


def _bad_cbor(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    conn.respond("200 OK", NOT_CBOR, [("Content-Type", "application/cbor")])
    return True


def _not_json(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    conn.respond("200 OK", NOT_JSON, [("Content-Type", "application/json")])
    return True


def _status(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """``/status/<code>``: that status, with a short text body."""
    code = int(seen.path.rsplit("/", 1)[1])
    conn.respond(f"{code} Whatever", f"status {code}".encode(), [("Content-Type", "text/plain")])
    return True


def _ok(server: HostileServer, conn: _Conn, seen: Seen) -> bool:
    """``/ok``: 200 with a small text body (several lines, for the streaming tests)."""
    conn.respond("200 OK", b"line one\nline two\nline three\n", [("Content-Type", "text/plain")])
    return True


#: Routes that act before the request body is read.
BODY_UNREAD = frozenset({"/never-read", "/reset-while-sending"})

#: Path (exact, or prefix when it ends with "/") -> behaviour.
ROUTES: dict[str, Route] = {
    "/black-hole": _black_hole,
    "/stall-body": _stall_body,
    "/truncated": _truncated,
    "/close-without-answer": _close_without_answer,
    "/garbage": _garbage,
    "/reset": _reset,
    "/never-read": _never_read,
    "/reset-while-sending": _reset_while_sending,
    "/redirect-loop": _redirect_loop,
    "/bad-gzip": _bad_gzip,
    "/bad-cbor": _bad_cbor,
    "/not-json": _not_json,
    "/status/": _status,
    "/ok": _ok,
}


def _reset_now(sock: socket.socket) -> None:
    """Close ``sock`` with an RST: SO_LINGER on with a zero timeout."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class HostileServer(servers.Closes):
    """A raw HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose (see :data:`ROUTES`)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._open: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept_loop, name="hostile-server", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def seen(self, path: str | None = None) -> list[Seen]:
        """Request heads received so far (for ``path`` only, when given)."""
        with self._lock:
            return [s for s in self._seen if path is None or s.path == path]

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._open.add(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _route(self, path: str) -> Route | None:
        if path in ROUTES:
            return ROUTES[path]
        for prefix, route in ROUTES.items():
            if prefix.endswith("/") and path.startswith(prefix):
                return route
        return None

    def _serve(self, sock: socket.socket) -> None:
        conn = _Conn(sock)
        try:
            sock.settimeout(10)
            while not self.stopping.is_set():
                seen = conn.read_request(BODY_UNREAD)
                if seen is None:
                    break
                with self._lock:
                    self._seen.append(seen)
                if seen.method == "CONNECT":
                    # Used as a proxy: refuse every tunnel.
                    conn.respond("403 Forbidden", b"no tunnels here", [("Connection", "close")])
                    break
                route = self._route(seen.path)
                if route is None:
                    conn.respond("404 Not Found", b"no such route")
                    continue
                if not route(self, conn, seen):
                    break
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            with contextlib.suppress(OSError):
                sock.close()



def _connect_completes(port: int, wait: float) -> tuple[bool, socket.socket]:
    """Start a non-blocking connect to ``port``; whether it completed within ``wait``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    code = sock.connect_ex(("127.0.0.1", port))
    if code == 0:
        return True, sock
    assert code in (errno.EINPROGRESS, errno.EAGAIN), errno.errorcode.get(code, str(code))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            return True, sock
        try:
            sock.getpeername()
            return True, sock
        except OSError:
            time.sleep(0.01)
    return False, sock


@contextlib.contextmanager
def full_backlog(max_fill: int = 64) -> Iterator[int]:
    """A port on 127.0.0.1 with a listener that never accepts and whose accept queue is full.

    Linux drops a SYN for a listener with a full accept queue (no RST, no SYN-ACK), so a new
    connection attempt just waits: a deterministic connect timeout without a firewall. The
    queue is filled with connections until one no longer completes; that one is the proof.
    Raises RuntimeError when the platform answers the SYN anyway (then no connect timeout can
    be produced this way).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(max_fill):
            done, sock = _connect_completes(port, wait=0.3)
            fillers.append(sock)
            if not done:
                break
        else:
            raise RuntimeError(f"the accept queue of 127.0.0.1:{port} never filled up")
        yield port
    finally:
        for sock in fillers:
            with contextlib.suppress(OSError):
                sock.close()
        listener.close()
