#!/usr/bin/env python3
"""The benchmark harness: every client against a local nginx, each measurement in a fresh process.

    python3 benchmarks/run.py            # the full run (R=5) and the docs page regenerated from it
    python3 benchmarks/run.py --smoke    # R=1, tiny N: httpr and requests from .venv, the raw floor

A full run sets up what it needs (nginx from apt, the comparison venvs, the Rust floors), starts
nginx, calibrates N per (client, scenario) so a timed run lasts about --target-s, then runs R
rounds per scenario with the clients interleaved (A B C A B C ...), so slow drift on the machine
hits every client alike. It writes the run's JSON (every run's raw record and each cell's
medians) and renders docs/benchmarks.md and its chart from it with scripts/bench_report.py.
The smoke mode checks that every scenario yields a valid cell for every client and publishes
nothing. Standard library only: any python3 runs it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import environment  # noqa: E402
import server  # noqa: E402

ROOT = environment.ROOT
WORKER = os.path.join(HERE, "worker.py")
REPORT = os.path.join(ROOT, "scripts", "bench_report.py")
DEV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
EXIT_SKIP = 3
REF = "httpr-0.7.8"

SCALE = (1, 16, 64, 256, 1024)
SCENARIOS = ["sync_5k", "sync_50k", "sync_200k", "sync_json10", "new_client_5k", "threads8_5k", "async64_5k",
             "async64_json10", "post_json", "stream_big", "h2_5k", "https_5k", "https_new_conn", "upload_10m",
             *(f"async_scale_{c}" for c in SCALE)]
#: Names that stand for several scenarios in --scenarios.
GROUPS = {"async_scale": [f"async_scale_{c}" for c in SCALE]}
ADAPTERS = ["httpr", "pyreqwest", "primp", "httpx", "requests", "aiohttp", "pycurl", "niquests"]
FLOORS = ["raw-floor", "reqwest-floor"]


def n_limits(scenario: str) -> tuple[int, int, int]:
    """(calibration N, least N, most N): few requests for the heavy ones, enough rounds of every
    in-flight slot for async_scale."""
    if scenario == "stream_big":
        return 1, 2, 200
    if scenario == "upload_10m":
        return 2, 3, 300
    if scenario in ("new_client_5k", "https_new_conn"):
        return 20, 20, 50_000
    if scenario.startswith("async_scale_"):
        c = int(scenario.rsplit("_", 1)[1])
        return max(200, 2 * c), max(50, 4 * c), 200_000
    return 200, 50, 200_000


def smoke_n(scenario: str) -> int:
    if scenario in ("stream_big", "upload_10m"):
        return 1
    if scenario.startswith("async_scale_"):
        return max(20, int(scenario.rsplit("_", 1)[1]))
    return 20


# ------------------------------------------------------------------------------ clients


def client(name: str, python: str | None = None, adapter: str | None = None) -> dict[str, Any]:
    if name in FLOORS:
        return {"name": name, "adapter": name, "python": None, "binary": environment.floor_binary(name)}
    if adapter is None:
        adapter = next((a for a in sorted(ADAPTERS, key=len, reverse=True)
                        if name == a or re.match(re.escape(a) + r"[-_.@+]", name)), None)
    if adapter not in ADAPTERS:
        raise SystemExit(f"cannot tell the library of client {name!r}: write NAME@ADAPTER=PYTHON ({', '.join(ADAPTERS)})")
    if python is None or not os.path.exists(python):
        raise SystemExit(f"client {name}: no interpreter at {python}")
    return {"name": name, "adapter": adapter, "python": python}


def parse_client(spec: str) -> dict[str, Any]:
    if spec in FLOORS:
        return client(spec)
    name, sep, py = spec.partition("=")
    if not sep:
        raise SystemExit(f"--client wants NAME=PYTHON or NAME@ADAPTER=PYTHON, got {spec!r}")
    name, _, adapter = name.partition("@")
    return client(name, os.path.expanduser(py), adapter or None)


def default_clients(httpr_python: str) -> list[dict[str, Any]]:
    anchors = environment.python("anchors")
    out = [client("httpr", httpr_python), client(REF, anchors, "httpr")]
    out += [client(a, anchors) for a in ("pyreqwest", "primp", "pycurl", "aiohttp", "httpx", "requests")]
    return out + [client("niquests", environment.python("niquests"))]


def worker_env() -> dict[str, str]:
    """The caller's environment without what would change a client's behaviour (proxies, CA
    bundles that override verify=), with fixed hashing."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "requests_ca_bundle",
                                "curl_ca_bundle", "ssl_cert_file", "ssl_cert_dir")}
    env.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", HTTPR_BENCH_DIR=server.BENCH_DIR,
               FLOOR_HTTP_ADDR=f"127.0.0.1:{server.HTTP_PORT}", FLOOR_HTTP=server.HTTP, FLOOR_HTTPS=server.HTTPS)
    return env


#: Set by --smoke: the workers' warm-ups are cut to this many requests.
SMOKE_WARM: list[int | None] = [None]


def command(c: dict[str, Any], scenario: str, n: int) -> list[str]:
    if c["python"] is None:
        return [c["binary"], scenario, str(n)]
    cmd = [c["python"], WORKER, c["adapter"], scenario, str(n), "--name", c["name"]]
    return cmd + (["--warm", str(SMOKE_WARM[0])] if SMOKE_WARM[0] is not None else [])


def run_one(c: dict[str, Any], scenario: str, n: int, timeout: float, env: dict[str, str],
            cpus: set[int] | None) -> tuple[str, Any]:
    """-> ("ok", record) | ("skip", reason) | ("fail", reason)"""
    def confine() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)
    try:
        p = subprocess.run(command(c, scenario, n), capture_output=True, text=True, timeout=timeout, env=env,
                           preexec_fn=confine if cpus else None)
    except subprocess.TimeoutExpired:
        return "fail", f"timed out after {timeout:.0f} s"
    rec = None
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            try:
                rec = json.loads(line)
            except ValueError:
                pass
            break
    if p.returncode == EXIT_SKIP and rec and "skip" in rec:
        return "skip", rec["skip"]
    if p.returncode != 0 or rec is None:
        tail = (p.stderr.strip().splitlines() or ["(no output)"])[-3:]
        return "fail", f"exit {p.returncode}: " + " | ".join(tail)
    if rec.get("ok") != n:
        return "fail", f"{rec.get('ok')} of {n} requests verified"
    rec["client"] = c["name"]
    return "ok", rec


def client_info(c: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    cmd = [c["binary"], "--info"] if c["python"] is None else [c["python"], WORKER, c["adapter"], "--info"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        info: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired) as exc:
        return {"error": str(exc)}
    info.pop("executable", None)
    if c["python"] is None:
        info["rustc"] = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip() or None
    return info


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "platform": platform.platform(),
                            "orchestrator_python": sys.version.split()[0]}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
        with open("/proc/meminfo") as f:
            info["mem_total"] = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    info["nginx"] = "nginx/" + ".".join(map(str, server.nginx_version()))
    return info


# ------------------------------------------------------------------------------ summaries


def spread(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A cell's figures over its R runs: medians (and min/max) of the per-run values."""
    s: dict[str, Any] = {
        "runs": len(runs),
        "n": sorted({r["n"] for r in runs}),
        "cpu_ms": spread([r["cpu_s"] / r["n"] * 1e3 for r in runs]),
        "wall_ms": spread([r["wall_s"] / r["n"] * 1e3 for r in runs]),
        "req_per_s": spread([r["n"] / r["wall_s"] for r in runs]),
        "maxrss_kb": {"median": statistics.median(r["maxrss_kb"] for r in runs), "max": max(r["maxrss_kb"] for r in runs)},
    }
    lat = [r["lat_us"] for r in runs if r.get("lat_us")]
    if lat:
        s["lat_us"] = {"p50": statistics.median(x["p50"] for x in lat), "p99": statistics.median(x["p99"] for x in lat)}
    gcs = [r["gc_collections"] * 10_000 / r["n"] for r in runs if r.get("gc_collections") is not None]
    if gcs:
        s["gc_per_10k"] = statistics.median(gcs)
    base = [r["rss_base_kb"] for r in runs if r.get("rss_base_kb")]
    if base:
        s["rss_base_kb"] = statistics.median(base)
    mib = [r["extra"]["mib_per_s"] for r in runs if (r.get("extra") or {}).get("mib_per_s")]
    if mib:
        s["mib_per_s"] = spread(mib)
    modes = sorted({str(r["extra"]["mode"]) for r in runs if (r.get("extra") or {}).get("mode")})
    if modes:
        s["mode"] = modes
    versions = sorted({str(r["extra"]["http_version"]) for r in runs if (r.get("extra") or {}).get("http_version")})
    if versions:
        s["http_version"] = versions
    return s


def smoke_problems(res: dict[str, Any]) -> list[str]:
    """What makes a smoke run invalid: a failed cell, a figure that cannot be right, or a
    scenario httpr skipped (it has every API the scenarios use)."""
    out = []
    for name, row in res["cells"].items():
        for s in res["scenarios"]:
            cell = row.get(s)
            if cell is None:
                out.append(f"{name} / {s}: no cell")
            elif cell["status"] == "skip":
                if name == "httpr":
                    out.append(f"httpr / {s}: skipped: {cell['reason']}")
            elif cell["status"] != "ok":
                out.append(f"{name} / {s}: {cell['status']}: {cell.get('failures') or cell.get('reason')}")
            else:
                sm = cell["summary"]
                lat = sm.get("lat_us") or {}
                if not (sm["cpu_ms"]["median"] > 0 and sm["wall_ms"]["median"] > 0 and sm["req_per_s"]["median"] > 0):
                    out.append(f"{name} / {s}: non-positive time")
                if not 0 < lat.get("p50", 0) <= lat.get("p99", 0):
                    out.append(f"{name} / {s}: latency percentiles {lat}")
                if name in res["python_clients"] and "gc_per_10k" not in sm:
                    out.append(f"{name} / {s}: no GC count")
    return out


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="R=1, tiny N: httpr and requests from .venv, the raw floor")
    ap.add_argument("--client", action="append", default=[], metavar="NAME=PYTHON",
                    help="a client (repeatable; NAME@ADAPTER=PYTHON, or raw-floor / reqwest-floor); default: all")
    ap.add_argument("--httpr-python", default=DEV_PYTHON, help="interpreter with this tree's httpr (default: .venv)")
    ap.add_argument("--scenarios", default="", help="comma-separated subset (async_scale = its five levels)")
    ap.add_argument("-R", "--repeats", type=int, default=5, help="runs per cell (default 5)")
    ap.add_argument("--target-s", type=float, default=1.0, help="timed seconds per run N is calibrated for")
    ap.add_argument("--n", action="append", default=[], metavar="SCENARIO=N", help="fix N ('*=N' for all)")
    ap.add_argument("--ref", default=None, help=f"reference client of the ratios (default {REF})")
    ap.add_argument("--label", default=None)
    ap.add_argument("--out", default=os.path.join(server.BENCH_DIR, "results"), help="where the run's JSON goes")
    ap.add_argument("--no-setup", action="store_true", help="do not create venvs or build the floors")
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--no-publish", action="store_true", help="do not regenerate docs/benchmarks.md")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--pin", nargs="?", const="0:1", default=None, metavar="SERVER:CLIENT",
                    help="pin nginx's worker and every client process to separate CPUs (default 0:1)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.repeats, args.no_publish, args.timeout = 1, True, min(args.timeout, 120)
        SMOKE_WARM[0] = 5

    scen = SCENARIOS if not args.scenarios else [
        x for s in args.scenarios.split(",") if s.strip() for x in GROUPS.get(s.strip(), [s.strip()])]
    bad = [s for s in scen if s not in SCENARIOS]
    if bad:
        raise SystemExit(f"unknown scenarios {bad}; choose from {SCENARIOS} or {list(GROUPS)}")

    # --- set-up: nginx, venvs, floors
    started = server.start()
    try:
        floors: list[str] = []
        if args.client:
            clients = [parse_client(c) for c in args.client]
        elif args.smoke:
            # Both in .venv already (requests for the tests of the adapters): nothing to install.
            clients = [client("httpr", args.httpr_python), client("requests", args.httpr_python)]
        else:
            if not args.no_setup:
                failed = environment.ensure_venv("anchors") + environment.ensure_venv("niquests")
                if failed:
                    print(f"[env] not installed: {failed}", file=sys.stderr)
            clients = default_clients(args.httpr_python)
        if not args.no_floor and not any(c["python"] is None for c in clients):
            if args.no_setup:
                floors = [f for f in FLOORS if os.path.exists(environment.floor_binary(f))]
            else:
                floors = environment.build_floor(with_reqwest=not args.smoke)
            clients += [client(f) for f in floors]
        return run(args, clients, scen)
    finally:
        if started and args.smoke:
            server.stop()


def run(args: argparse.Namespace, clients: list[dict[str, Any]], scen: list[str]) -> int:
    names = [c["name"] for c in clients]
    if len(set(names)) != len(names):
        raise SystemExit("client names must be unique")
    ref = args.ref or (REF if REF in names else None)
    if ref and ref not in names:
        raise SystemExit(f"--ref {ref} is not a client")
    fixed: dict[str, int] = {}
    for spec in args.n:
        k, _, v = spec.partition("=")
        for s in scen if k == "*" else GROUPS.get(k, [k]):
            fixed[s] = int(v)
    if args.smoke:
        fixed = {s: fixed.get(s, smoke_n(s)) for s in scen}

    env = worker_env()
    cpus = None
    restore: list[tuple[int, set[int]]] = []
    pinning = None
    if args.pin:
        srv, _, cli = args.pin.partition(":")
        srv_cpus, cpus = {int(x) for x in srv.split(",")}, {int(x) for x in cli.split(",")}
        for pid in server.worker_pids():
            restore.append((pid, os.sched_getaffinity(pid)))
            os.sched_setaffinity(pid, srv_cpus)
        pinning = {"server_cpus": sorted(srv_cpus), "client_cpus": sorted(cpus)}
    try:
        return measure(args, clients, scen, ref, fixed, env, cpus, pinning)
    finally:
        for pid, mask in restore:
            try:
                os.sched_setaffinity(pid, mask)
            except OSError:
                pass


def measure(args: argparse.Namespace, clients: list[dict[str, Any]], scen: list[str], ref: str | None,
            fixed: dict[str, int], env: dict[str, str], cpus: set[int] | None, pinning: Any) -> int:
    t_start = time.time()
    label = args.label or ("smoke" if args.smoke else "full")
    info = {c["name"]: client_info(c, env) for c in clients}
    res: dict[str, Any] = {
        "harness": "benchmarks/run.py", "label": label, "date": dt.datetime.now().isoformat(timespec="seconds"),
        "R": args.repeats, "target_s": None if args.smoke else args.target_s, "ref": ref, "scenarios": scen,
        "machine": machine(), "pinning": pinning, "argv": sys.argv[1:] if argv_is_ours() else [],
        "clients": [{k: v for k, v in c.items() if k != "binary"} for c in clients], "info": info,
        "python_clients": [c["name"] for c in clients if c["python"]],
        "cells": {c["name"]: {} for c in clients}, "runs": [],
    }
    res["machine"]["loadavg_start"] = os.getloadavg()
    for c in clients:
        i = info[c["name"]]
        print(f"[info] {c['name']}: " + (f"cannot start: {i['error']}" if "error" in i else
                                         f"{i.get('lib')} {i.get('lib_version')} (python {i.get('python')})"),
              file=sys.stderr)

    # Calibration: one short run per cell sets N (and finds skips and broken cells early).
    plan: dict[tuple[str, str], int] = {}
    for s in scen:
        cal, lo, hi = n_limits(s)
        for c in clients:
            if "error" in info[c["name"]]:
                res["cells"][c["name"]][s] = {"status": "fail", "reason": "cannot start: " + info[c["name"]]["error"]}
                continue
            if s in fixed and args.smoke:  # the smoke run measures once, at its fixed N
                plan[(c["name"], s)] = fixed[s]
                continue
            status, rec = run_one(c, s, fixed.get(s, cal), args.timeout, env, cpus)
            if status != "ok":
                res["cells"][c["name"]][s] = {"status": status, "reason": rec, "failures": [rec] if status == "fail" else []}
                print(f"[cal] {c['name']:>14} {s:<16} {status}: {rec}", file=sys.stderr)
                continue
            per = rec["wall_s"] / rec["n"]
            n = fixed.get(s) or int(min(hi, max(lo, math.ceil(args.target_s / max(per, 1e-7)))))
            plan[(c["name"], s)] = int(round(n, -2)) if n >= 1000 else n
            print(f"[cal] {c['name']:>14} {s:<16} {per * 1e3:8.3f} ms/req -> N={plan[(c['name'], s)]}", file=sys.stderr)

    # Measurement: per scenario, R rounds, every client once per round.
    total, done = len(plan) * args.repeats, 0
    for s in scen:
        for r in range(args.repeats):
            for c in clients:
                if (c["name"], s) not in plan:
                    continue
                n = plan[(c["name"], s)]
                status, rec = run_one(c, s, n, args.timeout, env, cpus)
                done += 1
                cell = res["cells"][c["name"]].setdefault(s, {"status": "ok", "failures": []})
                if status == "ok":
                    rec["round"] = r
                    res["runs"].append(rec)
                    lat = rec.get("lat_us") or {}
                    print(f"[{done:>4}/{total}] {c['name']:>14} {s:<16} N={n:<6} cpu {rec['cpu_s'] / n * 1e3:8.4f}"
                          f" wall {rec['wall_s'] / n * 1e3:8.4f} ms/req  p99 {lat.get('p99', 0):9.1f} us", file=sys.stderr)
                elif status == "skip" and args.smoke:
                    res["cells"][c["name"]][s] = {"status": "skip", "reason": rec}
                else:
                    cell["failures"].append(rec if status == "fail" else f"skipped in round {r}: {rec}")
                    print(f"[{done:>4}/{total}] {c['name']:>14} {s:<16} FAILED: {rec}", file=sys.stderr)
    for c in clients:
        for s in scen:
            cell = res["cells"][c["name"]].get(s)
            if cell is None or cell["status"] == "skip":
                continue
            runs = [x for x in res["runs"] if x["client"] == c["name"] and x["scenario"] == s]
            if runs:
                cell["summary"] = summarize(runs)
                cell["status"] = "partial" if cell.get("failures") else "ok"
            else:
                cell["status"] = "fail"
    res["elapsed_s"] = time.time() - t_start
    res["machine"]["loadavg_end"] = os.getloadavg()

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{dt.date.today().isoformat()}-{label}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    print(f"[run] wrote {path} ({res['elapsed_s'] / 60:.1f} min)", file=sys.stderr)
    problems = [f"{n} / {s}: {c['status']}" for n, row in res["cells"].items() for s, c in row.items()
                if c["status"] in ("fail", "partial")]
    if args.smoke:
        problems = smoke_problems(res)
        # The renderer must take the run too (into a scratch folder: a smoke run is never published).
        with tempfile.TemporaryDirectory() as docs:
            p = subprocess.run([sys.executable, REPORT, path, "--docs", docs, "--allow-no-ref"],
                               capture_output=True, text=True)
            if p.returncode != 0:
                problems.append("bench_report.py: " + (p.stderr or p.stdout).strip()[-500:])
        cells = sum(1 for row in res["cells"].values() for _ in row)
        print(f"[smoke] {len(clients)} clients x {len(scen)} scenarios: {cells} cells, "
              f"{len(problems)} problems", file=sys.stderr)
    elif not args.no_publish:
        if subprocess.run([sys.executable, REPORT, path]).returncode != 0:
            problems.append("bench_report.py failed")
    for line in problems:
        print(f"[run] problem: {line}", file=sys.stderr)
    return 1 if problems else 0


def argv_is_ours() -> bool:
    return os.path.basename(sys.argv[0]) == "run.py"


if __name__ == "__main__":
    sys.exit(main())
