#!/usr/bin/env bash
# Benchmarks for the core slice; prints a Markdown table.
#  1. Throughput through the adapter vs. the same PromQL sent straight to
#     Prometheus (named-object and external requests, concurrency 1/8/64).
#  2. Added p99 latency at a fixed 1,000 requests/s.
#  3. Relist of 100k and 1M synthetic series: duration and peak RSS.
#  4. Idle RSS with the example config.
#  5. queue-stats: collection cycles at scale (queue-bench) and how quickly
#     and exactly it reacts (queue-timely-bench), on the Kafka mock cluster;
#     run after the demo stack is stopped, so they have the cores.
#  6. Forwarding to an upstream (upstream-bench): added p99 at 1,000 req/s.
# Usage: bench/run.sh [--quick]   (--quick: shorter runs, 100k series only,
#        fewer queue-stats cycles, runs and GetMetrics calls)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[[ ${1:-} == --quick ]] && quick=true
secs=5; rate_secs=10; sizes=(100000 1000000)
queue_cycles=4; timely=(--runs 5 --calls 2000); upstream=(--seconds 10 --rounds 3)
$quick && { secs=2; rate_secs=4; sizes=(100000); queue_cycles=2; timely=(--runs 3 --calls 1000); upstream=(--seconds 3 --rounds 3); }

./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMA_TESTS=ON >/dev/null
cmake --build build -j "$(nproc)" --target metrics-adapter demo-exporter loadgen series-server \
  queue-stats kafka-mock-cluster queue-bench queue-timely-bench upstream-bench >/dev/null

work=$(mktemp -d /tmp/metrics-adapter-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The demo stack (real Prometheus with the example data, adapter over HTTPS).
DEMO_QUEUES=0 DEMO_PORT=${BENCH_PORT:-16443} ./scripts/demo.sh >"$work/demo.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do grep -q "Serving until Ctrl-C" "$work/demo.log" && break; sleep 0.5; done
grep -q "Serving until Ctrl-C" "$work/demo.log" || { cat "$work/demo.log"; exit 1; }
prom=$(grep -o "Prometheus: http://127.0.0.1:[0-9]*" "$work/demo.log" | head -1 | sed 's/Prometheus: //')
adapter="https://127.0.0.1:${BENCH_PORT:-16443}"
apid=$(pgrep -f "metrics-adapter --standalone --config examples/demo/config.yaml" | head -1)
idle_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$apid/status")

urlencode() { jq -rn --arg s "$1" '$s|@uri'; }
lg() { build/bench/loadgen "$@"; }
field() { jq -r ".$2" <<<"$1"; }

named_path="/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-7d9f8-a1/http_requests_in_flight"
named_promql='sum(http_requests_in_flight{namespace="default",pod="web-7d9f8-a1"}) by (pod)'
ext_path="/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_messages_ready?labelSelector=queue%3Dorders"
ext_promql='sum(queue_messages_ready{queue="orders",namespace="default"}) by (queue)'

echo "## metrics-adapter benchmarks ($(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "### Throughput: adapter (HTTPS, keep-alive) vs. the same PromQL straight to Prometheus (HTTP)"
echo
echo "| request | concurrency | direct req/s | adapter req/s | ratio | direct p99 ms | adapter p99 ms |"
echo "|---|---|---|---|---|---|---|"
for kind in named external; do
  if [[ $kind == named ]]; then path=$named_path; q=$named_promql; else path=$ext_path; q=$ext_promql; fi
  for c in 1 8 64; do
    d=$(lg --url "$prom/api/v1/query?query=$(urlencode "$q")" --concurrency "$c" --seconds "$secs")
    a=$(lg --url "$adapter$path" --concurrency "$c" --seconds "$secs")
    ratio=$(jq -rn --argjson a "$(field "$a" rps)" --argjson d "$(field "$d" rps)" '($a/$d*100|round)/100')
    echo "| $kind | $c | $(field "$d" rps) | $(field "$a" rps) | ${ratio}x | $(field "$d" p99_ms) | $(field "$a" p99_ms) |"
  done
done
echo
echo "### Latency at a fixed 1,000 requests/s (named-object request, 16 connections)"
echo
d=$(lg --url "$prom/api/v1/query?query=$(urlencode "$named_promql")" --concurrency 16 --seconds "$rate_secs" --rate 1000)
a=$(lg --url "$adapter$named_path" --concurrency 16 --seconds "$rate_secs" --rate 1000)
added=$(jq -rn --argjson a "$(field "$a" p99_ms)" --argjson d "$(field "$d" p99_ms)" '(($a-$d)*1000|round)/1000')
echo "| path | achieved req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
echo "| direct | $(field "$d" rps) | $(field "$d" p50_ms) | $(field "$d" p99_ms) |"
echo "| adapter | $(field "$a" rps) | $(field "$a" p50_ms) | $(field "$a" p99_ms) |"
echo
echo "Added p99 latency: ${added} ms"
echo
echo "### Relist (one /api/v1/series call, streamed; synthetic kubelet-like series)"
echo
echo "| series | first relist s | later relists s | peak RSS after first MB | peak RSS after three MB |"
echo "|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  rm -f "$work/series.port"
  build/bench/series-server --series "$n" --port-file "$work/series.port" &
  spid=$!; pids+=($spid)
  for _ in $(seq 1 100); do [[ -s $work/series.port ]] && break; sleep 0.05; done
  build/adapter/metrics-adapter --standalone --config bench/relist-config.yaml \
    --prometheus-url "http://127.0.0.1:$(cat "$work/series.port")" --secure-port 0 --cert-dir "$work/certs" \
    --metrics-relist-interval 4s --prometheus-timeout 120s --v 1 >"$work/relist-$n.log" 2>&1 &
  rpid=$!; pids+=($rpid)
  first_hwm=""
  for _ in $(seq 1 1200); do
    count=$(grep -c "metric discovery finished" "$work/relist-$n.log" || true)
    [[ $count -ge 1 && -z $first_hwm ]] && first_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$rpid/status")
    [[ $count -ge 3 ]] && break
    sleep 0.1
  done
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$rpid/status")
  durs=($(grep -o "seconds=[0-9.]*" "$work/relist-$n.log" | cut -d= -f2))
  later=$(printf '%.2f / %.2f' "${durs[1]:-0}" "${durs[2]:-0}")
  printf '| %s | %.2f | %s | %d | %d |\n' "$n" "${durs[0]:-0}" "$later" $((first_hwm / 1024)) $((hwm / 1024))
  kill "$rpid" "$spid" 2>/dev/null || true
  wait "$rpid" "$spid" 2>/dev/null || true
done
echo
echo "### Idle memory"
echo
echo "| what | RSS MB |"
echo "|---|---|"
printf '| metrics-adapter, example config, after startup and the demo queries | %.1f |\n' "$(jq -rn --argjson k "$idle_rss_kb" '$k/1024')"
echo

# The demo stack goes first: the queue benchmarks drive their own peers.
kill "${pids[0]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true
build/bench/queue-bench --cycles "$queue_cycles" | sed 's/^##/###/'
echo
build/bench/queue-timely-bench "${timely[@]}" | sed 's/^##/###/'
echo
build/bench/upstream-bench "${upstream[@]}" | sed 's/^##/###/'
