// LIST pages and watch events as kube-apiserver sends them: only the kept
// fields come out, nested look-alikes (a Deployment's pod template) do not.
#include "adapter/kube/kube_objects.h"

#include <gtest/gtest.h>

using namespace adapter;

namespace {

std::function<size_t(char*, size_t)> reader(const std::string& body, size_t chunk = 7) {
  auto pos = std::make_shared<size_t>(0);
  return [body, pos, chunk](char* buf, size_t len) {
    size_t n = std::min({len, chunk, body.size() - *pos});
    body.copy(buf, n, *pos);
    *pos += n;
    return n;
  };
}

const char* kPodList =
    R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"4711","continue":"tok=="},
 "items":[
  {"metadata":{"name":"web-1","namespace":"prod","uid":"1","resourceVersion":"4700",
     "labels":{"app":"web","pod-template-hash":"7d9f"},"annotations":{"note":"x"},
     "ownerReferences":[{"kind":"ReplicaSet","name":"web-7d9f"}]},
   "spec":{"containers":[{"name":"app","image":"web:1","env":[{"name":"A","value":"b"}]}],
           "nodeName":"n1"},
   "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}},
  {"metadata":{"name":"web-2","namespace":"prod","resourceVersion":"4701"},
   "status":{"phase":"Pending"}}
 ]})";

}  // namespace

TEST(KubeObjectJson, ListPagesKeepOnlyWhatTheCacheNeeds) {
  ListPage page = parseListPage(200, reader(kPodList), false);
  EXPECT_EQ(page.resourceVersion, "4711");
  EXPECT_EQ(page.continueToken, "tok==");
  ASSERT_EQ(page.items.size(), 2u);
  const KubeObject& p = page.items[0];
  EXPECT_EQ(p.name, "web-1");
  EXPECT_EQ(p.ns, "prod");
  EXPECT_EQ(p.resourceVersion, "4700");
  EXPECT_EQ(p.phase, "Running");
  EXPECT_EQ(p.labels, (std::vector<std::pair<std::string, std::string>>{
                          {"app", "web"}, {"pod-template-hash", "7d9f"}}));
  EXPECT_TRUE(p.data.empty());
  EXPECT_EQ(page.items[1].phase, "Pending");
  EXPECT_TRUE(page.items[1].labels.empty());
}

TEST(KubeObjectJson, NestedMetadataIsNotTheObjects) {
  const char* deployments = R"({"kind":"DeploymentList","metadata":{"resourceVersion":"9"},"items":[
    {"metadata":{"name":"web","namespace":"prod","resourceVersion":"8","labels":{"tier":"front"}},
     "spec":{"template":{"metadata":{"name":"decoy","labels":{"app":"web"}}}},
     "status":{"replicas":3}}]})";
  ListPage page = parseListPage(200, reader(deployments), false);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].name, "web");
  EXPECT_EQ(page.items[0].labels,
            (std::vector<std::pair<std::string, std::string>>{{"tier", "front"}}));
}

TEST(KubeObjectJson, StatusAnswersAreErrorsWithTheirCode) {
  const char* forbidden = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
    "message":"pods is forbidden: User \"system:serviceaccount:x:y\" cannot list resource \"pods\"",
    "reason":"Forbidden","details":{"kind":"pods"},"code":403})";
  try {
    parseListPage(403, reader(forbidden), false);
    FAIL();
  } catch (const KubeError& e) {
    EXPECT_EQ(e.httpStatus(), 403);
    EXPECT_NE(std::string(e.what()).find("HTTP 403 Forbidden: pods is forbidden"),
              std::string::npos)
        << e.what();
  }
  KubeStatus st = parseStatus(forbidden);
  EXPECT_EQ(st.code, 403);
  EXPECT_EQ(st.reason, "Forbidden");
  EXPECT_THROW(parseListPage(200, reader("{\"items\":[{\"metadata\":"), false), KubeError);
}

TEST(KubeObjectJson, WatchEvents) {
  WatchEvent added = parseWatchEvent(
      R"({"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a","namespace":"n","resourceVersion":"10","labels":{"k":"v"}},"status":{"phase":"Running"}}})",
      false);
  EXPECT_EQ(added.type, WatchEvent::Type::Added);
  EXPECT_EQ(added.object.name, "a");
  EXPECT_EQ(added.object.resourceVersion, "10");
  EXPECT_EQ(added.object.phase, "Running");

  WatchEvent bookmark = parseWatchEvent(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12746","creationTimestamp":null,"annotations":{"k8s.io/initial-events-end":"true"}},"spec":{"containers":null},"status":{}}})",
      false);
  EXPECT_EQ(bookmark.type, WatchEvent::Type::Bookmark);
  EXPECT_EQ(bookmark.object.resourceVersion, "12746");

  WatchEvent gone = parseWatchEvent(
      R"J({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (4711)","reason":"Expired","code":410}})J",
      false);
  EXPECT_EQ(gone.type, WatchEvent::Type::Error);
  EXPECT_EQ(gone.status.code, 410);
  EXPECT_EQ(gone.status.reason, "Expired");
  EXPECT_EQ(gone.status.message, "too old resource version: 5 (4711)");

  WatchEvent cm = parseWatchEvent(
      R"({"type":"MODIFIED","object":{"kind":"ConfigMap","metadata":{"name":"extension-apiserver-authentication","namespace":"kube-system","resourceVersion":"3"},"data":{"client-ca-file":"PEM","requestheader-allowed-names":"[\"front-proxy-client\"]"}}})",
      true);
  EXPECT_EQ(cm.object.data.at("requestheader-allowed-names"), "[\"front-proxy-client\"]");
  EXPECT_EQ(cm.object.data.size(), 2u);

  EXPECT_THROW(parseWatchEvent(R"({"type":"SURPRISE","object":{}})", false), KubeError);
  EXPECT_THROW(parseWatchEvent(R"({"type":"ADDED","object":{"metadata":{"name":"x"}}})", false),
               KubeError);
  EXPECT_THROW(parseWatchEvent("{\"type\":", false), KubeError);
}
