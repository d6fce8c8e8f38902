#include "queue_stats/app.h"

#include <malloc.h>

#include <future>

namespace queue_stats {

namespace {
bool sameCluster(const KafkaClusterConfig& a, const KafkaClusterConfig& b) {
  auto key = [](const KafkaClusterConfig& c) {
    std::string k = c.bootstrapServers + "|" + std::to_string(c.timeoutMs);
    if (c.sasl) k += "|" + c.sasl->mechanism + "|" + c.sasl->username + "|" + c.sasl->passwordFile;
    if (c.tls)
      k += "|" + c.tls->caFile + "|" + c.tls->certFile + "|" + c.tls->keyFile +
           (c.tls->insecureSkipVerify ? "!" : "");
    return k;
  };
  return key(a) == key(b);
}
}  // namespace

App::App(common::Logger& log, AppSeams seams) : log_(log), seams_(std::move(seams)) {}

int64_t App::intervalMs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cfg_.intervalMs;
}

std::map<std::string, std::string> App::kafkaClusters() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::string> out;
  for (const auto& c : cfg_.kafka) out[c.name] = c.bootstrapServers;
  return out;
}

void App::configure(const QueueStatsConfig& cfg) {
  // Build everything new first: a failure leaves the running setup alone.
  std::map<std::string, std::shared_ptr<Cluster>> clusters;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& c : cfg.kafka) {
      auto next = std::make_shared<Cluster>();
      next->cfg = c;
      auto old = clusters_.find(c.name);
      next->client = old != clusters_.end() && sameCluster(old->second->cfg, c)
                         ? old->second->client
                         : seams_.kafka(c);
      clusters[c.name] = std::move(next);
    }
  }
  std::unique_ptr<HttpTransport> credHttp;
  std::unique_ptr<DefaultCredentialsChain> creds;
  std::shared_ptr<SqsCollector> sqs;
  if (cfg.sqs) {
    credHttp = seams_.http(cfg.sqs->caFile);
    creds = std::make_unique<DefaultCredentialsChain>(seams_.aws, *credHttp, cfg.sqs->region);
    std::string region = cfg.sqs->region;
    if (region.empty()) region = creds->profileRegion().value_or("");
    if (region.empty())
      throw std::runtime_error(
          "sqs.region is not set, and neither AWS_REGION, AWS_DEFAULT_REGION nor the profile give "
          "one");
    creds = std::make_unique<DefaultCredentialsChain>(seams_.aws, *credHttp, region);
    SqsConfig sc = *cfg.sqs;
    auto* chain = creds.get();
    auto makeHttp = seams_.http;
    sqs = std::make_shared<SqsCollector>(
        sc, region, [makeHttp, chain, region, sc]() -> std::unique_ptr<SqsApi> {
          // Each worker owns its connection; the client keeps the transport alive.
          struct Owned final : SqsApi {
            std::unique_ptr<HttpTransport> http;
            std::unique_ptr<HttpSqsClient> client;
            std::string getQueueUrl(const std::string& n) override {
              return client->getQueueUrl(n);
            }
            std::vector<std::string> listQueues(const std::string& p) override {
              return client->listQueues(p);
            }
            QueueDepth getQueueAttributes(const std::string& u) override {
              return client->getQueueAttributes(u);
            }
          };
          auto o = std::make_unique<Owned>();
          o->http = makeHttp(sc.caFile);
          o->client = std::make_unique<HttpSqsClient>(*o->http, *chain, region, sc.endpoint);
          return o;
        });
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, c] : clusters_)
    if (!clusters.count(name)) store_.forgetCluster(name);
  if (!sqs) store_.forgetSqs();
  clusters_ = std::move(clusters);
  sqs_ = std::move(sqs);
  credentials_ = std::move(creds);
  credentialsHttp_ = std::move(credHttp);
  cfg_ = cfg;
}

void App::runCycle() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::future<void>> work;
  for (const auto& [name, c] : clusters_) {
    work.push_back(std::async(std::launch::async, [this, c] {
      KafkaCycle cycle = collectKafka(c->cfg, *c->client);
      metrics_.observe("kafka", c->cfg.name, cycle.seconds);
      size_t partitions = 0;
      for (const auto& [g, gs] : cycle.groups) partitions += gs.partitions.size();
      log_.v(1, "kafka cycle finished",
             {{"cluster", c->cfg.name},
              {"groups", std::to_string(cycle.groups.size())},
              {"partitions", std::to_string(partitions)},
              {"seconds", std::to_string(cycle.seconds)}});
      if (!cycle.clusterOk)
        log_.warning("kafka collection failed; its series are withdrawn until the next success",
                     {{"cluster", c->cfg.name}, {"error", cycle.clusterError}});
      for (const auto& [g, err] : cycle.groupErrors)
        log_.warning("kafka group collection failed",
                     {{"cluster", c->cfg.name}, {"group", g}, {"error", err}});
      for (const auto& [t, err] : cycle.otherErrors)
        log_.v(1, "kafka collection problem",
               {{"cluster", c->cfg.name}, {"what", t}, {"error", err}});
      store_.publish(cycle, seams_.nowMs());
    }));
  }
  if (sqs_) {
    work.push_back(std::async(std::launch::async, [this, sqs = sqs_] {
      SqsCycle cycle = sqs->collect();
      metrics_.observe("sqs", "sqs", cycle.seconds);
      log_.v(1, "sqs cycle finished",
             {{"queues", std::to_string(cycle.queues.size())},
              {"seconds", std::to_string(cycle.seconds)}});
      for (const auto& [q, err] : cycle.queueErrors)
        log_.warning("sqs queue collection failed", {{"queue", q}, {"error", err}});
      for (const auto& [t, err] : cycle.otherErrors)
        log_.warning("sqs collection problem", {{"what", t}, {"error", err}});
      store_.publish(cycle, seams_.nowMs());
    }));
  }
  for (auto& w : work) w.get();
  ++cycles_;
  // Answers parsed this cycle are freed; hand the pages back (a small
  // collector should not keep its peak).
  malloc_trim(0);
}

}  // namespace queue_stats
