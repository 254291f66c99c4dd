#!/usr/bin/env bash
# The whole test suite: Rust unit + generator tests, the codegen drift check, the package
# built from source, pytest against local servers, and mypy --strict.
source "$(dirname "$0")/env.sh"
echo "== cargo test (runtime, codegen)"
log="$(mktemp)"
if ! cargo test --workspace --quiet >"$log" 2>&1; then cat "$log"; exit 1; fi
grep -E "^test result" "$log" | grep -v " 0 passed; 0 failed" || true
echo "== codegen --check"
cargo run --quiet -p codegen -- --check
echo "== pip install . (release build)"
"$VPY" -m pip install -q -r tests/requirements.txt -r docs/requirements.txt
"$VPY" -m pip install -q --force-reinstall --no-deps .
echo "== mypy --strict (tests, examples) and stubtest (compiled module vs generated stubs)"
"$VPY" -m mypy --strict tests examples
"$VPY" -m mypy.stubtest httpr._httpr
echo "== pytest"
"$VPY" -m pytest -q tests
