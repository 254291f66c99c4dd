"""Fork safety and thread safety, against a real local server.

Fork: the parent uses its clients (so runtimes and pooled connections exist), then forks; the
child must be able to send sync and async requests (its own event loop via ``asyncio.run``) and
the parent must keep working. The child reports through a pipe and exits with ``os._exit``; the
parent waits with a deadline and kills a child that hangs, so a deadlock fails the test instead
of hanging the run.

Threads: one client shared by many threads, each checking it got its own responses back.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import httpr
from production_servers import ProdServer, wait_for

CHILD_DEADLINE = 20.0

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")




def in_child(body: Callable[[], dict[str, Any]], deadline: float = CHILD_DEADLINE) -> dict[str, Any]:
    """Run ``body`` in a forked child; return the dict it returned (sent back as JSON). Fails the
    test if the child raises, dies, or is still running after ``deadline`` seconds (it is
    killed)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 3
        try:
            os.close(read_end)
            signal.alarm(int(deadline) + 5)  # a last resort should the parent be gone
            try:
                payload: dict[str, Any] = {"ok": True, "result": body()}
                code = 0
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                payload = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                code = 1
            os.write(write_end, json.dumps(payload).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(read_end, 65536), b"")))
    reader.start()
    limit = time.monotonic() + deadline
    status = None
    while status is None:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
        elif time.monotonic() > limit:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            reader.join(5)
            os.close(read_end)
            pytest.fail(f"the forked child hung for more than {deadline}s")
        else:
            time.sleep(0.02)
    reader.join(5)
    os.close(read_end)
    raw_out = b"".join(chunks)
    assert raw_out, f"the child died without reporting (wait status {status})"
    report = json.loads(raw_out)
    assert report["ok"], f"the child failed: {report['error']}"
    assert os.waitstatus_to_exitcode(status) == 0
    result: dict[str, Any] = report["result"]
    return result


def tagged(srv: ProdServer, tag: str) -> list[str]:
    """The paths of the requests carrying ``X-From: <tag>``."""
    return [s.path for s in srv.seen("/echo") if s.header("X-From") == tag]


async def async_get(client: httpr.AsyncClient, url: str, tag: str) -> int:
    return (await client.get(url, headers={"X-From": tag})).status_code


# -- fork ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_connections", [None, 4], ids=["unlimited", "limited"])
def test_clients_used_before_fork_work_in_the_child_and_the_parent(
    srv: ProdServer, uid: str, max_connections: int | None
) -> None:
    client = httpr.Client(timeout=5, max_connections=max_connections)
    aclient = httpr.AsyncClient(timeout=5, max_connections=max_connections)
    # the parent uses both: runtimes started, connections pooled
    assert client.get(srv.url(f"/echo/{uid}/parent-before"), headers={"X-From": "parent"}).status_code == 200
    assert asyncio.run(async_get(aclient, srv.url(f"/echo/{uid}/parent-before-async"), "parent")) == 200

    def child() -> dict[str, Any]:
        tag = f"child-{os.getpid()}"
        sync = [client.get(srv.url(f"/echo/{uid}/child-sync-{i}"), headers={"X-From": tag}).status_code for i in range(3)]
        with client.stream("GET", srv.url(f"/echo/{uid}/child-stream"), headers={"X-From": tag}) as streamed:
            stream_body = streamed.read()

        async def run_async() -> list[int]:
            inherited = await async_get(aclient, srv.url(f"/echo/{uid}/child-async-inherited"), tag)
            async with httpr.AsyncClient(timeout=5) as fresh:
                statuses = await asyncio.gather(
                    *(async_get(fresh, srv.url(f"/echo/{uid}/child-async-{i}"), tag) for i in range(3))
                )
            return [inherited, *statuses]

        return {
            "tag": tag,
            "sync": sync,
            "stream": json.loads(stream_body)["path"],
            "async": asyncio.run(run_async()),
        }

    report = in_child(child)
    assert report["sync"] == [200, 200, 200]
    assert report["async"] == [200, 200, 200, 200]
    assert report["stream"] == f"/echo/{uid}/child-stream"
    assert sorted(tagged(srv, report["tag"])) == sorted(
        [f"/echo/{uid}/child-sync-{i}" for i in range(3)]
        + [f"/echo/{uid}/child-stream", f"/echo/{uid}/child-async-inherited"]
        + [f"/echo/{uid}/child-async-{i}" for i in range(3)]
    )
    # the parent keeps working with the same clients
    assert client.get(srv.url(f"/echo/{uid}/parent-after"), headers={"X-From": "parent"}).status_code == 200
    assert asyncio.run(async_get(aclient, srv.url(f"/echo/{uid}/parent-after-async"), "parent")) == 200
    client.close()


def test_a_client_created_only_in_the_child(srv: ProdServer, uid: str) -> None:
    def child() -> dict[str, Any]:
        tag = f"child-{os.getpid()}"
        with httpr.Client(timeout=5) as c:
            sync = c.get(srv.url(f"/echo/{uid}/sync"), headers={"X-From": tag}).json()["path"]

        async def run_async() -> int:
            async with httpr.AsyncClient(timeout=5) as ac:
                return await async_get(ac, srv.url(f"/echo/{uid}/async"), tag)

        return {"tag": tag, "sync": sync, "async": asyncio.run(run_async())}

    report = in_child(child)
    assert report == {"tag": report["tag"], "sync": f"/echo/{uid}/sync", "async": 200}
    assert sorted(tagged(srv, report["tag"])) == [f"/echo/{uid}/async", f"/echo/{uid}/sync"]


def test_module_functions_after_fork(srv: ProdServer, uid: str) -> None:
    assert httpr.get(srv.url(f"/echo/{uid}/parent"), timeout=5).status_code == 200

    def child() -> dict[str, Any]:
        tag = f"child-{os.getpid()}"
        return {"tag": tag, "status": httpr.get(srv.url(f"/echo/{uid}/child"), headers={"X-From": tag}, timeout=5).status_code}

    report = in_child(child)
    assert report["status"] == 200
    assert tagged(srv, report["tag"]) == [f"/echo/{uid}/child"]
    assert httpr.get(srv.url(f"/echo/{uid}/parent-again"), timeout=5).status_code == 200


def test_fork_while_another_thread_is_mid_request(srv: ProdServer, uid: str) -> None:
    """At the moment of fork() another thread is inside a request (holding whatever the client
    holds while a request runs); the child must not inherit a stuck lock."""
    client = httpr.Client(timeout=5)
    aclient = httpr.AsyncClient(timeout=5)
    box: list[int] = []
    busy = threading.Thread(target=lambda: box.append(client.get(srv.url("/slow?ms=800")).status_code))
    busy.start()
    assert wait_for(lambda: srv.in_flight >= 1)

    def child() -> dict[str, Any]:
        tag = f"child-{os.getpid()}"
        status = client.get(srv.url(f"/echo/{uid}/child"), headers={"X-From": tag}).status_code
        astatus = asyncio.run(async_get(aclient, srv.url(f"/echo/{uid}/child-async"), tag))
        return {"tag": tag, "statuses": [status, astatus]}

    report = in_child(child)
    busy.join(5)
    assert box == [200], "the parent's request in flight during the fork completes"
    assert report["statuses"] == [200, 200]
    assert sorted(tagged(srv, report["tag"])) == [f"/echo/{uid}/child", f"/echo/{uid}/child-async"]


def test_a_parent_stream_survives_a_fork(srv: ProdServer, uid: str) -> None:
    """The parent is half-way through a streamed body when it forks; the child uses the same
    client (new pools of its own) and exits; the parent reads the rest of its body."""
    client = httpr.Client(timeout=5)
    with client.stream("GET", srv.url("/trickle?n=6&gap=0.05")) as response:
        chunks = response.iter_bytes()
        first = next(chunks)

        def child() -> dict[str, Any]:
            return {"status": client.get(srv.url(f"/echo/{uid}/child")).status_code}

        assert in_child(child) == {"status": 200}
        rest = b"".join(chunks)
    assert first + rest == b"x" * 6
    assert client.get(srv.url(f"/echo/{uid}/parent")).status_code == 200
    assert [s.path for s in srv.seen(f"/echo/{uid}")] == [f"/echo/{uid}/child", f"/echo/{uid}/parent"]


def test_nested_forks(srv: ProdServer, uid: str) -> None:
    """A grandchild (fork of a forked child) works too."""
    client = httpr.Client(timeout=5)
    assert client.get(srv.url(f"/echo/{uid}/gen0")).status_code == 200

    def child() -> dict[str, Any]:
        assert client.get(srv.url(f"/echo/{uid}/gen1")).status_code == 200

        def grandchild() -> dict[str, Any]:
            return {"status": client.get(srv.url(f"/echo/{uid}/gen2")).status_code}

        return in_child(grandchild, deadline=10)

    assert in_child(child) == {"status": 200}
    assert [s.path for s in srv.seen(f"/echo/{uid}")] == [f"/echo/{uid}/gen{i}" for i in range(3)]


# -- threads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_connections", [None, 8], ids=["unlimited", "limited"])
def test_one_client_shared_by_16_threads(srv: ProdServer, uid: str, max_connections: int | None) -> None:
    threads, per_thread = 16, 50
    barrier = threading.Barrier(threads)

    with httpr.Client(timeout=10, max_connections=max_connections) as client:

        def work(n: int) -> list[str]:
            barrier.wait()
            wrong = []
            for i in range(per_thread):
                path = f"/echo/{uid}/t{n}/r{i}"
                response = client.get(srv.url(path), headers={"X-Thread": str(n)})
                data = response.json()
                if response.status_code != 200 or data["path"] != path:
                    wrong.append(f"{path} -> {response.status_code} {data['path']}")
                elif [v for k, v in data["headers"] if k.lower() == "x-thread"] != [str(n)]:
                    wrong.append(f"{path}: X-Thread {data['headers']}")
            return wrong

        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(work, range(threads)))

    assert [w for r in results for w in r] == []
    assert len(srv.seen(f"/echo/{uid}/")) == threads * per_thread


def test_one_async_client_shared_by_threads_with_their_own_loops(srv: ProdServer, uid: str) -> None:
    threads, per_thread = 8, 25
    aclient = httpr.AsyncClient(timeout=10)

    def work(n: int) -> list[str]:
        async def run() -> list[str]:
            paths = [f"/echo/{uid}/t{n}/r{i}" for i in range(per_thread)]
            responses = await asyncio.gather(*(aclient.get(srv.url(p)) for p in paths))
            return [p for p, r in zip(paths, responses) if r.json()["path"] != p]

        return asyncio.run(run())

    with ThreadPoolExecutor(max_workers=threads) as pool:
        wrong = [w for r in pool.map(work, range(threads)) for w in r]
    assert wrong == []
    assert len(srv.seen(f"/echo/{uid}/")) == threads * per_thread


def test_settings_changed_while_threads_send(srv: ProdServer, uid: str) -> None:
    """Changing headers and the timeout from one thread while others send: every request gets
    one consistent snapshot and none fails."""
    stop = threading.Event()
    errors: list[str] = []
    with httpr.Client(timeout=10, headers={"X-Gen": "0"}) as client:

        def send(n: int) -> None:
            i = 0
            while not stop.is_set():
                try:
                    assert client.get(srv.url(f"/echo/{uid}/t{n}/{i}")).status_code == 200
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(repr(exc))
                i += 1

        workers = [threading.Thread(target=send, args=(n,)) for n in range(6)]
        for w in workers:
            w.start()
        for gen in range(1, 30):
            client.headers = {"X-Gen": str(gen)}
            client.timeout = 10 + gen
            time.sleep(0.01)
        stop.set()
        for w in workers:
            w.join(10)
    assert errors == []
    gens = {s.header("X-Gen") for s in srv.seen(f"/echo/{uid}/")}
    assert len(gens) > 1 and gens <= {str(g) for g in range(30)}
