"""Helpers for the streaming and AsyncClient tests.

* :class:`StreamServer`: a fast HTTP/1.1 server on 127.0.0.1 built on asyncio streams, running
  its own event loop in a daemon thread. Keep-alive; every response has a Content-Length or is
  sent with chunked transfer encoding, and each piece is flushed (``drain``) as it is written, so
  a test controls where the chunk boundaries fall.
* :class:`Twin`: one httpr client, sync (``Client``) or async (``AsyncClient``), behind an async
  interface, so that a scenario written once as a coroutine runs through either client.
* Process probes read from /proc: :func:`rss_bytes`, :func:`thread_count`, :func:`thread_names`,
  :func:`socket_count`.

Endpoints of :class:`StreamServer` (any method; query parameters in brackets):

* ``/tiny``                    200, ``ok`` (Content-Length), as cheaply as possible.
* ``/echo``                    200, JSON describing the request: method, path, query, headers
  (list of pairs) and body (base64).
* ``/bytes[mib, tag, chunked]`` ``mib`` MiB: :data:`BLOCK` repeated, from a generator. With
  ``tag`` the progress is recorded in ``server.transfers[tag]`` (:class:`Transfer`).
* ``/pieces[p, gap_ms, gate, status, cookie, ctype]`` chunked; every ``p`` (hex, repeatable) is
  sent as one chunk and flushed, with ``gap_ms`` between pieces. With ``gate`` the headers are
  sent at once but the body waits until the test calls ``server.open_gate(gate)``. Each
  ``cookie`` (``name=value``) becomes a Set-Cookie header; ``X-Custom: yes`` is always sent.
* ``/gzip[kib]``               chunked, ``Content-Encoding: gzip`` of :func:`gzip_text`.
* ``/slow[ms]``                waits ``ms`` milliseconds, then 200 ``slow``; gives up (and
  closes) as soon as the client hangs up. ``server.slow_active`` counts the waiting ones.
* ``/truncated[send_kib, total_kib, chunked]`` announces ``total_kib`` KiB (Content-Length or
  chunked), sends the first ``send_kib`` KiB of :data:`BLOCK`, then closes the connection.
* ``/redirect[to, cookie]``    302 to ``to``, with the given Set-Cookie headers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import http
import json
import os
import random
import resource
import socket
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from typing_extensions import Unpack

import httpr

KIB = 1024
MIB = 1024 * 1024

#: The 1 MiB block /bytes repeats (random, so that nothing along the way can compress it).
BLOCK: bytes = random.Random(20240607).randbytes(MIB)

T = TypeVar("T")


def expected_sha256(mib: int) -> str:
    """The sha256 of what ``/bytes?mib=<mib>`` sends."""
    digest = hashlib.sha256()
    for _ in range(mib):
        digest.update(BLOCK)
    return digest.hexdigest()


def gzip_text(kib: int) -> bytes:
    """The (uncompressed) body of ``/gzip?kib=<kib>``: numbered lines, ``kib`` KiB or a bit more."""
    out = bytearray()
    n = 0
    while len(out) < kib * KIB:
        out += f"line {n:08d} of the gzip-encoded stream\n".encode()
        n += 1
    return bytes(out)


def hexq(*pieces: bytes) -> str:
    """Query string fragment ``p=<hex>&p=<hex>...`` for /pieces."""
    return "&".join("p=" + piece.hex() for piece in pieces)


# -- process probes ------------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size of this process (VmRSS), in bytes."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * KIB
    raise AssertionError("no VmRSS in /proc/self/status")


def thread_count() -> int:
    """Number of OS threads of this process."""
    return len(os.listdir("/proc/self/task"))


def thread_names() -> dict[str, int]:
    """How many threads of this process carry each name (for failure messages)."""
    names: dict[str, int] = {}
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm", encoding="utf-8") as f:
                name = f.read().strip()
        except OSError:  # the thread ended meanwhile
            continue
        names[name] = names.get(name, 0) + 1
    return names


def socket_count() -> int:
    """Number of open file descriptors of this process that are sockets."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:  # closed between listdir and readlink
            pass
    return count


def raise_fd_limit(wanted: int = 16384) -> None:
    """Raise the soft limit on open files (high-concurrency tests hold two fds per request)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        time.sleep(0.01)
    return True


async def await_until(condition: Callable[[], bool], timeout: float) -> bool:
    """:func:`wait_until` for coroutines (sleeps without blocking the event loop)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        await asyncio.sleep(0.01)
    return True


# -- the server ----------------------------------------------------------------------------------

_TINY = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Transfer:
    """Progress of one /bytes response, as the server saw it."""

    sent: int = 0
    finished: bool = False  # the whole body was written
    aborted: bool = False  # the client went away first

    @property
    def done(self) -> bool:
        return self.finished or self.aborted


@dataclass
class _Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    path: str = field(init=False)
    query: str = field(init=False)
    args: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.target)
        self.path, self.query = parts.path, parts.query
        self.args = urllib.parse.parse_qs(parts.query, keep_blank_values=True)

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return ""

    def arg(self, name: str, default: str = "") -> str:
        return self.args.get(name, [default])[0]


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class StreamServer:
    """The server described in the module docstring; use as a context manager."""

    def __init__(self) -> None:
        raise_fd_limit()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="httpr-tests-stream-server", daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._gates: dict[str, asyncio.Event] = {}
        self.port = 0
        #: Connections accepted since start, and connections open now.
        self.accepted = 0
        self.open_connections = 0
        #: Requests to /slow still waiting.
        self.slow_active = 0
        self.transfers: dict[str, Transfer] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> StreamServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the stream server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=4096, limit=256 * KIB)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def open_gate(self, name: str) -> None:
        """Let a /pieces response waiting on ``gate=<name>`` send its body."""
        self._loop.call_soon_threadsafe(lambda: self._gate(name).set())

    def _gate(self, name: str) -> asyncio.Event:
        return self._gates.setdefault(name, asyncio.Event())

    # -- connections ----------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.accepted += 1
        self.open_connections += 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request = await self._read_request(head, reader)
                keep_alive = await self._route(request, reader, writer)
                if not keep_alive or request.header("connection").lower() == "close":
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, TimeoutError):
            return
        except asyncio.CancelledError:  # the server is shutting down
            return
        finally:
            self.open_connections -= 1
            self._tasks.discard(task)
            writer.close()

    @staticmethod
    async def _read_request(head: bytes, reader: asyncio.StreamReader) -> _Request:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
        request = _Request(method, target, headers)
        if "chunked" in request.header("transfer-encoding").lower():
            body = bytearray()
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += await reader.readexactly(size)
                await reader.readline()
            request.body = bytes(body)
        elif length := int(request.header("content-length") or 0):
            request.body = await reader.readexactly(length)
        return request

    async def _route(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; returns whether the connection may be kept alive."""
        if req.path == "/tiny":
            writer.write(_TINY)
            await writer.drain()
            return True
        handler = {
            "/echo": self._echo,
            "/bytes": self._bytes,
            "/pieces": self._pieces,
            "/gzip": self._gzip,
            "/slow": self._slow,
            "/truncated": self._truncated,
            "/redirect": self._redirect,
        }.get(req.path)
        if handler is None:
            writer.write(_head(404, [("Content-Length", "9")]) + b"not found")
            await writer.drain()
            return True
        return await handler(req, reader, writer)

    # -- endpoints ------------------------------------------------------------------------------

    async def _echo(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        body = json.dumps(
            {
                "method": req.method,
                "path": req.path,
                "query": req.query,
                "headers": [[k, v] for k, v in req.headers],
                "body": base64.b64encode(req.body).decode("ascii"),
            }
        ).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        writer.write(_head(200, headers) + (b"" if req.method == "HEAD" else body))
        await writer.drain()
        return True

    async def _bytes(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        mib = int(req.arg("mib", "1"))
        chunked = req.arg("chunked") == "1"
        transfer = Transfer()
        if tag := req.arg("tag"):
            self.transfers[tag] = transfer
        framing = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(mib * MIB))
        writer.write(_head(200, [("Content-Type", "application/octet-stream"), framing]))

        def blocks() -> Iterator[bytes]:
            for _ in range(mib):
                yield BLOCK

        try:
            for block in blocks():
                if chunked:
                    writer.write(b"%x\r\n" % len(block))
                    writer.write(block)
                    writer.write(b"\r\n")
                else:
                    writer.write(block)
                await writer.drain()
                transfer.sent += len(block)
            if chunked:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            transfer.aborted = True
            raise
        transfer.finished = True
        return True

    async def _pieces(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        pieces = [bytes.fromhex(p) for p in req.args.get("p", [])]
        assert all(pieces), "an empty piece would end the chunked body"
        gap = float(req.arg("gap_ms", "0")) / 1000
        headers = [
            ("Content-Type", req.arg("ctype", "text/plain; charset=utf-8")),
            ("Transfer-Encoding", "chunked"),
            ("X-Custom", "yes"),
        ]
        headers += [("Set-Cookie", cookie + "; Path=/") for cookie in req.args.get("cookie", [])]
        writer.write(_head(int(req.arg("status", "200")), headers))
        await writer.drain()
        if gate := req.arg("gate"):
            await asyncio.wait_for(self._gate(gate).wait(), 10)
        for i, piece in enumerate(pieces):
            if i and gap:
                await asyncio.sleep(gap)
            writer.write(_chunk(piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _gzip(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        compressed = gzip.compress(gzip_text(int(req.arg("kib", "64"))))
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
        ]
        writer.write(_head(200, headers))
        for start in range(0, len(compressed), 4 * KIB):
            writer.write(_chunk(compressed[start : start + 4 * KIB]))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _slow(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        self.slow_active += 1
        try:
            try:
                # HTTP/1.1 clients do not pipeline: anything read here is the client hanging up.
                await asyncio.wait_for(reader.read(1), float(req.arg("ms", "1000")) / 1000)
            except TimeoutError:
                writer.write(_head(200, [("Content-Type", "text/plain"), ("Content-Length", "4")]) + b"slow")
                await writer.drain()
                return True
            return False
        finally:
            self.slow_active -= 1

    async def _truncated(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        send = int(req.arg("send_kib", "64")) * KIB
        total = int(req.arg("total_kib", "1024")) * KIB
        chunked = req.arg("chunked") == "1"
        framing = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(total))
        writer.write(_head(200, [("Content-Type", "application/octet-stream"), framing]))
        writer.write(_chunk(BLOCK[:send]) if chunked else BLOCK[:send])
        await writer.drain()
        return False  # close without sending the rest

    async def _redirect(self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        headers = [("Location", req.arg("to", "/tiny")), ("Content-Length", "0")]
        headers += [("Set-Cookie", cookie + "; Path=/") for cookie in req.args.get("cookie", [])]
        writer.write(_head(302, headers))
        await writer.drain()
        return True


# -- sync / async twins --------------------------------------------------------------------------

Mode = Literal["sync", "async", "async-blocking"]
MODES: tuple[Mode, ...] = ("sync", "async")
#: Streaming also runs "async-blocking": an AsyncClient whose streamed responses are read with
#: their sync readers (``iter_bytes()``, ``read()``, ``close()``), as 0.7.8's code does.
STREAM_MODES: tuple[Mode, ...] = ("sync", "async", "async-blocking")


def _from_sync(iterator: Iterator[T | None]) -> AsyncIterator[T]:
    """An async iterator over an already created sync iterator (each step blocks the loop)."""

    async def generate() -> AsyncIterator[T]:
        for item in iterator:
            assert item is not None
            yield item

    return generate()


class StreamView:
    """A StreamingResponse or AsyncStreamingResponse behind one async interface. The iterator
    methods call the underlying ``iter_*``/``aiter_*`` method at once, so an error it raises
    (StreamConsumed, StreamClosed) surfaces either there or at the first step."""

    def __init__(self, raw: httpr.StreamingResponse | httpr.AsyncStreamingResponse, blocking: bool = False) -> None:
        self.raw = raw
        #: Read an AsyncStreamingResponse with its sync readers.
        self.blocking = blocking or isinstance(raw, httpr.StreamingResponse)

    @property
    def status_code(self) -> int:
        return self.raw.status_code

    @property
    def reason_phrase(self) -> str:
        return self.raw.reason_phrase

    @property
    def http_version(self) -> str:
        return self.raw.http_version

    @property
    def url(self) -> str:
        return self.raw.url

    @property
    def headers(self) -> httpr.Headers:
        return self.raw.headers

    @property
    def cookies(self) -> dict[str, str]:
        return dict(self.raw.cookies)

    @property
    def encoding(self) -> str:
        return self.raw.encoding

    @property
    def is_closed(self) -> bool:
        return self.raw.is_closed

    @property
    def is_consumed(self) -> bool:
        return self.raw.is_consumed

    def iter_bytes(self) -> AsyncIterator[bytes]:
        if self.blocking:
            return _from_sync(self.raw.iter_bytes())
        assert isinstance(self.raw, httpr.AsyncStreamingResponse)
        return self.raw.aiter_bytes()

    def iter_text(self) -> AsyncIterator[str]:
        if self.blocking:
            return _from_sync(self.raw.iter_text())
        assert isinstance(self.raw, httpr.AsyncStreamingResponse)
        return self.raw.aiter_text()

    def iter_lines(self) -> AsyncIterator[str]:
        if self.blocking:
            return _from_sync(self.raw.iter_lines())
        assert isinstance(self.raw, httpr.AsyncStreamingResponse)
        return self.raw.aiter_lines()

    def iter_plain(self) -> AsyncIterator[bytes]:
        """Plain iteration: ``iter(r)`` / ``r.__aiter__()`` (``for``/``async for chunk in r``)."""
        if self.blocking:
            return _from_sync(iter(self.raw))
        assert isinstance(self.raw, httpr.AsyncStreamingResponse)
        return aiter(self.raw)

    async def read(self) -> bytes:
        if self.blocking:
            return self.raw.read()
        assert isinstance(self.raw, httpr.AsyncStreamingResponse)
        return await self.raw.aread()

    async def close(self) -> None:
        if self.blocking:
            self.raw.close()
        else:
            assert isinstance(self.raw, httpr.AsyncStreamingResponse)
            await self.raw.aclose()


async def collect(iterator: AsyncIterator[T]) -> list[T]:
    return [item async for item in iterator]


class Twin:
    """A Client or an AsyncClient (by ``mode``) with an async interface; use ``async with``."""

    def __init__(self, mode: Mode, **client_kwargs: Unpack[httpr.ClientParams]) -> None:
        self.mode = mode
        self.client: httpr.Client | httpr.AsyncClient = (
            httpr.Client(**client_kwargs) if mode == "sync" else httpr.AsyncClient(**client_kwargs)
        )

    async def __aenter__(self) -> Twin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if isinstance(self.client, httpr.Client):
            self.client.close()
        else:
            await self.client.aclose()

    async def request(self, method: httpr.HttpMethod, url: str, **kwargs: Unpack[httpr.RequestParams]) -> httpr.Response:
        if isinstance(self.client, httpr.Client):
            return self.client.request(method, url, **kwargs)
        return await self.client.request(method, url, **kwargs)

    async def call(self, name: str, url: str, **kwargs: Unpack[httpr.RequestParams]) -> httpr.Response:
        """``client.<name>(url, ...)``, e.g. ``call("post", url, json=...)``."""
        method: Callable[..., httpr.Response | Awaitable[httpr.Response]] = getattr(self.client, name)
        result = method(url, **kwargs)
        if isinstance(result, httpr.Response):
            return result
        return await result

    async def get(self, url: str, **kwargs: Unpack[httpr.RequestParams]) -> httpr.Response:
        return await self.request("GET", url, **kwargs)

    @contextlib.asynccontextmanager
    async def stream(
        self, method: httpr.HttpMethod, url: str, **kwargs: Unpack[httpr.RequestParams]
    ) -> AsyncIterator[StreamView]:
        if isinstance(self.client, httpr.Client):
            with self.client.stream(method, url, **kwargs) as response:
                yield StreamView(response)
        else:
            async with self.client.stream(method, url, **kwargs) as aresponse:
                yield StreamView(aresponse, blocking=self.mode == "async-blocking")


def run_twin(mode: Mode, scenario: Callable[[Twin], Awaitable[T]], **client_kwargs: Unpack[httpr.ClientParams]) -> T:
    """Run ``scenario`` with a fresh Twin client in a fresh event loop; closes the client."""

    async def main() -> T:
        async with Twin(mode, **client_kwargs) as twin:
            return await scenario(twin)

    return asyncio.run(main())
