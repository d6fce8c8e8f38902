#include "adapter/upstream/upstream_catalog.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "fake_upstream_server.h"

using adapter::UpstreamCatalog;
using apiservice::MetricsApi;
using mocks::FakeUpstreamServer;

namespace {
struct CatalogFixture {
  std::ostringstream logText;
  common::Logger log{logText, 0, common::Logger::Format::Text};
  FakeUpstreamServer ext{"https://keda", MetricsApi::External};
  FakeUpstreamServer cus{"https://pa", MetricsApi::Custom};
  UpstreamCatalog catalog{{&ext, &cus},
                          [](MetricsApi api, const std::string& n) {
                            return (api == MetricsApi::External && n == "ours") ||
                                   (api == MetricsApi::Custom && n == "pods/ours");
                          },
                          std::chrono::milliseconds(20),
                          log};
};
}  // namespace

TEST(UpstreamCatalog, ReadsEachApisVersions) {
  CatalogFixture f;
  f.ext.list("v1beta1", {{"q", true}});
  f.cus.list("v1beta1", {{"pods/a", true}});
  f.cus.list("v1beta2", {{"pods/b", true}});
  f.catalog.refresh();
  auto l = f.catalog.current();
  EXPECT_TRUE(l->lists(0, "v1beta1", "q"));
  EXPECT_FALSE(l->lists(0, "v1beta2", "q"));
  EXPECT_TRUE(l->lists(1, "v1beta1", "pods/a"));
  EXPECT_TRUE(l->lists(1, "v1beta2", "pods/b"));
  EXPECT_FALSE(l->lists(1, "v1beta1", "pods/b"));
  EXPECT_EQ(f.ext.calls(), std::vector<std::string>{"discover v1beta1"});
  EXPECT_EQ(f.cus.calls(), (std::vector<std::string>{"discover v1beta1", "discover v1beta2"}));
}

TEST(UpstreamCatalog, AnUpstreamThatIsDownListsNothingUntilItAnswers) {
  CatalogFixture f;
  f.ext.list("v1beta1", {{"q", true}});
  f.catalog.refresh();
  f.ext.fail("connection refused");
  f.catalog.refresh();
  EXPECT_FALSE(f.catalog.current()->lists(0, "v1beta1", "q"));
  EXPECT_NE(f.logText.str().find("upstream discovery failed"), std::string::npos);
  EXPECT_NE(f.logText.str().find("connection refused"), std::string::npos);
  f.ext.fail("");
  f.catalog.refresh();
  EXPECT_TRUE(f.catalog.current()->lists(0, "v1beta1", "q"));
}

TEST(UpstreamCatalog, ShadowedNamesAreLoggedOncePerRefresh) {
  CatalogFixture f;
  f.ext.list("v1beta1", {{"ours", true}, {"theirs", true}});
  f.cus.list("v1beta1", {{"pods/ours", true}});
  f.cus.list("v1beta2", {{"pods/ours", true}});
  f.catalog.refresh();
  std::string log = f.logText.str();
  size_t n = 0;
  for (size_t at = log.find("shadowed"); at != std::string::npos; at = log.find("shadowed", at + 1))
    ++n;
  EXPECT_EQ(n, 2u) << log;  // one line per upstream, not per version
  EXPECT_NE(log.find("metrics=ours"), std::string::npos) << log;
  EXPECT_NE(log.find("metrics=pods/ours"), std::string::npos) << log;
  EXPECT_EQ(log.find("theirs"), std::string::npos) << log;
}

TEST(UpstreamCatalog, RefreshesInTheBackgroundAndStopsPromptly) {
  CatalogFixture f;
  f.catalog.start();
  f.ext.list("v1beta1", {{"late", true}});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!f.catalog.current()->lists(0, "v1beta1", "late") &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(f.catalog.current()->lists(0, "v1beta1", "late"));
  auto t0 = std::chrono::steady_clock::now();
  f.catalog.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}
