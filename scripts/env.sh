# Shared setup for the scripts: a project venv and a cargo target dir kept between runs.
# Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Outside the clone, so CI's fresh clones reuse compiled dependencies on the same machine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/httpr/target}"
PY="${PYTHON:-python3}"
command -v cargo >/dev/null || { echo "error: cargo (Rust toolchain) is required: https://rustup.rs" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY="$ROOT/.venv/bin/python"
"$VPY" -m pip install -q --upgrade pip >/dev/null
