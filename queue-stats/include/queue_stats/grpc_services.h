// queue-stats' gRPC endpoint: the QueueStats feed (List, Watch) and KEDA's
// ExternalScaler (IsActive, StreamIsActive, GetMetricSpec, GetMetrics), on
// one server, plain or TLS (with client certificates when a CA is given).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "queue_stats/stats_store.h"

namespace queuestats::v1 {
class Filter;
class Snapshot;
}  // namespace queuestats::v1

namespace queue_stats {

struct GrpcOptions {
  std::string listen;    // host:port; port 0 picks one
  std::string certFile;  // TLS when set
  std::string keyFile;
  std::string clientCaFile;  // require and verify client certificates
};

// What the scaler needs beyond the snapshot.
struct ScalerContext {
  std::function<std::map<std::string, std::string>()> clusterServers;  // name -> bootstrapServers
  std::function<int64_t()> maxAgeMs;  // values older than this are not served
  std::function<int64_t()> nowMs;
};

class GrpcServer {
 public:
  // Throws std::runtime_error when it cannot listen or load the TLS files.
  GrpcServer(const GrpcOptions& opts, StatsStore& store, ScalerContext ctx);
  ~GrpcServer();
  int port() const { return port_; }
  void shutdown();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// The snapshot as the feed sends it, with `filter` applied (exposed for tests).
void toProto(const StatsSnapshot& snap, const queuestats::v1::Filter& filter,
             queuestats::v1::Snapshot& out);

}  // namespace queue_stats
