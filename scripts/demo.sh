#!/usr/bin/env bash
# The local demo: a real Prometheus with ten minutes of example data, the
# adapter in --standalone mode serving the metrics APIs over HTTPS, and the
# answers to a few example requests as curl commands you can repeat. Then
# the queue path: librdkafka's mock Kafka cluster (the real protocol on
# loopback), queue-stats measuring a consumer group's lag, and the adapter
# serving it as an external metric straight from queue-stats' gRPC feed.
#   ./scripts/demo.sh          keeps serving until Ctrl-C
#   ./scripts/demo.sh --once   prints the answers and stops
#   DEMO_QUEUES=0              leaves out Kafka and queue-stats (bench/run.sh
#                              measures the adapter alone)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
once=false
[[ ${1:-} == --once ]] && once=true
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMA_TESTS=ON >/dev/null
cmake --build build -j "$(nproc)" --target metrics-adapter metrics-adapter-queue-feed demo-exporter queue-stats \
  kafka-mock-cluster

work=$(mktemp -d /tmp/metrics-adapter-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
  shuf -i 20000-60000 -n 1; }
wait_http() {  # url, seconds
  for _ in $(seq 1 $(($2 * 10))); do curl -skf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}

series=examples/demo/series.txt
echo "== backfilling 10 minutes of example data (promtool) and starting Prometheus"
build/examples/demo-exporter --series "$series" --write-history "$work/history.om"
promtool tsdb create-blocks-from openmetrics "$work/history.om" "$work/data" >/dev/null
build/examples/demo-exporter --listen 127.0.0.1:0 --series "$series" --port-file "$work/exporter.port" 2>"$work/exporter.log" &
pids+=($!)
for _ in $(seq 1 50); do [[ -s $work/exporter.port ]] && break; sleep 0.1; done
prom_port=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
- job_name: demo
  honor_labels: true
  static_configs: [{targets: ['127.0.0.1:$(cat "$work/exporter.port")']}]
  metric_relabel_configs: [{action: labeldrop, regex: 'job|instance'}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$prom_port/-/ready" 60

queues=${DEMO_QUEUES:-1}
feed_flags=()
if [[ $queues == 1 ]]; then
  echo "== starting a mock Kafka cluster and queue-stats (consumer lag of orders-consumer)"
  mkfifo "$work/kafka.in"
  build/tests/kafka-mock-cluster 1 <"$work/kafka.in" >"$work/kafka.log" 2>&1 &
  pids+=($!)
  exec 3>"$work/kafka.in"  # the mock reads commands until this closes
  kafka_commands=("topic orders 3" "produce orders 0 100" "produce orders 1 80" "produce orders 2 50"
    "commit orders-consumer orders 0 40" "commit orders-consumer orders 1 80" "commit orders-consumer orders 2 20")
  for c in "${kafka_commands[@]}"; do echo "$c" >&3; done
  for _ in $(seq 1 300); do grep -q "^ok ${#kafka_commands[@]}$" "$work/kafka.log" && break; sleep 0.1; done
  grep -q "^ok ${#kafka_commands[@]}$" "$work/kafka.log" || { cat "$work/kafka.log"; exit 1; }
  bootstrap=$(sed -n 's/^bootstrap //p' "$work/kafka.log")
  qs_port=$(free_port)
  qs_grpc=$(free_port)
  cat >"$work/queue-stats.yaml" <<YAML
interval: 2s
kafka:
  - name: demo
    bootstrapServers: "$bootstrap"
    groups: [orders-consumer]
YAML
  build/queue-stats/queue-stats --config "$work/queue-stats.yaml" --listen "127.0.0.1:$qs_port" \
    --grpc-listen "127.0.0.1:$qs_grpc" >"$work/queue-stats.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$qs_port/readyz" 60
  feed_flags=(--queue-stats-address "127.0.0.1:$qs_grpc")
fi

echo "== starting metrics-adapter --standalone (HTTPS, self-signed certificate)"
port=${DEMO_PORT:-6443}
build/adapter/metrics-adapter --standalone --config examples/demo/config.yaml \
  --prometheus-url "http://127.0.0.1:$prom_port" --secure-port "$port" --cert-dir "$work/certs" \
  --metrics-relist-interval 30s "${feed_flags[@]}" >"$work/adapter.log" 2>&1 &
pids+=($!)
wait_http "https://127.0.0.1:$port/readyz" 30
sleep 5  # a few live scrapes so rates are current

base="https://127.0.0.1:$port"
show() {
  echo
  echo "\$ curl -sk '$base$1' | jq ."
  curl -sk "$base$1" | jq .
}
echo
echo "Prometheus: http://127.0.0.1:$prom_port   adapter: $base   logs: $work"
[[ $queues == 1 ]] && echo "queue-stats: http://127.0.0.1:$qs_port/metrics (gRPC on 127.0.0.1:$qs_grpc)"
show "/apis/custom.metrics.k8s.io/v1beta2"
show "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/http_requests_per_second"
show "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/web-7d9f8-a1/http_requests_in_flight"
show "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/metrics/http_requests_per_second"
show "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/ingresses.networking.k8s.io/web/requests_per_second"
show "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_messages_ready?labelSelector=queue%3Dorders"
show "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-7d9f8-a1/no_such_metric"
if [[ $queues == 1 ]]; then
  echo
  echo "# Kafka lag measured by queue-stats (60 + 0 + 30 behind), served from its gRPC feed:"
  show "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/kafka_consumergroup_lag_sum?labelSelector=consumergroup%3Dorders-consumer"
  echo
  echo "\$ curl -s http://127.0.0.1:$qs_port/metrics | grep '^kafka_consumergroup_lag'"
  curl -s "http://127.0.0.1:$qs_port/metrics" | grep '^kafka_consumergroup_lag'
  echo
  echo "# More messages arrive on partition 0; the lag reaches the API within a queue-stats cycle:"
  echo "produce orders 0 25" >&3
  lag_path="/apis/external.metrics.k8s.io/v1beta1/namespaces/default/kafka_consumergroup_lag_sum?labelSelector=consumergroup%3Dorders-consumer"
  for _ in $(seq 1 50); do curl -sk "$base$lag_path" | grep -q '"value":"115"' && break; sleep 0.2; done
  show "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/kafka_consumergroup_lag_sum?labelSelector=consumergroup%3Dorders-consumer"
fi
echo
echo "\$ build/adapter/metrics-adapter rules explain --config examples/demo/config.yaml --prometheus-url http://127.0.0.1:$prom_port --metric http_requests_per_second --namespace default"
build/adapter/metrics-adapter rules explain --config examples/demo/config.yaml --prometheus-url "http://127.0.0.1:$prom_port" \
  --metric http_requests_per_second --namespace default
if $once; then exit 0; fi
echo
echo "Serving until Ctrl-C. Try the curl commands above; edit examples/demo/config.yaml to see it reload."
wait
