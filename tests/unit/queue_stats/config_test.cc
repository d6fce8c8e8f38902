#include "queue_stats/config.h"

#include <gtest/gtest.h>

using namespace queue_stats;

namespace {
std::string problems(const std::string& yaml) {
  try {
    parseConfig(yaml, "qs.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(QueueStatsConfig, ReadsTheDocumentedKeys) {
  auto c = parseConfig(R"(interval: 30s
kafka:
  - name: main
    bootstrapServers: "host1:9092,host2:9092"
    groups: [orders-consumer]
    groupPattern: "^orders-.*"
    topics: [orders]
    sasl: {mechanism: SCRAM-SHA-512, username: u, passwordFile: /path}
    tls: {caFile: /ca}
    timeout: 3s
sqs:
  region: us-east-1
  endpoint: ""
  queues: [orders, "https://sqs.us-east-1.amazonaws.com/123/jobs"]
  queueNamePrefixes: [batch-]
  concurrency: 32
)",
                       "qs.yaml");
  EXPECT_EQ(c.intervalMs, 30000);
  ASSERT_EQ(c.kafka.size(), 1u);
  EXPECT_EQ(c.kafka[0].groups, std::vector<std::string>{"orders-consumer"});
  EXPECT_EQ(c.kafka[0].sasl->mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(c.kafka[0].tls->caFile, "/ca");
  EXPECT_EQ(c.kafka[0].timeoutMs, 3000);
  ASSERT_TRUE(c.sqs);
  EXPECT_EQ(c.sqs->queues.size(), 2u);
  EXPECT_EQ(c.sqs->concurrency, 32);
}

TEST(QueueStatsConfig, ProblemsCarryFileLineAndColumn) {
  const std::pair<const char*, const char*> cases[] = {
      {"interval: soon\nsqs: {region: r, queues: [q]}\n",
       "qs.yaml:1:11: interval: expected a duration"},
      {"kafka:\n  - name: a\n    bootstrapServers: b\n    groups: [g]\n    gropus: [x]\n",
       "qs.yaml:5:5: kafka[0]: unknown key \"gropus\""},
      {"kafka:\n  - name: a\n    bootstrapServers: b\n",
       "qs.yaml:2:5: kafka[0]: groups or groupPattern is required"},
      {"kafka:\n  - {name: a, bootstrapServers: b, groupPattern: '(('}\n",
       "kafka[0].groupPattern: invalid RE2"},
      {"kafka:\n  - {name: a, bootstrapServers: b, groups: [g]}\n  - {name: a, bootstrapServers: "
       "c, groups: [g]}\n",
       "qs.yaml:3:5: kafka[1].name: duplicate cluster name \"a\""},
      {"kafka:\n  - {name: a, bootstrapServers: b, groups: [g], sasl: {mechanism: GSSAPI, "
       "username: u}}\n",
       "kafka[0].sasl.mechanism: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
      {"kafka:\n  - {name: a, bootstrapServers: b, groups: [g], sasl: {mechanism: PLAIN, username: "
       "u}}\n",
       "passwordFile is required"},
      {"sqs: {region: r}\n", "qs.yaml:1:6: sqs: queues or queueNamePrefixes is required"},
      {"sqs: {region: r, queues: [q], concurrency: 0}\n",
       "sqs.concurrency: expected a number from 1 to 256"},
      {"sqs: {region: r, queues: [q], endpoint: localhost:4566}\n",
       "sqs.endpoint: expected an http:// or https:// URL"},
      {"interval: 15s\n", "nothing to collect"},
      {"kafka: [\n", "qs.yaml:2:1: invalid YAML"},
  };
  for (const auto& [yaml, want] : cases) {
    std::string got = problems(yaml);
    EXPECT_NE(got.find(want), std::string::npos) << yaml << "\ngot: " << got;
  }
}

TEST(QueueStatsConfig, TimeoutsAndStalenessFollowTheInterval) {
  auto c = parseConfig(R"(interval: 5s
kafka:
  - {name: a, bootstrapServers: "h:9092", groups: [g]}
  - {name: b, bootstrapServers: "h:9092", groups: [g], timeout: 30s, staleAfter: 1m, lagSeconds: false}
sqs: {region: r, queues: [q]}
)",
                       "qs.yaml");
  EXPECT_EQ(c.kafka[0].timeoutMs, 5000) << "at most the interval";
  EXPECT_EQ(c.kafka[0].staleAfterMs, 10000) << "two intervals";
  EXPECT_TRUE(c.kafka[0].lagSeconds);
  EXPECT_EQ(c.kafka[1].timeoutMs, 30000) << "timeout: overrides";
  EXPECT_EQ(c.kafka[1].staleAfterMs, 60000);
  EXPECT_FALSE(c.kafka[1].lagSeconds);
  EXPECT_EQ(c.sqs->timeoutMs, 5000);
  auto slow = parseConfig("interval: 1m\nstaleAfter: 5m\nsqs: {region: r, queues: [q]}\n", "f");
  EXPECT_EQ(slow.sqs->timeoutMs, 10000) << "and at most 10s";
  EXPECT_EQ(slow.sqs->staleAfterMs, 300000) << "the top-level staleAfter";
  EXPECT_NE(problems("interval: 10s\nstaleAfter: 5s\nsqs: {region: r, queues: [q]}\n")
                .find("qs.yaml:2:13: staleAfter: must be at least the interval"),
            std::string::npos)
      << problems("interval: 10s\nstaleAfter: 5s\nsqs: {region: r, queues: [q]}\n");
  EXPECT_NE(problems("sqs: {region: r, queues: [q], timeout: never}\n").find("sqs.timeout"),
            std::string::npos);
}
