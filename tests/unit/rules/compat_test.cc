// prometheus-adapter's behaviour, as data (tests/data/compat, copied from
// shared/compat): discovery lists, queries and template rendering.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "rules/config.h"
#include "rules/query_builder.h"
#include "rules/rule_set.h"
#include "rules/series_catalog.h"

using namespace rules;

namespace {

const std::string kDir = std::string(MA_TEST_DATA_DIR) + "/compat/";

std::shared_ptr<const ResourceMapper> compatMapper() {
  return std::make_shared<StaticResourceMapper>(std::vector<ResourceInfo>{
      {{"", "pods"}, "Pod", "pod", "v1", true, {}},
      {{"", "services"}, "Service", "service", "v1", true, {}},
      {{"extensions", "ingresses"}, "Ingress", "ingress", "v1beta1", true, {}},
      {{"extensions", "deployments"}, "Deployment", "deployment", "v1beta1", true, {}},
      {{"", "nodes"}, "Node", "node", "v1", false, {}},
      {{"", "persistentvolumes"}, "PersistentVolume", "persistentvolume", "v1", false, {}},
      {{"", "namespaces"}, "Namespace", "namespace", "v1", false, {}},
      // The template cases name the resource label "resource".
      {{"", "resource"}, "Resource", "resource", "v1", true, {}},
  });
}

SeriesCatalog compatCatalog() {
  auto set = RuleSet::compile(loadConfigFile(kDir + "default-rules.yaml"), "default-rules.yaml",
                              compatMapper());
  CatalogBuilder b(set);
  YAML::Node series = YAML::LoadFile(kDir + "series.yaml");
  for (size_t q = 0; q < set->seriesQueries().size(); ++q) {
    // The fixture lists the union; every seriesQuery sees all of it (the
    // rules' filters and name patterns pick their own).
    for (const auto& s : series) {
      std::vector<std::string> labels;
      std::string name;
      for (const auto& kv : s) {
        labels.push_back(kv.first.as<std::string>());
        if (kv.first.as<std::string>() == "__name__") name = kv.second.as<std::string>();
      }
      b.addSeries(q, name, labels);
    }
  }
  return std::move(b).build();
}

}  // namespace

TEST(Compat, DiscoveryListsExactlyTheExpectedMetrics) {
  SeriesCatalog c = compatCatalog();
  std::set<std::tuple<std::string, bool, std::string>> got, want;
  for (const auto& m : c.customMetrics()) got.insert({m.resource.gr.str(), m.namespaced, m.metric});
  for (const auto& m : YAML::LoadFile(kDir + "registry-cases.yaml")["metrics"]) {
    want.insert({m[0].as<std::string>(), m[1].as<bool>(), m[2].as<std::string>()});
  }
  EXPECT_EQ(got, want);
}

TEST(Compat, QueriesMatchPrometheusAdapter) {
  SeriesCatalog c = compatCatalog();
  auto mapper = compatMapper();
  int n = 0;
  for (const auto& q : YAML::LoadFile(kDir + "registry-cases.yaml")["queries"]) {
    auto res = mapper->resolve(q["resource"].as<std::string>());
    ASSERT_TRUE(res) << q["resource"].as<std::string>();
    std::string metric = q["metric"].as<std::string>();
    const CatalogEntry* e = c.findCustom(res->gr, metric);
    ASSERT_NE(e, nullptr) << res->gr.str() << "/" << metric;
    LabelSelector sel;
    if (q["metricLabelSelector"])
      sel = parseLabelSelector(q["metricLabelSelector"].as<std::string>());
    std::string ns = q["namespace"] ? q["namespace"].as<std::string>() : "";
    auto names = q["names"].as<std::vector<std::string>>();
    EXPECT_EQ(buildCustomQuery(*e->rule, e->seriesName, res->gr, ns, names, sel).promql,
              q["expect"].as<std::string>());
    ++n;
  }
  EXPECT_EQ(n, 12);
}

namespace {
std::shared_ptr<const RuleSet> templateRules(const std::string& templ, bool namespaced) {
  Config cfg;
  DiscoveryRule r;
  r.seriesQuery = "x";
  r.metricsQuery = templ;
  r.resources.overrides = {{"namespaces", {"", "namespaces"}}, {"resource", {"", "resource"}}};
  r.resources.namespaced = namespaced;
  cfg.rules.push_back(r);
  cfg.externalRules.push_back(r);
  return RuleSet::compile(cfg, "t.yaml", compatMapper());
}
std::vector<std::string> strings(const YAML::Node& n) {
  return n ? n.as<std::vector<std::string>>() : std::vector<std::string>{};
}
}  // namespace

TEST(Compat, CustomTemplateArguments) {
  int n = 0;
  for (const auto& tc : YAML::LoadFile(kDir + "template-cases.yaml")["custom"]) {
    auto set = templateRules(tc["template"].as<std::string>(), true);
    LabelSelector sel;
    if (tc["metricLabelSelector"])
      sel = parseLabelSelector(tc["metricLabelSelector"].as<std::string>());
    std::string ns = tc["namespace"] ? tc["namespace"].as<std::string>() : "";
    std::string series = tc["series"] ? tc["series"].as<std::string>() : "";
    auto names = strings(tc["names"]);
    if (names.empty()) names = {"any"};
    auto q = buildCustomQuery(set->custom()[0], series, {"", "resource"}, ns, names, sel,
                              strings(tc["extraGroupBy"]));
    EXPECT_EQ(q.promql, tc["expect"].as<std::string>()) << tc["template"].as<std::string>();
    ++n;
  }
  EXPECT_EQ(n, 11);
}

TEST(Compat, ExternalTemplateArguments) {
  int n = 0;
  for (const auto& tc : YAML::LoadFile(kDir + "template-cases.yaml")["external"]) {
    bool namespaced = tc["namespaced"] ? tc["namespaced"].as<bool>() : true;
    auto set = templateRules(tc["template"].as<std::string>(), namespaced);
    LabelSelector sel;
    if (tc["selector"]) sel = parseLabelSelector(tc["selector"].as<std::string>());
    std::string ns = tc["namespace"] ? tc["namespace"].as<std::string>() : "";
    std::string series = tc["series"] ? tc["series"].as<std::string>() : "";
    EXPECT_EQ(buildExternalQuery(set->external()[0], series, ns, sel, strings(tc["groupBy"])),
              tc["expect"].as<std::string>())
        << tc["template"].as<std::string>();
    ++n;
  }
  EXPECT_EQ(n, 10);
}

TEST(QueryBuilder, EscapesNamesAndValues) {
  auto set = templateRules("<<.LabelMatchers>>", true);
  auto q = buildCustomQuery(set->custom()[0], "s", {"", "resource"}, "ns", {"a.b", "c\"d"},
                            parseLabelSelector("k in (x.y)"));
  EXPECT_EQ(q.promql, "k=~\"x\\\\.y\",namespaces=\"ns\",resource=~\"a\\\\.b|c\\\"d\"");
  auto any = buildCustomQuery(set->custom()[0], "s", {"", "resource"}, "ns", {}, {});
  EXPECT_EQ(any.promql, "namespaces=\"ns\",resource=~\".+\"");
}
