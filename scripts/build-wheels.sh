#!/usr/bin/env bash
# Build the release artifacts into dist/: the sdist, then the abi3 manylinux wheel built from
# that unpacked sdist (so a file the sdist lacks fails here, not on a user's machine). Checks
# both with `twine check --strict` and the wheel with `auditwheel show`, and prints the sizes.
# The tools (maturin, auditwheel, twine: scripts/wheel-tools.txt) live in their own venv, never
# in .venv or the package's dependencies.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Shared with scripts/env.sh: compiled dependencies are reused between builds and clones.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/httpr/target}"
CACHE="$(dirname "$CARGO_TARGET_DIR")"
TOOLS="${HTTPR_TOOLS_VENV:-$CACHE/wheel-tools-venv}"
command -v cargo >/dev/null || { echo "error: cargo (Rust toolchain) is required: https://rustup.rs" >&2; exit 1; }

if [ ! -x "$TOOLS/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$TOOLS"
fi
"$TOOLS/bin/python" -m pip install -q --upgrade pip >/dev/null
"$TOOLS/bin/python" -m pip install -q -r scripts/wheel-tools.txt

mkdir -p dist
rm -f dist/httpr-*.whl dist/httpr-*.tar.gz
echo "== maturin sdist"
"$TOOLS/bin/maturin" sdist --out dist
sdist="$(ls dist/httpr-*.tar.gz)"

# A fixed unpack path (not a fresh temp dir) lets cargo reuse the workspace crates' artifacts
# when their sources did not change.
unpacked="$CACHE/sdist-build"
rm -rf "$unpacked"
mkdir -p "$unpacked"
tar -xzf "$sdist" -C "$unpacked"
src="$(echo "$unpacked"/httpr-*)"
echo "== maturin build --release (from $sdist)"
(cd "$src" && "$TOOLS/bin/maturin" build --release --quiet --out "$ROOT/dist")
wheel="$(ls dist/httpr-*.whl)"

echo "== twine check --strict"
"$TOOLS/bin/twine" check --strict "$sdist" "$wheel"

echo "== auditwheel show"
audit="$("$TOOLS/bin/auditwheel" show "$wheel")"
echo "$audit"
# The platform tag in the file name must be one auditwheel agrees the wheel is consistent with.
tag="$(basename "$wheel" .whl | awk -F- '{print $NF}')"
tr -s ' \n' ' ' <<<"$audit" | grep -q "is consistent with the following platform tag: \"$tag\"" \
  || { echo "error: auditwheel does not confirm the platform tag $tag" >&2; exit 1; }

"$TOOLS/bin/python" - "$wheel" "$sdist" <<'EOF'
import sys, zipfile
from pathlib import Path

wheel, sdist = Path(sys.argv[1]), Path(sys.argv[2])
with zipfile.ZipFile(wheel) as zf:
    so = [i for i in zf.infolist() if i.filename.endswith(".so")]
    unpacked = sum(i.file_size for i in zf.infolist())
print(f"== built {wheel.name}: {wheel.stat().st_size / 2**20:.2f} MiB "
      f"({unpacked / 2**20:.2f} MiB installed, extension module {so[0].file_size / 2**20:.2f} MiB)")
print(f"== built {sdist.name}: {sdist.stat().st_size / 2**10:.0f} KiB")
EOF
