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
