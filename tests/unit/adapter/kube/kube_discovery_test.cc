// Resource names from API discovery documents.
#include "adapter/kube/kube_discovery.h"

#include <gtest/gtest.h>

using namespace adapter;

TEST(Discovery, ParsesDocumentsAndSkipsSubresources) {
  auto groups = parseApiGroupList(R"({"kind":"APIGroupList","apiVersion":"v1","groups":[
    {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],
     "preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
    {"name":"stable.example.com","versions":[{"groupVersion":"stable.example.com/v2","version":"v2"},
      {"groupVersion":"stable.example.com/v1","version":"v1"}]}]})");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].group, "stable.example.com");
  EXPECT_EQ(groups[1].version, "v2");  // no preferredVersion: the first listed

  auto res = parseApiResourceList(R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
    {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]},
    {"name":"pods/status","singularName":"","namespaced":true,"kind":"Pod","verbs":["get"]},
    {"name":"nodes","singularName":"","namespaced":false,"kind":"Node","verbs":["list"]}]})",
                                  "", "v1");
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[0].shortNames, std::vector<std::string>{"po"});
  EXPECT_EQ(res[1].singular, "node");  // derived from the kind when empty
  EXPECT_FALSE(res[1].namespaced);
  EXPECT_THROW(parseApiResourceList("{}", "g", "v1"), KubeError);
  EXPECT_THROW(parseApiVersions("[1]"), KubeError);
}

TEST(Discovery, MapperPublishesNewTablesWithANewGeneration) {
  rules::ResourceInfo pods{{"", "pods"}, "Pod", "pod", "v1", true, {"po"}};
  DiscoveryResourceMapper m({pods});
  EXPECT_EQ(m.generation(), 0u);
  EXPECT_FALSE(m.resolve("widgets").has_value());
  m.update({pods});
  EXPECT_EQ(m.generation(), 0u) << "same table, same generation";
  rules::ResourceInfo widgets{
      {"stable.example.com", "widgets"}, "Widget", "widget", "v2", true, {"wd"}};
  m.update({pods, widgets});
  EXPECT_EQ(m.generation(), 1u);
  auto w = m.resolve("wd");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->kind, "Widget");
  EXPECT_EQ(w->groupVersion(), "stable.example.com/v2");
  EXPECT_TRUE(m.resolve("widget.stable.example.com").has_value());
}
