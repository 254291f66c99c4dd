"""A scriptable HTTP/1.1 server for the retry, pool, timeout, proxy, hook and base_url tests.

:class:`ProdServer` binds to one loopback address (127.0.0.1 or 127.0.0.2, so two instances on
the two addresses are two hosts), records every request before answering it, and keeps
server-side facts a client cannot fake:

* connections: how many were accepted, how many are open now, and the most that were ever open
  at the same time (counted from accept to the server closing the socket); and
  :meth:`ProdServer.live_overlap`, the most that were *provably* open at once (from accept to
  the last request each carried), which does not depend on when the server notices a close;
* requests in flight: how many were being handled at once, and the most ever (a request stops
  counting just before its response is written, since the client may send the next one as
  soon as it has it);
* attempts per key (``/flaky/<key>``) with the monotonic time each one arrived.

Endpoints (any method):

* ``/echo...``                 200, JSON: method, path, query, headers (pairs), body length.
* ``/flaky/<key>?fail=N[&status=S][&retry_after=V][&retry_after_in=SECS][&close=1]``
  the first N attempts for ``key`` fail (status S, default 503, with ``Retry-After: V`` or with
  ``Retry-After`` an HTTP date SECS seconds ahead; with ``close=1`` the connection is closed
  without an answer instead), later ones get 200 ``ok after <attempt>``.
* ``/slow?ms=M``               waits M milliseconds, then 200 ``slow``.
* ``/trickle?n=N&gap=G``       200 with ``Content-Length: N``, then one byte (``x``) every G
  seconds; ``n=0`` announces a huge body and trickles until the client goes away.
* ``/sink?hold=S``             never reads the request body; waits S seconds, then closes.
* ``/redirect?to=URL``         302 to URL.
* ``/status/<code>``           that status, body ``status <code>``.
"""

from __future__ import annotations

import email.utils
import http.server
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from servers import Addressed, BaseHandler, Closes


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    client_port: int
    at: float

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def arg(self, name: str) -> str | None:
        values = urllib.parse.parse_qs(self.query).get(name)
        return values[0] if values else None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.log: list[Seen] = []
        self.accepted = 0
        self.open_now = 0
        self.max_open = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.attempts: dict[str, list[float]] = {}
        #: client port -> [accepted at, closed at (or None)], in time.monotonic()
        self.conns: dict[int, list[float | None]] = {}

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.conns[int(client_address[1])] = [time.monotonic(), None]
            self.accepted += 1
            self.open_now += 1
            self.max_open = max(self.max_open, self.open_now)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            port: int | None = int(request.getpeername()[1])
        except OSError:
            port = None
        try:
            super().shutdown_request(request)
        finally:
            with self.lock:
                self.open_now -= 1
                if port in self.conns:
                    self.conns[port][1] = time.monotonic()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-response is what several tests do on purpose


class _Handler(BaseHandler):
    server: _Server
    _counted = False
    # An idle keep-alive connection is closed by the server after this long.
    timeout = 15

    def _dispatch(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        seen = Seen(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers=list(self.headers.items()),
            client_port=int(self.client_address[1]),
            at=time.monotonic(),
        )
        with self.server.lock:
            self.server.log.append(seen)
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        self._counted = True
        try:
            self._route(seen)
        except OSError:
            self.close_connection = True
        finally:
            self._done()

    def _done(self) -> None:
        """The request stops counting as in flight. Called just BEFORE the response goes out:
        once the client has the response it may send the next request at once, possibly before
        this thread runs again."""
        if self._counted:
            self._counted = False
            with self.server.lock:
                self.server.in_flight -= 1

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self._done()
        super()._send(status, headers, body)

    def _arg(self, seen: Seen, name: str, default: str) -> str:
        value = seen.arg(name)
        return default if value is None else value

    def _route(self, seen: Seen) -> None:
        path = seen.path
        if path == "/sink":
            # Never read the body: the client's send buffer fills up and stays full.
            self.server.stopping.wait(float(self._arg(seen, "hold", "3")))
            self.close_connection = True
            return
        body = self._read_body()
        if path.startswith("/echo"):
            payload = {
                "method": seen.method,
                "path": seen.path,
                "query": seen.query,
                "headers": [[k, v] for k, v in seen.headers],
                "body_length": len(body),
            }
            self._send(200, [("Content-Type", "application/json")], json.dumps(payload).encode())
        elif path.startswith("/flaky/"):
            self._flaky(seen, path[len("/flaky/") :])
        elif path == "/slow":
            self.server.stopping.wait(int(self._arg(seen, "ms", "500")) / 1000)
            self._send(200, [("Content-Type", "text/plain")], b"slow")
        elif path == "/trickle":
            self._trickle(int(self._arg(seen, "n", "0")), float(self._arg(seen, "gap", "0.3")))
        elif path == "/redirect":
            self._send(302, [("Location", self._arg(seen, "to", "/echo"))], b"")
        elif path.startswith("/status/"):
            code = int(path[len("/status/") :])
            self._send(code, [("Content-Type", "text/plain")], f"status {code}".encode())
        else:
            self._send(404, [("Content-Type", "text/plain")], b"not found")

    def _flaky(self, seen: Seen, key: str) -> None:
        with self.server.lock:
            times = self.server.attempts.setdefault(key, [])
            times.append(seen.at)
            attempt = len(times)
        if attempt > int(self._arg(seen, "fail", "0")):
            self._send(200, [("Content-Type", "text/plain")], f"ok after {attempt}".encode())
            return
        if seen.arg("close") == "1":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        headers = [("Content-Type", "text/plain")]
        if seen.arg("retry_after") is not None:
            headers.append(("Retry-After", self._arg(seen, "retry_after", "")))
        if seen.arg("retry_after_in") is not None:
            when = time.time() + float(self._arg(seen, "retry_after_in", "0"))
            headers.append(("Retry-After", email.utils.formatdate(when, usegmt=True)))
        status = int(self._arg(seen, "status", "503"))
        self._send(status, headers, f"fail {attempt}".encode())

    def _trickle(self, n: int, gap: float) -> None:
        forever = n == 0
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(10**12 if forever else n))
        self.end_headers()
        self.wfile.flush()
        sent = 0
        while forever or sent < n:
            if self.server.stopping.wait(gap):
                break
            self.wfile.write(b"x")
            self.wfile.flush()
            sent += 1
        if forever:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class ProdServer(Closes, Addressed):
    """:class:`_Server` on ``host`` (and ``port``, by default one the OS picks) in a background
    thread; a context manager."""

    _server: _Server

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server(host, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"httpr-tests-prod-{host}",
            daemon=True,
        )
        self._thread.start()

    def seen(self, prefix: str = "/") -> list[Seen]:
        """Every request received so far whose path starts with ``prefix``."""
        with self._server.lock:
            return [s for s in self._server.log if s.path.startswith(prefix)]

    def attempts(self, key: str) -> list[float]:
        """Arrival times (time.monotonic) of the attempts at ``/flaky/<key>``."""
        with self._server.lock:
            return list(self._server.attempts.get(key, []))

    def live_overlap(self) -> int:
        """The most connections PROVABLY open at the same time: a connection counts from its
        accept until the last request it carried arrived (the client sent that request over it,
        so it was open all along). Unlike :attr:`max_open` this does not depend on when the
        server noticed a close."""
        with self._server.lock:
            last: dict[int, float] = {}
            for s in self._server.log:
                last[s.client_port] = max(last.get(s.client_port, 0.0), s.at)
            intervals = [
                (opened, last[port])
                for port, (opened, _) in self._server.conns.items()
                if port in last and opened is not None
            ]
        # at equal times a close counts before an open: never overstate the overlap
        events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
        best = current = 0
        for _, step in events:
            current += step
            best = max(best, current)
        return best

    def connection_log(self) -> dict[int, list[float]]:
        """Client port -> arrival times of the requests that connection carried."""
        with self._server.lock:
            out: dict[int, list[float]] = {}
            for s in self._server.log:
                out.setdefault(s.client_port, []).append(s.at)
            return out

    @property
    def accepted(self) -> int:
        with self._server.lock:
            return self._server.accepted

    @property
    def open_now(self) -> int:
        with self._server.lock:
            return self._server.open_now

    @property
    def max_open(self) -> int:
        """The most connections that were open at the same time."""
        with self._server.lock:
            return self._server.max_open

    @property
    def in_flight(self) -> int:
        with self._server.lock:
            return self._server.in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests the server was handling at the same time."""
        with self._server.lock:
            return self._server.max_in_flight

    def close(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return bool(condition())
        time.sleep(0.01)
    return True
