#!/usr/bin/env bash
# Run a command with no Rust toolchain reachable: every PATH directory holding cargo or rustc
# removed, CARGO/RUSTC/RUSTUP_HOME/CARGO_HOME pointing nowhere, and HTTPR_TEST_NO_TOOLCHAIN=1
# (tests/test_installed_package.py checks it). The suite runs so against an installed wheel,
# as a user without Rust would.
#   bash scripts/without-toolchain.sh VENV COMMAND...   (VENV's bin/ goes first on PATH)
set -euo pipefail
venv="$1"
shift
path="$(tr ':' '\n' <<<"$PATH" | while read -r d; do
  [ -n "$d" ] && [ ! -x "$d/cargo" ] && [ ! -x "$d/rustc" ] && echo "$d"; done | paste -sd: -)"
exec env -u PYTHONPATH -u VIRTUAL_ENV PATH="$venv/bin:$path" \
  CARGO=/nonexistent/cargo RUSTC=/nonexistent/rustc RUSTUP_HOME=/nonexistent CARGO_HOME=/nonexistent \
  HTTPR_TEST_NO_TOOLCHAIN=1 "$@"
