#!/usr/bin/env bash
# Builds the release .wasm (the artifact users deploy) and prints its path and size.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --target wasm32-wasip1 --lib
wasm=target/wasm32-wasip1/release/sieve.wasm
echo "built $wasm ($(stat -c %s "$wasm") bytes)"
