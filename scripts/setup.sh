#!/usr/bin/env bash
# Installs what sieve's build needs beyond a plain Rust toolchain: the wasm32-wasip1 target.
set -euo pipefail
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-wasip1; then
    rustup target add wasm32-wasip1
  fi
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
  done
else
  echo "setup: rustup not found; make sure the wasm32-wasip1 target is installed" >&2
fi
