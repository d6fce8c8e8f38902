#!/usr/bin/env bash
# Builds everything and runs every test: unit and integration tests (real
# Prometheus, real TLS, kubectl and a fake kube-apiserver, librdkafka's mock
# Kafka cluster, an SQS emulator behind a SigV4-verifying proxy), packaging
# and format checks, the unit tests again under ASan and UBSan, the
# integration tests against ASan/UBSan builds of both servers, the unit
# tests under TSan, the integration tests against a TSan build of
# metrics-adapter without its gRPC feed module (Debian's gRPC is not
# TSan-instrumented, so the suites that need the feed are left out, and
# named in the output), and each libFuzzer target briefly.
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

# Prints a phase heading with the time spent so far, so a slow phase shows.
phase() { echo "== [$((SECONDS / 60))m$((SECONDS % 60))s] $*"; }

status=0
phase "build (RelWithDebInfo) and run unit + integration tests"
# Debug info as line tables only (-g1) in every build here: backtraces and
# sanitizer reports keep file:line, and Boost-heavy files compile in about
# two thirds of the time full debug info takes.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DMA_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
run_ctest build -j 1 || status=1

phase "unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DMA_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$jobs" --target common_test rules_test apiservice_test adapter_test queue_stats_test
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest build-asan -L unit -j "$jobs" || status=1

phase "integration tests against ASan/UBSan builds of metrics-adapter and queue-stats"
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

phase "unit tests under ThreadSanitizer"
# Debug keeps assertions; -O1 makes TSan's runs a few times faster than -O0
# for about the same build time. Only the unit tests and the adapter are
# built (the adapter pulls its feed module along, unused below).
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1" -DMA_SANITIZE=thread \
  >/dev/null
cmake --build build-tsan -j "$jobs" --target common_test rules_test apiservice_test adapter_test queue_stats_test \
  metrics-adapter
tsan_options="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
# QueueStatsFeedTls runs a gRPC server and client in the test process:
# Debian's gRPC and Abseil are not TSan-instrumented, so TSan reports their
# internals. The other phases run it.
tsan_unit_excluded='^QueueStatsFeedTls[.]'
echo "not run under TSan: the unit tests that run gRPC in-process:"
ctest --test-dir build-tsan -N -L unit -R "$tsan_unit_excluded" | grep -E "^ +Test +#" || true
TSAN_OPTIONS="$tsan_options" run_ctest build-tsan -L unit -E "$tsan_unit_excluded" -j "$jobs" || status=1

phase "integration tests against a ThreadSanitizer build of metrics-adapter, without the feed module"
# The loader looks for metrics-adapter-queue-feed.so next to the binary and
# in ../lib/metrics-adapter/: a copy of the binary alone in bin/ has
# neither, so a suite that passes --queue-stats-address fails loudly
# instead of loading uninstrumented gRPC. queue-stats stays the plain
# build's (it is a gRPC server).
tsan_dir=$(mktemp -d)
mkdir "$tsan_dir/bin"
cp build-tsan/adapter/metrics-adapter "$tsan_dir/bin/"
# QueueFeed's and Monitoring's adapters load the feed module; KedaScaler, QueueStatsKafka
# and QueueStatsSqs never start metrics-adapter, so here they would only
# repeat the plain build's run. The other phases run all four.
tsan_excluded='^integration[.](QueueFeed|Monitoring|KedaScaler|QueueStatsKafka|QueueStatsSqs)$'
echo "not run against the TSan build: QueueFeed, Monitoring (need the gRPC feed module);" \
  "KedaScaler, QueueStatsKafka, QueueStatsSqs (never start metrics-adapter):"
ctest --test-dir build -N -L integration -R "$tsan_excluded" | grep -E "^ +Test +#" || true
san_logs=$(mktemp -d)
MA_ADAPTER_BIN="$tsan_dir/bin/metrics-adapter" TSAN_OPTIONS="$tsan_options:log_path=$san_logs/tsan" \
  run_ctest build -L integration -E "$tsan_excluded" -j 1 || status=1
if compgen -G "$san_logs/*" >/dev/null; then
  cat "$san_logs"/*
  echo "ThreadSanitizer reports from metrics-adapter above: counting the phase as failed"
  total_fail=$((total_fail + 1))
  status=1
fi
rm -rf "$san_logs" "$tsan_dir"

phase "fuzz targets (libFuzzer, clang, ${MA_FUZZ_SECONDS:-5}s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" -DMA_FUZZ=ON \
  -DMA_FUZZ_SECONDS="${MA_FUZZ_SECONDS:-5}" >/dev/null
cmake --build build-fuzz -j "$jobs"
run_ctest build-fuzz -L fuzz -j "$jobs" || status=1

echo
phase "done"
echo "total: ${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
exit $status
