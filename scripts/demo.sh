#!/usr/bin/env bash
# The main job: build sieve and run it over the bundled sample of API traffic.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --bin sieve
sieve=target/release/sieve

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "sieve scan samples/   (findings: detector, category, key path, redacted preview, keyed fingerprint)"
# Exit code 1 means "findings", which is what this sample has.
"$sieve" scan samples/ || [ $? -eq 1 ]

step "sieve redact samples/logs/gateway.log"
"$sieve" redact samples/logs/gateway.log || [ $? -eq 1 ]

step "sieve scan --format jsonl samples/api/signup-request.json"
"$sieve" scan --format jsonl samples/api/signup-request.json || [ $? -eq 1 ]

step "sieve check on a policy with a broken regex (refused, with path, detector and reason)"
bad=$(mktemp --suffix .yaml)
printf 'detectors:\n  - id: employee-id\n    category: pii\n    patterns: ["E\\\\d{6"]\n' > "$bad"
"$sieve" check "$bad" || true
rm -f "$bad"

bash scripts/build-wasm.sh
