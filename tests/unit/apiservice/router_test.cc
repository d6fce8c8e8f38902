#include "apiservice/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apiservice/status.h"

using namespace apiservice;

namespace {

// Records what the router asked for; answers with one fixed value.
class RecordingProvider : public MetricsProvider {
 public:
  mutable ObjectMetricRequest lastObject;
  mutable ExternalMetricRequest lastExternal;
  std::vector<CustomMetricDescriptor> listCustomMetrics() const override {
    return {{"pods", true, "m"}};
  }
  std::vector<ObjectMetricValue> getObjectMetric(const ObjectMetricRequest& r) const override {
    lastObject = r;
    if (r.metric == "boom") throw std::runtime_error("kaput");
    return {{{"Pod", r.ns, "p", "/v1"}, r.metric, 0.5, 1700000000123}};
  }
  std::vector<std::string> listExternalMetrics() const override { return {"q"}; }
  std::vector<ExternalMetricValue> getExternalMetric(
      const ExternalMetricRequest& r) const override {
    lastExternal = r;
    return {};
  }
};

HttpResponse get(const Router& router, const std::string& target) {
  HttpRequest r;
  r.method = "GET";
  r.target = target;
  return router.handle(r);
}

}  // namespace

TEST(Router, ParsesCustomMetricPaths) {
  RecordingProvider p;
  Router router(p, {}, "v0.1.0");
  auto r = get(router,
               "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/%2A/"
               "m?labelSelector=app%3Dweb%2Ctier+in+%28a%29&metricLabelSelector=x%3Dy");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(p.lastObject.ns, "ns");
  EXPECT_EQ(p.lastObject.resource, "pods");
  EXPECT_EQ(p.lastObject.name, "*");
  EXPECT_EQ(p.lastObject.labelSelector, "app=web,tier in (a)");
  EXPECT_EQ(p.lastObject.metricLabelSelector, "x=y");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["items"][0]["timestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["items"][0]["value"], "500m");

  get(router, "/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m");
  EXPECT_EQ(p.lastObject.ns, "");
  EXPECT_EQ(p.lastObject.resource, "nodes");
  get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/metrics/m");
  EXPECT_EQ(p.lastObject.resource, "namespaces");
  EXPECT_EQ(p.lastObject.name, "ns");
  get(router, "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/q?labelSelector=a%3Db");
  EXPECT_EQ(p.lastExternal.metric, "q");
  EXPECT_EQ(p.lastExternal.labelSelector, "a=b");
}

TEST(Router, ErrorsBecomeStatus) {
  RecordingProvider p;
  Router router(p, {}, "v0.1.0");
  auto r = get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/p/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("kaput"), std::string::npos);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/n%zz/pods/p/m").status,
            400);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/p/m%").status, 400);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/a%2Fb/m").status,
            400);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/../m").status, 400);
  EXPECT_EQ(get(router, "/apis/custom.metrics.k8s.io/v2/x").status, 404);
  HttpRequest del;
  del.method = "DELETE";
  del.target = "/apis";
  EXPECT_EQ(router.handle(del).status, 405);
}

TEST(Router, ReadinessAndObservation) {
  RecordingProvider p;
  bool ready = false;
  std::vector<std::pair<std::string, int>> seen;
  RouterHooks hooks{
      [&] { return ready; }, [] { return std::string("m 1\n"); },
      [&](const std::string& route, int code, double) { seen.emplace_back(route, code); }};
  Router router(p, hooks, "v0.1.0");
  EXPECT_EQ(get(router, "/readyz").status, 503);
  ready = true;
  EXPECT_EQ(get(router, "/readyz").status, 200);
  EXPECT_EQ(get(router, "/metrics").body, "m 1\n");
  get(router, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/p/m");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), (std::pair<std::string, int>{"custom_metric", 200}));
}

TEST(Router, QueryDecoding) {
  auto q = decodeQuery("a=1&b=x+y%2Bz&a=2&empty&c=");
  EXPECT_EQ(q["a"], "1");
  EXPECT_EQ(q["b"], "x y+z");
  EXPECT_EQ(q["empty"], "");
  EXPECT_EQ(q["c"], "");
  EXPECT_THROW(decodeQuery("a=%G1"), StatusError);
}
