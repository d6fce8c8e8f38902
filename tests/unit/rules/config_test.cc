#include "rules/config.h"

#include <gtest/gtest.h>

#include "rules/resource_mapper.h"
#include "rules/rule_set.h"

using namespace rules;

namespace {

std::shared_ptr<const ResourceMapper> mapper() {
  return std::make_shared<StaticResourceMapper>(std::vector<ResourceInfo>{
      {{"", "pods"}, "Pod", "pod", "v1", true, {"po"}},
      {{"", "namespaces"}, "Namespace", "namespace", "v1", false, {"ns"}},
      {{"", "nodes"}, "Node", "node", "v1", false, {"no"}},
  });
}

// Loads and compiles; returns the error text ("" when valid).
std::string problems(const std::string& yaml) {
  try {
    RuleSet::compile(parseConfig(yaml, "cfg.yaml"), "cfg.yaml", mapper());
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

const char* kValid = R"(rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^(.*)_total$
    as: ${1}_per_second
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
externalRules:
- seriesQuery: 'queue_depth'
  resources: {namespaced: false}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>})
resourceRules:
  cpu:
    containerQuery: sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>}[3m])) by (<<.GroupBy>>)
    nodeQuery: sum(rate(node_cpu_seconds_total{<<.LabelMatchers>>}[3m])) by (<<.GroupBy>>)
    resources: {overrides: {pod: {resource: pod}, namespace: {resource: namespace}, node: {resource: node}}}
    containerLabel: container
  memory:
    containerQuery: sum(container_memory_working_set_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    nodeQuery: sum(node_memory_MemTotal_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)
    resources: {template: '<<.Resource>>'}
    containerLabel: container
  window: 3m
)";

}  // namespace

TEST(Config, LoadsAllThreeSections) {
  Config c = parseConfig(kValid, "cfg.yaml");
  ASSERT_EQ(c.rules.size(), 1u);
  EXPECT_EQ(c.rules[0].name.as, "${1}_per_second");
  EXPECT_TRUE(c.rules[0].resources.namespaced);
  ASSERT_EQ(c.externalRules.size(), 1u);
  EXPECT_FALSE(c.externalRules[0].resources.namespaced);
  EXPECT_EQ(c.externalRules[0].name.matches, ".*");
  ASSERT_TRUE(c.resourceRules.has_value());
  EXPECT_EQ(c.resourceRules->windowSeconds, 180);
  EXPECT_EQ(c.resourceRules->cpu.containerLabel, "container");
  EXPECT_EQ(problems(kValid), "");
  auto set = RuleSet::compile(parseConfig(kValid, "cfg.yaml"), "cfg.yaml", mapper());
  ASSERT_TRUE(set->resource().has_value());
  EXPECT_EQ(set->resource()->windowSeconds, 180);
  EXPECT_EQ(set->resource()->memory.containerLabel, "container");
}

TEST(Config, DefaultsNameAs) {
  auto set = RuleSet::compile(parseConfig(kValid, "cfg.yaml"), "cfg.yaml", mapper());
  EXPECT_EQ(set->external()[0].nameAs, "$0");
  EXPECT_EQ(set->external()[0].metricNameFor("queue_depth").value(), "queue_depth");
  EXPECT_EQ(set->custom()[0].metricNameFor("http_requests_total").value(),
            "http_requests_per_second");
}

struct BadConfig {
  std::string yaml;
  std::string expect;  // a fragment of the error, including file:line:col
};

class ConfigErrorTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrorTest, NamesFileLineColumnAndRule) {
  std::string err = problems(GetParam().yaml);
  EXPECT_NE(err.find(GetParam().expect), std::string::npos) << "got: " << err;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ConfigErrorTest,
    ::testing::Values(
        BadConfig{"rules: [\n", "cfg.yaml:2:1: invalid YAML"},
        BadConfig{"rulez: []\n", "cfg.yaml:1:1: unknown key \"rulez\""},
        BadConfig{"rules: []\nrules: []\n", "cfg.yaml:2:1: duplicate key \"rules\""},
        BadConfig{"rules:\n- seriesQuery: x\n  metricsQuery: y\n  resources: {template: "
                  "'<<.Resource>>'}\n  nmae: {}\n",
                  "cfg.yaml:5:3: rules[0]: unknown key \"nmae\""},
        BadConfig{"rules:\n- seriesQuery: x\n  seriesQuery: y\n  metricsQuery: q\n",
                  "cfg.yaml:3:3: rules[0]: duplicate key"},
        BadConfig{"rules:\n- metricsQuery: q\n  resources: {template: '<<.Resource>>'}\n",
                  "rules[0]: seriesQuery is required"},
        BadConfig{"rules:\n- seriesQuery: x\n  resources: {template: '<<.Resource>>'}\n",
                  "rules[0]: metricsQuery is required"},
        BadConfig{"rules:\n- seriesQuery: x\n  metricsQuery: q\n  resources: {template: "
                  "'<<.Resource>>'}\n"
                  "  name: {matches: '^(a)_(b)$'}\n",
                  "cfg.yaml:5:9: rules[0].name: name.matches has 2 groups, so name.as is required"},
        BadConfig{"rules:\n- seriesQuery: x\n  metricsQuery: q\n  resources: {template: "
                  "'<<.Resource>>'}\n"
                  "  name: {matches: '(a'}\n",
                  "rules[0].name.matches: invalid regular expression"},
        BadConfig{"rules:\n- seriesQuery: x\n  resources: {template: '<<.Resource>>'}\n  "
                  "metricsQuery: 'sum(<<.Series'\n",
                  "cfg.yaml:4:17: rules[0].metricsQuery: template 1:5: unclosed action"},
        BadConfig{"rules:\n- seriesQuery: x\n  metricsQuery: q\n  resources: {template: "
                  "'<<.Resource>>'}\n"
                  "  seriesFilters: [{isNot: '[z-a]'}]\n",
                  "rules[0].seriesFilters[0]: invalid regular expression"},
        BadConfig{
            "rules:\n- seriesQuery: x\n  metricsQuery: q\n  resources: {template: '<<.Resource'}\n",
            "rules[0].resources: resources.template"},
        BadConfig{"rules:\n- seriesQuery: x\n  metricsQuery: q\n",
                  "needs resources.overrides or resources.template"},
        BadConfig{"externalRules:\n- seriesQuery: x\n  metricsQuery: q\n  resources: {namespaced: "
                  "maybe}\n",
                  "cfg.yaml:4:27: externalRules[0].resources.namespaced: expected true or false"},
        BadConfig{"resourceRules:\n  window: 3 minutes\n",
                  "resourceRules.window: invalid duration"},
        BadConfig{"resourceRules:\n  cpu: {containerQuery: a, nodeQuery: b, containerLabel: c,\n"
                  "    resources: {overrides: {pod: {resource: pod}}}}\n"
                  "  memory: {containerQuery: a, nodeQuery: b, resources: {template: "
                  "'<<.Resource>>'}}\n  window: 1m\n",
                  "cfg.yaml:2:8: resourceRules.cpu.resources: no label names nodes"},
        BadConfig{"resourceRules:\n  cpu: {containerQuery: a, nodeQuery: b, containerLabel: c,\n"
                  "    resources: {template: '<<.Resource>>'}}\n"
                  "  memory: {containerQuery: a, nodeQuery: b, resources: {template: "
                  "'<<.Resource>>'}}\n  window: 1m\n",
                  "resourceRules.memory.containerLabel: containerLabel is required"},
        BadConfig{"rules: {}\n", "rules: expected a list of rules"},
        BadConfig{"", "the config is empty"}));

TEST(Config, ReportsEveryProblem) {
  std::string err = problems("rules:\n- seriesQuery: x\n- seriesQuery: y\n");
  EXPECT_NE(err.find("rules[0]"), std::string::npos);
  EXPECT_NE(err.find("rules[1]"), std::string::npos);
}
