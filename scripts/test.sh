#!/usr/bin/env bash
# The whole test suite: Rust unit + generator tests, the codegen drift check, the package
# built from source, pytest against local servers, and mypy --strict.
source "$(dirname "$0")/env.sh"
if ! command -v valgrind >/dev/null; then
  # tests/test_callgrind_budget.py counts instructions per request with valgrind's callgrind.
  echo "== apt-get install valgrind"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  # tests/test_docs_site.py checks the built docs site in a headless Chromium (it skips,
  # saying why, only when these cannot be installed).
  echo "== apt-get install chromium chromium-driver"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq chromium chromium-driver >/dev/null; } \
    || echo "warning: chromium could not be installed; the docs browser check will skip"
fi
echo "== cargo test (runtime, codegen)"
# insta finds snapshots from a compile-time path, which a test binary reused from another
# checkout (shared target dir) gets wrong: name this checkout explicitly.
export INSTA_WORKSPACE_ROOT="$ROOT"
log="$(mktemp)"
if ! cargo test --workspace --quiet >"$log" 2>&1; then cat "$log"; exit 1; fi
grep -E "^test result" "$log" | grep -v " 0 passed; 0 failed" || true
echo "== codegen --check"
cargo run --quiet -p codegen -- --check
echo "== pip install . (release build)"
"$VPY" -m pip install -q -r tests/requirements.txt -r docs/requirements.txt
"$VPY" -m pip install -q --force-reinstall --no-deps .
echo "== mypy --strict (tests, examples, scripts) and stubtest (compiled module vs generated stubs)"
"$VPY" -m mypy --strict tests examples scripts
"$VPY" -m mypy.stubtest httpr._httpr
echo "== pytest"
"$VPY" -m pytest -q tests
