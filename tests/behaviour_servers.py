"""A scriptable HTTP/1.1 test server for tests/test_client_behaviour.py.

:class:`BehaviourServer` binds to any loopback address (127.0.0.1 and 127.0.0.2 are two
different hosts as far as cookies and credentials are concerned), records every request it
receives (method, raw request target, headers in order, body) before answering, and counts the
TCP connections it accepted.

Built-in endpoints (any method, any suffix after the prefix):

* ``/echo...``                 200, JSON describing the request (method, path, query, headers).
* ``/cookie...?set=V``         200 echo, with one ``Set-Cookie: V`` per ``set`` parameter.
* ``/redirect...?to=URL``      a redirect to ``URL``; ``status`` (default 302) picks the code,
  each ``set`` parameter adds a ``Set-Cookie`` header.
* ``/chain/N/TAG``             302 to ``/chain/N-1/TAG`` while N > 0, then the echo.
* ``/cbor-echo...``            decodes the request body with cbor2 and answers with the decoded
  value encoded again by cbor2 (``Content-Type: application/cbor``); 400 if it is not CBOR.
* ``/delay...?seconds=S``      waits S seconds before sending anything, then 200 ``done``.
* ``/stall...?sent=N&total=M&seconds=S``  headers announcing M bytes, the first N bytes of the
  body, then silence for S seconds, then the connection is closed.

Anything else is looked up among the canned responses registered with :meth:`BehaviourServer.add`
(status, headers and body chosen by the test), or answered with 404.

A request sent through this server as an HTTP proxy (absolute-form target
``GET http://host/path``) is answered by the server itself; :attr:`Seen.proxied` tells them apart.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import cbor2

from servers import Addressed, BaseHandler


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    target: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def proxied(self) -> bool:
        """Whether the request line carried an absolute URL (the client used us as a proxy)."""
        return self.target.startswith(("http://", "https://"))

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        values = self.header_list(name)
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def params(self) -> list[tuple[str, str]]:
        """The query string as (name, value) pairs, in order, blank values kept."""
        return urllib.parse.parse_qsl(self.query, keep_blank_values=True)

    def cookies(self) -> dict[str, str]:
        """The cookies of the (single) Cookie header, as a dict."""
        header = self.header("cookie")
        if header is None:
            return {}
        pairs = (item.strip().split("=", 1) for item in header.split(";") if item.strip())
        return {name: value for name, value in pairs}


@dataclass(frozen=True)
class Canned:
    """A response registered by a test."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.log: list[Seen] = []
        self.canned: dict[str, Canned] = {}
        self.connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.connections += 1
        super().process_request(request, client_address)


class _Handler(BaseHandler):
    server: _Server

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        super()._send(status, headers, body)
        self.wfile.flush()

    def _dispatch(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        seen = Seen(
            method=self.command,
            target=self.path,
            path=parts.path,
            query=parts.query,
            headers=list(self.headers.items()),
            body=body,
        )
        with self.server.lock:
            self.server.log.append(seen)
        try:
            self._route(seen)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _echo(self, seen: Seen, extra: list[tuple[str, str]] | None = None) -> None:
        payload = {
            "method": seen.method,
            "path": seen.path,
            "query": seen.query,
            "headers": [[k, v] for k, v in seen.headers],
            "proxied": seen.proxied,
        }
        headers = [("Content-Type", "application/json")] + (extra or [])
        self._send(200, headers, json.dumps(payload).encode())

    # -- endpoints --------------------------------------------------------------------------

    def _route(self, seen: Seen) -> None:
        path = seen.path
        query = urllib.parse.parse_qs(seen.query, keep_blank_values=True)
        set_cookies = [("Set-Cookie", value) for value in query.get("set", [])]
        if path.startswith("/echo"):
            self._echo(seen)
        elif path.startswith("/cookie"):
            self._echo(seen, set_cookies)
        elif path.startswith("/redirect"):
            status = int(query.get("status", ["302"])[0])
            self._send(status, [("Location", query["to"][0]), *set_cookies], b"")
        elif path.startswith("/chain/"):
            _, _, count, tag = path.split("/", 3)
            if int(count) > 0:
                self._send(302, [("Location", f"/chain/{int(count) - 1}/{tag}")], b"")
            else:
                self._echo(seen)
        elif path.startswith("/cbor-echo"):
            try:
                decoded = cbor2.loads(seen.body)
            except (cbor2.CBORDecodeError, ValueError) as exc:
                self._send(400, [("Content-Type", "text/plain")], str(exc).encode())
            else:
                self._send(200, [("Content-Type", "application/cbor")], cbor2.dumps(decoded))
        elif path.startswith("/delay"):
            self.server.stopping.wait(float(query["seconds"][0]))
            self._send(200, [("Content-Type", "text/plain")], b"done")
        elif path.startswith("/stall"):
            sent, total = int(query["sent"][0]), int(query["total"][0])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            self.wfile.write(b"x" * sent)
            self.wfile.flush()
            self.server.stopping.wait(float(query["seconds"][0]))
            self.close_connection = True
        else:
            with self.server.lock:
                canned = self.server.canned.get(path)
            if canned is None:
                self._send(404, [("Content-Type", "text/plain")], b"not found")
            else:
                self._send(canned.status, canned.headers, canned.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class BehaviourServer(Addressed):
    """Runs the server on ``host`` in a background thread; use as a context manager."""

    _server: _Server

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = _Server(host)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # quick shutdown
            name=f"behaviour-server-{host}",
            daemon=True,
        )

    @property
    def connections(self) -> int:
        """How many TCP connections the server has accepted so far."""
        with self._server.lock:
            return self._server.connections

    def add(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
    ) -> str:
        """Serve a canned response at ``path``; returns its URL."""
        with self._server.lock:
            self._server.canned[path] = Canned(status, list(headers or []), body)
        return self.url(path)

    def seen(self, path: str) -> list[Seen]:
        """The requests received so far for exactly ``path`` (query aside), in arrival order."""
        with self._server.lock:
            return [s for s in self._server.log if s.path == path]

    def seen_under(self, prefix: str) -> list[Seen]:
        """The requests received so far whose path starts with ``prefix``, in arrival order."""
        with self._server.lock:
            return [s for s in self._server.log if s.path.startswith(prefix)]

    def __enter__(self) -> BehaviourServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

