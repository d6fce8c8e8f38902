#include "adapter/upstream/upstream_forwarder.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "fake_upstream_server.h"
#include "run_task.h"

using adapter::UpstreamCatalog;
using adapter::UpstreamForwarder;
using apiservice::MetricsApi;
using mocks::FakeUpstreamServer;

namespace {

const std::string kPath =
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/q?labelSelector=a%3Db";
const std::string kListBody = R"({"kind":"ExternalMetricValueList","items":[]})";

struct Forwarding {
  std::ostringstream logText;
  common::Logger log{logText, 0, common::Logger::Format::Text};
  FakeUpstreamServer keda{"https://keda", MetricsApi::External};
  FakeUpstreamServer datadog{"https://datadog", MetricsApi::External};
  FakeUpstreamServer custom{"https://custom", MetricsApi::Custom};
  UpstreamCatalog catalog{{&keda, &datadog, &custom}, nullptr, std::chrono::hours(1), log};
  std::vector<std::string> observed;
  UpstreamForwarder forwarder{{&keda, &datadog, &custom},
                              catalog,
                              [this](const std::string& u, const std::string& code, double) {
                                observed.push_back(u + " " + code);
                              }};

  apiservice::ForwardOutcome forward(MetricsApi api, const std::string& name,
                                     const std::string& target = kPath) {
    apiservice::HttpRequest req;
    req.method = "GET";
    req.target = target;
    return mocks::run(forwarder.forward(api, "v1beta1", name, req, mocks::farDeadline()));
  }
};

}  // namespace

TEST(UpstreamForwarder, AListedNameGoesOnlyToTheFirstUpstreamListingIt) {
  Forwarding f;
  f.datadog.list("v1beta1", {{"q", true}});
  f.datadog.answer(kPath, 200, kListBody);
  f.catalog.refresh();
  auto out = f.forward(MetricsApi::External, "q");
  ASSERT_TRUE(out.answer);
  EXPECT_EQ(out.answer->status, 200);
  EXPECT_EQ(out.answer->body, kListBody);
  EXPECT_EQ(f.datadog.calls().back(), "GET " + kPath) << "path and query unchanged";
  for (const auto& c : f.keda.calls()) EXPECT_EQ(c.rfind("GET", 0), std::string::npos) << c;
  EXPECT_EQ(f.observed, std::vector<std::string>{"https://datadog 200"});
}

TEST(UpstreamForwarder, AListedNameKeepsTheUpstreamsAnswerWhateverItIs) {
  Forwarding f;
  f.keda.list("v1beta1", {{"q", true}});
  f.keda.answer(kPath, 403, R"({"kind":"Status","code":403})");
  f.datadog.answer(kPath, 200, kListBody);
  f.catalog.refresh();
  auto out = f.forward(MetricsApi::External, "q");
  ASSERT_TRUE(out.answer);
  EXPECT_EQ(out.answer->status, 403);
  EXPECT_TRUE(f.datadog.calls().size() == 1u) << "only its discovery";
}

TEST(UpstreamForwarder, AnUnlistedNameIsAskedOfEachUntilOneAnswersOtherThan404) {
  Forwarding f;
  f.datadog.answer(kPath, 200, kListBody);
  auto out = f.forward(MetricsApi::External, "q");
  ASSERT_TRUE(out.answer);
  EXPECT_EQ(out.answer->status, 200);
  EXPECT_EQ(f.observed, (std::vector<std::string>{"https://keda 404", "https://datadog 200"}));
  EXPECT_TRUE(f.custom.calls().empty()) << "another API's upstream is never asked";
}

TEST(UpstreamForwarder, When404IsEveryAnswerThereIsNoneAndTheAskedAreNamed) {
  Forwarding f;
  auto out = f.forward(MetricsApi::External, "q");
  EXPECT_FALSE(out.answer);
  EXPECT_EQ(out.asked, (std::vector<std::string>{"https://keda", "https://datadog"}));
}

TEST(UpstreamForwarder, AListingUpstreamThatFailsIs503NamingIt) {
  Forwarding f;
  f.keda.list("v1beta1", {{"q", true}});
  f.catalog.refresh();
  f.keda.fail("timed out after 5000ms");
  f.datadog.answer(kPath, 200, kListBody);
  auto out = f.forward(MetricsApi::External, "q");
  ASSERT_TRUE(out.answer);
  EXPECT_EQ(out.answer->status, 503);
  auto j = nlohmann::json::parse(out.answer->body);
  EXPECT_EQ(j["kind"], "Status");
  EXPECT_EQ(j["reason"], "ServiceUnavailable");
  EXPECT_NE(j["message"].get<std::string>().find("https://keda: timed out"), std::string::npos);
  EXPECT_EQ(f.observed, std::vector<std::string>{"https://keda error"});
}

TEST(UpstreamForwarder, AFailureWhileAskingIs503UnlessAnotherAnswers) {
  Forwarding f;
  f.keda.fail("connection refused");
  auto none = f.forward(MetricsApi::External, "q");
  ASSERT_TRUE(none.answer) << "never a 404 when the upstream that may serve it is down";
  EXPECT_EQ(none.answer->status, 503);
  EXPECT_NE(none.answer->body.find("connection refused"), std::string::npos);
  f.datadog.answer(kPath, 200, kListBody);
  auto some = f.forward(MetricsApi::External, "q");
  ASSERT_TRUE(some.answer);
  EXPECT_EQ(some.answer->status, 200);
}

TEST(UpstreamForwarder, ListsEachNameOnceTheFirstUpstreamsEntryWinning) {
  Forwarding f;
  f.keda.list("v1beta1", {{"a", true}, {"b", true}});
  f.datadog.list("v1beta1", {{"b", false}, {"c", true}});
  f.custom.list("v1beta1", {{"pods/rps", true}, {"nodes/temp", false}, {"broken", true}});
  f.custom.list("v1beta2", {{"pods/rps", true}});
  f.catalog.refresh();
  EXPECT_EQ(f.forwarder.upstreamExternalMetrics(), (std::vector<std::string>{"a", "b", "c"}));
  auto v1 = f.forwarder.upstreamCustomMetrics("v1beta1");
  ASSERT_EQ(v1.size(), 2u) << "a name without resource/metric is left out";
  EXPECT_EQ(v1[0].resource, "pods");
  EXPECT_EQ(v1[0].metric, "rps");
  EXPECT_EQ(v1[1].resource, "nodes");
  EXPECT_FALSE(v1[1].namespaced);
  EXPECT_EQ(f.forwarder.upstreamCustomMetrics("v1beta2").size(), 1u);
}
