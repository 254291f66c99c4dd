"""The sync request path stays within its instruction budget.

Runs ``scripts/callgrind_guard.py`` on the interpreter running the tests (the one httpr is
installed in): instructions per ``Client.get`` of a 5 KiB body, counted by callgrind, against
``scripts/callgrind_budget.json``. See the guard's docstring for the method and DEVELOPERS.md for
updating the budget. Takes about 10 s.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUARD = ROOT / "scripts" / "callgrind_guard.py"
#: Two runs under valgrind take about 10 s on an idle machine; this leaves room for a busy one.
TIMEOUT_S = 120


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    """Replaces conftest's 30 s hang guard here: the guard's subprocess has its own timeout
    (TIMEOUT_S), which a loaded CI machine needs more room for."""
    yield


@pytest.mark.skipif(
    shutil.which("valgrind") is None,
    reason="valgrind is not on PATH (scripts/test.sh installs it: apt-get install valgrind)",
)
def test_sync_get_instructions_within_budget() -> None:
    result = subprocess.run(
        [sys.executable, str(GUARD), "--python", sys.executable],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, output
    assert "sync_get_5k: OK" in result.stdout
