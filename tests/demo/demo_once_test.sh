#!/usr/bin/env bash
# The README's first command as a new user runs it (with --once, on a free
# port): every example request must be answered as the README says.
#   demo_once_test.sh REPOSITORY
set -euo pipefail
cd "$1"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
rc=0
out=$(DEMO_PORT=$port ./scripts/demo.sh --once 2>&1) || rc=$?
fail() {
  echo "$out"
  echo "demo: $1"
  exit 1
}
((rc == 0)) || fail "exited with $rc"
expect() { grep -qF -- "$1" <<<"$out" || fail "missing from the output: $1"; }
expect '"groupVersion": "custom.metrics.k8s.io/v1beta2"'
expect '"kind": "MetricValueList"'
expect '"name": "web-7d9f8-a1"'
expect '"kind": "Ingress"'
expect '"kind": "ExternalMetricValueList"'
expect '"reason": "NotFound"'
# Kafka lag through queue-stats' feed: 90 behind, then 115 after 25 more.
expect '"metricName": "kafka_consumergroup_lag_sum"'
expect '"value": "90"'
expect '"value": "115"'
expect 'kafka_consumergroup_lag_sum{cluster="demo",consumergroup="orders-consumer",topic="orders"} 90'
expect 'PromQL: sum(rate(http_requests_total{namespace="default",pod=~".+"}[1m])) by (pod)'
echo "the demo answered every example request"
