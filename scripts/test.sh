#!/usr/bin/env bash
# Every test: formatting and lints (native and wasm32), unit, property, corpus, CLI and schema
# tests, the flow layer natively, the release .wasm in a real Envoy (newest and an older
# supported release), and the release .wasm build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo clippy --target wasm32-wasip1 --lib --locked -- -D warnings
cargo test --all-targets --locked          # includes tests/envoy.rs on Envoy 1.40.0
cargo test --doc --locked
echo "== the Envoy suite again on the older supported release, 1.36.4"
SIEVE_ENVOY_VERSION=1.36.4 cargo test --locked --test envoy
bash scripts/build-wasm.sh
