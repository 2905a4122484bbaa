#!/usr/bin/env bash
# The library's unit tests compiled to wasm32-wasip1 and run under Wasmtime (from PyPI, pinned,
# in .venv-wasmtime): the engine as Envoy runs it (32-bit `usize`, SIMD128 where the crates
# use it). Arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv=.venv-wasmtime
if ! "$venv/bin/python" -c 'import wasmtime' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "wasmtime==50.0.1" >&2
fi
CARGO_TARGET_WASM32_WASIP1_RUNNER="$PWD/$venv/bin/python $PWD/scripts/wasm-test-runner.py" \
  cargo test --locked --target wasm32-wasip1 --lib "$@"
