"""One adapter per HTTP client library: the same few operations, written the way each library's
docs show them, so the worker's timed loops are identical for every client.

Loaded inside the client's own interpreter by worker.py; each adapter imports its library only
when it is built, and holds it as ``Any`` (the libraries are not installed where mypy runs).

A fetcher returns ``(status, body)`` with a body whose ``len()`` is the byte count; JSON
fetchers return the object the library's own ``json()`` decoded.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import ssl
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Awaitable, Callable, ClassVar

Fetch = Callable[[str], tuple[int, Any]]
AFetch = Callable[[str], Awaitable[tuple[int, Any]]]
Post = Callable[[str, Any], tuple[int, Any]]
APost = Callable[[str, Any], Awaitable[tuple[int, Any]]]
#: Client kinds: plain HTTP, TLS HTTP/1.1 (kept alive or not, the server decides), TLS HTTP/2 only.
KINDS = ("http", "https", "h2")
CHUNK = 64 * 1024


class Skip(Exception):
    """The library cannot run this scenario."""


def _headers(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def _chunks(f: Any) -> Any:
    return iter(lambda: f.read(CHUNK), b"")


class Adapter:
    dist: ClassVar[str] = "?"
    has_sync: ClassVar[bool] = True
    has_async: ClassVar[bool] = True
    #: How this adapter departs from the library's defaults, shown under the results.
    notes: ClassVar[dict[str, str]] = {}

    def __init__(self, ca: str) -> None:
        self.ca = ca
        self.m: Any = importlib.import_module(self.dist)

    def version(self) -> str | None:
        try:
            return version(self.dist)
        except PackageNotFoundError:
            return getattr(self.m, "__version__", None)

    # --- sync: the defaults fit every library whose client has requests' method names
    def client(self, kind: str) -> Any:
        raise Skip(f"{self.dist} has no sync API")

    def close(self, c: Any) -> None:
        c.close()

    def get(self, c: Any) -> Fetch:
        get = c.get

        def f(url: str) -> tuple[int, Any]:
            r = get(url)
            return r.status_code, r.content
        return f

    def get_json(self, c: Any) -> Fetch:
        get = c.get

        def f(url: str) -> tuple[int, Any]:
            r = get(url)
            return r.status_code, r.json()
        return f

    def post_json(self, c: Any) -> Post:
        post = c.post

        def f(url: str, doc: Any) -> tuple[int, Any]:
            r = post(url, json=doc)
            return r.status_code, r.content
        return f

    def upload(self, c: Any, url: str, path: str) -> tuple[int, Any]:
        """POST the file at ``path``, read while it is sent."""
        with open(path, "rb") as f:
            r = c.post(url, content=f)
        return r.status_code, r.content

    def upload_bytes(self, c: Any, url: str, data: bytes) -> tuple[int, Any]:
        r = c.post(url, content=data)
        return r.status_code, r.content

    def one_shot(self, url: str) -> tuple[int, Any]:
        c = self.client("http")
        try:
            return self.get(c)(url)
        finally:
            self.close(c)

    def stream(self, c: Any, url: str) -> tuple[int, int]:
        total = 0
        with c.stream("GET", url) as r:
            for chunk in r.iter_bytes():
                total += len(chunk)
            return r.status_code, total

    def probe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = c.get(url)
        return r.status_code, r.content, _headers(r.headers.items()), getattr(r, "http_version", None)

    def thread_fetchers(self, c: Any, k: int) -> list[Fetch]:
        return [self.get(c) for _ in range(k)]

    # --- async
    async def aclient(self, limit: int) -> Any:
        """An asyncio client; ``limit`` requests will be in flight (pools sized to it where the
        library caps them below that by default)."""
        raise Skip(f"{self.dist} has no asyncio API")

    async def aclose(self, c: Any) -> None:
        await c.aclose()

    def aget(self, c: Any) -> AFetch:
        get = c.get

        async def f(url: str) -> tuple[int, Any]:
            r = await get(url)
            return r.status_code, r.content
        return f

    def aget_json(self, c: Any) -> AFetch:
        get = c.get

        async def f(url: str) -> tuple[int, Any]:
            r = await get(url)
            return r.status_code, r.json()
        return f

    def apost_json(self, c: Any) -> APost:
        raise Skip("sync API used")

    async def aone_shot(self, url: str) -> tuple[int, Any]:
        raise Skip("sync API used")

    async def astream(self, c: Any, url: str) -> tuple[int, int]:
        raise Skip("sync API used")

    async def aupload(self, c: Any, url: str, path: str) -> tuple[int, Any]:
        raise Skip("sync API used")

    async def aprobe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = await c.get(url)
        return r.status_code, r.content, _headers(r.headers.items()), getattr(r, "http_version", None)


class Httpr(Adapter):
    """httpr: this tree's build or the published 0.7.8 (same API for what is measured here)."""

    dist = "httpr"

    def client(self, kind: str) -> Any:
        if kind == "h2":
            return self.m.Client(http2_only=True, ca_cert_file=self.ca)
        return self.m.Client(ca_cert_file=self.ca) if kind == "https" else self.m.Client()

    async def aclient(self, limit: int) -> Any:
        return self.m.AsyncClient()

    async def aclose(self, c: Any) -> None:
        await c.aclose() if hasattr(c, "aclose") else c.close()


class Primp(Adapter):
    dist = "primp"

    def client(self, kind: str) -> Any:
        if kind == "h2":
            return self.m.Client(http2_only=True, ca_cert_file=self.ca)
        return self.m.Client(ca_cert_file=self.ca) if kind == "https" else self.m.Client()

    def close(self, c: Any) -> None:
        c.__exit__(None, None, None)  # primp 2 has no close(); leaving the context frees it

    def stream(self, c: Any, url: str) -> tuple[int, int]:
        total = 0
        with c.get(url, stream=True) as r:
            for chunk in r.iter_bytes(CHUNK):
                total += len(chunk)
            return r.status_code, total

    def probe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = c.get(url)
        return r.status_code, r.content, _headers(r.headers.items()), None

    async def aclient(self, limit: int) -> Any:
        return self.m.AsyncClient()

    async def aclose(self, c: Any) -> None:
        await c.__aexit__(None, None, None)

    async def aprobe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = await c.get(url)
        return r.status_code, r.content, _headers(r.headers.items()), None


class Pyreqwest(Adapter):
    dist = "pyreqwest"
    notes = {"body": "bytes() returns pyreqwest's zero-copy Bytes buffer, not a Python bytes",
             "async": "ClientBuilder().max_connections(C) for C in flight"}

    def __init__(self, ca: str) -> None:
        super().__init__(ca)
        self.mc: Any = importlib.import_module("pyreqwest.client")

    def _tls(self, b: Any, kind: str) -> Any:
        if kind != "http":
            with open(self.ca, "rb") as f:
                b = b.add_root_certificate_pem(f.read())
        return b.http2_prior_knowledge() if kind == "h2" else b

    def client(self, kind: str) -> Any:
        return self._tls(self.mc.SyncClientBuilder(), kind).build()

    def get(self, c: Any) -> Fetch:
        get = c.get

        def f(url: str) -> tuple[int, Any]:
            r = get(url).build().send()
            return r.status, r.bytes()
        return f

    def get_json(self, c: Any) -> Fetch:
        get = c.get

        def f(url: str) -> tuple[int, Any]:
            r = get(url).build().send()
            return r.status, r.json()
        return f

    def post_json(self, c: Any) -> Post:
        post = c.post

        def f(url: str, doc: Any) -> tuple[int, Any]:
            r = post(url).body_json(doc).build().send()
            return r.status, r.bytes()
        return f

    def upload(self, c: Any, url: str, path: str) -> tuple[int, Any]:
        with open(path, "rb") as f:
            r = c.post(url).body_stream(_chunks(f)).build().send()
        return r.status, r.bytes()

    def upload_bytes(self, c: Any, url: str, data: bytes) -> tuple[int, Any]:
        r = c.post(url).body_bytes(data).build().send()
        return r.status, r.bytes()

    def stream(self, c: Any, url: str) -> tuple[int, int]:
        total = 0
        with c.get(url).build_streamed() as r:
            while (chunk := r.body_reader.read_chunk()) is not None:
                total += len(chunk)
            return r.status, total

    def probe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = c.get(url).build().send()
        hdr = {k: r.get_header(k) for k in ("x-req-ae", "content-encoding") if r.get_header(k) is not None}
        return r.status, r.bytes(), hdr, str(r.version)

    async def aclient(self, limit: int) -> Any:
        return self._tls(self.mc.ClientBuilder(), "http").max_connections(limit).build()

    async def aclose(self, c: Any) -> None:
        await c.close()

    def aget(self, c: Any) -> AFetch:
        get = c.get

        async def f(url: str) -> tuple[int, Any]:
            r = await get(url).build().send()
            return r.status, await r.bytes()
        return f

    def aget_json(self, c: Any) -> AFetch:
        get = c.get

        async def f(url: str) -> tuple[int, Any]:
            r = await get(url).build().send()
            return r.status, await r.json()
        return f

    async def aprobe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = await c.get(url).build().send()
        hdr = {k: r.get_header(k) for k in ("x-req-ae", "content-encoding") if r.get_header(k) is not None}
        return r.status, await r.bytes(), hdr, str(r.version)


class Httpx(Adapter):
    dist = "httpx"
    notes = {"async": "AsyncClient(limits=Limits(max_connections=max(100, C), max_keepalive_connections=C)) for C in flight",
             "h2": "Client(http1=False, http2=True) (the h2 package)"}

    def client(self, kind: str) -> Any:
        if kind == "http":
            return self.m.Client()
        ctx = ssl.create_default_context(cafile=self.ca)
        return self.m.Client(http1=False, http2=True, verify=ctx) if kind == "h2" else self.m.Client(verify=ctx)

    def stream(self, c: Any, url: str) -> tuple[int, int]:
        total = 0
        with c.stream("GET", url) as r:
            for chunk in r.iter_bytes(CHUNK):
                total += len(chunk)
            return r.status_code, total

    async def aclient(self, limit: int) -> Any:
        lim = self.m.Limits(max_connections=max(100, limit), max_keepalive_connections=limit)
        return self.m.AsyncClient(limits=lim)


class Requests(Adapter):
    dist = "requests"
    has_async = False

    def client(self, kind: str) -> Any:
        if kind == "h2":
            raise Skip("requests has no HTTP/2")
        s = self.m.Session()
        if kind == "https":
            s.verify = self.ca
        return s

    def upload(self, c: Any, url: str, path: str) -> tuple[int, Any]:
        with open(path, "rb") as f:
            r = c.post(url, data=f)
        return r.status_code, r.content

    def upload_bytes(self, c: Any, url: str, data: bytes) -> tuple[int, Any]:
        r = c.post(url, data=data)
        return r.status_code, r.content

    def stream(self, c: Any, url: str) -> tuple[int, int]:
        total = 0
        with c.get(url, stream=True) as r:
            for chunk in r.iter_content(CHUNK):
                total += len(chunk)
            return r.status_code, total

    def probe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = c.get(url)
        return r.status_code, r.content, _headers(r.headers.items()), "HTTP/1.1"


class Niquests(Requests):
    dist = "niquests"
    has_async = True
    notes = {"async": "AsyncSession(pool_maxsize=C) for C in flight",
             "h2": "Session(disable_http1=True, disable_http3=True)"}

    def client(self, kind: str) -> Any:
        s = self.m.Session(disable_http1=True, disable_http3=True) if kind == "h2" else self.m.Session()
        if kind != "http":
            s.verify = self.ca
            s.trust_env = False  # else a CA bundle from the environment overrides verify=
        return s

    def probe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = c.get(url)
        return r.status_code, r.content, _headers(r.headers.items()), self._version(r.http_version)

    @staticmethod
    def _version(v: Any) -> str:
        return {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2", 30: "HTTP/3"}.get(v, str(v))

    async def aclient(self, limit: int) -> Any:
        return self.m.AsyncSession(pool_maxsize=limit)

    async def aclose(self, c: Any) -> None:
        await c.close()

    async def aprobe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        r = await c.get(url)
        return r.status_code, r.content, _headers(r.headers.items()), self._version(r.http_version)


class Pycurl(Adapter):
    """libcurl easy handles: one handle is the client (and not thread-safe: one per thread)."""

    dist = "pycurl"
    has_async = False
    notes = {"threads": "one easy handle per thread (handles are not thread-safe)",
             "json": "stdlib json.loads / json.dumps (pycurl has no JSON support)",
             "gzip": "ACCEPT_ENCODING set to gzip for the JSON scenarios"}

    def client(self, kind: str) -> Any:
        p = self.m
        c = p.Curl()
        c.setopt(p.NOSIGNAL, 1)
        if kind != "http":
            c.setopt(p.CAINFO, self.ca)
        if kind == "h2":
            if not p.version_info()[4] & p.VERSION_HTTP2:
                raise Skip("libcurl without HTTP/2")
            c.setopt(p.HTTP_VERSION, p.CURL_HTTP_VERSION_2_0)
        return c

    def get(self, c: Any) -> Fetch:
        p = self.m
        setopt, perform, getinfo = c.setopt, c.perform, c.getinfo

        def f(url: str) -> tuple[int, Any]:
            buf = io.BytesIO()
            setopt(p.URL, url)
            setopt(p.WRITEDATA, buf)
            perform()
            return getinfo(p.RESPONSE_CODE), buf.getvalue()
        return f

    def get_json(self, c: Any) -> Fetch:
        c.setopt(self.m.ACCEPT_ENCODING, "gzip")
        get = self.get(c)

        def f(url: str) -> tuple[int, Any]:
            status, body = get(url)
            return status, json.loads(body)
        return f

    def post_json(self, c: Any) -> Post:
        p = self.m
        c.setopt(p.HTTPHEADER, ["Content-Type: application/json"])
        get = self.get(c)

        def f(url: str, doc: Any) -> tuple[int, Any]:
            c.setopt(p.POSTFIELDS, json.dumps(doc).encode())
            return get(url)
        return f

    def upload(self, c: Any, url: str, path: str) -> tuple[int, Any]:
        p = self.m
        import os

        with open(path, "rb") as f:
            c.setopt(p.POST, 1)
            c.setopt(p.READDATA, f)
            c.setopt(p.POSTFIELDSIZE_LARGE, os.fstat(f.fileno()).st_size)
            c.setopt(p.HTTPHEADER, ["Expect:", "Content-Type: application/octet-stream"])
            return self.get(c)(url)

    def upload_bytes(self, c: Any, url: str, data: bytes) -> tuple[int, Any]:
        c.setopt(self.m.POSTFIELDS, data)
        return self.get(c)(url)

    def one_shot(self, url: str) -> tuple[int, Any]:
        c = self.client("http")
        try:
            return self.get(c)(url)
        finally:
            c.close()

    def stream(self, c: Any, url: str) -> tuple[int, int]:
        p = self.m
        total = 0

        def write(chunk: bytes) -> None:
            nonlocal total
            total += len(chunk)

        c.setopt(p.URL, url)
        c.setopt(p.WRITEFUNCTION, write)
        c.perform()
        return c.getinfo(p.RESPONSE_CODE), total

    def probe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        p = self.m
        hdr: dict[str, str] = {}

        def on_header(line: bytes) -> None:
            k, sep, v = line.decode("latin-1").partition(":")
            if sep:
                hdr[k.strip().lower()] = v.strip()

        c.setopt(p.HEADERFUNCTION, on_header)
        status, body = self.get(c)(url)
        c.unsetopt(p.HEADERFUNCTION)
        ver = {1: "HTTP/1.0", 2: "HTTP/1.1", 3: "HTTP/2"}.get(c.getinfo(p.INFO_HTTP_VERSION))
        return status, body, hdr, ver

    def thread_fetchers(self, c: Any, k: int) -> list[Fetch]:
        return [self.get(self.client("http")) for _ in range(k)]


class Aiohttp(Adapter):
    """No sync API: the sequential scenarios await one request after another in one loop."""

    dist = "aiohttp"
    has_sync = False
    notes = {"async": "ClientSession(connector=TCPConnector(limit=max(100, C))) for C in flight",
             "sequential": "post_json, new_client_5k, stream_big, upload_10m: sequential awaits (no sync API)"}

    async def aclient(self, limit: int) -> Any:
        return self.m.ClientSession(connector=self.m.TCPConnector(limit=max(100, limit)))

    async def aclose(self, c: Any) -> None:
        await c.close()

    def aget(self, c: Any) -> AFetch:
        get = c.get

        async def f(url: str) -> tuple[int, Any]:
            async with get(url) as r:
                return r.status, await r.read()
        return f

    def aget_json(self, c: Any) -> AFetch:
        get = c.get

        async def f(url: str) -> tuple[int, Any]:
            async with get(url) as r:
                return r.status, await r.json()
        return f

    def apost_json(self, c: Any) -> APost:
        post = c.post

        async def f(url: str, doc: Any) -> tuple[int, Any]:
            async with post(url, json=doc) as r:
                return r.status, await r.read()
        return f

    async def aone_shot(self, url: str) -> tuple[int, Any]:
        async with self.m.ClientSession() as s, s.get(url) as r:
            return r.status, await r.read()

    async def astream(self, c: Any, url: str) -> tuple[int, int]:
        total = 0
        async with c.get(url) as r:
            async for chunk in r.content.iter_chunked(CHUNK):
                total += len(chunk)
            return r.status, total

    async def aupload(self, c: Any, url: str, path: str) -> tuple[int, Any]:
        with open(path, "rb") as f:
            async with c.post(url, data=f) as r:
                return r.status, await r.read()

    async def aprobe(self, c: Any, url: str) -> tuple[int, Any, dict[str, str], str | None]:
        async with c.get(url) as r:
            return r.status, await r.read(), _headers(r.headers.items()), "HTTP/%d.%d" % tuple(r.version)


ADAPTERS: dict[str, type[Adapter]] = {
    "httpr": Httpr, "pyreqwest": Pyreqwest, "primp": Primp, "httpx": Httpx, "requests": Requests,
    "niquests": Niquests, "pycurl": Pycurl, "aiohttp": Aiohttp,
}


def run_async(coro: Awaitable[Any]) -> Any:
    """Run ``coro`` on a new event loop (kept as the current loop for libraries that look it up)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()
