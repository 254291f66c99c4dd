"""Streamed uploads (issue 20): files given to ``files=`` (paths and open files) and iterators
given as ``content=`` are read while the request is sent, in chunks, not into memory first.
Against the local echo server on 127.0.0.1, which returns what it received."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import pathlib
from typing import Any

import pytest

import httpr
from behaviour_servers import BehaviourServer

MiB = 1024 * 1024


class Recording(io.BytesIO):
    """A binary file that records each read() and whether a request had started meanwhile."""

    def __init__(self, data: bytes, name: str = "data.bin") -> None:
        super().__init__(data)
        self.name = name
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


class Unseekable(Recording):
    def seekable(self) -> bool:
        return False


def echoed(r: httpr.Response) -> tuple[bytes, dict[str, str]]:
    body = r.json()
    return base64.b64decode(body["body"]), {k.lower(): v for k, v in body["headers"]}


def part_of(body: bytes, field: str) -> bytes:
    """The content of one multipart part."""
    start = body.index(f'name="{field}"'.encode())
    start = body.index(b"\r\n\r\n", start) + 4
    end = body.index(b"\r\n--", start)
    return body[start:end]


def test_an_open_file_is_read_in_chunks_while_sending(echo_url: str) -> None:
    data = os.urandom(3 * MiB + 5)
    f = Recording(data)
    r = httpr.post(echo_url, files={"upload": f}, data={"k": "v"})
    body, headers = echoed(r)
    assert part_of(body, "upload") == data and part_of(body, "k") == b"v"
    # Sized: the file's length is known, so the body has a Content-Length.
    assert int(headers["content-length"]) == len(body)
    assert f.reads and max(f.reads) == 64 * 1024, "read in 64 KiB chunks, never whole"
    assert len(f.reads) >= len(data) // (64 * 1024)


def test_a_path_is_streamed_and_named(echo_url: str, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "report.csv"
    data = b"a,b\n" * 300_000
    path.write_bytes(data)
    r = httpr.post(echo_url, files={"f": str(path)})
    body, headers = echoed(r)
    assert part_of(body, "f") == data
    assert b'filename="report.csv"\r\nContent-Type: text/csv' in body
    assert int(headers["content-length"]) == len(body)
    with pytest.raises(httpr.UploadFileNotFound, match="no-such.csv"):
        httpr.post(echo_url, files={"f": str(tmp_path / "no-such.csv")})


def test_a_file_is_read_from_where_it_stands_and_resent_after_a_307(echo_url: str, uid: str) -> None:
    f = Recording(b"HEADER|payload")
    f.read(7)  # the caller already consumed a header: only the rest is sent, as httpx does
    with BehaviourServer() as srv:
        moved = srv.add(f"/moved/{uid}", status=307, headers=[("Location", echo_url)])
        r = httpr.post(moved, files={"f": ("p.txt", f, "text/plain")})
        assert r.history[0].status_code == 307
        assert part_of(echoed(r)[0], "f") == b"payload"
        assert srv.seen(f"/moved/{uid}")[0].body.count(b"payload") == 1
        # A file that cannot seek cannot be resent.
        with pytest.raises(httpr.StreamConsumed, match=r'files\["f"\] cannot seek'):
            httpr.post(moved, files={"f": Unseekable(b"once")})


def test_an_unseekable_file_is_sent_chunked(echo_url: str) -> None:
    r = httpr.post(echo_url, files={"f": Unseekable(b"x" * 200_000)})
    body, headers = echoed(r)
    assert part_of(body, "f") == b"x" * 200_000
    assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers


def test_a_file_as_content_is_read_in_chunks_with_a_content_length(echo_url: str, tmp_path: pathlib.Path) -> None:
    """httpx's `content=open(path, "rb")`: read 64 KiB at a time (iterating the file would split
    it at every newline), sent with a Content-Length, the whole file and nothing else."""
    data = os.urandom(2 * MiB + 3)
    f = Recording(data)
    body, headers = echoed(httpr.post(echo_url, content=f))
    assert body == data
    assert int(headers["content-length"]) == len(data) and "transfer-encoding" not in headers
    assert max(f.reads) == 64 * 1024 and len(f.reads) <= len(data) // (64 * 1024) + 2
    # A real file, sync and async.
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        assert echoed(httpr.post(echo_url, content=fh))[0] == data

    async def main() -> bytes:
        async with httpr.AsyncClient() as c:
            with open(path, "rb") as fh:
                return echoed(await c.post(echo_url, content=fh))[0]

    assert asyncio.run(main()) == data


def test_a_file_as_content_is_resent_after_a_307_and_failures_name_it(echo_url: str, uid: str) -> None:
    with BehaviourServer() as srv:
        moved = srv.add(f"/moved/{uid}", status=307, headers=[("Location", echo_url)])
        r = httpr.post(moved, content=Recording(b"file body"))
        assert r.history[0].status_code == 307 and echoed(r)[0] == b"file body"
        with pytest.raises(httpr.StreamConsumed, match="content cannot seek"):
            httpr.post(moved, content=Unseekable(b"once"))


def test_read_errors_and_bad_chunks_are_typed(echo_url: str) -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("disk went away")

    with pytest.raises(httpr.WriteError, match="disk went away"):
        httpr.post(echo_url, files={"f": Broken(b"")})

    class Texty(io.BytesIO):
        def read(self, size: int | None = -1) -> Any:
            return 42

    with pytest.raises(TypeError, match=r'files\["f"\]\.read\(\) must yield bytes, not int'):
        httpr.post(echo_url, files={"f": Texty(b"")})


def test_a_large_generator_streams_without_joining(echo_url: str) -> None:
    sent = 0

    def produce() -> Any:
        nonlocal sent
        for _ in range(64):
            sent += 64 * 1024
            yield b"z" * (64 * 1024)

    r = httpr.put(echo_url, content=produce())
    body, headers = echoed(r)
    assert len(body) == sent == 4 * MiB
    assert headers["transfer-encoding"] == "chunked"


def test_async_client_streams_files_and_iterators(echo_url: str) -> None:
    async def main() -> tuple[bytes, bytes]:
        async with httpr.AsyncClient() as client:
            a = await client.post(echo_url, files={"f": Recording(b"async-file")})
            b = await client.post(echo_url, content=iter([b"async-", b"iter"]))
            return part_of(echoed(a)[0], "f"), echoed(b)[0]

    assert asyncio.run(main()) == (b"async-file", b"async-iter")


def test_async_iterator_content_is_pumped_while_sending(echo_url: str) -> None:
    # httpx's async streaming upload: `content=` an async generator on AsyncClient.
    async def produce() -> Any:
        for i in range(20):
            await asyncio.sleep(0)
            yield b"%02d" % i * 1000

    async def main() -> tuple[bytes, dict[str, str], bytes]:
        async with httpr.AsyncClient() as client:
            r = await client.post(echo_url, content=produce())
            body, headers = echoed(r)
            async with client.stream("PUT", echo_url, content=produce()) as s:
                await s.aread()
                streamed = echoed(httpr.Response(200, content=s.content))[0]
            return body, headers, streamed

    body, headers, streamed = asyncio.run(main())
    expected = b"".join(b"%02d" % i * 1000 for i in range(20))
    assert body == expected and streamed == expected
    assert headers["transfer-encoding"] == "chunked"


def test_async_iterator_failures_and_misuse_are_typed(echo_url: str) -> None:
    async def broken() -> Any:
        yield b"ok"
        raise ValueError("producer failed")

    async def ints() -> Any:
        yield 1

    async def main() -> None:
        async with httpr.AsyncClient() as client:
            with pytest.raises(httpr.WriteError, match="ValueError: producer failed"):
                await client.post(echo_url, content=broken())
            with pytest.raises(TypeError, match="async content iterator must yield bytes, not int"):
                await client.post(echo_url, content=ints())
            # The client is still usable.
            assert (await client.get(echo_url)).status_code == 200

    asyncio.run(main())

    async def agen() -> Any:
        yield b"x"

    with pytest.raises(TypeError, match="content as an async iterator needs AsyncClient"):
        httpr.post(echo_url, content=agen())


def test_async_iterator_with_a_mock_transport() -> None:
    async def produce() -> Any:
        yield b"mock-"
        yield b"body"

    async def main() -> bytes:
        transport = httpr.MockTransport(lambda request: httpr.Response(200, content=request.content))
        async with httpr.AsyncClient(transport=transport) as client:
            return (await client.post("http://mock.test/", content=produce())).content

    assert asyncio.run(main()) == b"mock-body"


def test_a_read_iterator_body_is_not_retried(srv: Any, uid: str) -> None:
    # A retry would need the body again: a generator cannot give it, so the outcome stays.
    retry = httpr.Retry(total=2, backoff_factor=0, backoff_jitter=0)
    with httpr.Client(retries=retry) as client:
        r = client.put(srv.url(f"/flaky/gen-{uid}?fail=1"), content=iter([b"one-shot"]))
        assert r.status_code == 503
        assert len([s for s in srv.seen("/flaky") if s.path.endswith(f"gen-{uid}")]) == 1
        # Bytes (and files that can seek) are resent as before.
        r = client.put(srv.url(f"/flaky/bytes-{uid}?fail=1"), content=b"again")
        assert r.status_code == 200 and r.text == "ok after 2"
        r = client.put(srv.url(f"/flaky/file-{uid}?fail=1"), files={"f": Recording(b"file")})
        assert r.status_code == 200
