// queue-stats' gRPC endpoint: the QueueStats feed (List, Watch) and KEDA's
// ExternalScaler (IsActive, StreamIsActive, GetMetricSpec, GetMetrics), on
// one server, plain or TLS (with client certificates when a CA is given).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "queue_stats/stats_store.h"

namespace queue_stats {

struct GrpcOptions {
  std::string listen;    // host:port; port 0 picks one
  std::string certFile;  // TLS when set
  std::string keyFile;
  std::string clientCaFile;  // require and verify client certificates
  // Concurrent streams (Watch, StreamIsActive) at most; the next one is
  // answered RESOURCE_EXHAUSTED.
  int maxStreams = 1000;
};

class GrpcServer {
 public:
  // Throws std::runtime_error when it cannot listen or load the TLS files.
  // Handlers read only the store's published snapshot; `nowMs` (Unix ms)
  // gives the feed's ages.
  GrpcServer(const GrpcOptions& opts, StatsStore& store, std::function<int64_t()> nowMs);
  ~GrpcServer();
  int port() const { return port_; }
  void shutdown();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace queue_stats
