#!/usr/bin/env python3
"""Render docs/benchmarks.md and its chart from one run of the benchmark harness.

    python3 scripts/bench_report.py RUN.json   # copy RUN.json to docs/benchmarks/latest.json, render
    python3 scripts/bench_report.py --check    # fail if the page or chart differ from latest.json

RUN.json is the raw JSON that ``benchmarks/run.py`` writes (which calls this script at the end of
a full run); runs of the earlier outside harness (``../shared/bench/run.py``) render too, without
the figures it did not record (latency percentiles, GC collections, the new scenarios). The
page (``docs/benchmarks.md``) and the chart (``docs/benchmarks/chart.svg``, hand-written SVG) are
rendered only from that JSON: every number on them comes from the run. ``--check`` re-renders
both from the committed ``docs/benchmarks/latest.json`` and compares, so the page cannot drift
from its data. Standard library only.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
COMMAND = "python3 scripts/bench_report.py"
HARNESS = "python3 benchmarks/run.py"
#: async_scale_C: the in-flight levels, and the two the retention compares.
SCALE = (1, 16, 64, 256, 1024)
RETENTION = (1024, 16)
#: Per-request figures of these scenarios are per transfer of this size.
PER_TRANSFER = {"stream_big": "per 64 MiB download", "upload_10m": "per 10 MiB upload"}

#: Targets from the performance issue: CPU time per request of the project's build as a ratio
#: to httpr 0.7.8 measured in the same run, at most this much.
CPU_TARGETS: dict[str, float] = {
    "sync_5k": 0.85,
    "sync_50k": 0.85,
    "sync_200k": 0.55,
    "sync_json10": 0.65,
    "new_client_5k": 0.90,
    "threads8_5k": 0.55,
    "async64_5k": 0.45,
    "async64_json10": 0.55,
    "post_json": 0.90,
    "stream_big": 1.00,
    "h2_5k": 0.95,
}
#: Wall time per request, as a ratio to httpr 0.7.8, must not exceed this in any scenario.
WALL_TARGET = 1.0
#: stream_big: peak RSS minus the RSS right after import, at most this many MiB.
STREAM_RSS_GROWTH_MIB = 8.0

#: Bar colours, in client order (the reference client gets no bar: it is the 1.0 line).
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5"]


class ReportError(Exception):
    """The run's JSON cannot be rendered."""


# ------------------------------------------------------------------------------ reading the run


@dataclass(frozen=True)
class Cell:
    """One (client, scenario) of the run."""

    summary: dict[str, Any] | None  # None when skipped or every run failed
    text: str  # "n/a" (skipped), "FAIL", or "" when there is a summary
    mark: str  # "†" (async API used sequentially) and/or "(k failed)"
    failed: int

    @property
    def cpu(self) -> float:
        assert self.summary is not None
        return float(self.summary["cpu_ms"]["median"])

    @property
    def wall(self) -> float:
        assert self.summary is not None
        return float(self.summary["wall_ms"]["median"])


class Run:
    """The parts of run.py's JSON the page uses."""

    def __init__(self, data: dict[str, Any], allow_no_ref: bool = False) -> None:
        try:
            self.clients: list[str] = [c["name"] for c in data["clients"]]
            self.scenarios: list[str] = list(data["scenarios"])
            self.cells: dict[str, dict[str, Any]] = data["cells"]
        except (KeyError, TypeError) as exc:
            raise ReportError(f"not a run.py result (missing {exc})") from exc
        self.data = data
        self.ref: str | None = data.get("ref")
        self.ours = data.get("harness") == "benchmarks/run.py"
        if self.ref not in self.clients:
            self.ref = None
        if not self.ref and not allow_no_ref:
            raise ReportError(f"the run has no reference client (ref={data.get('ref')!r}): run it with --ref httpr-0.7.8")

    def cell(self, client: str, scenario: str) -> Cell:
        c = self.cells.get(client, {}).get(scenario)
        if c is None:
            return Cell(None, "-", "", 0)
        if c.get("status") == "skip":
            return Cell(None, "n/a", "", 0)
        failed = len(c.get("failures") or [])
        summary = c.get("summary")
        if not summary:
            return Cell(None, "FAIL", "", failed)
        mark = "†" if summary.get("mode") else ""
        if failed:
            mark += f" ({failed} failed)"
        return Cell(summary, "", mark, failed)

    def ratios(self, client: str, scenario: str) -> tuple[float, float] | None:
        """(CPU ratio, wall ratio) to the reference client, or None."""
        if self.ref is None:
            return None
        c, r = self.cell(client, scenario), self.cell(self.ref, scenario)
        if c.summary is None or r.summary is None:
            return None
        return c.cpu / r.cpu, c.wall / r.wall

    def has(self, key: str) -> bool:
        """Whether any cell's summary has ``key`` (runs of the old harness lack the newer figures)."""
        return any(key in (c.get("summary") or {}) for row in self.cells.values() for c in row.values())

    def retention(self, client: str) -> float | None:
        """async_scale: req/s with 1024 in flight over req/s with 16 (1.0 = no loss under load)."""
        hi, lo = (self.cell(client, f"async_scale_{c}").summary for c in RETENTION)
        if hi is None or lo is None or "req_per_s" not in hi or "req_per_s" not in lo:
            return None
        return float(hi["req_per_s"]["median"]) / float(lo["req_per_s"]["median"])

    def stream(self, client: str) -> tuple[dict[str, float], float, float] | None:
        """stream_big: (MiB/s median/min/max, peak RSS MiB, RSS growth MiB), as run.py reports them."""
        summary = self.cell(client, "stream_big").summary
        if summary is None or "mib_per_s" not in summary:
            return None
        peak = float(summary["maxrss_kb"]["max"]) / 1024
        base = float(summary.get("rss_base_kb", 0)) / 1024
        return summary["mib_per_s"], peak, peak - base


# ------------------------------------------------------------------------------ formatting


def fmt(x: float) -> str:
    """Three significant figures, like the harness's own report."""
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return out + [""]


# ------------------------------------------------------------------------------ targets


@dataclass(frozen=True)
class Verdict:
    scenario: str
    target: float
    cpu: float | None
    wall: float | None
    growth: float | None  # stream_big only
    misses: list[str]  # empty when met

    @property
    def met(self) -> bool:
        return not self.misses


def verdicts(run: Run, project: str) -> list[Verdict]:
    out = []
    for scenario, target in CPU_TARGETS.items():
        if scenario not in run.scenarios:
            out.append(Verdict(scenario, target, None, None, None, ["not measured in this run"]))
            continue
        ratios = run.ratios(project, scenario)
        if ratios is None:
            out.append(Verdict(scenario, target, None, None, None, ["no result"]))
            continue
        cpu, wall = ratios
        misses = []
        if cpu > target:
            misses.append(f"CPU {cpu:.3f} > {target:.2f}")
        if wall > WALL_TARGET:
            misses.append(f"wall {wall:.3f} > {WALL_TARGET:.2f}")
        failed = run.cell(project, scenario).failed + run.cell(run.ref or "", scenario).failed
        if failed:
            misses.append(f"{failed} failed runs")
        growth = None
        if scenario == "stream_big":
            stream = run.stream(project)
            if stream is None:
                misses.append("no RSS figures")
            else:
                growth = stream[2]
                if growth > STREAM_RSS_GROWTH_MIB:
                    misses.append(f"RSS growth {growth:.1f} MiB > {STREAM_RSS_GROWTH_MIB:.0f} MiB")
        out.append(Verdict(scenario, target, cpu, wall, growth, misses))
    return out


# ------------------------------------------------------------------------------ the page


def render_page(run: Run, project: str) -> str:
    d = run.data
    ref = run.ref
    m = d.get("machine") or {}
    info = d.get("info") or {}
    out = [
        "<!-- Generated by scripts/bench_report.py from docs/benchmarks/latest.json. Do not edit by hand. -->",
        "",
        "# Benchmark results",
        "",
        "This page and its chart are generated from the raw JSON of one run of the benchmark harness"
        " ([latest.json](benchmarks/latest.json)), never edited by hand. To rerun every scenario and"
        " regenerate them, from the repository root:",
        "",
        "```bash",
        f"{HARNESS}   # sets up nginx, the clients' venvs and the Rust floors; R = 5",
        "```",
        "",
        "It ends by running `" + COMMAND + " RUN.json`, which copies the run's JSON to"
        " `docs/benchmarks/latest.json` and rewrites this page and `docs/benchmarks/chart.svg`. The test"
        f" suite runs `{COMMAND} --check`, which fails when they no longer match the JSON. The"
        " [benchmarks guide](guides/benchmarks.md) has the options, the scenarios and the caveats.",
        "",
        "## Method",
        "",
        ("The harness (`benchmarks/`) measures every client against a local nginx that it configures:"
         if run.ours else
         "This run was made with the earlier outside harness (`../shared/bench`), before `benchmarks/`"
         " existed; it has no latency percentiles, GC counts or the newer scenarios. It measured every"
         " client against a local nginx:"),
        "",
        "- each measurement is a fresh process with the client's own interpreter; after a warm-up it"
        " times N requests, N calibrated so that one timed run lasts about"
        f" {d.get('target_s', '?')} s;",
        "- runs are interleaved: each of the R rounds runs every client once per scenario, so slow"
        " drift on the machine hits every client alike;",
        "- a cell's figure is the **median over R runs of CPU ms per request** (process CPU time, all"
        " threads, so Rust runtime threads count) and of wall ms per request; every response is"
        " validated and a wrong one fails the run;",
        f"- ratios are to **{ref}** measured in the same run (below 1 = cheaper or faster). Compare"
        " ratios within one run, never absolute numbers across runs or machines.",
        "",
        f"This run: `{d.get('label', '?')}`, {d.get('date', '?')}, R = {d.get('R', '?')}"
        f" runs per cell (`-R {d.get('R', '?')}`), {float(d.get('elapsed_s', 0)) / 60:.1f} min in all.",
        f"Machine: {m.get('nproc', '?')} CPUs ({m.get('cpu', '?')}), {m.get('mem_total', '?')} RAM,"
        f" {m.get('platform', '?')}; server {m.get('nginx', '?')} (1 worker) on the same CPUs,"
        + (
            f" pinned to CPU {d['pinning'].get('server_cpus')}, clients on CPU {d['pinning'].get('client_cpus')}."
            if d.get("pinning")
            else " not pinned."
        ),
        "",
    ]
    if d.get("argv") or run.ours:
        cmd = HARNESS if run.ours else "python3 ../shared/bench/run.py"
        out += ["```bash", " ".join([cmd, shlex.join(d.get("argv") or [])]).strip(), "```", ""]
    rows = []
    for name in run.clients:
        i = info.get(name, {})
        rows.append([name, str(i.get("lib", "?")), str(i.get("lib_version", "?")), str(i.get("python") or i.get("rustc") or "-")])
    out += table(["client", "library", "version", "python"], rows)

    # Targets
    out += ["## Targets", ""]
    if project not in run.clients:
        out += [f"The run has no client named `{project}`, so the targets are not evaluated.", ""]
    else:
        vs = verdicts(run, project)
        met = sum(v.met for v in vs)
        out += [
            f"The performance issue's targets for `{project}`: CPU time per request at most the given"
            f" ratio to {ref}, wall time per request at most {WALL_TARGET:.2f}× {ref} in every scenario,"
            f" and for stream_big an RSS growth of at most {STREAM_RSS_GROWTH_MIB:.0f} MiB."
            f" **{met} of {len(vs)} met** in this run.",
            "",
        ]
        rows = []
        for v in vs:
            rows.append([
                v.scenario,
                f"≤ {v.target:.2f}",
                "-" if v.cpu is None else f"{v.cpu:.3f}",
                "-" if v.wall is None else f"{v.wall:.3f}",
                "" if v.growth is None else f"{v.growth:.1f} MiB",
                "met" if v.met else "**not met**: " + "; ".join(v.misses),
            ])
        out += table(["scenario", "CPU× target", "CPU×", f"wall× (≤ {WALL_TARGET:.2f})", "RSS growth", "result"], rows)

    # Ratios
    if ref is not None:
        out += [
            f"## Ratio to {ref}",
            "",
            f"![CPU time per request as a ratio to {ref}, per scenario and client](benchmarks/chart.svg)",
            "",
            f"CPU× / wall×: median CPU and wall time per request divided by {ref}'s in the same run"
            " (below 1 = cheaper or faster). † = not run as written (an async API used sequentially, or"
            " a file upload sent as bytes): see the notes; n/a = skipped.",
            "",
        ]
        rows = []
        for s in run.scenarios:
            row = [s]
            for name in run.clients:
                cell, ratios = run.cell(name, s), run.ratios(name, s)
                row.append(cell.text or "-" if ratios is None else f"{ratios[0]:.2f} / {ratios[1]:.2f}{cell.mark}")
            rows.append(row)
        out += table(["scenario", *run.clients], rows)

    # Medians
    out += [
        "## Median CPU ms / wall ms per request",
        "",
        "Lower is better. " + "; ".join(f"{s}: {what}" for s, what in PER_TRANSFER.items() if s in run.scenarios) + ".",
        "",
    ]
    rows = []
    for s in run.scenarios:
        row = [s]
        for name in run.clients:
            cell = run.cell(name, s)
            row.append(cell.text if cell.summary is None else f"{fmt(cell.cpu)} / {fmt(cell.wall)}{cell.mark}")
        rows.append(row)
    out += table(["scenario", *run.clients], rows)

    out += render_latency(run) + render_scale(run)

    # stream_big
    rows = []
    for name in run.clients:
        stream = run.stream(name)
        if stream is not None:
            mib, peak, growth = stream
            rows.append([
                name,
                f"{mib['median']:.0f} ({mib['min']:.0f}–{mib['max']:.0f})",
                f"{peak:.1f}",
                f"{peak - growth:.1f}",
                f"{growth:.1f}",
            ])
    if rows:
        out += ["## stream_big: 64 MiB streamed in chunks", ""]
        out += table(["client", "MiB/s median (min–max)", "peak RSS MiB", "RSS after import MiB", "growth MiB"], rows)

    # Notes
    notes = []
    for name in run.clients:
        for s in run.scenarios:
            c = run.cells.get(name, {}).get(s) or {}
            if c.get("status") == "skip":
                notes.append(f"- {name} / {s}: skipped: {c.get('reason', '')}")
            for f in c.get("failures") or []:
                notes.append(f"- {name} / {s}: failed run: {f}")
            for mode in (c.get("summary") or {}).get("mode") or []:
                notes.append(f"- {name} / {s}: † {mode}")
    for name in run.clients:
        for k, v in ((info.get(name) or {}).get("notes") or {}).items():
            notes.append(f"- {name}: {k}: {v}")
    if notes:
        out += ["## Notes, skips and failures", "", *notes, ""]
    return "\n".join(out)


def render_latency(run: Run) -> list[str]:
    """Latency percentiles and GC collections per 10k requests (runs of benchmarks/run.py)."""
    out: list[str] = []
    if run.has("lat_us"):
        out += [
            "## Latency p50 / p99 (µs)",
            "",
            "Per request, from its start to its body read (async: from its start once in flight),"
            " nearest rank over the N timed requests of a run, median over the R runs.",
            "",
        ]
        rows = []
        for s in run.scenarios:
            row = [s]
            for name in run.clients:
                cell = run.cell(name, s)
                lat = (cell.summary or {}).get("lat_us")
                row.append(cell.text or "-" if not lat else f"{fmt(lat['p50'])} / {fmt(lat['p99'])}")
            rows.append(row)
        out += table(["scenario", *run.clients], rows)
    if run.has("gc_per_10k"):
        out += [
            "## Garbage collections per 10k requests",
            "",
            "Python's cyclic collector runs (all generations, `gc.get_stats()`) during the timed part,"
            " per 10,000 requests, median over the R runs: the allocation churn a client leaves to"
            " the collector. The Rust floors have none.",
            "",
        ]
        rows = []
        for s in run.scenarios:
            row = [s]
            for name in run.clients:
                cell = run.cell(name, s)
                gcs = (cell.summary or {}).get("gc_per_10k")
                row.append(cell.text or "-" if gcs is None else fmt(float(gcs)) if gcs else "0")
            rows.append(row)
        out += table(["scenario", *run.clients], rows)
    return out


def render_scale(run: Run) -> list[str]:
    """async_scale: req/s and p99 at each in-flight level, and the retention under load."""
    levels = [c for c in SCALE if f"async_scale_{c}" in run.scenarios]
    if not levels:
        return []
    hi, lo = RETENTION
    out = [
        "## async_scale: requests in flight",
        "",
        "One AsyncClient, C workers each awaiting GETs of 5 KiB one after another, so exactly C"
        " requests are in flight. Each cell: median req/s (p99 latency in ms). Retention ="
        f" req/s at {hi} / req/s at {lo} (1.00 = no throughput lost under load).",
        "",
    ]
    rows = []
    for name in run.clients:
        cells = [run.cell(name, f"async_scale_{c}") for c in levels]
        if all(c.summary is None for c in cells):
            continue
        row = [name]
        for c in cells:
            sm = c.summary
            if sm is None or "req_per_s" not in sm:
                row.append(c.text or "-")
            else:
                p99 = (sm.get("lat_us") or {}).get("p99")
                row.append(f"{sm['req_per_s']['median']:.0f}" + ("" if p99 is None else f" ({fmt(p99 / 1000)})"))
        ret = run.retention(name)
        row.append("-" if ret is None else f"{ret:.2f}")
        rows.append(row)
    return out + table(["client", *(f"{c} in flight" for c in levels), "retention"], rows)


# ------------------------------------------------------------------------------ the chart


def render_chart(run: Run, project: str) -> str:
    ref = run.ref
    clients = [c for c in run.clients if c != ref]
    scenarios = run.scenarios
    values = [r[0] for s in scenarios for c in clients if (r := run.ratios(c, s)) is not None]
    # Linear axis from 0; taller bars are clipped at the top and labelled with their value.
    top = max([1.25, *values, *(CPU_TARGETS[s] for s in scenarios if s in CPU_TARGETS)])
    top = min(2.0, math.ceil(top * 4) / 4)
    clipped = any(v > top for v in values)
    # Room above the plot for the rotated values of clipped bars.
    left, right, head, foot = 56.0, 16.0, 100.0 if clipped else 64.0, 86.0
    group = max(64.0, 14.0 * len(clients) + 20)
    width = left + right + group * max(1, len(scenarios))
    plot_h = 260.0
    height = head + plot_h + foot
    bar = min(22.0, (group - 16) / max(1, len(clients)))

    def y(v: float) -> float:
        return head + plot_h * (1 - min(v, top) / top)

    def n(v: float) -> str:
        return f"{v:.1f}"

    title = f"CPU time per request, ratio to {ref} (lower is better): run {run.data.get('label', '?')}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{n(width)}" height="{n(height)}"'
        f' viewBox="0 0 {n(width)} {n(height)}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{n(width)}" height="{n(height)}" fill="#ffffff"/>',
        f'<text x="{n(left)}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    # Legend
    x = left
    for i, name in enumerate(clients):
        out.append(f'<rect x="{n(x)}" y="32" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(f'<text x="{n(x + 16)}" y="42">{escape(name)}</text>')
        x += 28 + 7.0 * len(name)
    if project in clients:
        out.append(f'<line x1="{n(x)}" y1="38" x2="{n(x + 18)}" y2="38" stroke="#000000" stroke-width="3"/>')
        out.append(f'<text x="{n(x + 22)}" y="42">target ({escape(project)})</text>')
        x += 40 + 7.0 * len(project) + 50
    out.append(f'<line x1="{n(x)}" y1="38" x2="{n(x + 18)}" y2="38" stroke="#444444" stroke-dasharray="5,3"/>')
    out.append(f'<text x="{n(x + 22)}" y="42">{escape(str(ref))} = 1.0</text>')
    # Grid and axis
    tick = 0.0
    while tick <= top + 1e-9:
        out.append(f'<line x1="{n(left)}" y1="{n(y(tick))}" x2="{n(width - right)}" y2="{n(y(tick))}" stroke="#dddddd"/>')
        out.append(f'<text x="{n(left - 6)}" y="{n(y(tick) + 4)}" text-anchor="end">{tick:.2f}</text>')
        tick += 0.25
    out.append(f'<line x1="{n(left)}" y1="{n(head)}" x2="{n(left)}" y2="{n(head + plot_h)}" stroke="#000000"/>')
    # Bars
    for g, s in enumerate(scenarios):
        gx = left + group * g
        x0 = gx + (group - bar * len(clients)) / 2
        for i, name in enumerate(clients):
            bx = x0 + bar * i
            r = run.ratios(name, s)
            if r is None:
                tx, ty = bx + bar / 2 + 3, head + plot_h - 3
                out.append(
                    f'<text x="{n(tx)}" y="{n(ty)}" font-size="8" fill="#888888"'
                    f' transform="rotate(-90 {n(tx)} {n(ty)})">n/a</text>'
                )
                continue
            tip = f"{name} / {s}: CPU {r[0]:.2f}×, wall {r[1]:.2f}× {ref}"
            out.append(
                f'<rect x="{n(bx + 1)}" y="{n(y(r[0]))}" width="{n(bar - 2)}" height="{n(head + plot_h - y(r[0]))}"'
                f' fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(tip)}</title></rect>'
            )
            if r[0] > top:  # clipped: a white break across the bar, and its value above it
                out.append(f'<rect x="{n(bx)}" y="{n(head + 10)}" width="{n(bar)}" height="4" fill="#ffffff"/>')
                tx, ty = bx + bar / 2 + 3.5, head - 3
                out.append(
                    f'<text x="{n(tx)}" y="{n(ty)}" font-size="10" transform="rotate(-90 {n(tx)} {n(ty)})">{r[0]:.2f}</text>'
                )
            if name == project and s in CPU_TARGETS:
                ty = y(CPU_TARGETS[s])
                out.append(
                    f'<line x1="{n(bx - 2)}" y1="{n(ty)}" x2="{n(bx + bar + 2)}" y2="{n(ty)}" stroke="#000000"'
                    f' stroke-width="3"><title>{escape(f"target {s}: {CPU_TARGETS[s]:.2f}")}</title></line>'
                )
        lx, ly = gx + group / 2, head + plot_h + 14
        out.append(
            f'<text x="{n(lx)}" y="{n(ly)}" text-anchor="end" transform="rotate(-35 {n(lx)} {n(ly)})">{escape(s)}</text>'
        )
    out.append(
        f'<line x1="{n(left)}" y1="{n(y(1.0))}" x2="{n(width - right)}" y2="{n(y(1.0))}" stroke="#444444"'
        ' stroke-width="1.5" stroke-dasharray="5,3"/>'
    )
    out.append(f'<line x1="{n(left)}" y1="{n(head + plot_h)}" x2="{n(width - right)}" y2="{n(head + plot_h)}" stroke="#000000"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ main


def paths(docs: Path) -> tuple[Path, Path, Path]:
    """(latest.json, benchmarks.md, chart.svg) under ``docs``."""
    return docs / "benchmarks" / "latest.json", docs / "benchmarks.md", docs / "benchmarks" / "chart.svg"


def load(path: Path, allow_no_ref: bool = False) -> Run:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object")
    return Run(data, allow_no_ref)


def render(run: Run, project: str) -> tuple[str, str]:
    """(page Markdown, chart SVG)."""
    return render_page(run, project) + "\n", render_chart(run, project)


def check(docs: Path, project: str) -> list[str]:
    """Differences between the committed page/chart and a fresh render of latest.json."""
    latest, page, chart = paths(docs)
    problems = []
    for path, text in zip((page, chart), render(load(latest), project)):
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            diff = difflib.unified_diff(current.splitlines(), text.splitlines(), str(path), "rendered", lineterm="", n=1)
            problems.append("\n".join(list(diff)[:40]))
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", nargs="?", type=Path, help="run.py's JSON for one run")
    ap.add_argument("--check", action="store_true", help="fail if the page or chart differ from latest.json")
    ap.add_argument("--docs", type=Path, default=DOCS, help="docs folder (default: %(default)s)")
    ap.add_argument("--project", default="httpr", help="the client the targets apply to (default: %(default)s)")
    ap.add_argument("--allow-no-ref", action="store_true",
                    help="render a run without httpr-0.7.8 (the smoke mode's check; never for the docs)")
    args = ap.parse_args(argv)
    if args.check == (args.run is not None):
        ap.error("give either RUN.json or --check")
    latest, page, chart = paths(args.docs)
    try:
        if args.check:
            problems = check(args.docs, args.project)
            if problems:
                print("\n\n".join(problems))
                print(f"\n{page} or {chart} differ from {latest}: rerun `{COMMAND} {latest}`", file=sys.stderr)
                return 1
            print(f"ok: {page} and {chart} match {latest}")
            return 0
        raw = args.run.read_bytes() if args.run.exists() else b""
        run = load(args.run, args.allow_no_ref)
        md_text, svg_text = render(run, args.project)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    latest.parent.mkdir(parents=True, exist_ok=True)
    if args.run.resolve() != latest.resolve():
        latest.write_bytes(raw)
    page.write_text(md_text, encoding="utf-8")
    chart.write_text(svg_text, encoding="utf-8")
    print(f"wrote {latest}, {page}, {chart}")
    if args.project in run.clients:
        vs = verdicts(run, args.project)
        print(f"targets met by {args.project}: {sum(v.met for v in vs)} of {len(vs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
