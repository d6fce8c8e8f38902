// The attributes authorization sees, as kube-apiserver's RequestInfoFactory
// derives them for these paths.
#include "apiservice/request_info.h"

#include <gtest/gtest.h>

#include "apiservice/status.h"

using namespace apiservice;

namespace {
struct Case {
  const char* method;
  const char* target;
  bool resource;
  const char* verb;
  const char* group;
  const char* version;
  const char* ns;
  const char* res;
  const char* name;
  const char* sub;
  const char* path;
};
}  // namespace

TEST(RequestAttributes, MatchKubeApiserver) {
  const Case cases[] = {
      // The HPA: every pod of a namespace, the name percent-encoded.
      {"GET", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/http_requests", true,
       "get", "custom.metrics.k8s.io", "v1beta2", "default", "pods", "*", "http_requests", ""},
      {"GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/web-1/m?labelSelector=a%3Db",
       true, "get", "custom.metrics.k8s.io", "v1beta1", "ns", "pods", "web-1", "m", ""},
      {"GET", "/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/temp", true, "get",
       "custom.metrics.k8s.io", "v1beta1", "", "nodes", "n1", "temp", ""},
      // A namespace's own metric: "metrics" is the resource.
      {"GET", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/metrics/queue", true, "get",
       "custom.metrics.k8s.io", "v1beta2", "ns", "metrics", "queue", "", ""},
      // External metrics have no name: a list.
      {"GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/queue_depth?labelSelector=q%3Da",
       true, "list", "external.metrics.k8s.io", "v1beta1", "ns", "queue_depth", "", "", ""},
      {"GET", "/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods", true, "list", "metrics.k8s.io",
       "v1beta1", "ns", "pods", "", "", ""},
      {"GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1", true, "get", "metrics.k8s.io", "v1beta1", "",
       "nodes", "n1", "", ""},
      {"GET", "/apis/metrics.k8s.io/v1beta1/pods?watch=true", true, "watch", "metrics.k8s.io",
       "v1beta1", "", "pods", "", "", ""},
      {"HEAD", "/apis/metrics.k8s.io/v1beta1/nodes/n1", true, "get", "metrics.k8s.io", "v1beta1",
       "", "nodes", "n1", "", ""},
      {"GET", "/api/v1/namespaces/ns", true, "get", "", "v1", "ns", "namespaces", "ns", "", ""},
      {"GET", "/api/v1/namespaces/ns/status", true, "get", "", "v1", "ns", "namespaces", "ns",
       "status", ""},
      {"POST", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods", true, "create",
       "custom.metrics.k8s.io", "v1beta1", "ns", "pods", "", "", ""},
      {"DELETE", "/apis/custom.metrics.k8s.io/v1beta1/pods", true, "deletecollection",
       "custom.metrics.k8s.io", "v1beta1", "", "pods", "", "", ""},
      // Discovery and the rest are non-resource paths.
      {"GET", "/apis/custom.metrics.k8s.io/v1beta1", false, "get", "", "", "", "", "", "",
       "/apis/custom.metrics.k8s.io/v1beta1"},
      {"GET", "/apis", false, "get", "", "", "", "", "", "", "/apis"},
      {"GET", "/openapi/v2", false, "get", "", "", "", "", "", "", "/openapi/v2"},
      {"GET", "/metrics", false, "get", "", "", "", "", "", "", "/metrics"},
      {"GET", "/healthz/", false, "get", "", "", "", "", "", "", "/healthz/"},
      {"POST", "/version", false, "post", "", "", "", "", "", "", "/version"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    RequestAttributes a = requestAttributes(c.method, c.target);
    EXPECT_EQ(a.resourceRequest, c.resource);
    EXPECT_EQ(a.verb, c.verb);
    if (c.resource) {
      EXPECT_EQ(a.apiGroup, c.group);
      EXPECT_EQ(a.apiVersion, c.version);
      EXPECT_EQ(a.ns, c.ns);
      EXPECT_EQ(a.resource, c.res);
      EXPECT_EQ(a.name, c.name);
      EXPECT_EQ(a.subresource, c.sub);
    } else {
      EXPECT_EQ(a.path, c.path);
    }
  }
}

TEST(RequestAttributes, MalformedEscapesAreBadRequests) {
  try {
    requestAttributes("GET", "/apis/custom.metrics.k8s.io/v1beta1/namespaces/%zz/pods/p/m");
    FAIL() << "no error";
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 400);
  }
}
