"""Server-sent events: ``client.sse()``, ``iter_sse()`` / ``aiter_sse()`` and ``ServerSentEvent``,
against an event-stream server on 127.0.0.1 that writes each piece of its stream as its own
TCP segment (so events and lines arrive split across network chunks), and can hold the next
piece back until the test has seen an event (so events are shown to arrive as they are sent,
not when the body ends)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import httpr

#: The stream the server sends, in pieces: every line ending (LF, CRLF, CR), a BOM, comments,
#: multi-line data, an event type, ids that persist, retry, a field without a colon, a
#: character split across pieces, and an unfinished event at the end (discarded).
PIECES: list[bytes] = [
    b"\xef\xbb\xbf: a comment\n\n",
    b"da",
    b"ta: first\n",
    b"\n",
    b"event: update\r\nid: 7\r\ndata: line one\r\ndata:line two\r\nretry: 2500\r\n\r\n",
    b"data: {\"n\": 3}\r\rdata\r\r",
    "data: caf\u00e9".encode()[:-1],
    "data: caf\u00e9".encode()[-1:] + b"\n\n",
    b"id\ndata: after the id was cleared\n\n",
    b"data: never finished",
]

#: In lockstep, after sending the piece at this index the server waits for this many releases
#: (one per event that piece completed).
HOLD = {3: 1, 4: 1, 5: 2, 7: 1, 8: 1}

EXPECTED = [
    httpr.ServerSentEvent(data="first"),
    httpr.ServerSentEvent(event="update", data="line one\nline two", id="7", retry=2500),
    httpr.ServerSentEvent(data='{"n": 3}', id="7"),
    httpr.ServerSentEvent(data="", id="7"),
    httpr.ServerSentEvent(data="caf\u00e9", id="7"),
    httpr.ServerSentEvent(data="after the id was cleared"),
]


class EventServer:
    """Answers ``/events`` with :data:`PIECES` (``/plain`` with a text/plain body), recording
    each request's headers. With ``lockstep``, after a piece that completes events it waits
    for one :meth:`release` per event (:data:`HOLD`)."""

    def __init__(self, lockstep: bool = False) -> None:
        self.lockstep = lockstep
        self.released = threading.Semaphore(0)
        self.requests: list[dict[str, str]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def release(self) -> None:
        self.released.release()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            data = b""
            while b"\r\n\r\n" not in data:
                more = sock.recv(65536)
                if not more:
                    return
                data += more
            head = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1]
            self.requests.append({k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])})
            kind = "text/event-stream; charset=utf-8" if path == "/events" else "text/plain"
            sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            try:
                for i, piece in enumerate(PIECES if path == "/events" else [b"data: not an event stream\n\n"]):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                    time.sleep(0.005)  # each piece its own segment
                    for _ in range(HOLD.get(i, 0) if self.lockstep else 0):
                        if not self.released.acquire(timeout=10):
                            return
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def events() -> Iterator[EventServer]:
    server = EventServer()
    yield server
    server.close()


def test_client_sse_yields_every_event_parsed_as_the_standard_says(events: EventServer) -> None:
    with httpr.Client(timeout=5) as client, client.sse("GET", events.url("/events")) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        got = list(r.iter_sse())
    assert got == EXPECTED
    assert got[2].json() == {"n": 3}
    assert events.requests[0]["accept"] == "text/event-stream"
    assert events.requests[0]["cache-control"] == "no-store"


def test_async_client_sse_and_aiter_sse(events: EventServer) -> None:
    async def main() -> list[httpr.ServerSentEvent]:
        async with httpr.AsyncClient(timeout=5) as client, client.sse("GET", events.url("/events")) as r:
            return [sse async for sse in r.aiter_sse()]

    assert asyncio.run(main()) == EXPECTED
    assert events.requests[0]["accept"] == "text/event-stream"


def test_iter_sse_on_a_plain_stream_and_on_async_with_a_plain_for(events: EventServer) -> None:
    """`iter_sse()` works on any streamed response (`client.stream()`), and on the async
    response with a plain `for` (blocking, as its other sync readers)."""
    with httpr.Client(timeout=5) as client, client.stream("GET", events.url("/events")) as r:
        assert list(r.iter_sse()) == EXPECTED
    assert "accept" not in events.requests[0] or events.requests[0]["accept"] != "text/event-stream"

    async def main() -> list[httpr.ServerSentEvent]:
        async with httpr.AsyncClient(timeout=5) as client, client.stream("GET", events.url("/events")) as r:
            return list(r.iter_sse())

    assert asyncio.run(main()) == EXPECTED


def test_events_arrive_as_they_are_sent() -> None:
    """The server sends nothing more until the test saw the events sent so far: a parser that
    waited for more of the body (or its end) before handing out an event would stall here,
    and fail on the read timeout."""
    server = EventServer(lockstep=True)
    try:
        with httpr.Client(timeout=2) as client, client.sse("GET", server.url("/events")) as r:
            got = []
            for sse in r.iter_sse():
                got.append(sse)
                server.release()
        assert got == EXPECTED
    finally:
        server.close()


def test_a_request_header_overrides_the_defaults(events: EventServer) -> None:
    with httpr.Client(timeout=5) as client:
        with client.sse("GET", events.url("/events"), headers={"Accept": "text/event-stream, */*", "Last-Event-ID": "7"}) as r:
            assert len(list(r.iter_sse())) == len(EXPECTED)
    sent = events.requests[0]
    assert (sent["accept"], sent["last-event-id"], sent["cache-control"]) == ("text/event-stream, */*", "7", "no-store")


def test_a_response_that_is_not_an_event_stream_raises_sse_error(events: EventServer) -> None:
    url = events.url("/plain")
    with httpr.Client(timeout=5) as client, client.sse("GET", url) as r:
        with pytest.raises(httpr.SSEError) as info:
            r.iter_sse()
        # Nothing was read: the body is still there.
        assert r.read() == b"data: not an event stream\n\n"
    assert isinstance(info.value, httpr.TransportError)
    assert str(info.value) == f"expected the response's Content-Type to be text/event-stream, got 'text/plain' (in GET {url})"
    assert info.value.request is not None and info.value.request.url == url

    async def main() -> None:
        async with httpr.AsyncClient(timeout=5) as client, client.sse("GET", url) as r:
            with pytest.raises(httpr.SSEError, match="got 'text/plain'"):
                r.aiter_sse()

    asyncio.run(main())


def test_iter_sse_after_the_body_was_read_raises_stream_consumed(events: EventServer) -> None:
    with httpr.Client(timeout=5) as client, client.sse("GET", events.url("/events")) as r:
        r.read()
        with pytest.raises(httpr.StreamConsumed):
            r.iter_sse()


def test_server_sent_event_value() -> None:
    sse = httpr.ServerSentEvent()
    assert (sse.event, sse.data, sse.id, sse.retry) == ("message", "", "", None)
    full = httpr.ServerSentEvent(event="tick", data='[1, "a"]', id="9", retry=100)
    assert (full.event, full.data, full.id, full.retry) == ("tick", '[1, "a"]', "9", 100)
    assert full.json() == [1, "a"]
    assert full == httpr.ServerSentEvent("tick", '[1, "a"]', "9", 100)
    assert full != httpr.ServerSentEvent(event="tick")
    assert repr(full) == """ServerSentEvent(event='tick', data='[1, "a"]', id='9', retry=100)"""
    with pytest.raises(httpr.JSONDecodeError) as info:
        httpr.ServerSentEvent(data="not json").json()
    assert isinstance(info.value, json.JSONDecodeError)
