// `metrics-adapter rules check|explain`: exit codes, where output goes,
// and config problems reported with file:line:col.
#include "adapter/app/rules_cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace adapter;

namespace {

const char* kValid = R"(rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
externalRules:
- seriesQuery: 'queue_depth'
  resources: {namespaced: false}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
)";

// Two problems, one in each rule: an unknown key, a wrong type.
const char* kInvalid = R"(rules:
- seriesQuery: 'a'
  resources:
    template: <<.Resource>>
  metricsQuery: sum(<<.Series>>)
  bogus: 1
- seriesQuery: 'b'
  resources:
    template: <<.Resource>>
  name:
    matches: [not, a, string]
  metricsQuery: sum(<<.Series>>)
)";

// Valid YAML, but a name pattern that does not compile.
const char* kBadRegex = R"(externalRules:
- seriesQuery: 'queue_depth'
  name:
    matches: '^(unclosed'
  metricsQuery: sum(<<.Series>>)
)";

struct CliRun {
  int code = -1;
  std::string out, err;
};

class RulesCli : public ::testing::Test {
 protected:
  std::string file(const std::string& name, const std::string& content) {
    auto p = std::filesystem::temp_directory_path() /
             ("ma-rules-cli-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(p) << content;
    files_.push_back(p);
    return p.string();
  }
  void TearDown() override {
    for (const auto& p : files_) std::filesystem::remove(p);
  }
  static CliRun run(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    CliRun r;
    r.code = runRulesCommand(args, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

 private:
  std::vector<std::filesystem::path> files_;
};

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_F(RulesCli, CheckAcceptsAValidConfig) {
  std::string cfg = file("valid.yaml", kValid);
  CliRun r = run({"check", "--config", cfg});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, cfg + ": OK: 1 rules, 1 external rules, no resourceRules\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(run({"check", "--config=" + cfg}).code, 0);
}

TEST_F(RulesCli, CheckWarnsAboutRulesWithoutANamespaceLabel) {
  std::string cfg = file("warn.yaml", R"(rules:
- seriesQuery: 'node_temp'
  resources:
    overrides:
      node: {resource: node}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: 'queue_depth'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
)");
  CliRun r = run({"check", "--config", cfg});
  EXPECT_EQ(r.code, 0) << "warnings are not errors";
  EXPECT_NE(r.out.find("warning: externalRules[0]: namespaced external rule without a namespace "
                       "label"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("warning: rules[0]: no label names namespaces"), std::string::npos) << r.out;
}

TEST_F(RulesCli, CheckReportsEveryProblemWithItsPosition) {
  std::string cfg = file("invalid.yaml", kInvalid);
  CliRun r = run({"check", "--config", cfg});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "") << "nothing on stdout for a broken config";
  std::istringstream lines(r.err);
  std::vector<std::string> got;
  for (std::string l; std::getline(lines, l);) got.push_back(l);
  ASSERT_EQ(got.size(), 3u) << r.err;
  EXPECT_TRUE(startsWith(got[0], "error: " + cfg + ":6:3: rules[0]")) << got[0];
  EXPECT_NE(got[0].find("bogus"), std::string::npos) << got[0];
  EXPECT_TRUE(startsWith(got[1], "error: " + cfg + ":11:")) << got[1];
  EXPECT_NE(got[1].find("rules[1].name.matches"), std::string::npos) << got[1];
  EXPECT_EQ(got[2], "2 problem(s) in " + cfg);
  // Problems found when compiling have positions too.
  std::string regex = file("regex.yaml", kBadRegex);
  r = run({"check", "--config", regex});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(startsWith(r.err, "error: " + regex + ":4:")) << r.err;
  EXPECT_NE(r.err.find("externalRules[0].name.matches"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\n1 problem(s) in " + regex + "\n"), std::string::npos) << r.err;
}

TEST_F(RulesCli, CheckOnAMissingFile) {
  std::string missing = (std::filesystem::temp_directory_path() / "ma-rules-cli-nothing.yaml");
  CliRun r = run({"check", "--config", missing});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: " + missing + ": cannot read the config file\n1 problem(s) in " +
                       missing + "\n");
}

TEST_F(RulesCli, UsageErrorsExitWith2) {
  CliRun r = run({});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(startsWith(r.err, "usage:\n  metrics-adapter rules check --config FILE\n")) << r.err;
  EXPECT_EQ(r.out, "");
  r = run({"lint", "--config", "x.yaml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(startsWith(r.err, "usage:")) << r.err;
  r = run({"check"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(startsWith(r.err, "error: --config is required\nusage:")) << r.err;
  r = run({"check", "--config", "x.yaml", "--frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(startsWith(r.err, "error: ")) << r.err;
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage:"), std::string::npos) << r.err;
  r = run({"check", "--config"});
  EXPECT_EQ(r.code, 2) << "a flag without its value";
  EXPECT_NE(r.err.find("config"), std::string::npos) << r.err;
}

TEST_F(RulesCli, HelpGoesToStdout) {
  for (const char* verb : {"check", "explain"}) {
    CliRun r = run({verb, "--help"});
    EXPECT_EQ(r.code, 0) << verb;
    EXPECT_TRUE(startsWith(r.out, "usage:\n")) << r.out;
    EXPECT_NE(r.out.find("metrics-adapter rules explain --config FILE --prometheus-url URL"),
              std::string::npos);
    EXPECT_EQ(r.err, "");
  }
}

TEST_F(RulesCli, ExplainChecksFirstThenNeedsABackend) {
  std::string bad = file("invalid.yaml", kInvalid);
  EXPECT_EQ(run({"explain", "--config", bad, "--prometheus-url", "http://127.0.0.1:1"}).code, 1)
      << "a broken config stops before discovery";
  std::string cfg = file("valid.yaml", kValid);
  CliRun r = run({"explain", "--config", cfg});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, cfg + ": OK: 1 rules, 1 external rules, no resourceRules\n");
  EXPECT_EQ(r.err, "error: explain needs --prometheus-url\n");
  r = run({"explain", "--config", cfg, "--prometheus-url", "http://127.0.0.1:1",
           "--metrics-max-age", "forever"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "error: --metrics-max-age=forever: expected a duration such as 30s, 10m or 1h30m\n");
  r = run({"explain", "--config", cfg, "--prometheus-url", "http://127.0.0.1:1",
           "--prometheus-header", "NoValue"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "error: --prometheus-header=NoValue: expected Key=Value\n");
  r = run({"explain", "--config", cfg, "--prometheus-url", "http://127.0.0.1:1",
           "--prometheus-header", "=v"});
  EXPECT_EQ(r.code, 2) << "an empty header name, refused as the server's flag refuses it";
  EXPECT_EQ(r.err, "error: --prometheus-header==v: expected Key=Value\n");
}

TEST_F(RulesCli, ExplainWithAnUnreachableBackendExitsWith1) {
  std::string cfg = file("valid.yaml", kValid);
  // Port 1 on loopback: refused at once.
  CliRun r = run({"explain", "--config", cfg, "--prometheus-url", "http://127.0.0.1:1",
                  "--prometheus-timeout", "5s"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("Discovery: series of the last 10m from http://127.0.0.1:1"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(startsWith(r.err, "error: ")) << r.err;
  EXPECT_EQ(r.out.find("Custom metrics"), std::string::npos) << "no catalog without discovery";
}
