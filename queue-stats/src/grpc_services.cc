#include "queue_stats/grpc_services.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <cmath>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "common/file_stamp.h"
#include "externalscaler.grpc.pb.h"
#include "queue_stats.grpc.pb.h"
#include "queue_stats/feed_proto.h"
#include "queue_stats/keda_scaler.h"

namespace queue_stats {

namespace pb = queuestats::v1;

namespace {

// How often the certificate files are re-read: a rotated certificate (a
// cert-manager renewal) is served within a few seconds, without a restart.
constexpr unsigned kCertRefreshSeconds = 2;
// Shutdown finishes every stream first; calls still open then are cancelled.
constexpr auto kShutdownGrace = std::chrono::milliseconds(300);

using Snap = std::shared_ptr<const StatsSnapshot>;

// An open stream, as the hub that feeds it sees it.
class Stream {
 public:
  virtual ~Stream() = default;
  // The newest snapshot: written now, or after the write in flight.
  virtual void offer(const Snap& snap) = 0;
  // Ends the stream with `s` once no write is in flight.
  virtual void close(grpc::Status s) = 0;
};

// The open streams: admits up to `maxStreams`, hands each publish to all of
// them, and closes them on shutdown. It outlives the server (the store's
// subscription holds it), so a late publish finds it stopped, not freed.
class StreamHub {
 public:
  explicit StreamHub(int maxStreams) : maxStreams_(maxStreams) {}

  // nullopt: admitted (publishes reach it until remove()); else the status
  // to refuse it with.
  std::optional<grpc::Status> admit(const std::shared_ptr<Stream>& s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, shuttingDown());
    if (static_cast<int>(open_.size()) >= maxStreams_)
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "queue-stats serves at most " + std::to_string(maxStreams_) +
                              " streams at once (--grpc-max-streams)");
    open_.insert(s);
    return std::nullopt;
  }
  void remove(Stream* s) {
    std::shared_ptr<Stream> gone;  // destroyed after the lock is released
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = open_.begin(); it != open_.end(); ++it) {
      if (it->get() != s) continue;
      gone = *it;
      open_.erase(it);
      break;
    }
  }
  void publish(const Snap& snap) {
    for (const auto& s : streams()) s->offer(snap);
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    for (const auto& s : streams()) s->close({grpc::StatusCode::UNAVAILABLE, shuttingDown()});
  }
  static std::string shuttingDown() { return "queue-stats is shutting down"; }

 private:
  // A copy: offers and closes run without the hub's lock (they call gRPC).
  std::vector<std::shared_ptr<Stream>> streams() {
    std::lock_guard<std::mutex> lock(mu_);
    return {open_.begin(), open_.end()};
  }
  const int maxStreams_;
  std::mutex mu_;
  std::set<std::shared_ptr<Stream>> open_;
  bool stopping_ = false;
};

// What one snapshot makes a stream do.
enum class Step { Send, Skip, End };

// A server stream pushed from publishes: it holds no thread, writes one
// message at a time and, while one is in flight, only remembers the newest
// snapshot (a slow reader gets the latest state, never a queue).
template <class Msg>
class SnapshotStream : public grpc::ServerWriteReactor<Msg>,
                       public Stream,
                       public std::enable_shared_from_this<SnapshotStream<Msg>> {
 public:
  explicit SnapshotStream(std::shared_ptr<StreamHub> hub) : hub_(std::move(hub)) {}

  // Admits the stream and offers it `current`, or ends it with `refusal`
  // (or the hub's); returns it for gRPC, which owns it until OnDone.
  grpc::ServerWriteReactor<Msg>* open(const Snap& current,
                                      std::optional<grpc::Status> refusal = std::nullopt) {
    self_ = this->shared_from_this();
    if (!refusal) refusal = hub_->admit(self_);
    if (refusal) {
      close(std::move(*refusal));
    } else {
      offer(current);
    }
    return this;
  }

  void offer(const Snap& snap) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (end_ || !snap) return;
    // Publishers race: never step back to an older snapshot.
    if (!latest_ || snap->version > latest_->version) latest_ = snap;
    pump(lock);
  }
  void close(grpc::Status s) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!end_) end_ = std::move(s);
    pump(lock);
  }

 protected:
  // The message for `snap` in `out`, nothing, or the status in `end`.
  virtual Step render(const StatsSnapshot& snap, Msg& out, grpc::Status& end) = 0;

 private:
  // Starts the next write or the finish unless a write is in flight. gRPC
  // is called without the lock: a reaction may run inline.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finished_) return;
    while (!end_ && latest_ && latest_->version != rendered_) {
      rendered_ = latest_->version;
      grpc::Status end;
      Step step = render(*latest_, msg_, end);
      if (step == Step::End) end_ = std::move(end);
      if (step != Step::Send) continue;
      writing_ = true;
      lock.unlock();
      this->StartWrite(&msg_);
      return;
    }
    if (!end_) return;
    finished_ = true;
    grpc::Status s = *end_;
    lock.unlock();
    this->Finish(std::move(s));
  }
  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    // A failed write means the call is gone; it still has to be finished.
    if (!ok && !end_) end_ = grpc::Status(grpc::StatusCode::CANCELLED, "the write failed");
    pump(lock);
  }
  void OnCancel() override { close({grpc::StatusCode::CANCELLED, "cancelled by the client"}); }
  void OnDone() override {
    hub_->remove(this);
    auto last = std::move(self_);  // may destroy this stream: nothing after it
  }

  std::shared_ptr<StreamHub> hub_;
  std::shared_ptr<Stream> self_;  // gRPC's reference, dropped in OnDone
  std::mutex mu_;
  Snap latest_;
  uint64_t rendered_ = 0;  // version 0 (nothing collected yet) is never sent
  bool writing_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> end_;
  Msg msg_;
};

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

ScalerQuery queryOf(const externalscaler::ScaledObjectRef& ref) {
  return parseScalerMetadata({ref.scalermetadata().begin(), ref.scalermetadata().end()});
}

ScalerResult evaluate(const ScalerQuery& q, const StatsSnapshot& snap) {
  if (snap.version == 0)
    throw ScalerError(ScalerError::Code::Unavailable,
                      "queue-stats has not finished its first collection");
  return evaluateScaler(q, snap);
}

grpc::ServerUnaryReactor* finished(grpc::CallbackServerContext* ctx, const grpc::Status& s) {
  auto* r = ctx->DefaultReactor();
  r->Finish(s);
  return r;
}

// Watch: each new snapshot, filtered, with ages as of the moment it is sent.
class FeedStream final : public SnapshotStream<pb::Snapshot> {
 public:
  FeedStream(std::shared_ptr<StreamHub> hub, pb::Filter filter, std::function<int64_t()> nowMs)
      : SnapshotStream(std::move(hub)), filter_(std::move(filter)), nowMs_(std::move(nowMs)) {}

 private:
  Step render(const StatsSnapshot& snap, pb::Snapshot& out, grpc::Status&) override {
    out.Clear();
    toProto(snap, filter_, nowMs_(), out);
    return Step::Send;
  }
  pb::Filter filter_;
  std::function<int64_t()> nowMs_;
};

// StreamIsActive: the state at once, then each change (KEDA acts on every
// message).
class ActiveStream final : public SnapshotStream<externalscaler::IsActiveResponse> {
 public:
  ActiveStream(std::shared_ptr<StreamHub> hub, ScalerQuery q)
      : SnapshotStream(std::move(hub)), query_(std::move(q)) {}

 private:
  Step render(const StatsSnapshot& snap, externalscaler::IsActiveResponse& out,
              grpc::Status& end) override {
    try {
      bool active = evaluate(query_, snap).active;
      if (last_ == active) return Step::Skip;
      last_ = active;
      out.set_result(active);
      return Step::Send;
    } catch (const ScalerError& e) {
      if (e.code() != ScalerError::Code::InvalidArgument) {
        // Not measured or stale: keep the stream, send nothing (KEDA's own
        // polling then reports the error); never a made-up false.
        return Step::Skip;
      }
      end = toStatus(e);
      return Step::End;
    }
  }
  ScalerQuery query_;
  std::optional<bool> last_;
};

class FeedService final : public pb::QueueStats::CallbackService {
 public:
  FeedService(StatsStore& store, std::shared_ptr<StreamHub> hub, std::function<int64_t()> nowMs)
      : store_(store), hub_(std::move(hub)), nowMs_(std::move(nowMs)) {}

  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const pb::Filter* f,
                                 pb::Snapshot* out) override {
    toProto(*store_.snapshot(), *f, nowMs_(), *out);
    return finished(ctx, grpc::Status::OK);
  }
  grpc::ServerWriteReactor<pb::Snapshot>* Watch(grpc::CallbackServerContext*,
                                                const pb::Filter* f) override {
    return std::make_shared<FeedStream>(hub_, *f, nowMs_)->open(store_.snapshot());
  }

 private:
  StatsStore& store_;
  std::shared_ptr<StreamHub> hub_;
  std::function<int64_t()> nowMs_;
};

class ScalerService final : public externalscaler::ExternalScaler::CallbackService {
 public:
  ScalerService(StatsStore& store, std::shared_ptr<StreamHub> hub)
      : store_(store), hub_(std::move(hub)) {}

  grpc::ServerUnaryReactor* IsActive(grpc::CallbackServerContext* ctx,
                                     const externalscaler::ScaledObjectRef* ref,
                                     externalscaler::IsActiveResponse* out) override {
    try {
      out->set_result(evaluate(queryOf(*ref), *store_.snapshot()).active);
      return finished(ctx, grpc::Status::OK);
    } catch (const ScalerError& e) {
      return finished(ctx, toStatus(e));
    }
  }

  grpc::ServerWriteReactor<externalscaler::IsActiveResponse>* StreamIsActive(
      grpc::CallbackServerContext*, const externalscaler::ScaledObjectRef* ref) override {
    ScalerQuery q;
    try {
      q = queryOf(*ref);
    } catch (const ScalerError& e) {
      return std::make_shared<ActiveStream>(hub_, q)->open(nullptr, toStatus(e));
    }
    return std::make_shared<ActiveStream>(hub_, std::move(q))->open(store_.snapshot());
  }

  grpc::ServerUnaryReactor* GetMetricSpec(grpc::CallbackServerContext* ctx,
                                          const externalscaler::ScaledObjectRef* ref,
                                          externalscaler::GetMetricSpecResponse* out) override {
    try {
      ScalerQuery q = queryOf(*ref);
      // Served even before the first collection: nothing here needs data.
      double target = scalerTarget(q);
      auto* spec = out->add_metricspecs();
      spec->set_metricname(scalerMetricName(q));
      // KEDA takes the float when set; the integer for older KEDAs rounds up
      // so a fractional seconds target never becomes 0.
      spec->set_targetsize(static_cast<int64_t>(std::ceil(target)));
      spec->set_targetsizefloat(target);
      return finished(ctx, grpc::Status::OK);
    } catch (const ScalerError& e) {
      return finished(ctx, toStatus(e));
    }
  }

  grpc::ServerUnaryReactor* GetMetrics(grpc::CallbackServerContext* ctx,
                                       const externalscaler::GetMetricsRequest* req,
                                       externalscaler::GetMetricsResponse* out) override {
    try {
      ScalerResult r = evaluate(queryOf(req->scaledobjectref()), *store_.snapshot());
      auto* v = out->add_metricvalues();
      v->set_metricname(req->metricname().empty() ? r.metricName : req->metricname());
      v->set_metricvalue(static_cast<int64_t>(std::llround(r.value)));
      v->set_metricvaluefloat(r.value);
      return finished(ctx, grpc::Status::OK);
    } catch (const ScalerError& e) {
      return finished(ctx, toStatus(e));
    }
  }

 private:
  StatsStore& store_;
  std::shared_ptr<StreamHub> hub_;
};

// TLS from files that are watched: a replaced certificate, key or client CA
// is used for new connections within kCertRefreshSeconds.
std::shared_ptr<grpc::ServerCredentials> serverCredentials(const GrpcOptions& o) {
  if (o.certFile.empty()) return grpc::InsecureServerCredentials();
  // Unreadable files fail the start; later the watcher keeps the last good ones.
  for (const auto* f : {&o.certFile, &o.keyFile, &o.clientCaFile})
    if (!f->empty()) readFile(*f);
  using grpc::experimental::FileWatcherCertificateProvider;
  auto provider = o.clientCaFile.empty()
                      ? std::make_shared<FileWatcherCertificateProvider>(o.keyFile, o.certFile,
                                                                         kCertRefreshSeconds)
                      : std::make_shared<FileWatcherCertificateProvider>(
                            o.keyFile, o.certFile, o.clientCaFile, kCertRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (!o.clientCaFile.empty()) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace

struct GrpcServer::Impl {
  std::shared_ptr<StreamHub> hub;
  std::unique_ptr<FeedService> feed;
  std::unique_ptr<ScalerService> scaler;
  std::unique_ptr<grpc::Server> server;
};

GrpcServer::GrpcServer(const GrpcOptions& opts, StatsStore& store, std::function<int64_t()> nowMs)
    : impl_(std::make_unique<Impl>()) {
  impl_->hub = std::make_shared<StreamHub>(opts.maxStreams);
  impl_->feed = std::make_unique<FeedService>(store, impl_->hub, std::move(nowMs));
  impl_->scaler = std::make_unique<ScalerService>(store, impl_->hub);
  store.subscribe([hub = impl_->hub](Snap snap) { hub->publish(snap); });
  std::string listen = opts.listen;
  if (!listen.empty() && listen.front() == ':') listen = "0.0.0.0" + listen;
  grpc::ServerBuilder b;
  b.AddListeningPort(listen, serverCredentials(opts), &port_);
  b.RegisterService(impl_->feed.get());
  b.RegisterService(impl_->scaler.get());
  impl_->server = b.BuildAndStart();
  if (!impl_->server || port_ == 0)
    throw std::runtime_error("cannot listen for gRPC on " + opts.listen);
}

GrpcServer::~GrpcServer() { shutdown(); }

void GrpcServer::shutdown() {
  if (!impl_->server) return;
  // Streams end with a status the clients can act on (reconnect elsewhere)
  // instead of a dropped connection; unary calls get the grace period.
  impl_->hub->stop();
  impl_->server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  impl_->server.reset();
}

}  // namespace queue_stats
