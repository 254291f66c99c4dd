"""Streaming responses: ``Client.stream()`` / ``AsyncClient.stream()``.

Every scenario is written once as a coroutine against :class:`stream_server.Twin` and runs
through both clients (``mode`` = sync / async), against :class:`stream_server.StreamServer`,
which controls where chunk boundaries fall.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import gc
import hashlib
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import pytest

import httpr
from stream_server import (
    BLOCK,
    KIB,
    MIB,
    Mode,
    STREAM_MODES,
    StreamServer,
    StreamView,
    Twin,
    await_until,
    collect,
    expected_sha256,
    gzip_text,
    hexq,
    rss_bytes,
    run_twin,
    socket_count,
)


@pytest.fixture(params=STREAM_MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    """Each scenario on Client, on AsyncClient, and on AsyncClient read with the sync readers."""
    return cast(Mode, request.param)


@pytest.fixture(scope="module")
def server() -> Iterator[StreamServer]:
    with StreamServer() as s:
        yield s



def pieces_url(server: StreamServer, *pieces: bytes, **params: str | int) -> str:
    query = hexq(*pieces)
    if params:
        query += "&" + urllib.parse.urlencode(params)
    return server.url("/pieces?" + query)


# -- big bodies in bounded memory ----------------------------------------------------------------

BIG_MIB = 256


@functools.lru_cache
def big_sha256() -> str:
    return expected_sha256(BIG_MIB)


def test_256_mib_body_streams_in_bounded_memory(mode: Mode, server: StreamServer) -> None:
    big = server.url(f"/bytes?mib={BIG_MIB}")
    expected = big_sha256()

    async def scenario(t: Twin) -> tuple[str, int, int, int, float]:
        # Warm-up: runtime threads, pools and allocator arenas exist before the baseline.
        async with t.stream("GET", server.url("/bytes?mib=8")) as r:
            async for _ in r.iter_bytes():
                pass
        gc.collect()
        baseline = peak = rss_bytes()
        digest = hashlib.sha256()
        size = chunks = 0
        next_probe = 0
        started = time.monotonic()
        async with t.stream("GET", big) as r:
            async for chunk in r.iter_bytes():
                digest.update(chunk)
                size += len(chunk)
                chunks += 1
                if size >= next_probe:
                    peak = max(peak, rss_bytes())
                    next_probe += 4 * MIB
        elapsed = time.monotonic() - started
        peak = max(peak, rss_bytes())
        return digest.hexdigest(), size, chunks, peak - baseline, elapsed

    sha, size, chunks, growth, elapsed = run_twin(mode, scenario, timeout=10)

    assert size == BIG_MIB * MIB
    assert sha == expected
    assert chunks > BIG_MIB, "the body should arrive in many chunks, not be buffered"
    assert growth < 32 * MIB, f"RSS grew by {growth / MIB:.1f} MiB while streaming {BIG_MIB} MiB"
    assert elapsed < 20, f"{BIG_MIB} MiB took {elapsed:.1f}s ({BIG_MIB / elapsed:.0f} MiB/s)"


# -- chunk boundaries ----------------------------------------------------------------------------


def test_chunks_are_yielded_as_they_arrive(mode: Mode, server: StreamServer) -> None:
    sent = [b"one", b"two two", b"three three three"]
    url = pieces_url(server, *sent, gap_ms=40)

    async def scenario(t: Twin) -> tuple[list[bytes], list[bytes]]:
        async with t.stream("GET", url) as r:
            plain = await collect(r.iter_plain())  # `for chunk in r` / `async for chunk in r`
        async with t.stream("GET", url) as r:
            explicit = await collect(r.iter_bytes())
        return plain, explicit

    plain, explicit = run_twin(mode, scenario, timeout=5)

    assert plain == sent
    assert explicit == sent


def split_every(data: bytes, step: int) -> list[bytes]:
    return [data[i : i + step] for i in range(0, len(data), step)]


TEXT = "café ☃ € naïve 😀 Ærø 𝄞 end"

TEXT_CASES: dict[str, tuple[str, list[bytes]]] = {
    # every multi-byte character is cut at every one of its inner boundaries
    "utf-8 one byte per chunk": ("utf-8", split_every(TEXT.encode("utf-8"), 1)),
    "utf-8 odd cuts": ("utf-8", split_every(TEXT.encode("utf-8"), 3)),
    "utf-8 4-byte char split 1+3": ("utf-8", [b"a\xf0", b"\x9f\x98\x80b"]),
    "utf-8 4-byte char split 3+1": ("utf-8", [b"a\xf0\x9f\x98", b"\x80b"]),
    "utf-16le code unit split": ("utf-16le", split_every(TEXT.encode("utf-16le"), 3)),
    "latin-1": ("iso-8859-1", split_every("café Ærø".encode("latin-1"), 2)),
}


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_iter_text_decodes_characters_split_across_chunks(mode: Mode, server: StreamServer, case: str) -> None:
    charset, pieces = TEXT_CASES[case]
    expected = b"".join(pieces).decode(charset)
    url = pieces_url(server, *pieces, ctype=f"text/plain; charset={charset}")

    async def scenario(t: Twin) -> list[str]:
        async with t.stream("GET", url) as r:
            return await collect(r.iter_text())

    texts = run_twin(mode, scenario, timeout=5)

    assert "".join(texts) == expected
    assert "\ufffd" not in "".join(texts)
    assert all(texts), "no empty text pieces"


LINE_CASES: dict[str, tuple[list[bytes], list[str]]] = {
    "lf, lines split mid-line": ([b"alpha\nbe", b"ta\ngam", b"ma\n"], ["alpha", "beta", "gamma"]),
    "crlf split between cr and lf": ([b"one\r", b"\ntwo\r\n", b"three"], ["one", "two", "three"]),
    "bare cr and empty lines": ([b"a\r\rb\n", b"\nc\r\n\r", b"\n"], ["a", "", "b", "", "c", ""]),
    "one character per chunk": ([bytes([c]) for c in b"x\r\ny\rz\n"], ["x", "y", "z"]),
    "server-sent events": (
        [b"event: ping\r\ndata: {\"n\"", b": 1}\r\n\r", b"\nevent: done\r\n", b"data: ok\r\n\r\n"],
        ["event: ping", 'data: {"n": 1}', "", "event: done", "data: ok", ""],
    ),
    "utf-8 split inside a line": (split_every("naïve\n€uro 😀\n".encode(), 3), ["naïve", "€uro 😀"]),
    "no final newline": ([b"first\nlast li", b"ne"], ["first", "last line"]),
}


@pytest.mark.parametrize("case", list(LINE_CASES))
def test_iter_lines_across_chunk_boundaries(mode: Mode, server: StreamServer, case: str) -> None:
    pieces, expected = LINE_CASES[case]
    url = pieces_url(server, *pieces)

    async def scenario(t: Twin) -> list[str]:
        async with t.stream("GET", url) as r:
            return await collect(r.iter_lines())

    assert run_twin(mode, scenario, timeout=5) == expected


def test_gzip_body_is_decompressed_while_streaming(mode: Mode, server: StreamServer) -> None:
    async def scenario(t: Twin) -> tuple[bytes, int]:
        async with t.stream("GET", server.url("/gzip?kib=512")) as r:
            chunks = await collect(r.iter_bytes())
        return b"".join(chunks), len(chunks)

    body, count = run_twin(mode, scenario, timeout=5)

    assert body == gzip_text(512)
    assert count > 1


# -- the response head is available before the body ----------------------------------------------


def test_status_headers_cookies_and_url_before_the_body(mode: Mode, server: StreamServer) -> None:
    gate = uuid.uuid4().hex
    final = "/pieces?" + hexq(b"hello ", b"world") + "&" + urllib.parse.urlencode(
        {"gate": gate, "status": 202, "cookie": "s=1"}
    )
    start = server.url("/redirect?" + urllib.parse.urlencode({"to": final, "cookie": "r=1"}))

    async def scenario(t: Twin) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        started = time.monotonic()
        async with t.stream("GET", start) as r:
            # The server holds the body back until the gate opens: all of this came with the head.
            seen["entered_after"] = time.monotonic() - started
            seen["head"] = (r.status_code, r.reason_phrase, r.http_version, r.url)
            seen["headers"] = (r.headers["x-custom"], r.headers["content-type"], r.headers.get("content-length"))
            seen["cookies"] = r.cookies
            seen["encoding"] = r.encoding
            seen["fresh"] = (r.is_closed, r.is_consumed)
            server.open_gate(gate)
            seen["body"] = await r.read()
            seen["after_read"] = r.is_consumed
        seen["after_exit"] = r.is_closed
        return seen

    seen = run_twin(mode, scenario, timeout=5)

    assert seen["entered_after"] < 3, "stream() waited for the body"
    assert seen["head"] == (202, "Accepted", "HTTP/1.1", server.url(final))
    assert seen["headers"] == ("yes", "text/plain; charset=utf-8", None)
    assert seen["cookies"] == {"r": "1", "s": "1"}
    assert seen["encoding"] == "utf-8"
    assert seen["fresh"] == (False, False)
    assert seen["body"] == b"hello world"
    assert seen["after_read"] is True
    assert seen["after_exit"] is True


# -- state transitions, StreamConsumed and StreamClosed -------------------------------------------


def iterators(r: StreamView) -> dict[str, Callable[[], AsyncIterator[Any]]]:
    return {"iter_bytes": r.iter_bytes, "iter_text": r.iter_text, "iter_lines": r.iter_lines, "plain": r.iter_plain}


def test_reading_twice_raises_stream_consumed(mode: Mode, server: StreamServer) -> None:
    url = pieces_url(server, b"line 1\n", b"line 2\n")

    async def scenario(t: Twin) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with t.stream("GET", url) as r:
            out["before"] = (r.is_consumed, r.is_closed)
            out["body"] = await r.read()
            out["after"] = r.is_consumed
            with pytest.raises(httpr.StreamConsumed):
                await r.read()
            for name, make in iterators(r).items():
                with pytest.raises(httpr.StreamConsumed):
                    await collect(make())
                out[name] = "raised"
        return out

    out = run_twin(mode, scenario, timeout=5)

    assert out["before"] == (False, False)
    assert out["body"] == b"line 1\nline 2\n"
    assert out["after"] is True
    assert [out[name] for name in ("iter_bytes", "iter_text", "iter_lines", "plain")] == ["raised"] * 4


@pytest.mark.parametrize("first", ["iter_bytes", "iter_text", "iter_lines", "plain"])
def test_iterating_to_the_end_consumes_the_stream(mode: Mode, server: StreamServer, first: str) -> None:
    url = pieces_url(server, b"a\n", b"b\n")

    async def scenario(t: Twin) -> tuple[list[Any], bool]:
        async with t.stream("GET", url) as r:
            items: list[Any] = await collect(iterators(r)[first]())
            consumed = r.is_consumed
            with pytest.raises(httpr.StreamConsumed):
                await r.read()
            with pytest.raises(httpr.StreamConsumed):
                await collect(r.iter_bytes())
        return items, consumed

    items, consumed = run_twin(mode, scenario, timeout=5)

    expected: dict[str, list[Any]] = {
        "iter_bytes": [b"a\n", b"b\n"],
        "plain": [b"a\n", b"b\n"],
        "iter_text": ["a\n", "b\n"],
        "iter_lines": ["a", "b"],
    }
    assert items == expected[first]
    assert consumed is True


def test_close_before_reading_raises_stream_closed(mode: Mode, server: StreamServer) -> None:
    url = pieces_url(server, b"never read")

    async def scenario(t: Twin) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with t.stream("GET", url) as r:
            await r.close()
            out["state"] = (r.is_closed, r.is_consumed)
            await r.close()  # idempotent
            with pytest.raises(httpr.StreamClosed):
                await r.read()
            for name, make in iterators(r).items():
                with pytest.raises(httpr.StreamClosed):
                    await collect(make())
                out[name] = "raised"
        return out

    out = run_twin(mode, scenario, timeout=5)

    assert out["state"] == (True, False)
    assert [out[name] for name in ("iter_bytes", "iter_text", "iter_lines", "plain")] == ["raised"] * 4


def test_close_in_the_middle_of_iteration(mode: Mode, server: StreamServer) -> None:
    url = pieces_url(server, b"first", b"second", b"third", gap_ms=200)

    async def scenario(t: Twin) -> tuple[bytes, tuple[bool, bool]]:
        async with t.stream("GET", url) as r:
            chunks = r.iter_bytes()
            first = await anext(chunks)
            await r.close()
            state = (r.is_closed, r.is_consumed)
            with pytest.raises(httpr.StreamClosed):
                await anext(chunks)
        return first, state

    first, state = run_twin(mode, scenario, timeout=5)

    assert first == b"first"
    assert state == (True, False)


def test_leaving_the_block_without_reading_closes_the_stream(mode: Mode, server: StreamServer) -> None:
    url = pieces_url(server, b"unread")

    async def scenario(t: Twin) -> tuple[bool, bool]:
        async with t.stream("GET", url) as r:
            pass
        state = (r.is_closed, r.is_consumed)
        with pytest.raises(httpr.StreamClosed):
            await r.read()
        with pytest.raises(httpr.StreamClosed):
            await collect(r.iter_bytes())
        return state

    assert run_twin(mode, scenario, timeout=5) == (True, False)


def test_close_after_reading_everything_marks_it_closed(mode: Mode, server: StreamServer) -> None:
    # Documented: is_closed is "whether the stream was closed (by close() or leaving the block)".
    url = pieces_url(server, b"all of it")

    async def scenario(t: Twin) -> tuple[bytes, bool, bool]:
        async with t.stream("GET", url) as r:
            body = await r.read()
            await r.close()
            return body, r.is_closed, r.is_consumed

    assert run_twin(mode, scenario, timeout=5) == (b"all of it", True, True)


# -- leaving early releases the connection --------------------------------------------------------


def test_leaving_early_releases_the_connection_and_the_pool_keeps_working(mode: Mode, server: StreamServer) -> None:
    tags = [uuid.uuid4().hex for _ in range(20)]
    tiny = server.url("/tiny")

    async def scenario(t: Twin) -> dict[str, Any]:
        out: dict[str, Any] = {}
        await t.get(tiny)  # warm the pool
        out["sockets_before"] = socket_count()
        firsts = []
        for tag in tags:
            async with t.stream("GET", server.url(f"/bytes?mib=1024&tag={tag}")) as r:
                firsts.append(await anext(r.iter_bytes()))
            out.setdefault("closed", []).append(r.is_closed)
        out["firsts"] = firsts
        out["transfers_done"] = await await_until(lambda: all(server.transfers[tag].done for tag in tags), 5)
        accepted = server.accepted
        started = time.monotonic()
        out["statuses"] = [(await t.get(tiny)).status_code for _ in range(100)]
        out["elapsed"] = time.monotonic() - started
        out["new_connections"] = server.accepted - accepted
        # Every aborted transfer's sockets (both ends live in this process) are gone.
        out["sockets_settled"] = await await_until(lambda: socket_count() <= out["sockets_before"] + 2, 5)
        out["sockets_after"] = socket_count()
        return out

    out = run_twin(mode, scenario, timeout=5)

    assert all(len(f) > 0 and BLOCK.startswith(f) for f in out["firsts"])
    assert out["closed"] == [True] * len(tags)
    assert out["transfers_done"], "the server kept sending after the client left the block"
    transfers = [server.transfers[tag] for tag in tags]
    assert [t.aborted for t in transfers] == [True] * len(tags), "the rest of the body was read"
    assert max(t.sent for t in transfers) < 64 * MIB
    assert out["statuses"] == [200] * 100
    assert out["elapsed"] < 5, f"100 requests after early exits took {out['elapsed']:.1f}s"
    assert out["new_connections"] <= 2, "the 100 requests did not reuse pooled connections"
    assert out["sockets_settled"], f"sockets: {out['sockets_before']} before, {out['sockets_after']} after"


# -- request bodies ------------------------------------------------------------------------------

BODY_CASES: dict[str, tuple[dict[str, Any], Callable[[bytes], Any], Any, str]] = {
    # kwargs, how to decode what the server got, what it must decode to, its Content-Type
    "content": ({"content": b"\x00raw\xffbytes"}, bytes, b"\x00raw\xffbytes", ""),
    "json": ({"json": {"k": ["v", 1]}}, json.loads, {"k": ["v", 1]}, "application/json"),
    "data": (
        {"data": {"a": "1 2", "b": "é"}},
        lambda b: urllib.parse.parse_qs(b.decode("ascii")),
        {"a": ["1 2"], "b": ["é"]},
        "application/x-www-form-urlencoded",
    ),
}


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("kind", list(BODY_CASES))
def test_stream_sends_a_request_body(mode: Mode, server: StreamServer, method: str, kind: str) -> None:
    kwargs, decode, expected, ctype = BODY_CASES[kind]

    async def scenario(t: Twin) -> dict[str, Any]:
        async with t.stream(cast(httpr.HttpMethod, method), server.url("/echo?via=stream"), **kwargs) as r:
            seen: dict[str, Any] = json.loads(await r.read())
            seen["status"] = r.status_code
            return seen

    seen = run_twin(mode, scenario, timeout=5)

    assert (seen["status"], seen["method"], seen["query"]) == (200, method, "via=stream")
    assert decode(base64.b64decode(seen["body"])) == expected
    headers = {k.lower(): v for k, v in seen["headers"]}
    if ctype:
        assert headers["content-type"] == ctype


# -- waiting for data ----------------------------------------------------------------------------


def test_waiting_for_a_chunk_releases_the_gil(mode: Mode, server: StreamServer) -> None:
    url = pieces_url(server, b"now", b"later", gap_ms=700)

    async def scenario(t: Twin) -> dict[str, Any]:
        stop = threading.Event()
        counter = [0]

        def spin() -> None:
            while not stop.is_set():
                counter[0] += 1

        ticks = [0]

        async def tick() -> None:
            while True:
                await asyncio.sleep(0.01)
                ticks[0] += 1

        spinner = threading.Thread(target=spin, daemon=True)
        ticker = asyncio.create_task(tick())
        try:
            async with t.stream("GET", url) as r:
                chunks = r.iter_bytes()
                first = await anext(chunks)
                spinner.start()
                count_before, ticks_before, started = counter[0], ticks[0], time.monotonic()
                second = await anext(chunks)
                waited = time.monotonic() - started
                count_during, ticks_during = counter[0] - count_before, ticks[0] - ticks_before
        finally:
            stop.set()
            ticker.cancel()
            spinner.join(5)
        return {"chunks": [first, second], "waited": waited, "count": count_during, "ticks": ticks_during}

    out = run_twin(mode, scenario, timeout=5)

    assert out["chunks"] == [b"now", b"later"]
    assert out["waited"] > 0.4, "the second chunk should have taken ~0.7 s"
    assert out["count"] > 100_000, f"another Python thread ran only {out['count']} loop turns in {out['waited']:.2f}s"
    if mode == "async":
        assert out["ticks"] >= 10, f"the event loop ran only {out['ticks']} ticks while a chunk was awaited"


def test_each_chunk_wait_is_bounded_by_the_timeout(mode: Mode, server: StreamServer) -> None:
    url = pieces_url(server, b"first", b"too late", gap_ms=3000)

    async def scenario(t: Twin) -> tuple[bytes, float]:
        async with t.stream("GET", url, timeout=0.3) as r:
            chunks = r.iter_bytes()
            first = await anext(chunks)
            started = time.monotonic()
            with pytest.raises(httpr.ReadTimeout):
                await anext(chunks)
            return first, time.monotonic() - started

    first, elapsed = run_twin(mode, scenario, timeout=30)

    assert first == b"first"
    assert 0.2 <= elapsed < 1.5


# -- the server closes mid-body ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["iterate", "read"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_server_closing_mid_body_raises_a_typed_error(mode: Mode, server: StreamServer, chunked: bool, how: str) -> None:
    url = server.url(f"/truncated?send_kib=64&total_kib=1024&chunked={int(chunked)}")

    async def scenario(t: Twin) -> tuple[BaseException | None, bytes, float]:
        received = bytearray()
        error: BaseException | None = None
        started = time.monotonic()
        async with t.stream("GET", url) as r:
            try:
                if how == "read":
                    received += await r.read()
                else:
                    async for chunk in r.iter_bytes():
                        received += chunk
            except Exception as e:  # asserted below
                error = e
        return error, bytes(received), time.monotonic() - started

    error, received, elapsed = run_twin(mode, scenario, timeout=10)

    assert error is not None, f"a silent short body: {len(received)} of {1024 * KIB} bytes and no error"
    assert isinstance(error, httpr.RemoteProtocolError), f"{type(error).__name__}: {error}"
    assert elapsed < 5
    if how == "iterate":
        assert received == BLOCK[: 64 * KIB], "the bytes that did arrive were not all delivered"
