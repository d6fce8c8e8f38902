// The chart's monitoring against the real thing: a real Prometheus
// scrapes a real metrics-adapter (in-cluster mode against the fake
// kube-apiserver, so /metrics is authenticated with Prometheus' token and
// authorized by a SubjectAccessReview on GET /metrics, as the chart's
// ClusterRole allows) and a real queue-stats (measuring librdkafka's mock
// Kafka cluster and the SQS emulator), with files/alerts.yaml loaded as
// its rules. Every PromQL expression of the alerts and of the dashboards
// must parse there, and every metric name it uses must be one the two
// binaries export.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "fake_apiserver.h"
#include "queue_peers.h"
#include "queue_stats_process.h"
#include "test_support.h"

using nlohmann::json;
using namespace testsupport;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPrometheusToken = "prometheus-token";
constexpr const char* kPrometheusUser = "system:serviceaccount:monitoring:prometheus";

std::string percentEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// One PromQL expression and where it comes from (for failure messages).
struct Expression {
  std::string where;
  std::string promql;
};

// Grafana's variables replaced by values PromQL accepts: intervals by a
// duration, the rest (label matchers' regexes) by ".*".
std::string substituteVariables(const std::string& expr) {
  static const std::regex var(R"(\$\{?(\w+)\}?)");
  std::string out;
  auto it = std::sregex_iterator(expr.begin(), expr.end(), var);
  size_t last = 0;
  for (; it != std::sregex_iterator(); ++it) {
    out += expr.substr(last, it->position() - last);
    std::string name = (*it)[1];
    out += name == "__rate_interval" || name == "__interval" || name == "__range" ? "1m" : ".*";
    last = it->position() + it->length();
  }
  return out + expr.substr(last);
}

// The metric names an expression selects: identifiers outside strings,
// label matchers ({...}), ranges ([...]) and grouping label lists, that
// are neither functions (followed by "(") nor keywords.
std::set<std::string> metricNames(const std::string& promql) {
  std::string s;
  // Strings and the insides of {...} and [...] go (they hold label names,
  // values and durations, never metric names).
  char quote = 0;
  int braces = 0, brackets = 0;
  for (size_t i = 0; i < promql.size(); ++i) {
    char c = promql[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      quote = c;
      s += ' ';
      continue;
    }
    if (c == '{') ++braces;
    if (c == '[') ++brackets;
    if (braces == 0 && brackets == 0) s += c;
    if (c == '}') --braces, s += ' ';
    if (c == ']') --brackets, s += ' ';
  }
  // Grouping and matching label lists: by (...), on (...), group_left (...).
  static const std::regex grouping(
      R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))");
  s = std::regex_replace(s, grouping, " ");
  static const std::set<std::string> keywords{
      "by", "without", "on",     "ignoring", "group_left", "group_right", "bool", "and",
      "or", "unless",  "offset", "atan2",    "inf",        "nan",         "Inf",  "NaN"};
  static const std::regex ident(R"(([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?)");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), ident); it != std::sregex_iterator();
       ++it) {
    auto pos = static_cast<size_t>(it->position());
    if (pos > 0 && (std::isalnum(static_cast<unsigned char>(s[pos - 1])) || s[pos - 1] == '.'))
      continue;                      // the exponent or unit of a number (1e3, 5m)
    if ((*it)[2].matched) continue;  // a function
    std::string name = (*it)[1];
    if (!keywords.count(name)) out.insert(name);
  }
  return out;
}

std::vector<Expression> alertExpressions() {
  std::vector<Expression> out;
  YAML::Node file = YAML::LoadFile(sourceDir() + "/charts/metrics-adapter/files/alerts.yaml");
  for (const auto& g : file["groups"])
    for (const auto& r : g["rules"])
      out.push_back({"alerts.yaml " + r["alert"].as<std::string>(), r["expr"].as<std::string>()});
  return out;
}

// Every target's expr and every variable's query (label_values(<selector>,
// label): the selector) of every dashboard.
std::vector<Expression> dashboardExpressions() {
  std::vector<Expression> out;
  for (const auto& f :
       std::filesystem::directory_iterator(sourceDir() + "/charts/metrics-adapter/dashboards")) {
    json d = json::parse(readFile(f.path().string()));
    std::string file = f.path().filename().string();
    std::function<void(const json&)> panels = [&](const json& list) {
      for (const auto& p : list) {
        for (const auto& t : p.value("targets", json::array()))
          out.push_back({file + " \"" + p.value("title", "") + "\" " + t.value("refId", ""),
                         t.at("expr").get<std::string>()});
        if (p.contains("panels")) panels(p["panels"]);
      }
    };
    panels(d.at("panels"));
    static const std::regex labelValues(R"(^label_values\((.*),\s*\w+\)$)");
    for (const auto& v : d.at("templating").at("list")) {
      if (v.value("type", "") != "query") continue;
      std::string q =
          v["query"].is_object() ? v["query"].value("query", "") : v["query"].get<std::string>();
      std::smatch m;
      if (std::regex_match(q, m, labelValues))
        out.push_back({file + " variable " + v.value("name", ""), m[1]});
      else
        ADD_FAILURE() << file << " variable " << v.value("name", "") << ": " << q;
    }
  }
  return out;
}

// The families a /metrics text exposes (histograms with their _bucket,
// _sum and _count series).
std::set<std::string> exposedNames(const std::string& text) {
  std::set<std::string> out;
  static const std::regex sample(R"((^|\n)([A-Za-z_:][A-Za-z0-9_:]*)[{ ])");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), sample);
       it != std::sregex_iterator(); ++it)
    out.insert((*it)[2]);
  return out;
}

// The stack: the fake cluster, a backend Prometheus with known data, the
// Kafka mock and the SQS emulator, queue-stats, the adapter (subscribed to
// queue-stats, with an upstream that is down), and the monitoring
// Prometheus scraping both.
struct Stack {
  TempDir dir;
  FakeApiServer api;
  std::unique_ptr<PrometheusServer> backend;
  std::unique_ptr<KafkaMock> kafka;
  std::unique_ptr<SqsPeer> sqs;
  std::unique_ptr<QueueStatsProcess> queueStats;
  std::unique_ptr<AdapterProcess> adapter;
  std::unique_ptr<ChildProcess> prometheus;
  int prometheusPort = 0;
  std::atomic<int> metricsReviews{0};
  std::atomic<int> metricsDenials{0};

  Stack() {
    for (const char* p : {"web-1", "web-2", "web-3"})
      api.upsert("pods", FakeApiServer::pod("shop", p, {{"app", "web"}}));
    api.addToken("admin-token", {"admin", {"system:masters", "system:authenticated"}});
    api.addToken(kPrometheusToken, {kPrometheusUser, {"system:serviceaccounts"}});
    api.addToken("other-token", {"someone", {"system:authenticated"}});
    // Prometheus may GET /metrics (the chart's metrics-reader ClusterRole)
    // and nothing else; the adapter's own calls are allowed.
    api.setPolicy([this](const json& spec, std::string& reason) {
      std::string user = spec.value("user", "");
      if (user != kPrometheusUser && user != "someone") return true;
      json nr = spec.value("nonResourceAttributes", json::object());
      bool allowed = user == kPrometheusUser && nr.value("path", "") == "/metrics" &&
                     nr.value("verb", "") == "get";
      (allowed ? metricsReviews : metricsDenials)++;
      if (!allowed) reason = "no RBAC policy matched";
      return allowed;
    });
    backend = std::make_unique<PrometheusServer>(dataDir() + "/kubernetes/series.txt");

    kafka = std::make_unique<KafkaMock>(dir, 1);
    const int64_t first = unixMillis() - 300000;
    kafka->cmd("topic orders 2");
    kafka->cmd("produce_ts orders 0 20 " + std::to_string(first) + " 1000 5");
    kafka->cmd("produce_ts orders 1 10 " + std::to_string(first) + " 1000");
    kafka->cmd("commit orders-consumer orders 0 8");
    kafka->cmd("commit orders-consumer orders 1 10");
    // Retention deletes a message the archiver never read (expired messages).
    kafka->cmd("topic logs 1");
    kafka->cmd("produce logs 0 7 900000");
    kafka->cmd("commit archiver logs 0 1");
    sqs = std::make_unique<SqsPeer>(dir, /*tls=*/true);
    sqs->control({{"op", "createQueues"}, {"names", {"jobs"}}});
    sqs->control({{"op", "send"}, {"queue", "jobs"}, {"count", 3}});
    writeFile(dir.file("qs.yaml"),
              "interval: 1s\nkafka:\n  - name: main\n    bootstrapServers: \"" +
                  kafka->bootstrap() +
                  "\"\n    groups: [orders-consumer, archiver]\n"
                  "    timeout: 3s\nsqs:\n  region: us-east-1\n  endpoint: " +
                  sqs->endpoint() + "\n  caFile: " + sqs->caFile() + "\n  queues: [jobs]\n");
    queueStats = std::make_unique<QueueStatsProcess>(
        dir, dir.file("qs.yaml"),
        std::vector<std::string>{"AWS_ACCESS_KEY_ID=AKIDQUEUESTATS",
                                 "AWS_SECRET_ACCESS_KEY=queue-stats-test-secret"});

    std::string kc = api.writeKubeconfig(dir, "adapter", FakeApiServer::kAdapterToken);
    adapter = std::make_unique<AdapterProcess>(
        std::vector<std::string>{
            "--config=" + dataDir() + "/monitoring/config.yaml",
            "--prometheus-url=" + backend->url(), "--lister-kubeconfig=" + kc,
            "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
            "--metrics-relist-interval=5s", "--queue-stats-address=" + queueStats->grpcAddress(),
            // Down: forwarded requests fail, which the upstream series count.
            "--external-metrics-upstream=https://127.0.0.1:" + std::to_string(freePort()),
            "--upstream-timeout=1s"},
        dir);
    if (!adapter->waitReady(60s))
      throw std::runtime_error("adapter not ready: " + adapter->process().log());

    // The scrape configs the chart's ServiceMonitors amount to: the job
    // names the alerts select on, HTTPS with a bearer token for the
    // adapter (its certificate is self-signed here), plain HTTP for
    // queue-stats.
    writeFile(dir.file("monitoring.yml"),
              "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
              "rule_files: ['" +
                  sourceDir() +
                  "/charts/metrics-adapter/files/alerts.yaml']\n"
                  "scrape_configs:\n"
                  "- job_name: metrics-adapter\n  scheme: https\n"
                  "  authorization: {credentials: " +
                  kPrometheusToken +
                  "}\n  tls_config: {insecure_skip_verify: true}\n"
                  "  static_configs: [{targets: ['127.0.0.1:" +
                  std::to_string(adapter->port()) +
                  "']}]\n"
                  "- job_name: queue-stats\n"
                  "  static_configs: [{targets: ['127.0.0.1:" +
                  std::to_string(queueStats->metricsPort()) + "']}]\n");
    for (int attempt = 0; attempt < 3 && prometheusPort == 0; ++attempt) {
      int port = freePort();
      prometheus = std::make_unique<ChildProcess>(
          std::vector<std::string>{"prometheus", "--config.file=" + dir.file("monitoring.yml"),
                                   "--storage.tsdb.path=" + dir.file("monitoring-data"),
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                   "--log.level=warn"},
          dir.file("monitoring-prometheus.log"));
      if (eventually(
              [&] {
                try {
                  return httpRequestPlain(port, "GET", "/-/ready").status == 200;
                } catch (const std::exception&) {
                  return false;
                }
              },
              20s))
        prometheusPort = port;
    }
    if (!prometheusPort)
      throw std::runtime_error("Prometheus did not start: " +
                               readFile(dir.file("monitoring-prometheus.log")));
  }

  HttpsResult asAdmin(const std::string& target) const {
    return httpsRequest(adapter->port(), target, {{"Authorization", "Bearer admin-token"}});
  }
  json query(const std::string& promql) const {
    auto r =
        httpRequestPlain(prometheusPort, "GET", "/api/v1/query?query=" + percentEncode(promql));
    return json::parse(r.body);
  }
  std::set<std::string> names() const {
    auto r = httpRequestPlain(prometheusPort, "GET", "/api/v1/label/__name__/values");
    json j = json::parse(r.body);
    std::set<std::string> out;
    for (const auto& n : j.at("data")) out.insert(n.get<std::string>());
    return out;
  }
  std::string adapterMetrics() const {
    return httpsRequest(adapter->port(), "/metrics",
                        {{"Authorization", std::string("Bearer ") + kPrometheusToken}})
        .body;
  }
};

}  // namespace

// Whether the adapter binary has its feed module (next to it, or in
// ../lib/metrics-adapter/). scripts/test.sh's ThreadSanitizer phase runs a
// copy of the binary without it.
bool adapterHasFeedModule() {
  std::filesystem::path bin(binary("metrics-adapter"));
  return std::filesystem::exists(bin.parent_path() / "metrics-adapter-queue-feed.so") ||
         std::filesystem::exists(bin.parent_path().parent_path() / "lib" / "metrics-adapter" /
                                 "metrics-adapter-queue-feed.so");
}

class Monitoring : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!adapterHasFeedModule()) return;
    stack_ = new Stack();
    // Traffic for every series the dashboards show: a labelSelector
    // request (the pods cache), a feed metric, a rule Prometheus rejects
    // (a backend error), and a name only the (down) upstream could serve.
    for (int i = 0; i < 3; ++i) {
      stack_->asAdmin(
          "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/"
          "app_requests?labelSelector=app%3Dweb");
      stack_->asAdmin("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/broken_app_requests");
      stack_->asAdmin("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/served_elsewhere");
    }
    eventually(
        [] {
          return stack_
                     ->asAdmin(
                         "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/"
                         "kafka_consumergroup_lag_sum?labelSelector=consumergroup%3Dorders-"
                         "consumer")
                     .status == 200;
        },
        20s);
    // Everything the expressions name has been scraped (or 30 s passed:
    // the test then says which names are missing).
    std::set<std::string> wanted;
    for (const auto& e : alertExpressions())
      for (const auto& n : metricNames(e.promql)) wanted.insert(n);
    for (const auto& e : dashboardExpressions())
      for (const auto& n : metricNames(substituteVariables(e.promql))) wanted.insert(n);
    eventually(
        [&] {
          auto have = stack_->names();
          return std::includes(have.begin(), have.end(), wanted.begin(), wanted.end());
        },
        30s);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override {
    if (!stack_)
      GTEST_SKIP() << binary("metrics-adapter")
                   << " has no feed module (metrics-adapter-queue-feed.so): the dashboards' feed "
                      "series need it";
  }
  static Stack* stack_;
};
Stack* Monitoring::stack_ = nullptr;

TEST(MonitoringNames, FromTheExpressionText) {
  EXPECT_EQ(metricNames("histogram_quantile(0.99, sum by (route, le) "
                        "(rate(a_bucket{job=\"x\",route=~\"b|c\"}[5m])))"),
            (std::set<std::string>{"a_bucket"}));
  EXPECT_EQ(metricNames("time() - b{job=\"q\"} > ignoring(source, target) group_left 3 * c"),
            (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(metricNames("absent(up{job=\"m\"} == 1) or on() vector(1e3) offset 5m"),
            (std::set<std::string>{"up"}));
  EXPECT_EQ(metricNames("sum without (pod) (d) / 2 and e unless f{a='}'}"),
            (std::set<std::string>{"d", "e", "f"}));
  EXPECT_EQ(substituteVariables("rate(x{n=~\"$namespace\",i=~\"${instance}\"}[$__rate_interval])"),
            "rate(x{n=~\".*\",i=~\".*\"}[1m])");
}

TEST_F(Monitoring, PrometheusScrapesBothAuthorizedForGetMetrics) {
  json up = stack_->query("up");
  std::map<std::string, std::string> byJob;
  for (const auto& s : up["data"]["result"])
    byJob[s["metric"]["job"].get<std::string>()] = s["value"][1].get<std::string>();
  EXPECT_EQ(byJob,
            (std::map<std::string, std::string>{{"metrics-adapter", "1"}, {"queue-stats", "1"}}))
      << up.dump();
  // The scrapes went through a SubjectAccessReview for GET /metrics.
  EXPECT_GT(stack_->metricsReviews.load(), 0);
  // Without that permission: 403; without a token: 401.
  auto denied =
      httpsRequest(stack_->adapter->port(), "/metrics", {{"Authorization", "Bearer other-token"}});
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(httpsRequest(stack_->adapter->port(), "/metrics", {}).status, 401);
}

TEST_F(Monitoring, TheAlertsLoadAsPrometheusRules) {
  json rules;
  ASSERT_TRUE(eventually(
      [&] {
        rules = json::parse(
            httpRequestPlain(stack_->prometheusPort, "GET", "/api/v1/rules?type=alert").body);
        size_t evaluated = 0;
        for (const auto& g : rules["data"]["groups"])
          for (const auto& r : g["rules"])
            if (r.value("health", "") == "ok") ++evaluated;
        return evaluated == alertExpressions().size();
      },
      15s))
      << rules.dump(1);
}

TEST_F(Monitoring, EveryExpressionParsesAndNamesExportedMetrics) {
  std::set<std::string> scraped = stack_->names();
  std::set<std::string> exported = exposedNames(stack_->adapterMetrics());
  for (const auto& n : exposedNames(stack_->queueStats->metrics())) exported.insert(n);
  exported.insert("up");  // Prometheus' own, per target
  auto all = alertExpressions();
  auto dashboards = dashboardExpressions();
  all.insert(all.end(), dashboards.begin(), dashboards.end());
  EXPECT_GT(dashboards.size(), 40u);
  for (const auto& e : all) {
    std::string promql = substituteVariables(e.promql);
    json r = stack_->query(promql);
    EXPECT_EQ(r.value("status", ""), "success") << e.where << ": " << promql << "\n" << r.dump();
    auto names = metricNames(promql);
    EXPECT_FALSE(names.empty()) << e.where << ": " << promql;
    for (const auto& n : names) {
      EXPECT_TRUE(exported.count(n)) << e.where << ": " << n << " is not exported by either binary";
      EXPECT_TRUE(scraped.count(n)) << e.where << ": " << n << " was not scraped";
    }
  }
}

TEST_F(Monitoring, AHealthyStackFiresNoOutageAlert) {
  // The conditions themselves (before any `for:`): everything is up, the
  // config loaded, the feed connected, discovery and collection current.
  for (const auto& e : alertExpressions()) {
    if (e.where.find("BackendErrors") != std::string::npos ||
        e.where.find("SlowRequests") != std::string::npos ||
        e.where.find("CollectionFailing") != std::string::npos)
      continue;  // the stack makes backend errors on purpose; latency and
                 // the mock's errors are not this test's business
    json r = stack_->query(e.promql);
    EXPECT_EQ(r["data"]["result"].size(), 0u) << e.where << " holds: " << r.dump();
  }
  // The backend errors this stack makes on purpose are the query calls'.
  json errors = stack_->query(
      "sum by (call) (metrics_adapter_backend_errors_total{job=\"metrics-adapter\"})");
  ASSERT_EQ(errors["data"]["result"].size(), 1u) << errors.dump();
  EXPECT_EQ(errors["data"]["result"][0]["metric"]["call"], "query");
}
