#include "queue_stats/grpc_services.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>

#include "common/file_stamp.h"
#include "externalscaler.grpc.pb.h"
#include "queue_stats.grpc.pb.h"
#include "queue_stats/keda_scaler.h"

namespace queue_stats {

namespace pb = queuestats::v1;

namespace {

// Wakes streams when a new snapshot is published.
class Changes {
 public:
  void notify() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++version_;
    }
    cv_.notify_all();
  }
  // Waits up to `d` for a change after `seen`; returns the current version.
  uint64_t wait(uint64_t seen, std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, d, [&] { return version_ != seen || stopping_; });
    return version_;
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }
  bool stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t version_ = 0;
  bool stopping_ = false;
};

bool matches(const std::string& want, const std::string& have) {
  return want.empty() || want == have;
}

std::string readFile(const std::string& path) {
  auto text = common::readWholeFile(path);
  if (!text) throw std::runtime_error("cannot read " + path);
  return std::move(*text);
}

grpc::Status toStatus(const ScalerError& e) {
  switch (e.code()) {
    case ScalerError::Code::InvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, e.what()};
    case ScalerError::Code::NotFound:
      return {grpc::StatusCode::NOT_FOUND, e.what()};
    case ScalerError::Code::Unavailable:
      break;
  }
  return {grpc::StatusCode::UNAVAILABLE, e.what()};
}

std::map<std::string, std::string> metadataOf(const externalscaler::ScaledObjectRef& ref) {
  return {ref.scalermetadata().begin(), ref.scalermetadata().end()};
}

class FeedService final : public pb::QueueStats::Service {
 public:
  FeedService(StatsStore& store, Changes& changes) : store_(store), changes_(changes) {}
  grpc::Status List(grpc::ServerContext*, const pb::Filter* f, pb::Snapshot* out) override {
    toProto(*store_.snapshot(), *f, *out);
    return grpc::Status::OK;
  }
  grpc::Status Watch(grpc::ServerContext* ctx, const pb::Filter* f,
                     grpc::ServerWriter<pb::Snapshot>* w) override {
    uint64_t seen = 0, sent = 0;
    while (!ctx->IsCancelled() && !changes_.stopping()) {
      auto snap = store_.snapshot();
      if (snap->version != sent) {
        pb::Snapshot out;
        toProto(*snap, *f, out);
        if (!w->Write(out)) break;
        sent = snap->version;
      }
      seen = changes_.wait(seen, std::chrono::seconds(1));
    }
    return grpc::Status::OK;
  }

 private:
  StatsStore& store_;
  Changes& changes_;
};

class ScalerService final : public externalscaler::ExternalScaler::Service {
 public:
  ScalerService(StatsStore& store, Changes& changes, ScalerContext ctx)
      : store_(store), changes_(changes), ctx_(std::move(ctx)) {}

  ScalerResult evaluate(const externalscaler::ScaledObjectRef& ref) {
    ScalerQuery q = parseScalerMetadata(metadataOf(ref));
    auto snap = store_.snapshot();
    if (snap->version == 0)
      throw ScalerError(ScalerError::Code::Unavailable,
                        "queue-stats has not finished its first collection");
    return evaluateScaler(q, *snap, ctx_.clusterServers(), ctx_.nowMs(), ctx_.maxAgeMs());
  }

  grpc::Status IsActive(grpc::ServerContext*, const externalscaler::ScaledObjectRef* ref,
                        externalscaler::IsActiveResponse* out) override {
    try {
      out->set_result(evaluate(*ref).active);
      return grpc::Status::OK;
    } catch (const ScalerError& e) {
      return toStatus(e);
    }
  }

  grpc::Status StreamIsActive(grpc::ServerContext* ctx, const externalscaler::ScaledObjectRef* ref,
                              grpc::ServerWriter<externalscaler::IsActiveResponse>* w) override {
    // The state at once, then each change (KEDA acts on every message).
    int last = -1;
    uint64_t seen = 0;
    while (!ctx->IsCancelled() && !changes_.stopping()) {
      try {
        int now = evaluate(*ref).active ? 1 : 0;
        if (now != last) {
          externalscaler::IsActiveResponse r;
          r.set_result(now == 1);
          if (!w->Write(r)) break;
          last = now;
        }
      } catch (const ScalerError& e) {
        if (e.code() == ScalerError::Code::InvalidArgument) return toStatus(e);
        // Not measured or stale: keep the stream, send nothing (KEDA's own
        // polling then reports the error); never a made-up false.
      }
      seen = changes_.wait(seen, std::chrono::seconds(1));
    }
    return grpc::Status::OK;
  }

  grpc::Status GetMetricSpec(grpc::ServerContext*, const externalscaler::ScaledObjectRef* ref,
                             externalscaler::GetMetricSpecResponse* out) override {
    try {
      ScalerQuery q = parseScalerMetadata(metadataOf(*ref));
      int64_t target = q.source == ScalerQuery::Source::Kafka ? q.lagThreshold : q.queueLength;
      // Served even before the first collection: nothing here needs data.
      auto* spec = out->add_metricspecs();
      spec->set_metricname(scalerMetricName(q));
      spec->set_targetsize(target);
      spec->set_targetsizefloat(static_cast<double>(target));
      return grpc::Status::OK;
    } catch (const ScalerError& e) {
      return toStatus(e);
    }
  }

  grpc::Status GetMetrics(grpc::ServerContext*, const externalscaler::GetMetricsRequest* req,
                          externalscaler::GetMetricsResponse* out) override {
    try {
      ScalerResult r = evaluate(req->scaledobjectref());
      auto* v = out->add_metricvalues();
      v->set_metricname(req->metricname().empty() ? r.metricName : req->metricname());
      v->set_metricvalue(static_cast<int64_t>(std::llround(r.value)));
      v->set_metricvaluefloat(r.value);
      return grpc::Status::OK;
    } catch (const ScalerError& e) {
      return toStatus(e);
    }
  }

 private:
  StatsStore& store_;
  Changes& changes_;
  ScalerContext ctx_;
};

}  // namespace

void toProto(const StatsSnapshot& snap, const pb::Filter& f, pb::Snapshot& out) {
  out.set_version(snap.version);
  int64_t generated = 0;
  if (matches(f.source(), "kafka")) {
    for (const auto& [key, g] : snap.groups) {
      if (!matches(f.cluster(), g.cluster) || !matches(f.group(), g.stats.group)) continue;
      std::map<std::string, pb::KafkaGroupTopic*> byTopic;
      for (const auto& p : g.stats.partitions) {
        if (!matches(f.topic(), p.topic)) continue;
        auto& t = byTopic[p.topic];
        if (!t) {
          t = out.add_kafka();
          t->set_cluster(g.cluster);
          t->set_group(g.stats.group);
          t->set_topic(p.topic);
          t->set_members(g.stats.members.value_or(-1));
          t->set_collected_at_ms(g.collectedAtMs);
        }
        auto* pp = t->add_partitions();
        pp->set_partition(p.partition);
        pp->set_committed(p.committed);
        pp->set_high(p.watermarks.high);
        pp->set_low(p.watermarks.low);
        pp->set_lag(consumerLag(p));
        t->set_partition_count(t->partition_count() + 1);
        if (p.committed < 0) {
          t->set_partitions_without_commit(t->partitions_without_commit() + 1);
        } else {
          t->set_lag_sum(t->lag_sum() + consumerLag(p));
          t->set_current_offset_sum(t->current_offset_sum() + p.committed);
        }
      }
      generated = std::max(generated, g.collectedAtMs);
    }
  }
  if (matches(f.source(), "sqs") && f.cluster().empty() && f.group().empty() && f.topic().empty()) {
    for (const auto& [url, q] : snap.queues) {
      if (!matches(f.queue(), q.stats.name)) continue;
      auto* s = out.add_sqs();
      s->set_region(q.stats.region);
      s->set_name(q.stats.name);
      s->set_url(q.stats.url);
      s->set_visible(q.stats.visible);
      s->set_not_visible(q.stats.notVisible);
      s->set_delayed(q.stats.delayed);
      s->set_collected_at_ms(q.collectedAtMs);
      generated = std::max(generated, q.collectedAtMs);
    }
  }
  out.set_generated_at_ms(generated);
}

struct GrpcServer::Impl {
  Changes changes;
  std::unique_ptr<FeedService> feed;
  std::unique_ptr<ScalerService> scaler;
  std::unique_ptr<grpc::Server> server;
};

GrpcServer::GrpcServer(const GrpcOptions& opts, StatsStore& store, ScalerContext ctx)
    : impl_(std::make_unique<Impl>()) {
  impl_->feed = std::make_unique<FeedService>(store, impl_->changes);
  impl_->scaler = std::make_unique<ScalerService>(store, impl_->changes, std::move(ctx));
  store.subscribe(
      [impl = impl_.get()](std::shared_ptr<const StatsSnapshot>) { impl->changes.notify(); });
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!opts.certFile.empty()) {
    grpc::SslServerCredentialsOptions ssl(
        opts.clientCaFile.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                  : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    if (!opts.clientCaFile.empty()) ssl.pem_root_certs = readFile(opts.clientCaFile);
    ssl.pem_key_cert_pairs.push_back({readFile(opts.keyFile), readFile(opts.certFile)});
    creds = grpc::SslServerCredentials(ssl);
  }
  std::string listen = opts.listen;
  if (!listen.empty() && listen.front() == ':') listen = "0.0.0.0" + listen;
  grpc::ServerBuilder b;
  b.AddListeningPort(listen, creds, &port_);
  b.RegisterService(impl_->feed.get());
  b.RegisterService(impl_->scaler.get());
  impl_->server = b.BuildAndStart();
  if (!impl_->server || port_ == 0)
    throw std::runtime_error("cannot listen for gRPC on " + opts.listen);
}

GrpcServer::~GrpcServer() { shutdown(); }

void GrpcServer::shutdown() {
  if (!impl_->server) return;
  impl_->changes.stop();
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  impl_->server.reset();
}

}  // namespace queue_stats
