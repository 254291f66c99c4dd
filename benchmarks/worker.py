"""One measurement in a fresh interpreter: the client's own.

    CLIENT_PYTHON benchmarks/worker.py ADAPTER SCENARIO N [--name NAME]
    CLIENT_PYTHON benchmarks/worker.py ADAPTER --info

Runs SCENARIO with the library of ADAPTER (clients.py) against the harness's nginx and prints one
JSON line: n, wall_s and cpu_s of the timed part, latency percentiles (lat_us p50/p99), the
garbage collections it triggered (gc_collections), maxrss_kb and rss_base_kb (after import,
before any client), and scenario extras. A scenario the library cannot run prints
``{"skip": reason}`` and exits 3; a wrong response fails the run (exit 1) instead of counting.

The timed part follows a warm-up on the same client and a ``gc.collect()``. CPU time is
``time.process_time()``: every thread of the process, so Rust runtime threads count.
Standard library only (plus the measured library).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import resource
import sys
import threading
import time
from functools import partial
from typing import Any, Awaitable, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server  # noqa: E402
from clients import ADAPTERS, Adapter, Skip, run_async  # noqa: E402

EXIT_SKIP = 3
THREADS = 8
#: async_scale_C: C requests in flight.
SCALE = (1, 16, 64, 256, 1024)
#: The sequential scenarios over one kept-alive client: scenario -> (client kind, base URL, path).
SEQUENTIAL = {
    "sync_5k": ("http", server.HTTP, "/5k"),
    "sync_50k": ("http", server.HTTP, "/50k"),
    "sync_200k": ("http", server.HTTP, "/200k"),
    "https_5k": ("https", server.HTTPS, "/5k"),
    "https_new_conn": ("https", server.HTTPS_NEW, "/5k"),
    "h2_5k": ("h2", server.H2, "/5k"),
}


IGNORED_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "requests_ca_bundle", "curl_ca_bundle",
               "ssl_cert_file", "ssl_cert_dir")


class BadResponse(Exception):
    """A response was wrong: the run fails."""


class Ctx:
    def __init__(self, adapter: Adapter, n: int) -> None:
        self.a = adapter
        self.n = n
        with open(server.MANIFEST, encoding="utf-8") as f:
            self.manifest: dict[str, Any] = json.load(f)
        self.extra: dict[str, Any] = {}
        self.warm = 0

    def served(self, path: str) -> bytes:
        with open(os.path.join(server.WWW, path.lstrip("/")), "rb") as f:
            return f.read()


# ------------------------------------------------------------------------------ timing

Op = Callable[[], None]
AOp = Callable[[], Awaitable[None]]
Result = tuple[int, float, float, list[int], int]  # ok, wall_s, cpu_s, latencies (ns), gc collections


def gc_count() -> int:
    return sum(s["collections"] for s in gc.get_stats())


#: --warm: the smoke mode's short warm-ups (None: the counts below).
WARM: list[int | None] = [None]


def warm_count(n: int) -> int:
    return max(10, min(200, n // 20))


def timed(ctx: Ctx, warm: int, run: Callable[[int, list[int] | None], int]) -> Result:
    """Warm up with ``run(warm, None)``, then time ``run(n, latencies)``."""
    warm = warm if WARM[0] is None else min(warm, WARM[0])
    ctx.warm = warm
    if warm and run(warm, None) != warm:
        raise BadResponse("warm-up incomplete")
    lat: list[int] = []
    gc.collect()
    g0, c0, t0 = gc_count(), time.process_time(), time.perf_counter()
    ok = run(ctx.n, lat)
    t1, c1, g1 = time.perf_counter(), time.process_time(), gc_count()
    return ok, t1 - t0, c1 - c0, lat, g1 - g0


def sequential(ctx: Ctx, op: Op, warm: int | None = None) -> Result:
    pc = time.perf_counter_ns

    def run(k: int, lat: list[int] | None) -> int:
        if lat is None:
            for _ in range(k):
                op()
            return k
        append = lat.append
        for _ in range(k):
            t = pc()
            op()
            append(pc() - t)
        return k
    return timed(ctx, warm_count(ctx.n) if warm is None else warm, run)


def async_sequential(ctx: Ctx, loop: asyncio.AbstractEventLoop, aop: AOp, warm: int | None = None) -> Result:
    """For a library without a sync API: one request awaited after another in one event loop."""
    ctx.extra["mode"] = "async API, sequential awaits"
    pc = time.perf_counter_ns

    async def main(k: int, lat: list[int] | None) -> int:
        for _ in range(k):
            t = pc()
            await aop()
            if lat is not None:
                lat.append(pc() - t)
        return k
    return timed(ctx, warm_count(ctx.n) if warm is None else warm, lambda k, lat: int(loop.run_until_complete(main(k, lat))))


def check_body(status: int, body: Any, size: int, what: str) -> None:
    if status != 200 or len(body) != size:
        raise BadResponse(f"{what}: status {status}, {len(body)} bytes (want 200 and {size})")


def check_full(ctx: Ctx, status: int, body: Any, path: str) -> None:
    """Status 200 and the exact bytes of the served file."""
    m = ctx.manifest[path]
    if status != 200 or hashlib.sha256(bytes(body)).hexdigest() != m["sha256"]:
        raise BadResponse(f"{path}: status {status}, {len(body)} bytes differ from the served file")


def check_gzip(ctx: Ctx, hdr: dict[str, str], path: str) -> None:
    """nginx echoes the request's Accept-Encoding: a JSON run that did not offer gzip is not comparable."""
    ae = hdr.get("x-req-ae", "")
    if "gzip" not in ae:
        raise BadResponse(f"{path}: the request's Accept-Encoding {ae!r} does not offer gzip")
    ctx.extra["accept_encoding"] = ae


# ------------------------------------------------------------------------------ scenarios


def need_sync(a: Adapter) -> None:
    if not a.has_sync:
        raise Skip(f"{a.dist} has no sync API")


def scn_sequential(ctx: Ctx, scenario: str) -> Result:
    a = ctx.a
    need_sync(a)
    kind, base, path = SEQUENTIAL[scenario]
    url, size = base + path, ctx.manifest[path]["size"]
    c = a.client(kind)
    try:
        status, body, _, ver = a.probe(c, url)
        check_full(ctx, status, body, path)
        if kind == "h2" and ver is not None and str(ver).upper().replace(".0", "") not in ("HTTP/2", "H2", "2", "20"):
            raise BadResponse(f"{url}: negotiated {ver}, not HTTP/2")
        ctx.extra["http_version"] = ver
        get = a.get(c)

        def op() -> None:
            status, body = get(url)
            check_body(status, body, size, url)
        return sequential(ctx, op)
    finally:
        a.close(c)


def scn_sync_json10(ctx: Ctx) -> Result:
    a = ctx.a
    need_sync(a)
    url, m = server.HTTP + "/json/10", ctx.manifest["/json/10"]
    want = json.loads(ctx.served("/json/10"))
    c = a.client("http")
    try:
        get = a.get_json(c)  # first: it may set the client up for JSON (pycurl's Accept-Encoding)
        _, _, hdr, _ = a.probe(c, url)
        check_gzip(ctx, hdr, "/json/10")
        status, doc = get(url)
        if status != 200 or doc != want:
            raise BadResponse(f"{url}: decoded JSON differs from the served document")
        items = m["items"]

        def op() -> None:
            status, doc = get(url)
            if status != 200 or type(doc) is not list or len(doc) != items:
                raise BadResponse(f"{url}: status {status}, {type(doc).__name__} (want a list of {items})")
        return sequential(ctx, op)
    finally:
        a.close(c)


def scn_new_client_5k(ctx: Ctx) -> Result:
    a = ctx.a
    url, size = server.HTTP + "/5k", ctx.manifest["/5k"]["size"]
    if a.has_sync:
        status, body = a.one_shot(url)
        check_full(ctx, status, body, "/5k")

        def op() -> None:
            status, body = a.one_shot(url)
            check_body(status, body, size, url)
        return sequential(ctx, op, warm=5)

    async def aop() -> None:
        status, body = await a.aone_shot(url)
        check_body(status, body, size, url)

    loop = asyncio.new_event_loop()
    try:
        return async_sequential(ctx, loop, aop, warm=5)
    finally:
        loop.close()


def scn_threads8_5k(ctx: Ctx) -> Result:
    a = ctx.a
    need_sync(a)
    url, size = server.HTTP + "/5k", ctx.manifest["/5k"]["size"]
    c = a.client("http")
    try:
        status, body, _, _ = a.probe(c, url)
        check_full(ctx, status, body, "/5k")
        fetchers = a.thread_fetchers(c, THREADS)

        def run(k: int, lat: list[int] | None) -> int:
            counts = [k // THREADS + (i < k % THREADS) for i in range(THREADS)]
            lats: list[list[int]] = [[] for _ in range(THREADS)]
            errors: list[str] = []

            def thread(i: int) -> None:
                get, pc, out = fetchers[i], time.perf_counter_ns, lats[i]
                try:
                    for _ in range(counts[i]):
                        t = pc()
                        status, body = get(url)
                        out.append(pc() - t)
                        check_body(status, body, size, url)
                except Exception as exc:  # surfaced below: one failed thread fails the run
                    errors.append(repr(exc))

            ts = [threading.Thread(target=thread, args=(i,)) for i in range(THREADS)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            if errors:
                raise BadResponse(f"{url}: a thread failed: {errors[0]}")
            if lat is not None:
                for part in lats:
                    lat.extend(part)
            return sum(len(x) for x in lats)
        return timed(ctx, max(64, warm_count(ctx.n)), run)
    finally:
        a.close(c)


def scn_async(ctx: Ctx, path: str, in_flight: int, tasks_up_front: bool) -> Result:
    """``in_flight`` requests at a time. With ``tasks_up_front`` (async64_*), N tasks are created
    and gathered behind a semaphore, as applications usually write it; otherwise (async_scale)
    ``in_flight`` workers each await their share one after another, so exactly that many are
    in flight and the per-task cost of asyncio stays out of the comparison between levels."""
    a = ctx.a
    if not a.has_async:
        raise Skip(f"{a.dist} has no asyncio API")
    url, m = server.HTTP + path, ctx.manifest[path]
    is_json = path.startswith("/json/")
    ctx.extra["in_flight"] = in_flight
    pc = time.perf_counter_ns

    async def main() -> Result:
        c = await a.aclient(in_flight)
        try:
            status, body, hdr, ver = await a.aprobe(c, url)
            check_full(ctx, status, body, path)
            ctx.extra["http_version"] = ver
            if is_json:
                check_gzip(ctx, hdr, path)
                get = a.aget_json(c)
                status, doc = await get(url)
                if status != 200 or doc != json.loads(ctx.served(path)):
                    raise BadResponse(f"{url}: decoded JSON differs from the served document")
            else:
                get = a.aget(c)

            def check(status: int, body: Any) -> None:
                if is_json:
                    if status != 200 or type(body) is not list or len(body) != m["items"]:
                        raise BadResponse(f"{url}: status {status}, {type(body).__name__}")
                else:
                    check_body(status, body, m["size"], url)

            async def one(lat: list[int] | None) -> None:
                t = pc()
                status, body = await get(url)
                if lat is not None:
                    lat.append(pc() - t)
                check(status, body)

            async def run(k: int, lat: list[int] | None) -> int:
                if tasks_up_front:
                    sem = asyncio.Semaphore(in_flight)

                    async def limited() -> None:
                        async with sem:
                            await one(lat)
                    await asyncio.gather(*(limited() for _ in range(k)))
                else:
                    async def worker(share: int) -> None:
                        for _ in range(share):
                            await one(lat)
                    await asyncio.gather(*(worker(k // in_flight + (i < k % in_flight)) for i in range(in_flight)))
                return k

            # timed() is synchronous; the loop is already running, so time inline here.
            warm = max(2 * in_flight, min(1000, ctx.n // 20), 128 if tasks_up_front else 0)
            if WARM[0] is not None:  # still one request per slot, so every connection is open
                warm = max(in_flight, min(warm, WARM[0]))
            ctx.warm = warm
            await run(warm, None)
            lat: list[int] = []
            gc.collect()
            g0, c0, t0 = gc_count(), time.process_time(), time.perf_counter()
            ok = await run(ctx.n, lat)
            t1, c1, g1 = time.perf_counter(), time.process_time(), gc_count()
            return ok, t1 - t0, c1 - c0, lat, g1 - g0
        finally:
            await a.aclose(c)

    result: Result = run_async(main())
    return result


def post_doc(ctx: Ctx) -> Any:
    """A JSON document of about 2 KB: an API request with a list of records."""
    items = json.loads(ctx.served("/json/1"))
    doc = {"request_id": "bench-0001", "dry_run": False, "priority": 3, "items": items + items[:2]}
    while len(json.dumps(doc, separators=(",", ":"))) > 2100:
        doc["items"].pop()
    return doc


def scn_post_json(ctx: Ctx) -> Result:
    a = ctx.a
    url, want = server.HTTP + "/echo", ctx.manifest["/echo"]["body"].encode()
    doc = post_doc(ctx)
    ctx.extra["payload_bytes"] = len(json.dumps(doc, separators=(",", ":")))

    def check(status: int, body: Any) -> None:
        if status != 200 or bytes(body) != want:
            raise BadResponse(f"POST {url}: status {status}, body {bytes(body)[:40]!r}")

    if a.has_sync:
        c = a.client("http")
        try:
            post = a.post_json(c)

            def op() -> None:
                check(*post(url, doc))
            op()
            return sequential(ctx, op)
        finally:
            a.close(c)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    c = loop.run_until_complete(a.aclient(1))
    try:
        apost = a.apost_json(c)

        async def aop() -> None:
            check(*await apost(url, doc))
        return async_sequential(ctx, loop, aop)
    finally:
        loop.run_until_complete(a.aclose(c))
        loop.close()


def scn_stream_big(ctx: Ctx) -> Result:
    """64 MiB streamed in chunks and dropped: MiB/s, and peak RSS against the RSS after import."""
    a = ctx.a
    url, size = server.HTTP + "/big", ctx.manifest["/big"]["size"]
    small, small_size = server.HTTP + "/5k", ctx.manifest["/5k"]["size"]
    ctx.extra["body_mib"] = size / 2**20
    if a.has_sync:
        c = a.client("http")
        try:
            _stream_check(a.stream(c, small), small_size, small)  # opens the connection, not the RSS

            def op() -> None:
                _stream_check(a.stream(c, url), size, url)
            res = sequential(ctx, op, warm=0)
        finally:
            a.close(c)
    else:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        ac = loop.run_until_complete(a.aclient(1))
        try:
            _stream_check(loop.run_until_complete(a.astream(ac, small)), small_size, small)

            async def aop() -> None:
                _stream_check(await a.astream(ac, url), size, url)
            res = async_sequential(ctx, loop, aop, warm=0)
        finally:
            loop.run_until_complete(a.aclose(ac))
            loop.close()
    ok, wall = res[0], res[1]
    ctx.extra["mib_per_s"] = ok * size / 2**20 / wall if wall > 0 else None
    return res


def _stream_check(got: tuple[int, int], size: int, url: str) -> None:
    if got[0] != 200 or got[1] != size:
        raise BadResponse(f"stream {url}: status {got[0]}, {got[1]} bytes (want 200 and {size})")


def scn_upload_10m(ctx: Ctx) -> Result:
    """A 10 MiB POST read from a file while it is sent; nginx answers once it has every byte.
    A library that cannot send a file object gets the file read into bytes per request (marked)."""
    a = ctx.a
    url, path, size = server.HTTP + "/upload", server.UPLOAD_FILE, ctx.manifest["/upload"]["size"]
    ctx.extra["body_mib"] = size / 2**20

    def check(status: int, body: Any) -> None:
        try:
            got = json.loads(bytes(body))["received"] if status == 200 else None
        except (ValueError, KeyError, TypeError):
            got = None
        if got != size:
            raise BadResponse(f"POST {url}: status {status}, server received {got} bytes (want {size})")

    if a.has_sync:
        c = a.client("http")
        try:
            def streamed() -> None:
                check(*a.upload(c, url, path))

            def whole() -> None:
                with open(path, "rb") as f:
                    check(*a.upload_bytes(c, url, f.read()))
            op: Op = streamed
            try:
                streamed()
            except BadResponse:
                raise
            except Exception as exc:  # the library refused the file object
                ctx.extra["mode"] = "file read into bytes per request (no streamed upload)"
                ctx.extra["upload_error"] = repr(exc)[:200]
                op = whole
                op()
            return sequential(ctx, op, warm=1)
        finally:
            a.close(c)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ac = loop.run_until_complete(a.aclient(1))
    try:
        async def aop() -> None:
            check(*await a.aupload(ac, url, path))
        loop.run_until_complete(aop())
        return async_sequential(ctx, loop, aop, warm=1)
    finally:
        loop.run_until_complete(a.aclose(ac))
        loop.close()


SCENARIOS: dict[str, Callable[[Ctx], Result]] = {
    **{s: partial(scn_sequential, scenario=s) for s in ("sync_5k", "sync_50k", "sync_200k")},
    "sync_json10": scn_sync_json10,
    "new_client_5k": scn_new_client_5k,
    "threads8_5k": scn_threads8_5k,
    "async64_5k": partial(scn_async, path="/5k", in_flight=64, tasks_up_front=True),
    "async64_json10": partial(scn_async, path="/json/10", in_flight=64, tasks_up_front=True),
    "post_json": scn_post_json,
    "stream_big": scn_stream_big,
    **{s: partial(scn_sequential, scenario=s) for s in ("h2_5k", "https_5k", "https_new_conn")},
    "upload_10m": scn_upload_10m,
    **{f"async_scale_{c}": partial(scn_async, path="/5k", in_flight=c, tasks_up_front=False) for c in SCALE},
}


def percentiles(lat_ns: list[int]) -> dict[str, float] | None:
    """p50 and p99 in microseconds (nearest rank)."""
    if not lat_ns:
        return None
    s = sorted(lat_ns)

    def rank(p: float) -> float:
        return s[min(len(s) - 1, max(0, int(p * len(s) + 0.999999) - 1))] / 1000
    return {"p50": rank(0.50), "p99": rank(0.99)}


def rss_kb() -> int | None:
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("adapter", choices=sorted(ADAPTERS))
    ap.add_argument("scenario", nargs="?", choices=list(SCENARIOS))
    ap.add_argument("n", nargs="?", type=int)
    ap.add_argument("--name")
    ap.add_argument("--info", action="store_true")
    ap.add_argument("--warm", type=int, help="at most this many warm-up requests (the smoke mode)")
    args = ap.parse_args(argv)
    WARM[0] = args.warm
    for k in list(os.environ):  # proxies and CA bundles from the environment would override verify=
        if k.lower() in IGNORED_ENV:
            del os.environ[k]
    try:
        adapter = ADAPTERS[args.adapter](server.CA)
    except ImportError as exc:
        print(json.dumps({"error": f"cannot import {args.adapter}: {exc}"}))
        return 1
    base = {"client": args.name or args.adapter, "adapter": args.adapter, "lib": adapter.dist,
            "lib_version": adapter.version(), "python": sys.version.split()[0]}
    if args.info:
        print(json.dumps(dict(base, notes=adapter.notes, executable=sys.executable)))
        return 0
    if args.scenario is None or not args.n or args.n < 1:
        ap.error("need SCENARIO and N >= 1")
    rss_base = rss_kb()
    ctx = Ctx(adapter, args.n)
    try:
        ok, wall, cpu, lat, collections = SCENARIOS[args.scenario](ctx)
    except Skip as exc:
        print(json.dumps(dict(base, scenario=args.scenario, skip=str(exc))))
        return EXIT_SKIP
    except BadResponse as exc:
        print(f"worker: {args.adapter} {args.scenario} FAILED: {exc}", file=sys.stderr)
        return 1
    if ok != args.n:
        print(f"worker: {args.adapter} {args.scenario} FAILED: {ok} of {args.n} verified", file=sys.stderr)
        return 1
    print(json.dumps(dict(base, scenario=args.scenario, n=args.n, ok=ok, warmup=ctx.warm, wall_s=wall, cpu_s=cpu,
                          lat_us=percentiles(lat), gc_collections=collections,
                          maxrss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                          rss_base_kb=rss_base, extra=ctx.extra)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
