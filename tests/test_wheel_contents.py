"""The built wheel holds the package and nothing else.

Reads the wheel that ``scripts/build-wheels.sh`` put in ``dist/`` (or the one named by
``HTTPR_TEST_WHEEL``): the ``httpr/`` files must be exactly the package's sources (``*.py``, the
``*.pyi`` stubs, ``py.typed``, the pytest plugin) plus one ``_httpr.abi3.so``; the dist-info must
declare the pytest11 entry point, Python >= 3.10 and no dependencies, and RECORD must hash every
file. Anything else (tests, docs, a second extension module) fails the check.
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import os
import re
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_SOURCE = ROOT / "python" / "httpr"
#: Files of python/httpr/ that belong in the wheel; anything else there (a stale build of the
#: extension, caches) must stay out of it.
PACKAGE_SUFFIXES = {".py", ".pyi"}
EXTENSION = "httpr/_httpr.abi3.so"


def version() -> str:
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))
    value = cargo["workspace"]["package"]["version"]
    assert isinstance(value, str)
    return value


def package_files() -> set[str]:
    """The wheel paths python/httpr/ should contribute, from the source tree."""
    files = {
        f"httpr/{p.relative_to(PACKAGE_SOURCE).as_posix()}"
        for p in PACKAGE_SOURCE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and (p.suffix in PACKAGE_SUFFIXES or p.name == "py.typed")
    }
    return files | {EXTENSION}


def dist_info_allowed(name: str, dist_info: str) -> bool:
    """The metadata files maturin writes. sboms/ is the CycloneDX bill of materials of the Rust
    crates compiled in (PEP 770), which maturin adds since 1.9."""
    rest = name.removeprefix(f"{dist_info}/")
    if rest == name:
        return False
    return rest in {"METADATA", "WHEEL", "RECORD", "entry_points.txt"} or re.fullmatch(r"sboms/[\w.-]+\.cyclonedx\.json", rest) is not None


def unexpected_files(names: list[str], expected: set[str], dist_info: str) -> list[str]:
    """Entries of a wheel that are neither package files nor its metadata, and duplicates."""
    stray = [n for n in names if n not in expected and not dist_info_allowed(n, dist_info)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    return stray + [f"{n} (twice)" for n in duplicates]


def built_wheel() -> Path:
    named = os.environ.get("HTTPR_TEST_WHEEL")
    if named:
        return Path(named)
    wheels = sorted((ROOT / "dist").glob("httpr-*.whl"))
    if not wheels:
        pytest.skip("no wheel in dist/: bash scripts/build-wheels.sh builds one (scripts/test.sh does)")
    assert len(wheels) == 1, f"more than one wheel in dist/, which one to check? {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def wheel() -> Path:
    path = built_wheel()
    assert path.name.startswith(f"httpr-{version()}-"), f"{path.name} is not the version being tested ({version()})"
    return path


def test_wheel_holds_only_the_package(wheel: Path) -> None:
    dist_info = f"httpr-{version()}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
    expected = package_files()
    assert {"httpr/_httpr.pyi", "httpr/py.typed", "httpr/pytest_plugin.py", "httpr/__init__.py"} <= expected
    missing = sorted(expected - set(names))
    assert not missing, f"the wheel lacks {missing}"
    assert unexpected_files(names, expected, dist_info) == []
    assert [n for n in names if n.endswith(".so")] == [EXTENSION]


def test_wheel_metadata(wheel: Path) -> None:
    dist_info = f"httpr-{version()}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        metadata = email.parser.Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
        wheel_info = email.parser.Parser().parsestr(zf.read(f"{dist_info}/WHEEL").decode())
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert metadata["Name"] == "httpr"
    assert metadata["Version"] == version()
    assert metadata["Requires-Python"] == ">=3.10"
    # The installed package has zero Python runtime dependencies.
    assert metadata.get_all("Requires-Dist") is None
    assert wheel_info["Root-Is-Purelib"] == "false"
    tags = wheel_info.get_all("Tag") or []
    assert tags and all(re.fullmatch(r"cp310-abi3-manylinux_\d+_\d+_x86_64", t) for t in tags), tags
    assert re.search(r"^\[pytest11\]\s*\nhttpr\s*=\s*httpr\.pytest_plugin\s*$", entry_points, re.M), entry_points


def test_record_hashes_every_file(wheel: Path) -> None:
    dist_info = f"httpr-{version()}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        names = {i.filename for i in zf.infolist() if not i.is_dir()}
        rows = [line.rsplit(",", 2) for line in zf.read(f"{dist_info}/RECORD").decode().splitlines() if line]
        recorded = {path: (digest, size) for path, digest, size in rows}
        assert set(recorded) == names
        for path, (digest, size) in recorded.items():
            if path == f"{dist_info}/RECORD":
                assert (digest, size) == ("", "")
                continue
            data = zf.read(path)
            expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, size) == (expected, str(len(data))), path


def test_check_reports_stray_files(tmp_path: Path) -> None:
    """The check above can fail: a wheel with tests, docs and a second extension is flagged."""
    dist_info = "httpr-0.0.0.dist-info"
    expected = package_files()
    stray = [
        "tests/test_client_basics.py",
        "httpr/_httpr.cpython-311-x86_64-linux-gnu.so",
        "docs/index.md",
        f"{dist_info}/licenses/LICENSE.orig",
    ]
    fake = tmp_path / "httpr-0.0.0-cp310-abi3-manylinux_2_34_x86_64.whl"
    with zipfile.ZipFile(fake, "w") as zf:
        for name in [*sorted(expected), *stray, f"{dist_info}/METADATA", f"{dist_info}/RECORD"]:
            zf.writestr(name, b"")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr(EXTENSION, b"")
    with zipfile.ZipFile(fake) as zf:
        names = [i.filename for i in zf.infolist()]
    assert unexpected_files(names, expected, dist_info) == [*stray, f"{EXTENSION} (twice)"]
