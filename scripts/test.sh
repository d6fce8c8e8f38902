#!/usr/bin/env bash
# Builds everything and runs every test: unit and integration tests (real
# Prometheus, real TLS, kubectl and a fake kube-apiserver, librdkafka's mock
# Kafka cluster, an SQS emulator behind a SigV4-verifying proxy), packaging
# and format checks, the unit tests again under ASan and UBSan, the
# integration tests against ASan/UBSan builds of both servers, and each
# libFuzzer target briefly.
# Prints ctest's summary for each phase and a total.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The SQS test peer (fauxqs behind a verifying proxy) and its pinned npm
# packages, from the lock file.
(cd tests/sqs && npm ci --no-audit --no-fund --loglevel=error)
jobs=$(nproc)
total_pass=0
total_fail=0
total_skip=0

# Runs ctest in $1 with the remaining args; adds its counts to the totals.
# ctest counts a skipped test among the passed ones; here it is a skip.
run_ctest() {
  local dir=$1; shift
  local log; log=$(mktemp)
  local rc=0
  ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@" 2>&1 | tee "$log" || rc=$?
  local line; line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -1 || true)
  if [[ -n $line ]]; then
    local failed; failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    local all; all=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
    local skipped; skipped=$(grep -cE "^[[:space:]]*[0-9]+ - .*\(Skipped\)$" "$log" || true)
    total_pass=$((total_pass + all - failed - skipped))
    total_fail=$((total_fail + failed))
    total_skip=$((total_skip + skipped))
  else
    echo "no ctest summary from $dir: counting the phase as failed"
    total_fail=$((total_fail + 1))
    rc=1
  fi
  rm -f "$log"
  return $rc
}

status=0
echo "== build (RelWithDebInfo) and run unit + integration tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMA_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
run_ctest build -j 1 || status=1

echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMA_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs" --target common_test rules_test apiservice_test adapter_test queue_stats_test
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest build-asan -L unit -j "$jobs" || status=1

echo "== integration tests against ASan/UBSan builds of metrics-adapter and queue-stats"
# The suites start the servers as child processes; each writes any
# sanitizer report (including leaks at exit) to san_logs, and a report
# fails the phase even when the test itself passed.
cmake --build build-asan -j "$jobs" --target metrics-adapter metrics-adapter-queue-feed queue-stats
san_logs=$(mktemp -d)
MA_ADAPTER_BIN="$PWD/build-asan/adapter/metrics-adapter" MA_QUEUE_STATS_BIN="$PWD/build-asan/queue-stats/queue-stats" \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$san_logs/asan" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$san_logs/ubsan" \
  run_ctest build -L integration -j 1 || status=1
if compgen -G "$san_logs/*" >/dev/null; then
  cat "$san_logs"/*
  echo "sanitizer reports from the servers above: counting the phase as failed"
  total_fail=$((total_fail + 1))
  status=1
fi
rm -rf "$san_logs"

echo "== fuzz targets (libFuzzer, clang, ${MA_FUZZ_SECONDS:-10}s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMA_FUZZ=ON \
  -DMA_FUZZ_SECONDS="${MA_FUZZ_SECONDS:-10}" >/dev/null
cmake --build build-fuzz -j "$jobs"
run_ctest build-fuzz -L fuzz -j "$jobs" || status=1

echo
echo "total: ${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
exit $status
