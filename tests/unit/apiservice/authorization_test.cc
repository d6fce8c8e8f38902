// Delegated authorization: the SubjectAccessReview kube-apiserver's webhook
// authorizer would send, caching, system:masters, and denial wording.
#include "apiservice/authorization.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apiservice/status.h"
#include "fake_clock.h"
#include "fake_review_transport.h"
#include "run_task.h"

using namespace apiservice;

namespace {

// Allows alice, denies everyone else (the fake counts the reviews).
std::string accessReview(const std::string& path, const std::string& body) {
  EXPECT_EQ(path, "/apis/authorization.k8s.io/v1/subjectaccessreviews");
  auto j = nlohmann::json::parse(body);
  bool allowed = j["spec"].value("user", "") == "alice";
  nlohmann::json status = {{"allowed", allowed}};
  if (!allowed) status["reason"] = "no RBAC policy matched";
  return nlohmann::json{{"status", status}}.dump();
}

}  // namespace

TEST(Authorization, ReviewCarriesTheRequestAttributes) {
  UserInfo u{"alice", "uid-1", {"devs"}, {{"scopes", {"view"}}}};
  auto attrs = requestAttributes(
      "GET", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/http_requests");
  auto j = nlohmann::json::parse(subjectAccessReviewJson(u, attrs));
  EXPECT_EQ(j["kind"], "SubjectAccessReview");
  EXPECT_EQ(j["apiVersion"], "authorization.k8s.io/v1");
  EXPECT_EQ(j["spec"]["user"], "alice");
  EXPECT_EQ(j["spec"]["uid"], "uid-1");
  EXPECT_EQ(j["spec"]["groups"], nlohmann::json::array({"devs"}));
  EXPECT_EQ(j["spec"]["extra"]["scopes"], nlohmann::json::array({"view"}));
  EXPECT_EQ(j["spec"]["resourceAttributes"], (nlohmann::json{{"namespace", "default"},
                                                             {"verb", "get"},
                                                             {"group", "custom.metrics.k8s.io"},
                                                             {"version", "v1beta2"},
                                                             {"resource", "pods"},
                                                             {"subresource", "http_requests"},
                                                             {"name", "*"}}));
  auto path = nlohmann::json::parse(
      subjectAccessReviewJson(u, requestAttributes("GET", "/apis/custom.metrics.k8s.io/v1beta1")));
  EXPECT_EQ(path["spec"]["nonResourceAttributes"],
            (nlohmann::json{{"path", "/apis/custom.metrics.k8s.io/v1beta1"}, {"verb", "get"}}));
}

TEST(Authorization, AnswersAreCachedPerTtl) {
  mocks::FakeReviewTransport reviews{accessReview};
  mocks::FakeClock clock;
  AuthorizerOptions opts;
  opts.allowedTtlMs = 10000;
  opts.deniedTtlMs = 2000;
  DelegatingAuthorizer authz(reviews, clock, opts);
  auto attrs = requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods");
  UserInfo alice{"alice", "", {}, {}};
  UserInfo bob{"bob", "", {"team"}, {}};
  EXPECT_TRUE(mocks::run(authz.authorize(alice, attrs, mocks::farDeadline())).allowed);
  EXPECT_TRUE(mocks::run(authz.authorize(alice, attrs, mocks::farDeadline())).allowed);
  EXPECT_EQ(reviews.calls, 1);
  Decision d = mocks::run(authz.authorize(bob, attrs, mocks::farDeadline()));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no RBAC policy matched");
  mocks::run(authz.authorize(bob, attrs, mocks::farDeadline()));
  EXPECT_EQ(reviews.calls, 2);
  clock.advance(2001);  // the denial expired, the approval did not
  mocks::run(authz.authorize(bob, attrs, mocks::farDeadline()));
  mocks::run(authz.authorize(alice, attrs, mocks::farDeadline()));
  EXPECT_EQ(reviews.calls, 3);
  EXPECT_EQ(authz.reviewsSent(), 3u);
}

TEST(Authorization, MastersNeedNoReviewAndFailuresAre503) {
  mocks::FakeReviewTransport reviews{accessReview};
  mocks::FakeClock clock;
  DelegatingAuthorizer authz(reviews, clock, {});
  auto attrs = requestAttributes("GET", "/metrics");
  EXPECT_TRUE(
      mocks::run(authz.authorize({"root", "", {"system:masters"}, {}}, attrs, mocks::farDeadline()))
          .allowed);
  EXPECT_EQ(reviews.calls, 0);
  reviews.status = 500;
  try {
    mocks::run(authz.authorize({"carol", "", {}, {}}, attrs, mocks::farDeadline()));
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 503);
  }
}

TEST(Authorization, DenialsSayWhoCannotDoWhat) {
  UserInfo bob{"bob", "", {}, {}};
  EXPECT_EQ(forbiddenMessage(bob,
                             requestAttributes("GET",
                                               "/apis/custom.metrics.k8s.io/v1beta2/namespaces/"
                                               "default/pods/%2A/http_requests"),
                             "no RBAC policy matched"),
            "pods.custom.metrics.k8s.io \"*\" is forbidden: User \"bob\" cannot get resource "
            "\"pods/http_requests\" in API group \"custom.metrics.k8s.io\" in the namespace "
            "\"default\": no RBAC policy matched");
  EXPECT_EQ(
      forbiddenMessage(bob, requestAttributes("GET", "/apis/metrics.k8s.io/v1beta1/nodes"), ""),
      "nodes.metrics.k8s.io is forbidden: User \"bob\" cannot list resource \"nodes\" in API "
      "group \"metrics.k8s.io\" at the cluster scope");
  EXPECT_EQ(forbiddenMessage(bob, requestAttributes("GET", "/metrics"), ""),
            "forbidden: User \"bob\" cannot get path \"/metrics\"");
}
