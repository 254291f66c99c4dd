"""What a benchmark run needs besides nginx: the comparison clients in venvs of their own, and
the Rust floors. Idempotent: what is there and imports is kept.

- ``$HTTPR_BENCH_VENVS/anchors`` (default /tmp/bench-venvs): httpr 0.7.8 and the other clients;
- ``$HTTPR_BENCH_VENVS/niquests``: niquests alone. Its urllib3-future replaces the real urllib3
  at interpreter start-up (a .pth hook), so sharing a venv would measure requests on it.
- the floors, built from benchmarks/floor into ``$CARGO_TARGET_DIR``-like ``FLOOR_TARGET``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENVS = os.environ.get("HTTPR_BENCH_VENVS", "/tmp/bench-venvs")
FLOOR_DIR = os.path.join(HERE, "floor")
FLOOR_TARGET = os.environ.get("HTTPR_FLOOR_TARGET", os.path.expanduser("~/.cache/httpr/floor-target"))

#: venv -> (pip requirement, module it must import) for each client installed there.
VENV_PACKAGES: dict[str, list[tuple[str, str]]] = {
    "anchors": [("httpr==0.7.8", "httpr"), ("pyreqwest", "pyreqwest"), ("httpx[http2]", "h2"),
                ("requests", "requests"), ("aiohttp", "aiohttp"), ("pycurl", "pycurl"), ("primp", "primp")],
    "niquests": [("niquests", "niquests")],
}


def python(venv: str) -> str:
    return os.path.join(VENVS, venv, "bin", "python")


def _imports(py: str, module: str) -> bool:
    return subprocess.run([py, "-c", f"import {module}"], capture_output=True).returncode == 0


def _apt(*packages: str) -> None:
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=False)
    subprocess.run([*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", *packages],
                   check=False)


def ensure_venv(name: str) -> list[str]:
    """Create the venv and install what is missing. -> the requirements that failed."""
    py = python(name)
    if name == "anchors" and os.path.exists(py) and _imports(py, "urllib3_future"):
        print(f"[env] {name} has urllib3-future (it shadows urllib3): rebuilding it", file=sys.stderr)
        shutil.rmtree(os.path.join(VENVS, name))
    if not os.path.exists(py):
        print(f"[env] creating {os.path.join(VENVS, name)}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", os.path.join(VENVS, name)], check=True)
    failed = []
    for req, module in VENV_PACKAGES[name]:
        if _imports(py, module):
            continue
        print(f"[env] pip install {req} -> {name}", file=sys.stderr)
        ok = subprocess.run([py, "-m", "pip", "install", "-q", req]).returncode == 0
        if not ok and module == "pycurl":  # no wheel for this platform: build it against libcurl
            _apt("libcurl4-openssl-dev", "libssl-dev")
            ok = subprocess.run([py, "-m", "pip", "install", "-q", req]).returncode == 0
        if not ok:
            failed.append(req)
    return failed


def floor_binary(name: str) -> str:
    return os.path.join(FLOOR_TARGET, "release", name)


def build_floor(with_reqwest: bool) -> list[str]:
    """Build raw-floor (and reqwest-floor). -> the binaries that exist afterwards."""
    if not shutil.which("cargo"):
        print("[env] no cargo: the Rust floors are left out", file=sys.stderr)
        return []
    cmd = ["cargo", "build", "--release", "-q", "--manifest-path", os.path.join(FLOOR_DIR, "Cargo.toml"),
           "--bin", "raw-floor"]
    if with_reqwest:
        cmd += ["--features", "reqwest", "--bin", "reqwest-floor"]
    env = dict(os.environ, CARGO_TARGET_DIR=FLOOR_TARGET)
    if subprocess.run(cmd, env=env).returncode != 0:
        print("[env] the floor build failed; the floors are left out", file=sys.stderr)
    names = ["raw-floor", "reqwest-floor"] if with_reqwest else ["raw-floor"]
    return [n for n in names if os.path.exists(floor_binary(n))]
