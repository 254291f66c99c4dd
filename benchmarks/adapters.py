"""What an SDK user gains without changing code: httpx and requests with httpr underneath
(`httpr.HTTPXTransport`, `httpr.RequestsAdapter`) against plain httpx and requests.

    python benchmarks/adapters.py [--python .venv/bin/python] [-R 5] [--base http://127.0.0.1:18280]

Needs a local server with a 5 KiB file at /5k (the harness's nginx: `python3
benchmarks/server.py start`). Each measurement runs in a fresh process (this script
re-runs itself with `--worker`); runs are interleaved across clients, and the table gives the
median process CPU time per request and its ratio to the plain library, within this one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

CLIENTS = {
    "sync_5k": ["httpx", "httpx+httpr", "requests", "requests+httpr", "httpr"],
    "async64_5k": ["httpx", "httpx+httpr", "httpr"],
}
BASELINE = {"httpx+httpr": "httpx", "requests+httpr": "requests", "httpr": "httpx"}


def _sync_client(name: str) -> tuple[Callable[[str], bytes], Callable[[], None]]:
    import httpr

    if name == "httpr":
        c: Any = httpr.Client()
    elif name.startswith("httpx"):
        import httpx

        c = httpx.Client(transport=httpr.HTTPXTransport()) if name.endswith("+httpr") else httpx.Client()
    else:
        import requests

        c = requests.Session()
        if name.endswith("+httpr"):
            c.mount("http://", httpr.RequestsAdapter())
    return (lambda url: c.get(url).content), c.close


def _async_run(name: str, url: str, n: int) -> None:
    import asyncio

    import httpr

    async def main() -> None:
        if name == "httpr":
            c: Any = httpr.AsyncClient()
        else:
            import httpx

            limits = httpx.Limits(max_connections=100, max_keepalive_connections=64)
            c = httpx.AsyncClient(transport=httpr.AsyncHTTPXTransport(), limits=limits) if name.endswith("+httpr") else httpx.AsyncClient(limits=limits)
        sem = asyncio.Semaphore(64)

        async def one() -> None:
            async with sem:
                r = await c.get(url)
                assert r.status_code == 200 and len(r.content) == 5120

        await asyncio.gather(*(one() for _ in range(n // 10)))  # warm-up
        global started
        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(n)))
        await c.aclose()

    asyncio.run(main())


started = 0.0


def worker(name: str, scenario: str, base: str, n: int) -> None:
    global started
    url = base + "/5k"
    if scenario == "sync_5k":
        get, close = _sync_client(name)
        for _ in range(max(10, n // 20)):
            get(url)
        started = time.process_time()
        for _ in range(n):
            assert len(get(url)) == 5120
        cpu = time.process_time() - started
        close()
    else:
        _async_run(name, url, n)
        cpu = time.process_time() - started
    print(json.dumps({"cpu_ms_per_request": cpu * 1000 / n}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable, help="interpreter with httpr, httpx and requests installed")
    ap.add_argument("-R", type=int, default=5, help="runs per cell (fresh processes, interleaved)")
    ap.add_argument("-n", type=int, default=3000, help="requests per run")
    ap.add_argument("--base", default="http://127.0.0.1:18280")
    ap.add_argument("--worker", nargs=2, metavar=("CLIENT", "SCENARIO"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.base, args.n)
        return
    results: dict[tuple[str, str], list[float]] = {}
    for scenario, clients in CLIENTS.items():
        for _ in range(args.R):
            for name in clients:
                out = subprocess.run(
                    [args.python, __file__, "--worker", name, scenario, "--base", args.base, "-n", str(args.n)],
                    capture_output=True, text=True, check=True,
                )
                results.setdefault((scenario, name), []).append(json.loads(out.stdout)["cpu_ms_per_request"])
    print(f"| scenario | client | CPU ms/request (median of {args.R}) | ratio to the plain library |")
    print("|---|---|---|---|")
    for (scenario, name), runs in results.items():
        med = statistics.median(runs)
        base = BASELINE.get(name, name)
        ratio = med / statistics.median(results[(scenario, base)])
        print(f"| {scenario} | {name} | {med:.3f} | {ratio:.2f} (vs {base}) |")


if __name__ == "__main__":
    main()
