// Authentication settings from flags and from kube-apiserver's
// extension-apiserver-authentication ConfigMap.
#include "adapter/kube/authentication_source.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fake_clock.h"
#include "test_pki.h"

using namespace adapter;

TEST(AuthenticationSource, ConfigMapFillsWhatFlagsDoNotSet) {
  testsupport::TestCa proxyCa("front-proxy-ca"), clientCa("client-ca");
  mocks::FakeClock clock;
  apiservice::DelegatingAuthenticator authn(nullptr, clock, {});
  std::ostringstream logs;
  common::Logger log(logs, 0, common::Logger::Format::Text);
  AuthenticationSource source({}, authn, log);
  EXPECT_TRUE(source.needsConfigMap());
  KubeObject cm;
  cm.name = kAuthConfigMapName;
  cm.data = {{"client-ca-file", clientCa.pem()},
             {"requestheader-client-ca-file", proxyCa.pem()},
             {"requestheader-allowed-names", "[\"front-proxy-client\"]"},
             {"requestheader-username-headers", "[\"X-Remote-User\"]"},
             {"requestheader-group-headers", "[\"X-Remote-Group\"]"},
             {"requestheader-extra-headers-prefix", "[\"X-Remote-Extra-\"]"}};
  source.replaceAll({cm});
  auto cfg = authn.config();
  ASSERT_TRUE(cfg.clientCA);
  ASSERT_TRUE(cfg.requestHeader.clientCA);
  EXPECT_EQ(cfg.requestHeader.allowedNames, std::vector<std::string>{"front-proxy-client"});
  EXPECT_EQ(cfg.requestHeader.usernameHeaders, std::vector<std::string>{"X-Remote-User"});

  // A broken update keeps the previous settings.
  KubeObject broken = cm;
  broken.data["requestheader-allowed-names"] = "not json";
  source.apply(WatchEvent::Type::Modified, std::move(broken));
  EXPECT_EQ(authn.config().requestHeader.allowedNames,
            std::vector<std::string>{"front-proxy-client"});
  EXPECT_NE(logs.str().find("keeping the previous authentication settings"), std::string::npos);

  // Deleted: front-proxy and client certificates no longer authenticate.
  source.apply(WatchEvent::Type::Deleted, KubeObject(cm));
  EXPECT_FALSE(authn.config().requestHeader.clientCA);
  EXPECT_FALSE(authn.config().clientCA);
}

TEST(AuthenticationSource, FlagsWinOverTheConfigMap) {
  testsupport::TestCa flagCa("flag-ca"), mapCa("map-ca");
  std::string file = std::filesystem::temp_directory_path() / "ma-flag-ca.pem";
  std::ofstream(file) << flagCa.pem();
  mocks::FakeClock clock;
  apiservice::DelegatingAuthenticator authn(nullptr, clock, {});
  std::ostringstream logs;
  common::Logger log(logs, 0, common::Logger::Format::Text);
  AuthenticationFlags flags;
  flags.requestHeaderClientCAFile = file;
  flags.requestHeaderAllowedNames = {"aggregator"};
  AuthenticationSource source(flags, authn, log);
  source.loadFiles();
  EXPECT_TRUE(source.needsConfigMap()) << "the client CA still comes from the ConfigMap";
  source.applyConfigMapData({{"client-ca-file", mapCa.pem()},
                             {"requestheader-client-ca-file", mapCa.pem()},
                             {"requestheader-allowed-names", "[\"front-proxy-client\"]"}});
  auto cfg = authn.config();
  EXPECT_EQ(cfg.requestHeader.clientCA->source(), file);
  EXPECT_EQ(cfg.requestHeader.allowedNames, std::vector<std::string>{"aggregator"});
  EXPECT_EQ(cfg.requestHeader.usernameHeaders, std::vector<std::string>{"X-Remote-User"});
  ASSERT_TRUE(cfg.clientCA);
  EXPECT_NE(cfg.clientCA->source().find("client-ca-file"), std::string::npos);
  std::filesystem::remove(file);
}
