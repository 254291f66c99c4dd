"""scripts/bench_report.py: the benchmark page is rendered from its committed data and cannot drift;
benchmarks/run.py's own arithmetic (summaries, percentiles, the smoke check) on made-up runs (the
harness against real nginx runs as `python3 benchmarks/run.py --smoke` in scripts/test.sh).

The generator runs as a subprocess, the way a developer runs it, once against the committed
``docs/benchmarks/latest.json`` (``--check``) and once on a small synthetic run in a temporary
docs folder, whose page and chart are then read back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import run as harness  # noqa: E402  benchmarks/run.py: its summaries and the smoke check
import worker  # noqa: E402  benchmarks/worker.py: its percentiles
SCRIPT = ROOT / "scripts" / "bench_report.py"
SVG = "{http://www.w3.org/2000/svg}"


def run_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_committed_page_and_chart_match_latest_json() -> None:
    result = run_report("--check")
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------ synthetic run


def summary(cpu_ms: float, wall_ms: float, **extra: Any) -> dict[str, Any]:
    return {
        "runs": 3,
        "n": [1000],
        "cpu_ms": {"median": cpu_ms, "min": cpu_ms * 0.9, "max": cpu_ms * 1.1},
        "wall_ms": {"median": wall_ms, "min": wall_ms * 0.9, "max": wall_ms * 1.1},
        "maxrss_kb": {"median": 30000, "max": 30720},
        "rss_base_kb": 28000,
        **extra,
    }


def ok(cpu_ms: float, wall_ms: float, **extra: Any) -> dict[str, Any]:
    return {"status": "ok", "failures": [], "summary": summary(cpu_ms, wall_ms, **extra)}


def synthetic_run() -> dict[str, Any]:
    """httpr against the reference (every median of httpr-0.7.8 is 1.0 ms, so the ratios are
    httpr's own medians) and a third client that skips one scenario."""
    scenarios = ["sync_5k", "sync_200k", "sync_json10", "post_json", "stream_big"]
    ref = {s: ok(1.0, 1.0) for s in scenarios}
    ref["stream_big"] = ok(1.0, 1.0, mib_per_s={"median": 2000.0, "min": 1800.0, "max": 2100.0})
    # peak RSS 40 MiB, 28000 KiB after import: 12.66 MiB growth, over the 8 MiB target
    stream = summary(0.9, 0.95, mib_per_s={"median": 2100.0, "min": 2000.0, "max": 2200.0})
    stream["maxrss_kb"] = {"median": 40960, "max": 40960}
    return {
        "label": "synthetic",
        "date": "2026-01-02T03:04:05",
        "R": 3,
        "target_s": 0.5,
        "ref": "httpr-0.7.8",
        "scenarios": scenarios,
        "machine": {"nproc": 2, "cpu": "Test CPU", "platform": "Linux-test", "nginx": "nginx/1.0"},
        "clients": [
            {"name": "httpr", "adapter": "httpr", "python": "python"},
            {"name": "httpr-0.7.8", "adapter": "httpr", "python": "python"},
            {"name": "other", "adapter": "requests", "python": "python"},
        ],
        "info": {"httpr": {"lib": "httpr", "lib_version": "9.9.9", "python": "3.11.7", "notes": {}}},
        "cells": {
            "httpr": {
                "sync_5k": ok(0.80, 0.90),  # met
                "sync_200k": ok(0.60, 0.70),  # CPU over 0.55
                "sync_json10": ok(0.50, 1.05),  # wall over 1.0
                "post_json": ok(0.85, 0.99),  # met
                "stream_big": {"status": "ok", "failures": [], "summary": stream},  # RSS growth
            },
            "httpr-0.7.8": ref,
            "other": {
                "sync_5k": ok(3.0, 2.5),
                "sync_200k": {"status": "skip", "reason": "no such thing"},
                "sync_json10": ok(1.5, 1.2),
                "post_json": ok(2.0, 1.8),
                "stream_big": ok(4.0, 3.0),
            },
        },
        "elapsed_s": 60.0,
        "argv": ["--label", "synthetic", "-R", "3"],
    }


def table_rows(page: str, heading: str) -> dict[str, list[str]]:
    """The rows of the first table after ``heading``, keyed by their first cell."""
    section = page.split(heading + "\n", 1)[1]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not set(cells[0]) <= {"-"}:
                rows[cells[0]] = cells[1:]
        elif rows:
            break
    return rows


def test_synthetic_run(tmp_path: Path) -> None:
    data = synthetic_run()
    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps(data), encoding="utf-8")
    docs = tmp_path / "docs"
    result = run_report(str(run_json), "--docs", str(docs))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "targets met by httpr: 2 of 11" in result.stdout

    latest = docs / "benchmarks" / "latest.json"
    assert latest.read_bytes() == run_json.read_bytes()
    page = (docs / "benchmarks.md").read_text(encoding="utf-8")

    # Targets: every target of the issue has a row, with the measured ratios and a verdict.
    targets = table_rows(page, "## Targets")
    assert targets.pop("scenario")[-1] == "result"
    assert len(targets) == 11
    assert targets["sync_5k"] == ["≤ 0.85", "0.800", "0.900", "", "met"]
    assert targets["post_json"][-1] == "met"
    assert targets["sync_200k"][-1] == "**not met**: CPU 0.600 > 0.55"
    assert targets["sync_json10"][-1] == "**not met**: wall 1.050 > 1.00"
    assert targets["stream_big"][3:] == ["12.7 MiB", "**not met**: RSS growth 12.7 MiB > 8 MiB"]
    assert targets["h2_5k"][-1] == "**not met**: not measured in this run"
    assert "**2 of 11 met**" in page

    # Ratios: every scenario of the run by every client; skipped cells say so.
    ratios = table_rows(page, "## Ratio to httpr-0.7.8")
    assert list(ratios) == ["scenario", *data["scenarios"]]
    assert ratios["scenario"] == ["httpr", "httpr-0.7.8", "other"]
    assert ratios["sync_5k"] == ["0.80 / 0.90", "1.00 / 1.00", "3.00 / 2.50"]
    assert ratios["sync_200k"] == ["0.60 / 0.70", "1.00 / 1.00", "n/a"]

    stream = table_rows(page, "## stream_big: 64 MiB streamed in chunks")
    assert stream["httpr"] == ["2100 (2000–2200)", "40.0", "27.3", "12.7"]
    assert "other" not in stream  # no MiB/s in its summary

    assert "R = 3 runs per cell (`-R 3`)" in page
    assert "- other / sync_200k: skipped: no such thing" in page

    # The chart: valid SVG, one titled bar per (client other than the reference, measured scenario),
    # one target mark per scenario of httpr.
    root = ET.parse(docs / "benchmarks" / "chart.svg").getroot()
    assert root.tag == SVG + "svg"
    bars = [r for r in root.iter(SVG + "rect") if r.find(SVG + "title") is not None]
    titles = sorted(t.text or "" for r in bars for t in r.iter(SVG + "title"))
    assert len(bars) == 2 * 5 - 1
    assert "httpr / sync_5k: CPU 0.80×, wall 0.90× httpr-0.7.8" in titles
    assert not any("httpr-0.7.8 /" in t for t in titles)
    marks = [ln for ln in root.iter(SVG + "line") if ln.find(SVG + "title") is not None]
    assert len(marks) == 5

    # --check passes on what was just written and fails once the page is edited by hand.
    assert run_report("--check", "--docs", str(docs)).returncode == 0
    (docs / "benchmarks.md").write_text(page.replace("0.800", "0.700"), encoding="utf-8")
    result = run_report("--check", "--docs", str(docs))
    assert result.returncode == 1
    assert "0.700" in result.stdout


def test_a_run_without_a_reference_is_refused(tmp_path: Path) -> None:
    data = synthetic_run()
    data["ref"] = None
    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps(data), encoding="utf-8")
    result = run_report(str(run_json), "--docs", str(tmp_path / "docs"))
    assert result.returncode == 2
    assert "--ref httpr-0.7.8" in result.stderr
    assert not (tmp_path / "docs").exists()


# ------------------------------------------------------------------------------ benchmarks/run.py's runs


def new_harness_run() -> dict[str, Any]:
    """A run of benchmarks/run.py: latency, GC counts, async_scale and a † mode."""
    data = synthetic_run()
    data["harness"] = "benchmarks/run.py"
    data["argv"] = []
    data["scenarios"] = ["sync_5k", "upload_10m", "async_scale_16", "async_scale_1024"]

    def cell(cpu: float, rps: float, p99: float, gc: float, **extra: Any) -> dict[str, Any]:
        c = ok(cpu, cpu, **extra)
        c["summary"].update(req_per_s={"median": rps, "min": rps, "max": rps}, lat_us={"p50": p99 / 2, "p99": p99},
                            gc_per_10k=gc)
        return c

    for name in ("httpr", "httpr-0.7.8", "other"):
        data["cells"][name] = {
            "sync_5k": cell(1.0, 1000.0, 200.0, 0.0),
            "upload_10m": cell(10.0, 100.0, 20000.0, 0.0, **({"mode": ["file read into bytes"]} if name == "httpr-0.7.8" else {})),
            "async_scale_16": cell(0.5, 8000.0, 3000.0, 12.5),
            "async_scale_1024": cell(0.6, 6000.0 if name == "httpr" else 2000.0, 150000.0, 40.0),
        }
    return data


def test_new_harness_sections(tmp_path: Path) -> None:
    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps(new_harness_run()), encoding="utf-8")
    docs = tmp_path / "docs"
    result = run_report(str(run_json), "--docs", str(docs))
    assert result.returncode == 0, result.stdout + result.stderr
    page = (docs / "benchmarks.md").read_text(encoding="utf-8")
    assert "python3 benchmarks/run.py" in page and "../shared/bench" not in page
    lat = table_rows(page, "## Latency p50 / p99 (µs)")
    assert lat["sync_5k"] == ["100 / 200", "100 / 200", "100 / 200"]
    gcs = table_rows(page, "## Garbage collections per 10k requests")
    assert gcs["async_scale_16"] == ["12.5", "12.5", "12.5"] and gcs["sync_5k"] == ["0", "0", "0"]
    scale = table_rows(page, "## async_scale: requests in flight")
    assert scale["client"] == ["16 in flight", "1024 in flight", "retention"]
    assert scale["httpr"] == ["8000 (3.00)", "6000 (150)", "0.75"]
    assert scale["other"][-1] == "0.25"
    assert "- httpr-0.7.8 / upload_10m: † file read into bytes" in page
    assert table_rows(page, "## Ratio to httpr-0.7.8")["upload_10m"][1] == "1.00 / 1.00†"


def test_a_smoke_run_without_reference_renders_only_when_allowed(tmp_path: Path) -> None:
    data = new_harness_run()
    data["ref"] = None
    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps(data), encoding="utf-8")
    assert run_report(str(run_json), "--docs", str(tmp_path / "a")).returncode == 2
    result = run_report(str(run_json), "--docs", str(tmp_path / "b"), "--allow-no-ref")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "b" / "benchmarks.md").read_text(encoding="utf-8")
    assert "## Ratio to" not in page and "## async_scale: requests in flight" in page


# ------------------------------------------------------------------------------ benchmarks/run.py's arithmetic


def record(n: int, cpu_s: float, wall_s: float, gc: int | None, p99: float) -> dict[str, Any]:
    return {"n": n, "cpu_s": cpu_s, "wall_s": wall_s, "gc_collections": gc, "maxrss_kb": 1000,
            "rss_base_kb": 900, "lat_us": {"p50": p99 / 10, "p99": p99}, "extra": {"mode": "m"}}


def test_summary_takes_medians_and_scales_gc_to_10k() -> None:
    s = harness.summarize([record(1000, 0.1, 0.2, 5, 300.0), record(1000, 0.3, 0.4, 1, 100.0),
                           record(2000, 0.4, 0.6, 2, 200.0)])
    assert s["cpu_ms"] == {"median": 0.2, "min": 0.1, "max": 0.3}
    assert s["req_per_s"]["median"] == 2000 / 0.6  # of 5000, 2500 and 3333 req/s
    assert s["gc_per_10k"] == 10.0  # 50, 10 and 10 per 10k
    assert s["lat_us"] == {"p50": 20.0, "p99": 200.0}
    assert s["n"] == [1000, 2000] and s["mode"] == ["m"]


def test_percentiles_are_nearest_rank() -> None:
    lat = [i * 1000 for i in range(1, 101)]  # 1..100 µs
    assert worker.percentiles(lat) == {"p50": 50.0, "p99": 99.0}
    assert worker.percentiles([7000]) == {"p50": 7.0, "p99": 7.0}
    assert worker.percentiles([]) is None


def test_smoke_check_flags_failures_and_httpr_skips() -> None:
    good = {"status": "ok", "summary": harness.summarize([record(20, 0.01, 0.02, 0, 50.0)])}
    res: dict[str, Any] = {"scenarios": ["sync_5k", "h2_5k"], "python_clients": ["httpr", "requests"],
           "cells": {"httpr": {"sync_5k": good, "h2_5k": {"status": "skip", "reason": "x"}},
                     "requests": {"sync_5k": {"status": "fail", "failures": ["boom"]},
                                  "h2_5k": {"status": "skip", "reason": "no HTTP/2"}}}}
    problems = harness.smoke_problems(res)
    assert problems == ["httpr / h2_5k: skipped: x", "requests / sync_5k: fail: ['boom']"]
    res["cells"]["httpr"]["h2_5k"] = good
    res["cells"]["requests"]["sync_5k"] = good
    assert harness.smoke_problems(res) == []
