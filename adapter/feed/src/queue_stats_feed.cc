#include "queue_stats_feed.h"

#include <grpcpp/grpcpp.h>

#include <random>

#include "queue_stats.grpc.pb.h"

namespace adapter {

namespace pb = queuestats::v1;

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<grpc::ChannelCredentials> credentials(const TlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureChannelCredentials();
  TlsMaterial m = files.load();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = std::move(m.caPem);
  ssl.pem_cert_chain = std::move(m.certPem);
  ssl.pem_private_key = std::move(m.keyPem);
  // SSL credentials always check the target's host name against the
  // certificate's names.
  return grpc::SslCredentials(ssl);
}

}  // namespace

struct QueueStatsFeed::Channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::QueueStats::Stub> stub;
};

std::unique_ptr<QueueStatsFeed::Channel> QueueStatsFeed::makeChannel() const {
  auto creds = credentials(tls_);
  grpc::ChannelArguments args;
  // A silently dead connection (node gone, no RST) is noticed within ~40 s.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetMaxReceiveMessageSize(64 << 20);  // 10,000 partitions are ~1 MB
  auto c = std::make_unique<Channel>();
  c->channel = grpc::CreateCustomChannel(opts_.address, creds, args);
  c->stub = pb::QueueStats::NewStub(c->channel);
  return c;
}

QueueStatsFeed::QueueStatsFeed(QueueStatsFeedOptions opts, FeedLog log)
    : opts_(std::move(opts)),
      log_(std::move(log)),
      tls_(opts_.caFile, opts_.certFile, opts_.keyFile),
      tlsStamp_(tls_.stamp()),
      channel_(makeChannel()) {
  thread_ = std::thread([this] { run(); });
}

// Between streams only: an open stream keeps its connection (the server
// checked the client's certificate when it was made).
void QueueStatsFeed::reloadTlsIfChanged() {
  if (!tls_.enabled()) return;
  std::string stamp = tls_.stamp();
  if (stamp == tlsStamp_) return;
  try {
    channel_ = makeChannel();
    tlsStamp_ = std::move(stamp);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++status_.tlsReloads;
    }
    log_(false, "queue-stats feed: TLS files changed; reconnecting with them", "");
  } catch (const std::exception& e) {
    // Mid-rotation (one file new, one old) or broken: keep the last good
    // ones, and look again before the next connection.
    log_(true, "queue-stats feed: TLS files changed but cannot be used; keeping the previous ones",
         e.what());
  }
}

QueueStatsFeed::~QueueStatsFeed() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (activeCall_) activeCall_->TryCancel();
  }
  cv_.notify_all();
  thread_.join();
}

std::shared_ptr<const FeedData> QueueStatsFeed::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return data_;
}

FeedStatus QueueStatsFeed::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void QueueStatsFeed::run() {
  using namespace std::chrono;
  milliseconds backoff{500};
  const milliseconds maxBackoff{30000};
  std::mt19937 rng{std::random_device{}()};
  while (true) {
    reloadTlsIfChanged();
    grpc::ClientContext ctx;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      activeCall_ = &ctx;
    }
    pb::Filter all;
    auto reader = channel_->stub->Watch(&ctx, all);
    pb::Snapshot snap;
    bool announced = false;
    while (reader->Read(&snap)) {
      // Ages count from here, on the adapter's clock.
      auto next = std::make_shared<FeedData>(feedDataFromSnapshot(snap, nowMs()));
      {
        std::lock_guard<std::mutex> lock(mu_);
        data_ = std::move(next);
        status_.connected = true;
        ++status_.updates;
      }
      if (!announced) {
        log_(false, "queue-stats feed connected", "");
        announced = true;
      }
      backoff = milliseconds(500);
    }
    grpc::Status st = reader->Finish();
    std::unique_lock<std::mutex> lock(mu_);
    activeCall_ = nullptr;
    if (stopping_) return;
    status_.connected = false;
    ++status_.reconnects;
    status_.lastError = st.ok() ? "the stream ended" : st.error_message();
    // Values already received stay, and age into errors after --queue-stats-max-age.
    auto wait = milliseconds(
        std::uniform_int_distribution<int64_t>(backoff.count() / 2, backoff.count())(rng));
    log_(true,
         "queue-stats feed disconnected; reconnecting in " + std::to_string(wait.count()) + "ms",
         status_.lastError);
    cv_.wait_for(lock, wait, [this] { return stopping_; });
    if (stopping_) return;
    backoff = std::min(backoff * 2, maxBackoff);
  }
}

extern "C" FeedSource* ma_queue_stats_feed_create(const QueueStatsFeedOptions* opts,
                                                  const FeedLog* log, std::string* error) {
  try {
    return new QueueStatsFeed(*opts, *log);
  } catch (const std::exception& e) {
    *error = e.what();
    return nullptr;
  }
}

}  // namespace adapter
