// The compact object cache: selector evaluation over interned labels, and
// correctness under churn and table compaction.
#include "adapter/kube/object_store.h"

#include <gtest/gtest.h>

#include <random>

using namespace adapter;

namespace {

KubeObject pod(const std::string& ns, const std::string& name,
               std::vector<std::pair<std::string, std::string>> labels,
               const std::string& phase = "Running") {
  KubeObject o;
  o.ns = ns;
  o.name = name;
  o.labels = std::move(labels);
  o.phase = phase;
  o.resourceVersion = "1";
  return o;
}

std::vector<std::string> names(const ObjectStore& s, const std::string& ns, const std::string& sel,
                               bool running = false) {
  return s.names(ns, rules::parseLabelSelector(sel), running);
}

using V = std::vector<std::string>;

}  // namespace

TEST(ObjectStore, EvaluatesEverySelectorOperator) {
  ObjectStore s;
  std::vector<KubeObject> all;
  all.push_back(pod("prod", "web-1", {{"app", "web"}, {"tier", "front"}, {"gen", "3"}}));
  all.push_back(
      pod("prod", "web-2", {{"app", "web"}, {"tier", "front"}, {"canary", "yes"}, {"gen", "10"}}));
  all.push_back(pod("prod", "db-0", {{"app", "db"}}, "Pending"));
  all.push_back(pod("dev", "web-1", {{"app", "web"}}));
  s.replace(std::move(all));
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(names(s, "prod", ""), (V{"db-0", "web-1", "web-2"}));
  EXPECT_EQ(names(s, "prod", "app=web"), (V{"web-1", "web-2"}));
  EXPECT_EQ(names(s, "prod", "app==web,!canary"), (V{"web-1"}));
  EXPECT_EQ(names(s, "prod", "app!=web"), (V{"db-0"}));
  EXPECT_EQ(names(s, "prod", "app in (db,cache)"), (V{"db-0"}));
  EXPECT_EQ(names(s, "prod", "app notin (db)"), (V{"web-1", "web-2"}));
  EXPECT_EQ(names(s, "prod", "canary"), (V{"web-2"}));
  EXPECT_EQ(names(s, "prod", "gen>5"), (V{"web-2"}));
  EXPECT_EQ(names(s, "prod", "gen<5"), (V{"web-1"}));
  EXPECT_EQ(names(s, "prod", "app=nothing-has-this"), V{});
  EXPECT_EQ(names(s, "prod", "nokey!=x"), (V{"db-0", "web-1", "web-2"}));
  EXPECT_EQ(names(s, "prod", "", /*running=*/true), (V{"web-1", "web-2"}));
  EXPECT_EQ(names(s, "", "app=web"), (V{"web-1", "web-1", "web-2"}));
  EXPECT_EQ(names(s, "staging", ""), V{});
  auto objs = s.objects("dev", rules::parseLabelSelector(""), false);
  ASSERT_EQ(objs.size(), 1u);
  EXPECT_EQ(objs[0].ns, "dev");
  EXPECT_EQ(objs[0].labels.at("app"), "web");
}

TEST(ObjectStore, FollowsAddsRelabelsAndDeletes) {
  ObjectStore s;
  s.apply(WatchEvent::Type::Added, pod("ns", "a", {{"app", "web"}}));
  s.apply(WatchEvent::Type::Added, pod("ns", "b", {{"app", "web"}}));
  EXPECT_EQ(names(s, "ns", "app=web"), (V{"a", "b"}));
  s.apply(WatchEvent::Type::Modified, pod("ns", "a", {{"app", "api"}}));
  EXPECT_EQ(names(s, "ns", "app=web"), (V{"b"}));
  EXPECT_EQ(names(s, "ns", "app=api"), (V{"a"}));
  s.apply(WatchEvent::Type::Deleted, pod("ns", "b", {}));
  EXPECT_EQ(names(s, "ns", ""), (V{"a"}));
  EXPECT_EQ(s.size(), 1u);
  s.apply(WatchEvent::Type::Deleted, pod("elsewhere", "zzz", {}));  // unknown: ignored
  EXPECT_EQ(s.size(), 1u);
}

TEST(ObjectStore, ChurnWithCompactionMatchesAReferenceModel) {
  ObjectStore s;
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::string>> model;
  std::mt19937 rng(42);
  for (int i = 0; i < 60000; ++i) {  // several string-table rebuilds
    std::string ns = "ns" + std::to_string(rng() % 3);
    std::string name = "p" + std::to_string(rng() % 200);
    if (rng() % 4 == 0) {
      s.apply(WatchEvent::Type::Deleted, pod(ns, name, {}));
      model.erase({ns, name});
      continue;
    }
    std::vector<std::pair<std::string, std::string>> labels{
        {"app", "a" + std::to_string(rng() % 3)}, {"hash", std::to_string(i)}};
    s.apply(WatchEvent::Type::Modified, pod(ns, name, labels));
    model[{ns, name}] = {labels.begin(), labels.end()};
  }
  EXPECT_EQ(s.size(), model.size());
  for (const char* ns : {"ns0", "ns1", "ns2"}) {
    V want;
    for (const auto& [key, labels] : model)
      if (key.first == ns && labels.at("app") == "a1") want.push_back(key.second);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(names(s, ns, "app=a1"), want) << ns;
  }
}
