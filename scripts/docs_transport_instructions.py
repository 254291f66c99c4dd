#!/usr/bin/env python3
"""Instructions per request of each transport path, the numbers on docs/contributing/architecture.md.

The method is ``scripts/callgrind_guard.py``'s (same local server, 5120-byte body, same
environment, ``(I(n_large) - I(n_small)) / (n_large - n_small)`` under callgrind); only the
measured loop differs, one per case:

* ``sync_lean``: ``Client.get`` with one extra header, ``X-Content-Len: 0``. The request takes
  the lean HTTP/1.1 path (``h1::eligible``).
* ``sync_hyper``: the same call with ``Content-Length: 0`` instead, a header of the same size. A
  caller's own Content-Length is one of the things ``h1::eligible`` leaves to hyper, so this is the
  same sync request through hyper-util's pool and hyper's connection task.
* ``async_hyper``: ``AsyncClient.get`` with the ``X-Content-Len`` header, awaited one at a time in
  ``asyncio.run``. Async requests always take hyper; this count includes asyncio's own work.

Usage (from the repository root; a few minutes)::

    python3 scripts/docs_transport_instructions.py --python .venv/bin/python
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import callgrind_guard as guard  # noqa: E402 (the sibling script, found through sys.path)

_CHECK = f"""
    if r.status_code != 200 or len(r.content) != {guard.BODY_SIZE}:
        sys.exit(f"bad response: status {{r.status_code}}, {{len(r.content)}} bytes")
"""

_SYNC = """
import sys
import httpr

url, n = sys.argv[1], int(sys.argv[2])
client = httpr.Client()
headers = {HEADERS}
for _ in range(n):
    r = client.get(url, headers=headers)
""" + _CHECK

_ASYNC = """
import asyncio
import sys
import httpr

url, n = sys.argv[1], int(sys.argv[2])

async def main() -> None:
    client = httpr.AsyncClient()
    headers = {HEADERS}
    for _ in range(n):
        r = await client.get(url, headers=headers)
""" + _CHECK.replace("\n    ", "\n        ") + """
asyncio.run(main())
"""

CASES = {
    "sync_lean": _SYNC.replace("{HEADERS}", '{"X-Content-Len": "0"}'),
    "sync_hyper": _SYNC.replace("{HEADERS}", '{"Content-Length": "0"}'),
    "async_hyper": _ASYNC.replace("{HEADERS}", '{"X-Content-Len": "0"}'),
}


def total(python: str, code: str, url: str, n: int, out: Path | None) -> int:
    """Run ``code`` for N requests (under callgrind when ``out`` is given); its instruction count."""
    cmd = [python, "-c", code, url, str(n)]
    if out is not None:
        cmd = ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={out}", *cmd]
    proc = subprocess.run(cmd, env=guard.client_env(), capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise guard.GuardError(f"exit status {proc.returncode} (N={n}):\n{proc.stdout}{proc.stderr}")
    return 0 if out is None else guard.parse_total(out.read_text(encoding="utf-8", errors="replace"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--python", default=sys.executable, help="interpreter with httpr installed")
    ap.add_argument("--n-small", type=int, default=100)
    ap.add_argument("--n-large", type=int, default=600)
    ap.add_argument("--case", action="append", choices=sorted(CASES), help="only these cases (repeatable)")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("error: valgrind is not on PATH (apt-get install valgrind)", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="transport-instr-") as tmp, guard.ServerProcess() as server:
            for name in args.case or list(CASES):
                code = CASES[name]
                total(args.python, code, server.url, 20, None)  # checks the case, fills .pyc caches
                small = total(args.python, code, server.url, args.n_small, Path(tmp) / "small")
                large = total(args.python, code, server.url, args.n_large, Path(tmp) / "large")
                per = (large - small) / (args.n_large - args.n_small)
                print(f"{name}: {per:,.0f} instructions/request (N={args.n_small}/{args.n_large})", flush=True)
    except guard.GuardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
