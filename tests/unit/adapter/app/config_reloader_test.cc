// Config loading and reloading: a broken first config stops startup, a
// changed valid one becomes a new generation, and a broken new one leaves
// the old one serving.
#include "adapter/app/config_reloader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapter/kube/builtin_resources.h"
#include "fake_clock.h"
#include "fake_prometheus.h"
#include "rules/config.h"

using namespace adapter;

namespace {

const char* kOneRule = R"(externalRules:
- seriesQuery: 'queue_depth'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
)";
const char* kTwoRules = R"(externalRules:
- seriesQuery: 'queue_depth'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
- seriesQuery: 'jobs_waiting'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
)";
// Parses as YAML; the template does not compile (an unclosed action).
const char* kBrokenTemplate = R"(externalRules:
- seriesQuery: 'queue_depth'
  metricsQuery: sum(<<.Series)
)";

struct Fixture {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("ma-reload-" + std::to_string(::getpid()) + "-" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml"))
                         .string();
  mocks::FakePrometheus backend;
  ServingState state;
  mocks::FakeClock clock;
  std::ostringstream logs;
  common::Logger log{logs, 0, common::Logger::Format::Text};
  Relister relister{backend, state, clock, nullptr, log, RelistOptions{}};
  SelfMetrics metrics;
  ConfigReloader reloader{path, builtinResources(), relister, metrics, log};

  Fixture() {
    backend.answerSeries("queue_depth", {{"queue_depth", {"queue"}}});
    backend.answerSeries("jobs_waiting", {{"jobs_waiting", {"queue"}}});
  }
  ~Fixture() { std::filesystem::remove(path); }
  void write(const std::string& content) { std::ofstream(path, std::ios::trunc) << content; }
  // What the relister serves after its next relist.
  std::shared_ptr<const Snapshot> served() {
    EXPECT_TRUE(relister.relistOnce());
    return state.current();
  }
  // A line of the self-metrics exposition, e.g. the config generation.
  std::string metricLine(const std::string& name) {
    std::istringstream in(metrics.text());
    for (std::string line; std::getline(in, line);)
      if (line.rfind(name + " ", 0) == 0 || line.rfind(name + "{", 0) == 0) return line;
    return "";
  }
};

}  // namespace

TEST(ConfigReloader, TheFirstLoadThrowsOnABrokenFile) {
  Fixture f;
  f.write(kBrokenTemplate);
  try {
    f.reloader.loadInitial();
    FAIL() << "accepted a broken config";
  } catch (const rules::ConfigError& e) {
    ASSERT_FALSE(e.diagnostics().empty());
    EXPECT_EQ(e.diagnostics()[0].file, f.path);
    EXPECT_EQ(e.diagnostics()[0].pos.line, 3) << e.what();
    EXPECT_EQ(e.diagnostics()[0].context, "externalRules[0].metricsQuery") << e.what();
  }
  EXPECT_EQ(f.reloader.generation(), 0u);
  EXPECT_FALSE(f.relister.relistOnce()) << "no rules were handed to the relister";
  std::filesystem::remove(f.path);
  try {
    f.reloader.loadInitial();
    FAIL() << "loaded a file that is not there";
  } catch (const rules::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), f.path + ": cannot read the config file");
  }
}

TEST(ConfigReloader, TheFirstLoadIsGenerationOne) {
  Fixture f;
  f.write(kOneRule);
  f.reloader.loadInitial();
  EXPECT_EQ(f.reloader.generation(), 1u);
  auto snap = f.served();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->configGeneration, 1u);
  EXPECT_EQ(snap->catalog.externalMetrics(), std::vector<std::string>{"queue_depth"});
  EXPECT_EQ(f.metricLine("metrics_adapter_config_generation"),
            "metrics_adapter_config_generation 1");
  EXPECT_EQ(f.metricLine("metrics_adapter_config_last_reload_successful"),
            "metrics_adapter_config_last_reload_successful 1");
  EXPECT_NE(f.logs.str().find("loaded config"), std::string::npos) << f.logs.str();
}

TEST(ConfigReloader, AnUnchangedFileIsNotReloaded) {
  Fixture f;
  f.write(kOneRule);
  f.reloader.loadInitial();
  EXPECT_FALSE(f.reloader.reload(false));
  f.write(kOneRule);  // rewritten, same content
  EXPECT_FALSE(f.reloader.reload(false));
  EXPECT_EQ(f.reloader.generation(), 1u);
  // SIGHUP forces it.
  EXPECT_TRUE(f.reloader.reload(true));
  EXPECT_EQ(f.reloader.generation(), 2u);
  EXPECT_EQ(f.served()->configGeneration, 2u);
}

TEST(ConfigReloader, AChangedValidFileIsANewGeneration) {
  Fixture f;
  f.write(kOneRule);
  f.reloader.loadInitial();
  f.write(kTwoRules);
  EXPECT_TRUE(f.reloader.reload(false));
  EXPECT_EQ(f.reloader.generation(), 2u);
  auto snap = f.served();
  EXPECT_EQ(snap->configGeneration, 2u);
  EXPECT_EQ(snap->catalog.externalMetrics(),
            (std::vector<std::string>{"jobs_waiting", "queue_depth"}));
  EXPECT_EQ(f.metricLine("metrics_adapter_config_generation"),
            "metrics_adapter_config_generation 2");
  EXPECT_NE(f.logs.str().find("reloaded config"), std::string::npos) << f.logs.str();
}

TEST(ConfigReloader, ABrokenNewFileKeepsTheOldConfig) {
  Fixture f;
  f.write(kOneRule);
  f.reloader.loadInitial();
  ASSERT_TRUE(f.served());
  f.write(kBrokenTemplate);
  EXPECT_FALSE(f.reloader.reload(false));
  EXPECT_EQ(f.reloader.generation(), 1u);
  EXPECT_EQ(f.served()->configGeneration, 1u);
  EXPECT_EQ(f.metricLine("metrics_adapter_config_last_reload_successful"),
            "metrics_adapter_config_last_reload_successful 0");
  EXPECT_EQ(f.metricLine("metrics_adapter_config_generation"),
            "metrics_adapter_config_generation 1");
  EXPECT_NE(f.logs.str().find("config reload rejected; keeping the previous config"),
            std::string::npos)
      << f.logs.str();
  EXPECT_NE(f.logs.str().find(f.path + ":3:"), std::string::npos)
      << "the problem with its position: " << f.logs.str();
  // Fixed: accepted as the next generation.
  f.write(kTwoRules);
  EXPECT_TRUE(f.reloader.reload(false));
  EXPECT_EQ(f.reloader.generation(), 2u);
  EXPECT_EQ(f.metricLine("metrics_adapter_config_last_reload_successful"),
            "metrics_adapter_config_last_reload_successful 1");
}

TEST(ConfigReloader, AnUnreadableFileKeepsTheOldConfig) {
  Fixture f;
  f.write(kOneRule);
  f.reloader.loadInitial();
  std::filesystem::remove(f.path);
  EXPECT_FALSE(f.reloader.reload(false));
  EXPECT_EQ(f.logs.str().find("config reload failed"), std::string::npos)
      << "a file being replaced is not worth an error";
  EXPECT_FALSE(f.reloader.reload(true));
  EXPECT_NE(f.logs.str().find("config reload failed; keeping the previous config"),
            std::string::npos)
      << f.logs.str();
  EXPECT_EQ(f.reloader.generation(), 1u);
  EXPECT_EQ(f.served()->configGeneration, 1u);
}

TEST(ConfigReloader, RecompileIsANewGenerationOfTheSameConfig) {
  Fixture f;
  f.write(kTwoRules);
  f.reloader.loadInitial();
  EXPECT_TRUE(f.reloader.recompile());
  EXPECT_EQ(f.reloader.generation(), 2u);
  auto snap = f.served();
  EXPECT_EQ(snap->configGeneration, 2u);
  EXPECT_EQ(snap->catalog.externalMetrics().size(), 2u);
}

// New API resources recompile the serving config even while the file on
// disk is broken; a fixed file then compiles as usual.
TEST(ConfigReloader, RecompileKeepsTheServingConfigWhileTheFileIsBroken) {
  Fixture f;
  f.write(kTwoRules);
  f.reloader.loadInitial();
  f.write(kBrokenTemplate);
  EXPECT_FALSE(f.reloader.reload(false));
  EXPECT_EQ(f.reloader.generation(), 1u);
  EXPECT_TRUE(f.reloader.recompile()) << f.logs.str();
  EXPECT_EQ(f.reloader.generation(), 2u);
  auto snap = f.served();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->configGeneration, 2u);
  EXPECT_EQ(snap->catalog.externalMetrics().size(), 2u) << "the two rules of the serving config";
  f.write(kOneRule);
  EXPECT_TRUE(f.reloader.reload(false));
  EXPECT_EQ(f.served()->catalog.externalMetrics().size(), 1u);
}
