"""Issue 21: Ctrl-C works. A blocking sync request, a stream read and a retry's backoff, all
waiting on a stalling loopback server, raise KeyboardInterrupt within ~100 ms of a real SIGINT;
the connection is dropped, the client stays usable, and other threads' requests carry on."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import httpr
from production_servers import ProdServer

#: When the signal is sent, and how late KeyboardInterrupt may arrive after it (generous for a
#: loaded CI machine; the checks run every 50 ms).
AFTER = 0.3
LATE = 0.5


@pytest.fixture
def sigint_soon() -> Iterator[Callable[[], None]]:
    timers: list[threading.Timer] = []

    def arm() -> None:
        t = threading.Timer(AFTER, os.kill, (os.getpid(), signal.SIGINT))
        timers.append(t)
        t.start()

    yield arm
    for t in timers:
        t.cancel()


def interrupted_within(call: Callable[[], Any], arm: Callable[[], None]) -> float:
    """Run `call` with a SIGINT on its way; return how long after the signal it stopped."""
    arm()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        call()
    late = time.monotonic() - start - AFTER
    assert -0.05 < late < LATE, f"KeyboardInterrupt {late:.3f}s after SIGINT"
    return late


def test_a_blocking_request_is_interrupted_and_the_client_stays_usable(srv: ProdServer, sigint_soon: Callable[[], None]) -> None:
    with httpr.Client(timeout=30) as client:
        assert client.get(srv.url("/echo/warm")).status_code == 200
        interrupted_within(lambda: client.get(srv.url("/slow?ms=5000")), sigint_soon)
        assert client.get(srv.url("/echo/after")).status_code == 200
    slow = [s for s in srv.seen("/slow")]
    after = [s for s in srv.seen("/echo") if s.path == "/echo/after"]
    # The interrupted connection was dropped, not reused.
    assert slow and after and after[-1].client_port != slow[-1].client_port


def test_a_stream_read_is_interrupted(srv: ProdServer, sigint_soon: Callable[[], None]) -> None:
    with httpr.Client(timeout=30) as client:
        with client.stream("GET", srv.url("/trickle?n=1000&gap=1")) as r:
            interrupted_within(lambda: b"".join(r.iter_bytes()), sigint_soon)
        assert client.get(srv.url("/echo/after-stream")).status_code == 200


def test_a_retry_backoff_is_interrupted(closed_port: int, sigint_soon: Callable[[], None]) -> None:
    retry = httpr.Retry(total=3, backoff_factor=10, backoff_jitter=0)
    with httpr.Client(retries=retry, timeout=5) as client:
        interrupted_within(lambda: client.get(f"http://127.0.0.1:{closed_port}/"), sigint_soon)


def test_other_threads_requests_are_unaffected(srv: ProdServer, sigint_soon: Callable[[], None]) -> None:
    results: list[int] = []
    with httpr.Client(timeout=30) as client:
        worker = threading.Thread(target=lambda: results.append(client.get(srv.url("/slow?ms=800")).status_code))
        worker.start()
        interrupted_within(lambda: client.get(srv.url("/slow?ms=5000")), sigint_soon)
        worker.join(5)
    assert results == [200]
