#include "queue_stats/app.h"

#include <malloc.h>

namespace queue_stats {

// One configured source: its settings, its connections, its schedule.
struct App::Source {
  std::string key;   // the settings: an unchanged key keeps the source on reload
  std::string name;  // the cluster's name, or "sqs"
  int64_t intervalMs = 0;
  int64_t staleAfterMs = 0;
  bool current = false;  // under App::publishMu_: replaced sources publish nothing
  KafkaClusterConfig kafka;
  std::unique_ptr<KafkaClient> client;
  std::unique_ptr<KafkaCollector> collector;
  std::unique_ptr<HttpTransport> credentialsHttp;
  std::unique_ptr<DefaultCredentialsChain> credentials;
  std::unique_ptr<SqsCollector> sqs;
  std::unique_ptr<SourceLoop> loop;  // last: stopped and joined before the rest goes
};

namespace {

constexpr std::chrono::milliseconds kSweepEvery{100};

std::string keyOf(const KafkaClusterConfig& c, int64_t intervalMs) {
  std::string k = "kafka|" + c.name + "|" + c.bootstrapServers + "|" + c.groupPattern + "|" +
                  std::to_string(intervalMs) + "|" + std::to_string(c.timeoutMs) + "|" +
                  std::to_string(c.staleAfterMs) + (c.lagSeconds ? "|s" : "|-");
  for (const auto& g : c.groups) k += "|g:" + g;
  for (const auto& t : c.topics) k += "|t:" + t;
  if (c.sasl) k += "|" + c.sasl->mechanism + "|" + c.sasl->username + "|" + c.sasl->passwordFile;
  if (c.tls)
    k += "|" + c.tls->caFile + "|" + c.tls->certFile + "|" + c.tls->keyFile +
         (c.tls->insecureSkipVerify ? "!" : "");
  return k;
}

std::string keyOf(const SqsConfig& c, int64_t intervalMs) {
  std::string k = "sqs|" + c.region + "|" + c.endpoint + "|" + c.caFile + "|" +
                  std::to_string(c.concurrency) + "|" + std::to_string(intervalMs) + "|" +
                  std::to_string(c.timeoutMs) + "|" + std::to_string(c.staleAfterMs);
  for (const auto& q : c.queues) k += "|q:" + q;
  for (const auto& p : c.queueNamePrefixes) k += "|p:" + p;
  return k;
}

// An SqsApi owning its connection: each SQS worker has its own.
struct OwnedSqsApi final : SqsApi {
  std::unique_ptr<HttpTransport> http;
  std::unique_ptr<HttpSqsClient> client;
  std::string getQueueUrl(const std::string& n) override { return client->getQueueUrl(n); }
  std::vector<std::string> listQueues(const std::string& p) override {
    return client->listQueues(p);
  }
  QueueDepth getQueueAttributes(const std::string& u) override {
    return client->getQueueAttributes(u);
  }
};

}  // namespace

App::App(common::Logger& log, AppSeams seams) : log_(log), seams_(std::move(seams)) {
  sweeper_ = std::make_unique<SourceLoop>(kSweepEvery, [this] { sweep(); });
}

App::~App() { stop(std::chrono::steady_clock::now() + std::chrono::hours(24)); }

std::shared_ptr<App::Source> App::kafkaSource(const KafkaClusterConfig& c, int64_t intervalMs) {
  auto s = std::make_shared<Source>();
  s->key = keyOf(c, intervalMs);
  s->name = c.name;
  s->intervalMs = intervalMs;
  s->staleAfterMs = c.staleAfterMs;
  s->kafka = c;
  s->client = seams_.kafka(c);
  s->collector = std::make_unique<KafkaCollector>(c, *s->client, seams_.nowMs);
  return s;
}

std::shared_ptr<App::Source> App::sqsSource(const SqsConfig& c, int64_t intervalMs) {
  auto s = std::make_shared<Source>();
  s->key = keyOf(c, intervalMs);
  s->name = "sqs";
  s->intervalMs = intervalMs;
  s->staleAfterMs = c.staleAfterMs;
  std::chrono::milliseconds timeout(c.timeoutMs);
  s->credentialsHttp = seams_.http(c.caFile);
  std::string region = c.region;
  if (region.empty())
    region = DefaultCredentialsChain(seams_.aws, *s->credentialsHttp, "", timeout)
                 .profileRegion()
                 .value_or("");
  if (region.empty())
    throw std::runtime_error(
        "sqs.region is not set, and neither AWS_REGION, AWS_DEFAULT_REGION nor the profile give "
        "one");
  s->credentials =
      std::make_unique<DefaultCredentialsChain>(seams_.aws, *s->credentialsHttp, region, timeout);
  auto* chain = s->credentials.get();
  auto makeHttp = seams_.http;
  s->sqs = std::make_unique<SqsCollector>(
      c, region, [makeHttp, chain, region, c, timeout]() -> std::unique_ptr<SqsApi> {
        auto o = std::make_unique<OwnedSqsApi>();
        o->http = makeHttp(c.caFile);
        o->client = std::make_unique<HttpSqsClient>(*o->http, *chain, region, c.endpoint,
                                                    RetryPolicy{}, nullptr, timeout);
        return o;
      });
  return s;
}

void App::configure(const QueueStatsConfig& cfg) {
  // Build everything new first: a failure leaves the running setup alone.
  std::map<std::string, std::shared_ptr<Source>> next;
  std::map<std::string, std::string> clusterServers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto keep = [&](const std::string& id, const std::string& key) {
      auto it = sources_.find(id);
      return it != sources_.end() && it->second->key == key ? it->second : nullptr;
    };
    for (const auto& c : cfg.kafka) {
      std::string id = "kafka/" + c.name;
      next[id] = keep(id, keyOf(c, cfg.intervalMs));
      clusterServers[c.name] = c.bootstrapServers;
    }
    if (cfg.sqs) next["sqs"] = keep("sqs", keyOf(*cfg.sqs, cfg.intervalMs));
  }
  for (const auto& c : cfg.kafka)
    if (auto& s = next["kafka/" + c.name]; !s) s = kafkaSource(c, cfg.intervalMs);
  if (cfg.sqs && !next["sqs"]) next["sqs"] = sqsSource(*cfg.sqs, cfg.intervalMs);
  std::vector<std::shared_ptr<Source>> started;
  {
    // publishMu_ first: a replaced source's cycle may be publishing now;
    // once it is released, the replaced ones publish nothing more.
    std::lock_guard<std::mutex> publishing(publishMu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, s] : sources_)
        if (next[id] != s) {
          s->current = false;
          s->loop->stop();  // returns at once; the cycle in progress ends on its own
          retired_.push_back(s);
        }
      for (auto& [id, s] : next)
        if (!s->current) {
          s->current = true;
          started.push_back(s);
        }
      sources_ = std::move(next);
    }
    store_.configure(std::move(clusterServers), cfg.sqs.has_value());
  }
  metrics_.setInterval(static_cast<double>(cfg.intervalMs) / 1000.0);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& s : started) {
    Source* raw = s.get();
    std::function<void()> cycle = [this, raw] {
      if (raw->sqs)
        sqsCycle(*raw);
      else
        kafkaCycle(*raw);
    };
    s->loop = std::make_unique<SourceLoop>(std::chrono::milliseconds(s->intervalMs), cycle);
  }
}

void App::publish(const Source& s, const std::function<void()>& fn) {
  // Not mu_: a publish pushes to every gRPC stream, and /readyz must not
  // wait for that.
  std::lock_guard<std::mutex> lock(publishMu_);
  if (s.current) fn();
}

void App::kafkaCycle(Source& s) {
  KafkaCycle cycle = s.collector->collect();
  metrics_.observe("kafka", s.name, cycle.seconds);
  size_t partitions = 0;
  for (const auto& [g, gs] : cycle.groups) partitions += gs.partitions.size();
  log_.v(1, "kafka cycle finished",
         {{"cluster", s.name},
          {"groups", std::to_string(cycle.groups.size())},
          {"partitions", std::to_string(partitions)},
          {"seconds", std::to_string(cycle.seconds)}});
  if (!cycle.clusterOk)
    log_.warning("kafka collection failed; its series are withdrawn until the next success",
                 {{"cluster", s.name}, {"error", cycle.clusterError}});
  for (const auto& [g, err] : cycle.groupErrors)
    log_.warning("kafka group collection failed; its series are withdrawn",
                 {{"cluster", s.name}, {"group", g}, {"error", err}});
  for (const auto& [t, err] : cycle.otherErrors)
    log_.v(1, "kafka collection problem", {{"cluster", s.name}, {"what", t}, {"error", err}});
  publish(s, [&] { store_.publish(cycle, seams_.nowMs(), s.staleAfterMs); });
  // Answers parsed this cycle are freed; hand the pages back (a small
  // collector should not keep its peak).
  malloc_trim(0);
}

void App::sqsCycle(Source& s) {
  SqsCycle cycle = s.sqs->collect();
  metrics_.observe("sqs", "sqs", cycle.seconds);
  log_.v(1, "sqs cycle finished",
         {{"queues", std::to_string(cycle.queues.size())},
          {"seconds", std::to_string(cycle.seconds)}});
  for (const auto& [q, err] : cycle.queueErrors)
    log_.warning("sqs queue collection failed", {{"queue", q}, {"error", err}});
  for (const auto& [t, err] : cycle.otherErrors)
    log_.warning("sqs collection problem", {{"what", t}, {"error", err}});
  publish(s, [&] { store_.publish(cycle, seams_.nowMs(), s.staleAfterMs); });
}

void App::sweep() {
  store_.expire(seams_.nowMs());
  // Replaced sources go once their last cycle has ended.
  std::vector<std::shared_ptr<Source>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(retired_, [&](const std::shared_ptr<Source>& s) {
      if (!s->loop->join(std::chrono::steady_clock::now())) return false;
      done.push_back(s);
      return true;
    });
  }
}

bool App::stop(std::chrono::steady_clock::time_point deadline) {
  std::vector<std::shared_ptr<Source>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, s] : sources_) all.push_back(s);
    all.insert(all.end(), retired_.begin(), retired_.end());
  }
  if (sweeper_) sweeper_->stop();
  for (auto& s : all)
    if (s->loop) s->loop->stop();
  bool ended = !sweeper_ || sweeper_->join(deadline);
  for (auto& s : all)
    if (s->loop) ended = s->loop->join(deadline) && ended;
  return ended;
}

bool App::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, s] : sources_)
    if (!s->loop || !s->loop->cycled()) return false;
  return true;
}

}  // namespace queue_stats
