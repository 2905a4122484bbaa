#!/usr/bin/env bash
# Every test: formatting and lints, unit, property, corpus and CLI tests, and the release .wasm build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo clippy --target wasm32-wasip1 --lib --locked -- -D warnings
cargo test --all-targets --locked
cargo test --doc --locked
bash scripts/build-wasm.sh
