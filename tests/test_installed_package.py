"""The suite is testing the installed wheel, not the source tree.

``scripts/test.sh`` and ``scripts/test-wheel.sh`` install the wheel from ``dist/`` and run the
whole suite with ``HTTPR_TEST_WHEEL`` naming it; ``scripts/test-wheel.sh`` also strips the Rust
toolchain from PATH and sets ``HTTPR_TEST_NO_TOOLCHAIN=1``. Outside those runs (a developer's
``pytest tests``) there is no wheel to compare with, and these tests skip saying so.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import httpr
import httpr._httpr

ROOT = Path(__file__).resolve().parent.parent


def installed_wheel() -> Path:
    named = os.environ.get("HTTPR_TEST_WHEEL")
    if not named:
        pytest.skip("HTTPR_TEST_WHEEL is unset: only scripts/test.sh and scripts/test-wheel.sh run the suite from a wheel")
    return Path(named).resolve()


def test_httpr_is_imported_from_site_packages() -> None:
    installed_wheel()
    site = Path(sysconfig.get_path("platlib")).resolve()
    assert sys.prefix != sys.base_prefix, "the suite should run in a venv"
    for module in (httpr, httpr._httpr):
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().is_relative_to(site), f"{module.__name__} from {module.__file__}, not {site}"
    source = ROOT / "python"
    on_path = [p for p in sys.path if p and Path(p).resolve() == source]
    assert on_path == [], f"the source package is on sys.path: {on_path}"


def test_the_installed_distribution_is_this_wheel() -> None:
    wheel = installed_wheel()
    dist = importlib.metadata.distribution("httpr")
    direct_url = dist.read_text("direct_url.json")
    assert direct_url is not None, "httpr was not installed from a file"
    assert json.loads(direct_url)["url"] == wheel.as_uri()
    assert dist.version == httpr.__version__
    # The extension module loaded is byte for byte the one in the wheel.
    assert httpr._httpr.__file__ is not None
    with zipfile.ZipFile(wheel) as zf:
        packed = hashlib.sha256(zf.read("httpr/_httpr.abi3.so")).hexdigest()
    assert hashlib.sha256(Path(httpr._httpr.__file__).read_bytes()).hexdigest() == packed


def test_no_rust_toolchain_is_reachable() -> None:
    if os.environ.get("HTTPR_TEST_NO_TOOLCHAIN") != "1":
        pytest.skip("HTTPR_TEST_NO_TOOLCHAIN is unset: only scripts/test-wheel.sh removes cargo from PATH")
    assert shutil.which("cargo") is None
    assert shutil.which("rustc") is None
    for variable in ("CARGO", "RUSTC"):
        assert not Path(os.environ[variable]).exists(), f"{variable}={os.environ[variable]} exists"
