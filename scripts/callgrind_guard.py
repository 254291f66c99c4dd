#!/usr/bin/env python3
"""Instructions per sync request, counted by callgrind and checked against a committed budget.

A regression guard for the sync request path that CI can afford: instruction counts under
valgrind barely move between runs (unlike CPU time on a shared 2-core machine), so a small
tolerance catches a real regression without flaking.

How it measures
---------------
* A tiny HTTP/1.1 keep-alive server (stdlib ``http.server``, a fixed 5120-byte body) runs on
  127.0.0.1 in a separate process, so none of its instructions are counted.
* ``valgrind --tool=callgrind`` runs a Python process that builds one ``httpr.Client()`` and does
  N sequential ``client.get(url)`` calls, reading the body of each. It runs twice, with
  N = ``--n-small`` and N = ``--n-large``; interpreter start-up, ``import httpr``, client
  construction and the first connection are the same in both runs and cancel out:

      instructions per request = (I(n_large) - I(n_small)) / (n_large - n_small)

  I is the ``summary:`` total of the callgrind output file: every instruction of every thread of
  the process (so a runtime thread doing the I/O is counted too).
* An unmeasured run first checks that the client works and fills the bytecode caches, so both
  measured runs start in the same state. PYTHONHASHSEED is fixed (with hash randomisation,
  repeated runs differed by up to 2%); proxy and CA-bundle variables are removed from the
  environment.
* glibc's memcpy and memset switch to ``rep movsb``/``rep stosb`` above a few KiB, and valgrind
  counts every iteration of those (one per byte): a 16 KiB copy would count ~16,400 instructions
  against ~500 for a 5 KiB one, far more than its CPU cost. GLIBC_TUNABLES raises the thresholds
  so that every size takes the vector loop (16 KiB: ~1,560; 64 KiB: ~6,200), and a moved 16 KiB
  future does not outweigh the rest of the request.
* The interpreter is the ``sys.executable`` that ``--python`` reports, so a wrapper script (a
  pyenv shim) is not what valgrind runs.

``--top K`` prints the K functions with the largest self cost per request (via
``callgrind_annotate``), which is where to start when the count moves.

Usage (from the repository root)::

    python3 scripts/callgrind_guard.py --python .venv/bin/python            # check the budget
    python3 scripts/callgrind_guard.py --python .venv/bin/python --update   # rewrite the budget
    python3 scripts/callgrind_guard.py --python .venv/bin/python --repeat 3 \\
        --ref-python /tmp/bench-venvs/anchors/bin/python                    # spread + ratio to 0.7.8
    python3 scripts/callgrind_guard.py --python .venv/bin/python --top 20   # where the cost goes

The budget lives in ``scripts/callgrind_budget.json``. The check fails (exit 1) when the measured
count is above ``instructions_per_request * (1 + tolerance)``. Counts depend on the Python build,
glibc and valgrind version, so the budget is only meaningful on the machine type CI uses; after a
deliberate change (or a toolchain change), rerun with ``--update`` and commit the new budget.
Exit status 2 means the measurement itself could not be made (no valgrind, a failed request...).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType

BUDGET_FILE = Path(__file__).resolve().with_name("callgrind_budget.json")
KEY = "sync_get_5k"
DEFAULT_TOLERANCE = 0.10
BODY_SIZE = 5120
#: Printable ASCII, the same bytes on every run.
BODY = bytes(32 + (i * 7) % 95 for i in range(BODY_SIZE))
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Length: " + str(BODY_SIZE).encode() + b"\r\n"
    b"\r\n" + BODY
)
#: Environment variables dropped from the measured process: a proxy or a CA bundle from the
#: environment would change what the client does.
DROPPED_ENV = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)

#: glibc tunables (glibc >= 2.33) that keep large copies and fills off ``rep movsb``/``rep stosb``.
NO_REP_STRING_OPS = "glibc.cpu.x86_rep_movsb_threshold=1099511627776:glibc.cpu.x86_rep_stosb_threshold=1099511627776"

#: Run by the measured interpreter: ``python -c CLIENT_CODE URL N``.
CLIENT_CODE = f"""
import sys
import httpr

url, n = sys.argv[1], int(sys.argv[2])
client = httpr.Client()
get = client.get
for _ in range(n):
    r = get(url)
    if r.status_code != 200 or len(r.content) != {BODY_SIZE}:
        sys.exit(f"bad response: status {{r.status_code}}, {{len(r.content)}} bytes")
try:
    from importlib.metadata import version
    print(version("httpr"))
except Exception:
    print("?")
print(sys.executable)
"""


class GuardError(Exception):
    """The measurement could not be made."""


# ------------------------------------------------------------------------------ server


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (the name http.server dispatches to)
        self.wfile.write(RESPONSE)  # status line, headers and body in one write

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve() -> None:
    """Serve RESPONSE on 127.0.0.1, print the port, stop when stdin reaches EOF."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # returns when the parent closes the pipe (or exits)
    server.shutdown()
    server.server_close()


class ServerProcess:
    """:func:`serve` in a child process, as a context manager; ``url`` is where it listens."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.close()
            raise GuardError(f"the local server did not start (printed {line!r})")
        self.url = f"http://127.0.0.1:{line}/5k"

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ------------------------------------------------------------------------------ measuring


def client_env() -> dict[str, str]:
    dropped = {name.lower() for name in DROPPED_ENV}
    env = {k: v for k, v in os.environ.items() if k.lower() not in dropped}
    env["PYTHONHASHSEED"] = "0"
    # Keep glibc's memcpy/memset on their vector loops at every size: valgrind counts each
    # iteration of `rep movsb`/`rep stosb` (one byte each), which would make a 16 KiB copy cost
    # ~16,000 "instructions" instead of the ~1,500 of the vector loop.
    env["GLIBC_TUNABLES"] = ":".join(
        t for t in (env.get("GLIBC_TUNABLES", ""), NO_REP_STRING_OPS) if t
    )
    return env


def parse_total(text: str) -> int:
    """The instruction count (Ir) of a callgrind output file: its ``summary:`` line, or the sum
    of its ``totals:`` lines."""
    summary: int | None = None
    totals: list[int] = []
    for line in text.splitlines():
        if line.startswith("summary:"):
            summary = int(line.split()[1])
        elif line.startswith("totals:"):
            totals.append(int(line.split()[1]))
    if summary is not None:
        return summary
    if totals:
        return sum(totals)
    raise GuardError("no summary: or totals: line in the callgrind output")


def run_client(python: str, url: str, n: int, valgrind_out: Path | None = None) -> str:
    """Run CLIENT_CODE for N requests (under callgrind when ``valgrind_out`` is given) and return
    its stdout (the httpr version and sys.executable, one a line)."""
    cmd = [python, "-c", CLIENT_CODE, url, str(n)]
    if valgrind_out is not None:
        cmd = ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={valgrind_out}", *cmd]
    try:
        proc = subprocess.run(cmd, env=client_env(), capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired as exc:
        raise GuardError(f"timed out after {exc.timeout:.0f} s: {' '.join(cmd[:4])} ...") from exc
    if proc.returncode != 0:
        raise GuardError(
            f"exit status {proc.returncode} from {cmd[0]} (N={n}):\n{proc.stdout}{proc.stderr}".rstrip()
        )
    return proc.stdout.strip()


def instructions(python: str, url: str, n: int, workdir: Path) -> int:
    out = workdir / f"callgrind.out.{n}"
    run_client(python, url, n, valgrind_out=out)
    return parse_total(out.read_text(encoding="utf-8", errors="replace"))


def per_request(python: str, url: str, n_small: int, n_large: int, workdir: Path) -> float:
    small = instructions(python, url, n_small, workdir)
    large = instructions(python, url, n_large, workdir)
    return (large - small) / (n_large - n_small)


def measure(python: str, url: str, n_small: int, n_large: int, repeat: int, workdir: Path) -> tuple[str, list[float]]:
    """The httpr version behind ``python`` and ``repeat`` measurements of instructions/request."""
    # Unmeasured: checks the client, fills the .pyc caches, finds the real interpreter.
    lines = run_client(python, url, 20).splitlines()
    if len(lines) < 2:
        raise GuardError(f"unexpected output from {python}: {lines!r}")
    version, executable = lines[-2], lines[-1]
    return version, [per_request(executable, url, n_small, n_large, workdir) for _ in range(repeat)]


_ANNOTATE_LINE = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+(\S.*)$")


def function_costs(path: Path) -> dict[str, int]:
    """Self cost (Ir) per function of a callgrind output file, from ``callgrind_annotate``."""
    proc = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--inclusive=no", str(path)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise GuardError(f"callgrind_annotate failed: {proc.stderr.strip()}")
    costs: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        m = _ANNOTATE_LINE.match(line)
        if m and "PROGRAM TOTALS" not in m.group(2):
            name = re.sub(r"\s+\[[^\]]*\]$", "", m.group(2))  # drop the " [object file]" suffix
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def top_functions(workdir: Path, n_small: int, n_large: int, count: int) -> list[str]:
    """The functions with the largest self cost per request, from the last pair of runs."""
    small = function_costs(workdir / f"callgrind.out.{n_small}")
    large = function_costs(workdir / f"callgrind.out.{n_large}")
    per = {f: (large.get(f, 0) - small.get(f, 0)) / (n_large - n_small) for f in large.keys() | small.keys()}
    ranked = sorted(per.items(), key=lambda item: (-item[1], item[0]))[:count]
    return [f"  {cost:10,.0f}  {name}" for name, cost in ranked]


def describe(name: str, version: str, values: list[float]) -> str:
    med = statistics.median(values)
    text = f"{name} (httpr {version}): {med:,.0f} instructions/request"
    if len(values) > 1:
        spread = (max(values) - min(values)) / med
        runs = ", ".join(f"{v:,.0f}" for v in values)
        text += f" (median of {len(values)}: {runs}; spread {spread:.1%})"
    return text


# ------------------------------------------------------------------------------ budget


def load_budget(path: Path) -> dict[str, dict[str, object]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise GuardError(f"{path}: expected a JSON object")
    return data


def budget_entry(budget: dict[str, dict[str, object]], path: Path) -> tuple[float, float]:
    entry = budget.get(KEY)
    if not isinstance(entry, dict):
        raise GuardError(f"{path} has no {KEY!r} entry: run with --update to create it")
    limit, tolerance = entry.get("instructions_per_request"), entry.get("tolerance", DEFAULT_TOLERANCE)
    if not isinstance(limit, (int, float)) or not isinstance(tolerance, (int, float)):
        raise GuardError(f"{path}: {KEY}.instructions_per_request and .tolerance must be numbers")
    return float(limit), float(tolerance)


def valgrind_version() -> str:
    return subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()


def python_version(python: str) -> str:
    code = "import platform; print(platform.python_version())"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


def write_budget(
    path: Path, budget: dict[str, dict[str, object]], value: float, version: str, args: argparse.Namespace
) -> None:
    """Set the count (and what it was measured with); the tolerance and any note are kept."""
    old = budget.get(KEY)
    entry: dict[str, object] = {"tolerance": DEFAULT_TOLERANCE, **(old if isinstance(old, dict) else {})}
    entry["instructions_per_request"] = round(value)
    entry["measured_with"] = (
        f"httpr {version}, Python {python_version(args.python)}, {valgrind_version()}, N={args.n_small}/{args.n_large}"
    )
    budget[KEY] = entry
    path.write_text(json.dumps(budget, indent=2) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="See the top of this file for the method.",
    )
    ap.add_argument("--python", default=sys.executable, help="interpreter with httpr installed (default: this one)")
    ap.add_argument("--budget", type=Path, default=BUDGET_FILE, help="budget file (default: %(default)s)")
    ap.add_argument("--update", action="store_true", help="write the measured count as the new budget")
    ap.add_argument("--repeat", type=int, default=1, help="measure K times, use the median (default 1)")
    ap.add_argument("--n-small", type=int, default=100)
    ap.add_argument("--n-large", type=int, default=600)
    ap.add_argument("--ref-python", help="also measure the httpr behind this interpreter, print the ratio")
    ap.add_argument("--ref-name", default="httpr-0.7.8", help="label for --ref-python (default %(default)s)")
    ap.add_argument("--keep", type=Path, help="keep the callgrind.out files in this folder (for callgrind_annotate)")
    ap.add_argument("--top", type=int, default=0, metavar="K", help="print the K functions costing most per request")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.repeat < 1 or not 0 < args.n_small < args.n_large:
        ap.error("need --repeat >= 1 and 0 < --n-small < --n-large")
    if shutil.which("valgrind") is None:
        print("error: valgrind is not on PATH (apt-get install valgrind)", file=sys.stderr)
        return 2

    try:
        budget = load_budget(args.budget)
        with tempfile.TemporaryDirectory(prefix="callgrind-guard-") as tmp, ServerProcess() as server:
            workdir = args.keep or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            version, values = measure(args.python, server.url, args.n_small, args.n_large, args.repeat, workdir)
            print(f"{KEY}: " + describe(args.python, version, values))
            if args.top:
                print(f"self instructions per request, top {args.top}:", *top_functions(workdir, args.n_small, args.n_large, args.top), sep="\n")
            value = statistics.median(values)
            if args.ref_python:
                ref_version, ref_values = measure(
                    args.ref_python, server.url, args.n_small, args.n_large, args.repeat, workdir
                )
                print(f"{KEY}: " + describe(f"{args.ref_name} {args.ref_python}", ref_version, ref_values))
                if args.top:
                    print(f"self instructions per request, top {args.top}:", *top_functions(workdir, args.n_small, args.n_large, args.top), sep="\n")
                print(f"{KEY}: ratio {value / statistics.median(ref_values):.3f} (below 1 = fewer instructions than {args.ref_name})")
        if args.update:
            write_budget(args.budget, budget, value, version, args)
            print(f"{KEY}: budget written to {args.budget}: {round(value):,} instructions/request")
            return 0
        limit, tolerance = budget_entry(budget, args.budget)
    except GuardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    ceiling = limit * (1 + tolerance)
    verdict = f"budget {limit:,.0f} (+{tolerance:.0%} = {ceiling:,.0f}), measured {value:,.0f} ({value / limit - 1:+.1%})"
    if value > ceiling:
        print(f"{KEY}: FAIL: over budget: {verdict}.", file=sys.stderr)
        print("If the extra work is intended, rerun with --update and commit the budget.", file=sys.stderr)
        return 1
    print(f"{KEY}: OK: {verdict}")
    if value < limit * (1 - tolerance):
        print(f"{KEY}: well under budget: run with --update to lock the improvement in.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
