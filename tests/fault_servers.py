"""A fault-injecting HTTP/1.1 server and proxy on 127.0.0.1, and probes of this process's sockets.

* :class:`FaultServer` is a raw-socket server (one thread per connection, plain or TLS) that
  records every request it receives: which connection it came on and in which place, its
  method, path, the ``rid`` query parameter a test gives each request, and its body (and
  whether all of it arrived). The faults are chosen by path (:data:`ROUTES`): reset after the
  head, reset or close in the middle of a body (Content-Length or chunked), close right after
  a complete answer (the stale-connection race), take the next request on a connection and
  close without answering, accept and never answer, drip a byte a second, bytes after the
  body, a TLS close without close_notify.
* :class:`TunnelDropper` is a CONNECT proxy that opens the tunnel and then drops it, either at
  once (during the TLS handshake) or once the origin has received the request.
* :func:`client_sockets` counts this process's sockets connected to a port (the client's side
  only: the server's accepted sockets have that port as their local one), so a test sees a
  leaked or a pooled connection; :func:`open_fds` counts every open descriptor.

Everything listens on 127.0.0.1 on a port the OS picks; nothing reaches the internet.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import servers
from hostile_servers import _reset_now

#: The body the faulty routes promise (and partly send), and what /ok bodies start with.
BODY = b"0123456789abcdef" * 64
#: How much of :data:`BODY` the mid-body faults send before failing.
PART = 100


@dataclass(frozen=True)
class Received:
    """One request as the server received it."""

    conn: int
    """The connection's number (1 for the first the server accepted)."""
    index: int
    """The request's place on its connection (1 for the first)."""
    method: str
    path: str
    rid: str | None
    """The ``rid`` query parameter: the test's id for this request."""
    body: bytes
    complete: bool
    """Whether the whole body the request announced arrived."""


class _Conn:
    """One accepted connection: buffered reads of requests, raw writes."""

    def __init__(self, sock: socket.socket, number: int) -> None:
        self.sock = sock
        self.number = number
        self.buf = b""
        self.served = 0

    def _more(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except (OSError, ssl.SSLError):
            return False
        self.buf += chunk
        return bool(chunk)

    def _line(self) -> bytes | None:
        while b"\r\n" not in self.buf:
            if not self._more():
                return None
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exactly(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if not self._more():
                return None
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_request(self) -> tuple[Received, dict[str, str]] | None:
        """The next request (body included, Content-Length or chunked) and its query
        arguments; None when the client went away before a whole head arrived."""
        while b"\r\n\r\n" not in self.buf:
            if not self._more() or len(self.buf) > 1 << 20:
                return None
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        line, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        body, complete = b"", True
        if "chunked" in headers.get("transfer-encoding", "").lower():
            pieces: list[bytes] = []
            while True:
                size_line = self._line()
                data = None if size_line is None else self._exactly(int(size_line.split(b";")[0], 16) + 2)
                if data is None:
                    complete = False
                    break
                if len(data) == 2:  # the last chunk (trailers are not used here)
                    break
                pieces.append(data[:-2])
            body = b"".join(pieces)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            got = self._exactly(length)
            body, complete = (got, True) if got is not None else (self.buf, False)
        self.served += 1
        parts = urllib.parse.urlsplit(target)
        args = dict(urllib.parse.parse_qsl(parts.query))
        seen = Received(self.number, self.served, method, parts.path, args.get("rid"), body, complete)
        return seen, args

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def head(self, length: int | None = None, chunked: bool = False, extra: str = "") -> None:
        framing = "Transfer-Encoding: chunked\r\n" if chunked else "" if length is None else f"Content-Length: {length}\r\n"
        self.send(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{framing}{extra}\r\n".encode())

    def answer(self, body: bytes) -> None:
        self.head(len(body))
        self.send(body)

    def reset(self) -> None:
        """Close with an RST, after a pause that lets the client read what was sent (a reset
        discards what the client's kernel has not handed over yet)."""
        time.sleep(0.1)
        _reset_now(self.sock)


def ok_body(seen: Received) -> bytes:
    """What ``/ok`` answers: the method, the rid and the length of the body it received."""
    return f"{seen.method} {seen.rid} {len(seen.body)}".encode()


#: A route returns True to keep the connection open for the next request.
Route = Callable[["FaultServer", _Conn, Received, dict[str, str]], bool]


def _ok(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    conn.answer(ok_body(seen))
    return True


def _reset_after_head(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """The head (promising :data:`BODY`), then an RST before any of the body."""
    conn.head(len(BODY))
    conn.reset()
    return False


def _partial(conn: _Conn, args: dict[str, str]) -> None:
    """The head and :data:`PART` bytes of :data:`BODY`, framed as ``framing`` says."""
    if args.get("framing") == "chunked":
        conn.head(chunked=True)
        conn.send(f"{len(BODY):x}\r\n".encode() + BODY[:PART])
    else:
        conn.head(len(BODY))
        conn.send(BODY[:PART])


def _reset_mid_body(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    _partial(conn, args)
    conn.reset()
    return False


def _close_mid_body(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """Part of the body, then a clean close (FIN)."""
    _partial(conn, args)
    conn.sock.shutdown(socket.SHUT_WR)
    return False


def _close_after_answer(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """A complete keep-alive answer (no ``Connection: close``), then the connection closes at
    once: the client's next request on it races the close."""
    conn.answer(ok_body(seen))
    return False


def _drop_next(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """Answer; then read the next request on this connection (it is recorded: it reached the
    server) and close without a byte of answer."""
    conn.answer(ok_body(seen))
    conn.read_request()
    return False


def _black_hole(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """Never answer; close once the client has gone (or the server stops)."""
    conn.sock.settimeout(0.05)
    while not server.stopping.is_set():
        try:
            if not conn.sock.recv(65536):
                break
        except TimeoutError:
            continue
        except OSError:
            break
    return False


def _drip(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """``n`` bytes (Content-Length), one each ``gap`` seconds (default: one a second)."""
    n, gap = int(args.get("n", "5")), float(args.get("gap", "1"))
    conn.head(n)
    for i in range(n):
        if server.stopping.wait(gap):
            return False
        conn.send(BODY[i : i + 1])
    return True


def _bytes_after_body(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """A complete answer followed by bytes that belong to no response. The connection stays
    open: a client that reused it would read them as its next answer."""
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSTRAY BYTES, NOT A RESPONSE\r\n\r\n")
    return True


def _until_close(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """A body with no length, ended by closing the connection; ``notify=1`` sends TLS
    close_notify first (a clean end), otherwise the TCP connection just closes (a truncation
    the client cannot tell from the end)."""
    conn.head(None, extra="Connection: close\r\n")
    conn.send(BODY)
    if isinstance(conn.sock, ssl.SSLSocket) and args.get("notify") == "1":
        with contextlib.suppress(OSError, ssl.SSLError):
            conn.sock.unwrap()
    return False


def _slow_answer(server: FaultServer, conn: _Conn, seen: Received, args: dict[str, str]) -> bool:
    """Answer after ``ms`` milliseconds (the tunnel dropper closes the tunnel meanwhile)."""
    if server.stopping.wait(float(args.get("ms", "500")) / 1000):
        return False
    conn.answer(ok_body(seen))
    return True


ROUTES: dict[str, Route] = {
    "/ok": _ok,
    "/reset-after-head": _reset_after_head,
    "/reset-mid-body": _reset_mid_body,
    "/close-mid-body": _close_mid_body,
    "/close-after-answer": _close_after_answer,
    "/drop-next": _drop_next,
    "/black-hole": _black_hole,
    "/drip": _drip,
    "/bytes-after-body": _bytes_after_body,
    "/until-close": _until_close,
    "/slow-answer": _slow_answer,
}


class FaultServer(servers.Closes):
    """A raw HTTP/1.1 server on 127.0.0.1 (TLS with ``ssl_context``) that fails on purpose
    (see :data:`ROUTES`) and records what it received (:meth:`received`)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._log: list[Received] = []
        self._accepted = 0
        self._open: set[socket.socket] = set()
        self._closed: set[int] = set()
        self._thread = threading.Thread(target=self._accept_loop, name="fault-server", daemon=True)
        self._thread.start()

    def url(self, path: str, rid: str | None = None) -> str:
        scheme = "https" if self._ssl is not None else "http"
        query = "" if rid is None else ("&" if "?" in path else "?") + f"rid={rid}"
        return f"{scheme}://127.0.0.1:{self.port}{path}{query}"

    def received(self, rid: str | None = None) -> list[Received]:
        """Requests received so far (only those with this ``rid``, when given)."""
        with self._lock:
            return [r for r in self._log if rid is None or r.rid == rid]

    @property
    def open_connections(self) -> int:
        """Accepted connections not closed yet (their sockets are this process's too)."""
        with self._lock:
            return len(self._open)

    def closed(self, conn: int) -> bool:
        """Whether the server has closed its connection number ``conn``."""
        with self._lock:
            return conn in self._closed

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return self._accepted

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._accepted += 1
                number = self._accepted
                self._open.add(sock)
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, raw: socket.socket, number: int) -> None:
        sock: socket.socket = raw
        try:
            sock.settimeout(10)
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(raw, server_side=True)
            conn = _LoggingConn(sock, number, self)
            while not self.stopping.is_set():
                got = conn.read_request()
                if got is None:
                    break
                seen, args = got
                route = ROUTES.get(seen.path)
                if route is None:
                    conn.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                if not route(self, conn, seen, args):
                    break
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            with self._lock:
                self._open.discard(raw)
                self._closed.add(number)

    def close(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            with contextlib.suppress(OSError):
                sock.close()


class _LoggingConn(_Conn):
    """A connection that logs each request it reads into its server's log."""

    def __init__(self, sock: socket.socket, number: int, server: FaultServer) -> None:
        super().__init__(sock, number)
        self._server = server

    def read_request(self) -> tuple[Received, dict[str, str]] | None:
        got = super().read_request()
        if got is not None:
            with self._server._lock:
                self._server._log.append(got[0])
        return got


class TunnelDropper(servers.Closes):
    """A CONNECT proxy on 127.0.0.1 (to ``origin`` whatever the target) that opens each tunnel
    and then drops it: at once, after ``200 Connection established`` (``when="handshake"``: the
    TLS handshake inside breaks), or once ``origin`` has received one more request than before
    the tunnel opened (``when="request"``: the request went through, its answer never comes
    back). ``when="never"``: an ordinary tunnel. ``when`` may be changed between requests."""

    def __init__(self, origin: FaultServer, when: str) -> None:
        self.origin, self.when = origin, when
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.tunnels = 0
        """Tunnels opened so far."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="tunnel-dropper", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            client.settimeout(10)
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = client.recv(4096)
                if not chunk:
                    return
                buf += chunk
            with self._lock:
                self.tunnels += 1
            before = len(self.origin.received())
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if self.when == "handshake":
                return
            drop = self.when == "request"
            with socket.create_connection(("127.0.0.1", self.origin.port), timeout=10) as upstream:
                pumps = [threading.Thread(target=_pump, args=(a, b), daemon=True) for a, b in ((client, upstream), (upstream, client))]
                for pump in pumps:
                    pump.start()
                deadline = time.monotonic() + 10
                while (not drop or len(self.origin.received()) == before) and time.monotonic() < deadline:
                    if not pumps[0].is_alive():  # the client is done with the tunnel
                        break
                    time.sleep(0.005)
                # A shutdown (a close alone would wait for the pumps' blocked reads) ends both.
                for sock in (client, upstream):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                for pump in pumps:
                    pump.join(5)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)


# -- probes of this process's sockets ------------------------------------------------------------


def _tcp_remote_ports() -> dict[str, int]:
    """Socket inode -> remote port, for every TCP socket of the network namespace."""
    ports: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table, encoding="ascii") as f:
            next(f)
            for line in f:
                fields = line.split()
                ports[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    return ports


def client_sockets(port: int) -> int:
    """This process's open sockets connected to ``port`` on the other end: a client's
    connections to the server on ``port`` (pooled, in use, or leaked)."""
    remote = _tcp_remote_ports()
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:[") and remote.get(target[8:-1]) == port:
            count += 1
    return count


def open_fds() -> int:
    """Every open file descriptor of this process."""
    return len(os.listdir("/proc/self/fd"))
