#!/usr/bin/env bash
# Test the artifacts scripts/build-wheels.sh put in dist/, each in a fresh venv under /tmp:
#   suite  the wheel installed on Python 3.13 (HTTPR_WHEEL_PYTHON), and the whole pytest suite
#          run against that install with no Rust toolchain reachable (scripts/without-toolchain.sh:
#          cargo/rustc dirs removed from PATH); tests/test_installed_package.py checks it.
#   sdist  `pip install dist/httpr-*.tar.gz` on Python 3.10 (HTTPR_SDIST_PYTHON), which compiles
#          with cargo, then scripts/smoke_installed.py (real requests to a loopback server).
# Usage: bash scripts/test-wheel.sh [all|suite|sdist] [extra pytest arguments for the suite]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/httpr/target}"
part="${1:-all}"
shift || true

# An interpreter of a minor version: on PATH, else installed by pyenv.
find_python() {
  local minor="$1" found=""
  if command -v "python$minor" >/dev/null && "python$minor" -c "" 2>/dev/null; then
    found="$(command -v "python$minor")"
  elif command -v pyenv >/dev/null; then
    found="$(ls -d "$(pyenv root)/versions/$minor".*/bin/"python$minor" 2>/dev/null | sort -V | tail -1)"
  fi
  [ -n "$found" ] || { echo "error: no Python $minor found (set HTTPR_WHEEL_PYTHON / HTTPR_SDIST_PYTHON)" >&2; exit 1; }
  echo "$found"
}

fresh_venv() {  # fresh_venv PYTHON -> prints the venv's path
  local dir
  dir="$(mktemp -d /tmp/httpr-wheel-test.XXXXXX)"
  "$1" -m venv "$dir/venv"
  "$dir/venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  echo "$dir/venv"
}

venvs=()
cleanup() { for v in "${venvs[@]}"; do rm -rf "$(dirname "$v")"; done; }
trap cleanup EXIT

wheel="$(ls dist/httpr-*.whl 2>/dev/null || true)"
sdist="$(ls dist/httpr-*.tar.gz 2>/dev/null || true)"
[ -n "$wheel" ] && [ -n "$sdist" ] || { echo "error: no wheel/sdist in dist/: run bash scripts/build-wheels.sh" >&2; exit 1; }
[ "$(wc -w <<<"$wheel")" = 1 ] || { echo "error: more than one wheel in dist/: $wheel" >&2; exit 1; }
wheel="$ROOT/$wheel"
sdist="$ROOT/$sdist"

if [ "$part" = all ] || [ "$part" = suite ]; then
  py="${HTTPR_WHEEL_PYTHON:-$(find_python 3.13)}"
  venv="$(fresh_venv "$py")"
  venvs+=("$venv")
  echo "== the wheel on $("$venv/bin/python" -V), in $venv"
  "$venv/bin/python" -m pip install -q -r tests/requirements.txt -r docs/requirements.txt
  # --no-index: the file in dist/, never httpr from PyPI.
  "$venv/bin/python" -m pip install -q --no-index --no-deps "$wheel"
  echo "== pytest from the wheel, no Rust toolchain on PATH"
  # The venv's pytest script (not `python -m`), so the working directory is not on sys.path.
  HTTPR_TEST_WHEEL="$wheel" bash scripts/without-toolchain.sh "$venv" "$venv/bin/pytest" -q -n "${HTTPR_TEST_WORKERS:-2}" tests "$@"
fi

if [ "$part" = all ] || [ "$part" = sdist ]; then
  command -v cargo >/dev/null || { echo "error: installing the sdist needs cargo" >&2; exit 1; }
  py="${HTTPR_SDIST_PYTHON:-$(find_python 3.10)}"
  venv="$(fresh_venv "$py")"
  venvs+=("$venv")
  echo "== pip install $(basename "$sdist") on $("$venv/bin/python" -V) (compiles; maturin from PyPI)"
  "$venv/bin/python" -m pip install -q "$sdist"
  # From /tmp, so nothing of the checkout can be imported instead of the install.
  (cd "$(dirname "$venv")" && "$venv/bin/python" "$ROOT/scripts/smoke_installed.py")
fi
