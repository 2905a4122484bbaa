#!/usr/bin/env bash
# Every test: formatting and lints (native, wasm32, and the fuzz targets), unit (natively, and as wasm32 under
# Wasmtime), property, corpus, CLI, schema, Istio-manifest and HTTP-flow tests, the release
# .wasm in a real Envoy (the newest and an older supported release), and the release .wasm
# build. Ends with one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bash scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo clippy --target wasm32-wasip1 --lib --locked -- -D warnings
# The fuzz targets (run by scripts/fuzz.sh) compile and stay lint-clean; their checks build in target/.
cargo fmt --manifest-path fuzz/Cargo.toml --check
CARGO_TARGET_DIR=target cargo clippy --manifest-path fuzz/Cargo.toml --locked -- -D warnings
cargo test --all-targets --locked 2>&1 | tee -a "$log"      # includes tests/envoy.rs on Envoy 1.40.0
cargo test --doc --locked 2>&1 | tee -a "$log"
echo "== the library's unit tests again as wasm32-wasip1, under Wasmtime"
bash scripts/test-wasm.sh 2>&1 | tee -a "$log"
echo "== the Envoy suite again on the older supported release, 1.36.4"
SIEVE_ENVOY_VERSION=1.36.4 cargo test --locked --test envoy --test envoy_bodies --test envoy_tcp --test envoy_grpc 2>&1 | tee -a "$log"
bash scripts/build-wasm.sh
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
