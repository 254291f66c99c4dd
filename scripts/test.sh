#!/usr/bin/env bash
# The whole test suite: Rust unit + generator tests, the codegen drift check, the wheel and sdist
# built (scripts/build-wheels.sh), mypy --strict, the benchmark smoke, a bounded fuzz pass, and
# pytest against local servers with the wheel installed: on .venv's Python and on 3.13, with no
# Rust toolchain on PATH; then the sdist installed on 3.10 (scripts/test-wheel.sh).
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
echo "== wheel and sdist (scripts/build-wheels.sh)"
bash scripts/build-wheels.sh
wheel="$(ls "$ROOT"/dist/httpr-*.whl)"
"$VPY" -m pip install -q -r tests/requirements.txt -r docs/requirements.txt
# The suite tests the wheel users get (--no-index: the file in dist/, never PyPI's httpr).
"$VPY" -m pip install -q --force-reinstall --no-deps --no-index "$wheel"
echo "== mypy --strict (tests, examples, scripts, benchmarks) and stubtest (compiled module vs generated stubs)"
"$VPY" -m mypy --strict tests examples scripts benchmarks
"$VPY" -m mypy.stubtest httpr._httpr
echo "== benchmark smoke (every scenario yields a valid cell: R=1, tiny N; benchmarks/run.py)"
python3 benchmarks/run.py --smoke --httpr-python "$VPY" 2>/tmp/httpr-bench-smoke.log \
  || { tail -40 /tmp/httpr-bench-smoke.log; exit 1; }
tail -1 /tmp/httpr-bench-smoke.log
echo "== differential fuzzing of the HTTP/1.1 path against hyper (scripts/fuzz.sh, ${FUZZ_SECONDS:-60} s)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
echo "== pytest: the wheel on $("$VPY" -V) in .venv, no Rust toolchain on PATH"
# The venv's pytest script (not `python -m`), so the checkout is not on sys.path.
# Two workers (pytest-xdist): most tests wait on sockets and timers, so this halves the time
# on 2 cores. The soak runs 120 s here (HTTPR_SOAK_SECONDS), beside the rest of the suite.
HTTPR_SOAK_SECONDS="${HTTPR_SOAK_SECONDS:-120}" HTTPR_TEST_WHEEL="$wheel" \
  bash scripts/without-toolchain.sh "$ROOT/.venv" "$ROOT/.venv/bin/pytest" -q -n 2 --durations=10 tests
echo "== the wheel on Python 3.13 (the suite) and the sdist on Python 3.10 (scripts/test-wheel.sh)"
bash scripts/test-wheel.sh
