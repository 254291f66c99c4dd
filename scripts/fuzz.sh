#!/usr/bin/env bash
# Differential fuzzing of the lean HTTP/1.1 path against hyper: the libFuzzer target in
# fuzz/fuzz_targets/h1_vs_hyper.rs, built with the coverage instrumentation cargo-fuzz uses
# (on the stable toolchain: no sanitizer; the harness is safe Rust).
#
#   bash scripts/fuzz.sh            # the bounded pass CI runs (FUZZ_SECONDS, default 60)
#   bash scripts/fuzz.sh 3600       # the pass before a release
#   FUZZ_MERGE=1 bash scripts/fuzz.sh 3600   # ... and merge what it found into the corpus
#
# It reads the committed corpus (fuzz/corpus/h1_vs_hyper) and writes new inputs to a scratch
# dir, so a CI run leaves the checkout clean. A disagreement or panic stops it with the input in
# fuzz/artifacts/: copy that file into the corpus (as regress-<what>), where
# `cargo test -p httpr-runtime` replays it, and fix the code.
source "$(dirname "$0")/env.sh"
seconds="${1:-${FUZZ_SECONDS:-60}}"
corpus="$ROOT/fuzz/corpus/h1_vs_hyper"
scratch="$(mktemp -d)"
artifacts="$ROOT/fuzz/artifacts/h1_vs_hyper"
mkdir -p "$artifacts"
# Its own target dir: the instrumented build must not evict the normal one.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/httpr/fuzz-target}"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (as cargo-fuzz does).
host="$(rustc -vV | sed -n 's/^host: //p')"
# The fuzz crate's lock starts from the workspace's, so it tests the hyper, httparse and tokio
# the package ships (a newer hyper decides differently: hyper 1.13 drops Content-Length beside
# Transfer-Encoding); cargo adds libfuzzer-sys and drops what only the workspace uses.
cp "$ROOT/Cargo.lock" "$ROOT/fuzz/Cargo.lock"
echo "== build fuzz/h1_vs_hyper"
cargo build --quiet --release --manifest-path fuzz/Cargo.toml --target "$host" --bin h1_vs_hyper
bin="$CARGO_TARGET_DIR/$host/release/h1_vs_hyper"
echo "== fuzz h1_vs_hyper for ${seconds}s ($(ls "$corpus" | wc -l) corpus files)"
log="$scratch.log"
set +e
"$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "$corpus" >"$log" 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  tail -60 "$log"
  echo "error: the fuzzer found a disagreement or crash (exit $rc); the input is in $artifacts" >&2
  exit "$rc"
fi
# The numbers for the closing note: executions, speed, coverage, corpus size.
grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" "$log" || true
grep -E "^#[0-9]+.*DONE" "$log" | tail -1 || true
echo "new inputs this run: $(ls "$scratch" | wc -l) (in $scratch)"
if [ "${FUZZ_MERGE:-0}" = 1 ]; then
  "$bin" -merge=1 "$corpus" "$scratch" >/dev/null 2>&1
  echo "merged into $corpus: $(ls "$corpus" | wc -l) files"
fi
