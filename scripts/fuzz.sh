#!/usr/bin/env bash
# Fuzzes sieve's plain-Rust layers (fuzz/fuzz_targets: the policy, the engine's streaming
# scan, the HTTP exchange, the TCP connection) with libFuzzer through cargo-fuzz, on the
# stable toolchain: no sanitizer (safe Rust; its checks, with debug assertions and overflow
# checks on, turn bugs into panics). Each target starts from fuzz/seeds and what earlier runs
# kept in fuzz/corpus (git-ignored); a failing input is written to fuzz/artifacts and the
# script stops.
# Usage: scripts/fuzz.sh [seconds per target, default 60] [target...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
secs=${1:-60}
targets=("${@:2}")
[ ${#targets[@]} -gt 0 ] || targets=(policy scan exchange connection)
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  cargo fuzz run --sanitizer none --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$secs" -timeout=10 -max_len=8192
done
