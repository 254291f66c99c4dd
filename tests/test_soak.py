"""Soak: a bounded loop of mixed requests on shared clients from several threads.

Three threads share one sync ``Client`` (plain requests, POSTs, streams) and a fourth drives one
``AsyncClient`` (requests and streams) on its event loop; every tenth request hits a fault
(reset or close mid-body). Each request carries an id the server records, so afterwards every
id was received exactly once and every answer names its own id (no request lost, none answered
twice or crossed). RSS and open descriptors, sampled once warm (after a fifth of the run) and at
the end, must not grow by 5% or more.

What is measured is the client's process: the server (``fault_servers.FaultServer``, which logs
every request) runs in a child process and reports its counts at the end, and this side keeps
one byte per request id, checking each answer as it comes, so the test's own bookkeeping does
not grow the RSS it measures.

``HTTPR_SOAK_SECONDS`` sets the length (default 60); the figures are printed (``-s``) and
published on docs/guides/reliability.md.
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import httpr
from fault_servers import open_fds
from stream_server import rss_bytes

SECONDS = float(os.environ.get("HTTPR_SOAK_SECONDS", "60"))
#: Every this many requests, one hits a fault.
FAULT_EVERY = 10
FAULTS: dict[str, type[httpr.HTTPError]] = {
    "/reset-mid-body": httpr.ReadError,
    "/close-mid-body": httpr.RemoteProtocolError,
}


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    """Replaces conftest's 30 s guard: this test runs for SECONDS by design."""
    faulthandler.dump_traceback_later(SECONDS + 120, exit=True, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()


class Ledger:
    """Which ids were sent (one byte each) and the answers that were wrong."""

    def __init__(self, capacity: int) -> None:
        self.ids = itertools.count()
        self.asked = bytearray(capacity)
        self.wrong: list[str] = []
        self.faults = 0

    def next_id(self) -> int:
        rid = next(self.ids)
        assert rid < len(self.asked), "more requests than the ledger holds"
        self.asked[rid] = 1
        return rid

    def check(self, rid: int, method: str, path: str, outcome: bytes | BaseException) -> None:
        if path == "/ok":
            length = len(str(rid)) if method == "POST" else 0
            if outcome != f"{method} {rid} {length}".encode():
                self.wrong.append(f"{method} {path} {rid}: {outcome!r}")
        else:
            self.faults += 1
            if type(outcome) is not FAULTS[path]:
                self.wrong.append(f"{method} {path} {rid}: {outcome!r}")


#: The child process serving the soak: prints its port, serves until its stdin closes, then
#: prints how many times it received each rid (JSON).
SERVER = """
import collections, json, sys
from fault_servers import FaultServer
with FaultServer() as server:
    print(server.port, flush=True)
    sys.stdin.read()
    counts = collections.Counter(r.rid for r in server.received())
print(json.dumps(counts))
"""


def pick(n: int) -> tuple[str, str]:
    if n % FAULT_EVERY == FAULT_EVERY - 1:
        return "GET", list(FAULTS)[(n // FAULT_EVERY) % len(FAULTS)]
    return ("POST" if n % 3 == 0 else "GET"), "/ok"


def test_soak() -> None:
    ledger = Ledger(int(SECONDS * 5000) + 10_000)
    samples: dict[str, tuple[int, int]] = {}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=Path(__file__).parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdin is not None and server.stdout is not None
    port = int(server.stdout.readline())
    deadline = time.monotonic() + SECONDS

    def url(path: str, rid: int) -> str:
        return f"http://127.0.0.1:{port}{path}?rid={rid}"

    def own_fds() -> int:
        gc.collect()
        return open_fds()

    def sync_worker(client: httpr.Client, who: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            rid = ledger.next_id()
            method, path = pick(n + who)
            content = str(rid).encode() if method == "POST" else None
            try:
                if n % 2:
                    with client.stream(method, url(path, rid), content=content) as r:
                        out: bytes | BaseException = r.read()
                else:
                    out = client.request(method, url(path, rid), content=content).content
            except httpr.HTTPError as exc:
                out = exc
            ledger.check(rid, method, path, out)
            n += 1

    async def async_worker() -> None:
        async with httpr.AsyncClient(timeout=5) as client:
            n = 0
            while time.monotonic() < deadline:
                await asyncio.gather(*(async_one(client, n + i) for i in range(8)))
                n += 8

    async def async_one(client: httpr.AsyncClient, n: int) -> None:
        rid = ledger.next_id()
        method, path = pick(n)
        content = str(rid).encode() if method == "POST" else None
        try:
            if n % 2:
                async with client.stream(method, url(path, rid), content=content) as r:
                    out: bytes | BaseException = await r.aread()
            else:
                out = (await client.request(method, url(path, rid), content=content)).content
        except httpr.HTTPError as exc:
            out = exc
        ledger.check(rid, method, path, out)

    try:
        with httpr.Client(timeout=5) as client:
            threads = [threading.Thread(target=sync_worker, args=(client, i)) for i in range(3)]
            threads.append(threading.Thread(target=lambda: asyncio.run(async_worker())))
            started = time.monotonic()
            for t in threads:
                t.start()
            time.sleep(SECONDS / 5)
            samples["warm"] = (rss_bytes(), own_fds())
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
            samples["end"] = (rss_bytes(), own_fds())
    finally:
        out, _ = server.communicate(timeout=30)
    received: dict[str, int] = json.loads(out.splitlines()[-1])

    sent = sum(ledger.asked)
    assert ledger.wrong == [], f"{len(ledger.wrong)} wrong answers, first: {ledger.wrong[:3]}"
    twice = {rid: n for rid, n in received.items() if n != 1}
    assert twice == {}, f"received more than once: {list(twice.items())[:5]}"
    unasked = [rid for rid in received if not (rid.isdigit() and int(rid) < len(ledger.asked) and ledger.asked[int(rid)])]
    assert unasked == [], f"the server saw requests nobody sent: {unasked[:5]}"
    assert len(received) == sent, f"{sent - len(received)} requests never reached the server"

    (rss0, fds0), (rss1, fds1) = samples["warm"], samples["end"]
    rss_growth, fd_growth = (rss1 - rss0) / rss0 * 100, (fds1 - fds0) / fds0 * 100
    print(
        f"\nsoak: {elapsed:.0f} s, {sent} requests ({ledger.faults} faults), "
        f"RSS {rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB ({rss_growth:+.2f}%), "
        f"fds {fds0} -> {fds1} ({fd_growth:+.2f}%)"
    )
    assert rss_growth < 5, f"RSS grew {rss_growth:.2f}%"
    assert fd_growth < 5, f"open descriptors grew {fd_growth:.2f}%"
