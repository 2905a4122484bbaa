#!/usr/bin/env bash
# The main job: build sieve, run it over the bundled sample of API traffic, then put the
# .wasm in a real Envoy in front of an echo upstream and show tag, redact and block with curl.
#   ./scripts/demo.sh          run the demo and stop
#   ./scripts/demo.sh --keep   leave Envoy (:10000, admin :9901) and the upstream (:8080) running
set -euo pipefail
cd "$(dirname "$0")/.."
keep=${1:-}
bash scripts/setup.sh
cargo build --release --bin sieve
sieve=target/release/sieve

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "sieve scan samples/   (detector, category, key path, redacted preview, keyed fingerprint)"
"$sieve" scan samples/ || [ $? -eq 1 ]   # exit code 1 means "findings", which this sample has

step "sieve redact samples/logs/gateway.log"
"$sieve" redact samples/logs/gateway.log || [ $? -eq 1 ]

step "sieve check: a policy with a broken regex is refused with path, detector and reason"
bad=$(mktemp --suffix .yaml)
printf 'detectors:\n  - id: employee-id\n    category: pii\n    patterns: ["E\\\\d{6"]\n' > "$bad"
"$sieve" check "$bad" || true
rm -f "$bad"

step "building the .wasm and installing Envoy"
bash scripts/build-wasm.sh
envoy=$(bash scripts/install-envoy.sh)
"$envoy" --version | head -1

python3 scripts/echo_upstream.py 8080 & upstream=$!
"$envoy" -c envoy/http.yaml --base-id 77 --log-level warn > /tmp/sieve-demo-envoy.log 2>&1 & envoy_pid=$!
cleanup() { kill "$envoy_pid" "$upstream" 2>/dev/null || true; }
[ "$keep" = "--keep" ] || trap cleanup EXIT
for _ in $(seq 100); do curl -sf localhost:9901/ready >/dev/null 2>&1 && break; sleep 0.1; done

step "a card number in a request body: redacted on the way to the upstream (the upstream echoes what it got)"
curl -s localhost:10000/v1/orders -H 'content-type: application/json' \
  -d '{"order": 7, "card": "4111 1111 1111 1111", "email": "grace@example.com"}'

step "credentials in a header: blocked before anything reaches the upstream (this policy blocks credentials)"
curl -s -w '\nHTTP %{http_code}\n' localhost:10000/v1/me -H 'authorization: Basic dXNlcjpwYXNzd29yZA=='

step "an email in the query string (contact data is monitored): the upstream gets x-sieve-* tags"
curl -s 'localhost:10000/v1/search?email=ann%40example.com'

step "a private key in a request body: blocked with a JSON reply"
curl -s -w '\nHTTP %{http_code}\n' localhost:10000/v1/upload -H 'content-type: text/plain' \
  --data-binary $'-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n'

step "the Prometheus counters that moved (curl localhost:9901/stats/prometheus)"
# sieve adds its counts to Envoy's counters once a second (a host call per counter, not per
# exchange): wait for the four exchanges above.
for _ in $(seq 50); do curl -s localhost:9901/stats/prometheus | grep -q '^sieve_exchanges_total{} 4$' && break; sleep 0.1; done
curl -s localhost:9901/stats/prometheus | grep -E '^sieve_' || true

step "Envoy's access log: sieve's findings by name, from the filter state it sets (never the values)"
# Envoy flushes its access log every few seconds.
for _ in $(seq 100); do [ "$(grep -c '"sieve_categories"' /tmp/sieve-demo-envoy.log)" -ge 4 ] && break; sleep 0.1; done
grep -h '"sieve_categories"' /tmp/sieve-demo-envoy.log | tail -n 4 || true

if [ "$keep" = "--keep" ]; then
  step "still running: Envoy on :10000 (admin :9901), echo upstream on :8080"
  echo "try:  curl -s localhost:10000/anything -d '{\"ssn\": \"531-21-7351\"}' -H 'content-type: application/json'"
  echo "stop: kill $envoy_pid $upstream"
fi
