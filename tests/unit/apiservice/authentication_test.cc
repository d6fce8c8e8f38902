// Delegated authentication: front-proxy certificates and headers, client
// certificates, bearer tokens through TokenReview, and what is refused.
#include "apiservice/authentication.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "apiservice/status.h"
#include "fake_clock.h"
#include "fake_review_transport.h"
#include "run_task.h"
#include "test_pki.h"

using namespace apiservice;
using testsupport::CertOptions;
using testsupport::TestCa;

namespace {

// Answers TokenReviews from a table (the fake counts them).
std::string tokenReview(const std::string& path, const std::string& body) {
  EXPECT_EQ(path, "/apis/authentication.k8s.io/v1/tokenreviews");
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["kind"], "TokenReview");
  EXPECT_EQ(j["apiVersion"], "authentication.k8s.io/v1");
  std::string token = j["spec"]["token"];
  nlohmann::json status;
  if (token == "good") {
    status = {{"authenticated", true},
              {"user",
               {{"username", "system:serviceaccount:ns:sa"},
                {"uid", "u-1"},
                {"groups", {"system:serviceaccounts", "system:authenticated"}},
                {"extra", {{"authentication.kubernetes.io/pod-name", {"p"}}}}}}};
  } else {
    status = {{"authenticated", false}, {"error", "token expired"}};
  }
  return nlohmann::json{{"kind", "TokenReview"}, {"status", status}}.dump();
}

struct Fixture {
  TestCa frontProxyCa{"front-proxy-ca"};
  TestCa clientCa{"client-ca"};
  TestCa otherCa{"someone-else"};
  mocks::FakeReviewTransport reviews{tokenReview};
  mocks::FakeClock clock;
  DelegatingAuthenticator authn{&reviews, clock, {10000, 100}};

  Fixture() {
    AuthenticationConfig cfg;
    cfg.requestHeader.clientCA = CertificatePool::fromPem(frontProxyCa.pem(), "front-proxy-ca");
    cfg.requestHeader.allowedNames = {"front-proxy-client"};
    cfg.clientCA = CertificatePool::fromPem(clientCa.pem(), "client-ca");
    authn.setConfig(cfg);
  }

  static HttpRequest withCert(const std::string& der) {
    HttpRequest r;
    r.method = "GET";
    r.target = "/apis";
    r.peerCertificates = std::make_shared<std::vector<std::string>>(std::vector<std::string>{der});
    return r;
  }
  HttpRequest proxied(const std::string& der) const {
    HttpRequest r = withCert(der);
    r.headers.emplace("x-remote-user", "alice");
    r.headers.emplace("x-remote-group", "devs");
    r.headers.emplace("x-remote-group", "system:authenticated");
    r.headers.emplace("x-remote-extra-scopes", "view");
    r.headers.emplace("x-remote-extra-scopes", "edit");
    r.headers.emplace("x-remote-extra-acme.com%2fproject", "42");
    return r;
  }
};

int statusOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const StatusError& e) {
    return e.code();
  }
  return 200;
}

}  // namespace

TEST(Authentication, FrontProxyHeadersNameTheUser) {
  Fixture f;
  auto proxy = f.frontProxyCa.issue({"front-proxy-client"});
  UserInfo u = mocks::run(f.authn.authenticate(f.proxied(proxy.certDer), mocks::farDeadline()));
  EXPECT_EQ(u.name, "alice");
  EXPECT_EQ(u.groups, (std::vector<std::string>{"devs", "system:authenticated"}));
  EXPECT_EQ(u.extra["scopes"], (std::vector<std::string>{"view", "edit"}));
  EXPECT_EQ(u.extra["acme.com/project"], (std::vector<std::string>{"42"}));
}

TEST(Authentication, HeadersWithoutAFrontProxyCertificateAreIgnored) {
  Fixture f;
  HttpRequest noCert;
  noCert.headers.emplace("x-remote-user", "admin");
  noCert.headers.emplace("x-remote-group", "system:masters");
  EXPECT_EQ(statusOf([&] { mocks::run(f.authn.authenticate(noCert, mocks::farDeadline())); }), 401);

  // A client certificate from the client CA is its CN, whatever the headers say.
  auto client = f.clientCa.issue({"bob", {"team-a"}});
  UserInfo u = mocks::run(f.authn.authenticate(f.proxied(client.certDer), mocks::farDeadline()));
  EXPECT_EQ(u.name, "bob");
  EXPECT_EQ(u.groups, std::vector<std::string>{"team-a"});
}

TEST(Authentication, WrongCaDisallowedNameAndExpiredCertificatesAreRefused) {
  Fixture f;
  auto foreign = f.otherCa.issue({"front-proxy-client"});
  try {
    mocks::run(f.authn.authenticate(f.proxied(foreign.certDer), mocks::farDeadline()));
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 401);
    EXPECT_NE(std::string(e.what()).find("unable to get local issuer certificate"),
              std::string::npos)
        << e.what();
  }
  auto wrongName = f.frontProxyCa.issue({"not-the-proxy"});
  try {
    mocks::run(f.authn.authenticate(f.proxied(wrongName.certDer), mocks::farDeadline()));
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 401);
    EXPECT_NE(
        std::string(e.what()).find("\"not-the-proxy\" is not in --requestheader-allowed-names"),
        std::string::npos)
        << e.what();
  }
  CertOptions expired{"front-proxy-client"};
  expired.notBeforeOffset = -7200;
  expired.validSeconds = 3600;
  auto old = f.frontProxyCa.issue(expired);
  EXPECT_EQ(statusOf([&] {
              mocks::run(f.authn.authenticate(f.proxied(old.certDer), mocks::farDeadline()));
            }),
            401);
  // A server-only certificate is not for client authentication.
  CertOptions serverOnly{"front-proxy-client"};
  serverOnly.clientAuth = false;
  serverOnly.serverAuth = true;
  auto server = f.frontProxyCa.issue(serverOnly);
  EXPECT_EQ(statusOf([&] {
              mocks::run(f.authn.authenticate(f.proxied(server.certDer), mocks::farDeadline()));
            }),
            401);
  HttpRequest garbage = Fixture::withCert("not a certificate");
  EXPECT_EQ(statusOf([&] { mocks::run(f.authn.authenticate(garbage, mocks::farDeadline())); }),
            401);
}

TEST(Authentication, RotatedCaTakesEffectAtOnce) {
  Fixture f;
  auto proxy = f.frontProxyCa.issue({"front-proxy-client"});
  EXPECT_EQ(mocks::run(f.authn.authenticate(f.proxied(proxy.certDer), mocks::farDeadline())).name,
            "alice");  // cached now
  AuthenticationConfig cfg = f.authn.config();
  cfg.requestHeader.clientCA = CertificatePool::fromPem(f.otherCa.pem(), "new-ca");
  f.authn.setConfig(cfg);
  EXPECT_EQ(statusOf([&] {
              mocks::run(f.authn.authenticate(f.proxied(proxy.certDer), mocks::farDeadline()));
            }),
            401);
}

TEST(Authentication, BearerTokensAreReviewedAndCached) {
  Fixture f;
  HttpRequest r;
  r.headers.emplace("authorization", "Bearer good");
  UserInfo u = mocks::run(f.authn.authenticate(r, mocks::farDeadline()));
  EXPECT_EQ(u.name, "system:serviceaccount:ns:sa");
  EXPECT_EQ(u.uid, "u-1");
  EXPECT_EQ(u.groups.size(), 2u);
  EXPECT_EQ(u.extra["authentication.kubernetes.io/pod-name"], std::vector<std::string>{"p"});
  mocks::run(f.authn.authenticate(r, mocks::farDeadline()));
  EXPECT_EQ(f.reviews.calls, 1) << "the second request must hit the cache";
  f.clock.advance(10001);
  mocks::run(f.authn.authenticate(r, mocks::farDeadline()));
  EXPECT_EQ(f.reviews.calls, 2) << "the TTL passed";

  HttpRequest bad;
  bad.headers.emplace("authorization", "bearer expired");  // the scheme is case-insensitive
  try {
    mocks::run(f.authn.authenticate(bad, mocks::farDeadline()));
    FAIL();
  } catch (const StatusError& e) {
    EXPECT_EQ(e.code(), 401);
    EXPECT_NE(std::string(e.what()).find("token expired"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("expired\""), std::string::npos) << "no token in errors";
  }
  EXPECT_EQ(statusOf([&] { mocks::run(f.authn.authenticate(bad, mocks::farDeadline())); }), 401);
  EXPECT_EQ(f.reviews.calls, 3) << "rejections are cached too";

  f.reviews.down = true;
  HttpRequest other;
  other.headers.emplace("authorization", "Bearer fresh");
  EXPECT_EQ(statusOf([&] { mocks::run(f.authn.authenticate(other, mocks::farDeadline())); }), 503);
}

TEST(Authentication, NothingToGoOnIs401) {
  Fixture f;
  HttpRequest r;
  EXPECT_EQ(statusOf([&] { mocks::run(f.authn.authenticate(r, mocks::farDeadline())); }), 401);
  r.headers.emplace("authorization", "Basic YTpi");
  EXPECT_EQ(statusOf([&] { mocks::run(f.authn.authenticate(r, mocks::farDeadline())); }), 401);
  DelegatingAuthenticator noReviews(nullptr, f.clock, {});
  HttpRequest t;
  t.headers.emplace("authorization", "Bearer good");
  EXPECT_EQ(statusOf([&] { mocks::run(noReviews.authenticate(t, mocks::farDeadline())); }), 401);
}

TEST(CertificatePool, RejectsBundlesWithoutCertificates) {
  EXPECT_THROW(CertificatePool::fromPem("garbage", "x.pem"), std::runtime_error);
  TestCa ca("c");
  auto pool = CertificatePool::fromPem(ca.pem() + TestCa("d").pem(), "two.pem");
  EXPECT_EQ(pool->size(), 2u);
}

// As Go's x509: every certificate of the pool is a trust anchor, so a
// bundle of only the intermediate CA verifies what that intermediate signs.
TEST(CertificatePool, AnIntermediateAloneIsATrustAnchor) {
  TestCa root("root-ca");
  TestCa intermediate("intermediate-ca", root);
  auto pool = CertificatePool::fromPem(intermediate.pem(), "intermediate.pem");
  std::string why;
  auto client = pool->verify({intermediate.issue({"carol", {"ops"}}).certDer}, &why);
  ASSERT_TRUE(client) << why;
  EXPECT_EQ(client->commonName, "carol");
  // Sending the intermediate along changes nothing.
  EXPECT_TRUE(pool->verify({intermediate.issue({"carol"}).certDer, intermediate.der()}, &why))
      << why;
  // The root it came from, and its other children, are not trusted.
  TestCa sibling("sibling-ca", root);
  EXPECT_FALSE(pool->verify({root.issue({"mallory"}).certDer}, &why));
  EXPECT_FALSE(pool->verify({sibling.issue({"mallory"}).certDer, sibling.der()}, &why));
  EXPECT_NE(why.find("intermediate.pem"), std::string::npos) << why;
}

TEST(CertificatePool, ARootVerifiesThroughTheIntermediatesSent) {
  TestCa root("root-ca");
  TestCa intermediate("intermediate-ca", root);
  auto pool = CertificatePool::fromPem(root.pem(), "root.pem");
  auto leaf = intermediate.issue({"dave"});
  std::string why;
  EXPECT_TRUE(pool->verify({leaf.certDer, intermediate.der()}, &why)) << why;
  EXPECT_FALSE(pool->verify({leaf.certDer}, &why)) << "the intermediate is missing";
  EXPECT_NE(why.find("unable to get local issuer certificate"), std::string::npos) << why;
}

TEST(CertificatePool, PartialChainsStillCheckPurposeAndExpiry) {
  TestCa root("root-ca");
  TestCa intermediate("intermediate-ca", root);
  auto pool = CertificatePool::fromPem(intermediate.pem(), "intermediate.pem");
  CertOptions serverOnly{"erin"};
  serverOnly.clientAuth = false;
  serverOnly.serverAuth = true;
  std::string why;
  EXPECT_FALSE(pool->verify({intermediate.issue(serverOnly).certDer}, &why))
      << "partial chains still check the purpose";
  CertOptions expired{"erin"};
  expired.notBeforeOffset = -7200;
  expired.validSeconds = 3600;
  EXPECT_FALSE(pool->verify({intermediate.issue(expired).certDer}, &why));
  EXPECT_NE(why.find("expired"), std::string::npos) << why;
}

// Go's pkix.Name.CommonName is the subject's last CN; Organization is every
// O, in order.
TEST(CertificatePool, TheLastCommonNameIsTheUser) {
  TestCa ca("client-ca");
  CertOptions o;
  o.subject = {{"CN", "first"}, {"O", "team-a"}, {"CN", "middle"},
               {"O", "team-b"}, {"CN", "last"},  {"O", "team-c"}};
  auto pool = CertificatePool::fromPem(ca.pem(), "client-ca");
  std::string why;
  auto client = pool->verify({ca.issue(o).certDer}, &why);
  ASSERT_TRUE(client) << why;
  EXPECT_EQ(client->commonName, "last");
  EXPECT_EQ(client->organizations, (std::vector<std::string>{"team-a", "team-b", "team-c"}));
}

TEST(Authentication, ClientCertificatesFromAnIntermediateOnlyBundleNameTheUser) {
  Fixture f;
  TestCa intermediate("client-intermediate", f.clientCa);
  AuthenticationConfig cfg = f.authn.config();
  cfg.clientCA = CertificatePool::fromPem(intermediate.pem(), "client-intermediate");
  f.authn.setConfig(cfg);
  CertOptions o;
  o.subject = {{"O", "devs"}, {"CN", "ignored"}, {"CN", "frank"}};
  UserInfo u = mocks::run(
      f.authn.authenticate(Fixture::withCert(intermediate.issue(o).certDer), mocks::farDeadline()));
  EXPECT_EQ(u.name, "frank");
  EXPECT_EQ(u.groups, std::vector<std::string>{"devs"});
}
