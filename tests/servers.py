"""A small threaded HTTP server on 127.0.0.1 for what httpbin cannot do.

Endpoints (any method):

* ``/echo[/anything]``  200, JSON describing what was received: method, path, query,
  headers (a list of ``[name, value]`` pairs, in order, repeats kept) and body (base64).
* ``/zstd``             a JSON body compressed with zstd (``Content-Encoding: zstd``).
* ``/zstd-cut``         ``/zstd``'s body with its last 8 bytes missing (Content-Length says so).
* ``/deflate-raw``      the same JSON as a bare deflate stream (no zlib wrapper) labelled
  ``Content-Encoding: deflate``, as some servers send it.
* ``/deflate-gzip``     the same JSON deflated (zlib), then gzipped: ``Content-Encoding:
  deflate, gzip``. ``/gzip-compress`` labels a gzipped body ``gzip, compress`` (a coding
  nobody decodes).
* ``/multi``            two ``X-Multi`` headers and two ``Set-Cookie`` headers.
* ``/not-json``         ``Content-Type: application/json`` with a body that is not JSON.
* ``/charset/<name>``   ``text/plain; charset=<name>`` with :data:`CHARSET_TEXT` encoded in it.
* ``/slow?seconds=N``   waits N seconds before sending anything back.

Every request is recorded (see :meth:`LocalServer.received`) before it is answered, so a test
can tell whether a request reached the server at all.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import gzip
import http.server
import json
import threading
import urllib.parse
import zlib
from dataclasses import dataclass
from typing import Any, Self

import zstandard

#: Text served by ``/charset/<name>``; every character exists in latin-1.
CHARSET_TEXT = "café, naïve, Ærø, déjà vu"

#: JSON document served (compressed) by ``/zstd``.
ZSTD_PAYLOAD: dict[str, Any] = {"compressed": "zstd", "numbers": list(range(50))}

#: Body served by ``/not-json``.
NOT_JSON_BODY = b"<html>this is not json</html>"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def multipart(self) -> list[tuple[str, str | None, bytes]]:
        """The parts of a multipart/form-data body as ``(field name, file name, content)``."""
        ctype = self.header("content-type") or ""
        assert ctype.startswith("multipart/form-data"), f"not multipart: {ctype!r}"
        raw = b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self.body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        parts = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(name, str) and isinstance(payload, bytes)
            parts.append((name, part.get_filename(), payload))
        return parts


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.log: list[RecordedRequest] = []


class Closes:
    """A test server used as a context manager: leaving the block calls ``close()``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Addressed:
    """A test server's address and URLs, from the ``socketserver`` server it wraps."""

    #: Set by the subclass: the ``socketserver`` server (its own subclass, so typed loosely here).
    _server: Any

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path


class BaseHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive plumbing shared by the test servers: quiet, no Nagle delay, request
    bodies read whether chunked or sized, responses always sized."""

    protocol_version = "HTTP/1.1"
    # Without this, small responses wait ~40 ms for Nagle + delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Handler(BaseHandler):
    server: _Server

    def _dispatch(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        record = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers=[(k, v) for k, v in self.headers.items()],
            body=body,
        )
        with self.server.lock:
            self.server.log.append(record)
        try:
            self._route(record)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- endpoints --------------------------------------------------------------------------

    def _route(self, req: RecordedRequest) -> None:
        path = req.path
        if path == "/echo" or path.startswith("/echo/"):
            payload = {
                "method": req.method,
                "path": req.path,
                "query": req.query,
                "headers": [[k, v] for k, v in req.headers],
                "body": base64.b64encode(req.body).decode("ascii"),
            }
            self._send(200, [("Content-Type", "application/json")], json.dumps(payload).encode())
        elif path == "/zstd":
            raw = json.dumps(ZSTD_PAYLOAD).encode()
            compressed = zstandard.ZstdCompressor().compress(raw)
            headers = [("Content-Type", "application/json"), ("Content-Encoding", "zstd")]
            self._send(200, headers, compressed)
        elif path == "/zstd-cut":
            raw = json.dumps(ZSTD_PAYLOAD).encode()
            compressed = zstandard.ZstdCompressor().compress(raw)[:-8]
            headers = [("Content-Type", "application/json"), ("Content-Encoding", "zstd")]
            self._send(200, headers, compressed)
        elif path == "/deflate-raw":
            compressor = zlib.compressobj(wbits=-15)
            body = compressor.compress(json.dumps(ZSTD_PAYLOAD).encode()) + compressor.flush()
            headers = [("Content-Type", "application/json"), ("Content-Encoding", "deflate")]
            self._send(200, headers, body)
        elif path in ("/deflate-gzip", "/gzip-compress"):
            body = json.dumps(ZSTD_PAYLOAD).encode()
            coding = "gzip, compress"
            if path == "/deflate-gzip":
                body, coding = zlib.compress(body), "deflate, gzip"
            body = gzip.compress(body)
            self._send(200, [("Content-Type", "application/json"), ("Content-Encoding", coding)], body)
        elif path == "/multi":
            headers = [
                ("Content-Type", "text/plain"),
                ("X-Multi", "first"),
                ("X-Multi", "second"),
                ("Set-Cookie", "alpha=1; Path=/"),
                ("Set-Cookie", "beta=2; Path=/"),
            ]
            self._send(200, headers, b"multi")
        elif path == "/not-json":
            self._send(200, [("Content-Type", "application/json")], NOT_JSON_BODY)
        elif path.startswith("/charset/"):
            charset = path[len("/charset/") :]
            ctype = f"text/plain; charset={charset}"
            self._send(200, [("Content-Type", ctype)], CHARSET_TEXT.encode(charset))
        elif path == "/slow":
            seconds = float(urllib.parse.parse_qs(req.query).get("seconds", ["5"])[0])
            self.server.stopping.wait(seconds)
            self._send(200, [("Content-Type", "text/plain")], b"finally")
        else:
            self._send(404, [("Content-Type", "text/plain")], b"not found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


class LocalServer:
    """Runs :class:`_Server` in a background thread; use as a context manager."""

    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="httpr-tests-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def received(self, path: str) -> list[RecordedRequest]:
        """Every request recorded so far for exactly ``path`` (without the query)."""
        with self._server.lock:
            return [r for r in self._server.log if r.path == path]

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
