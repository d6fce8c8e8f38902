// metrics-adapter's flags: defaults, durations, lists and repeatable
// flags, and errors that name the flag at fault.
#include "adapter/app/options.h"

#include <gtest/gtest.h>

using namespace adapter;
using namespace std::chrono_literals;

namespace {

AdapterOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "--config=rules.yaml");
  return parseAdapterOptions(args).options;
}

// The message parseAdapterOptions refuses `args` with ("" when accepted).
std::string refusal(std::vector<std::string> args, bool withConfig = true) {
  if (withConfig) args.insert(args.begin(), "--config=rules.yaml");
  try {
    parseAdapterOptions(args);
    return "";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

using Strings = std::vector<std::string>;

}  // namespace

TEST(AdapterOptions, Defaults) {
  ParsedOptions p = parseAdapterOptions({"--config", "rules.yaml"});
  EXPECT_FALSE(p.helpRequested);
  const AdapterOptions& o = p.options;
  EXPECT_EQ(o.configFile, "rules.yaml");
  EXPECT_FALSE(o.standalone);
  EXPECT_EQ(o.prometheus.url, "http://localhost:9090");
  EXPECT_EQ(o.prometheus.verb, "GET");
  EXPECT_EQ(o.prometheus.timeout, 10s);
  EXPECT_TRUE(o.prometheus.headers.empty());
  EXPECT_EQ(o.relist.interval, 10min);
  EXPECT_EQ(o.relist.maxAge, 10min) << "defaults to the relist interval";
  EXPECT_TRUE(o.queueStats.address.empty());
  EXPECT_EQ(o.queueStats.maxAge, 2min);
  EXPECT_EQ(o.server.port, 6443);
  EXPECT_EQ(o.server.bindAddress, "0.0.0.0");
  EXPECT_FALSE(o.bindAddressSet);
  EXPECT_EQ(o.server.threads, 0) << "one per core";
  EXPECT_EQ(o.server.requestTimeout, 60s);
  EXPECT_EQ(o.server.requestHeaderTimeout, 10s);
  EXPECT_EQ(o.server.maxRequestsInflight, 400);
  EXPECT_EQ(o.prometheus.maxInflight, 100u);
  EXPECT_EQ(o.prometheus.maxResponseBytes, 64ull << 20);
  EXPECT_EQ(o.certDir, "apiserver.local.config/certificates");
  EXPECT_TRUE(o.tlsCertFile.empty());
  EXPECT_EQ(o.shutdownGracePeriod, 10s);
  EXPECT_EQ(o.verbosity, 0);
  EXPECT_EQ(o.logFormat, common::Logger::Format::Text);
  const KubernetesOptions& k = o.kubernetes;
  EXPECT_TRUE(k.listerKubeconfig.empty());
  EXPECT_EQ(k.qps, 20);
  EXPECT_EQ(k.burst, 40);
  EXPECT_EQ(k.discoveryInterval, 1min);
  EXPECT_EQ(k.tokenCacheTtl, 10s);
  EXPECT_EQ(k.authorizedCacheTtl, 10s);
  EXPECT_EQ(k.unauthorizedCacheTtl, 10s);
  EXPECT_EQ(k.alwaysAllowPaths, (Strings{"/healthz", "/readyz", "/livez"}));
  EXPECT_TRUE(k.authentication.requestHeaderAllowedNames.empty());
  EXPECT_EQ(k.authentication.requestHeaderUsernameHeaders, Strings{"X-Remote-User"});
  EXPECT_EQ(k.authentication.requestHeaderGroupHeaders, Strings{"X-Remote-Group"});
  EXPECT_EQ(k.authentication.requestHeaderExtraHeadersPrefix, Strings{"X-Remote-Extra-"});
  EXPECT_TRUE(k.authentication.requestHeaderUidHeaders.empty());
  EXPECT_FALSE(k.authentication.skipLookup);
}

TEST(AdapterOptions, HelpNeedsNothingElse) {
  for (const char* flag : {"--help", "-h"}) {
    ParsedOptions p = parseAdapterOptions({flag});
    EXPECT_TRUE(p.helpRequested) << flag;
    EXPECT_NE(p.helpText.find("--prometheus-url"), std::string::npos) << p.helpText;
    EXPECT_NE(p.helpText.find("--requestheader-client-ca-file"), std::string::npos);
    EXPECT_NE(p.helpText.find("Log verbosity"), std::string::npos);
  }
  // The help text is there without --help too (for usage errors).
  EXPECT_NE(parseAdapterOptions({"--config=x"}).helpText.find("--config"), std::string::npos);
}

TEST(AdapterOptions, Durations) {
  AdapterOptions o =
      parse({"--metrics-relist-interval=1h30m", "--prometheus-timeout=500ms",
             "--shutdown-grace-period=2s", "--queue-stats-max-age=45s", "--discovery-interval=30s",
             "--authentication-token-webhook-cache-ttl=1m",
             "--authorization-webhook-cache-authorized-ttl=2m",
             "--authorization-webhook-cache-unauthorized-ttl=3s"});
  EXPECT_EQ(o.relist.interval, 90min);
  EXPECT_EQ(o.relist.maxAge, 90min);
  EXPECT_EQ(o.prometheus.timeout, 500ms);
  EXPECT_EQ(o.shutdownGracePeriod, 2s);
  EXPECT_EQ(o.queueStats.maxAge, 45s);
  EXPECT_EQ(o.kubernetes.discoveryInterval, 30s);
  EXPECT_EQ(o.kubernetes.tokenCacheTtl, 1min);
  EXPECT_EQ(o.kubernetes.authorizedCacheTtl, 2min);
  EXPECT_EQ(o.kubernetes.unauthorizedCacheTtl, 3s);
  o = parse({"--metrics-relist-interval=1m", "--metrics-max-age=1d"});
  EXPECT_EQ(o.relist.interval, 1min);
  EXPECT_EQ(o.relist.maxAge, 24h);
}

TEST(AdapterOptions, ABadDurationNamesTheFlag) {
  EXPECT_EQ(refusal({"--prometheus-timeout=10"}),
            "--prometheus-timeout=10: expected a duration such as 30s, 10m or 1h30m");
  EXPECT_EQ(refusal({"--metrics-relist-interval=0s"}),
            "--metrics-relist-interval=0s: expected a duration such as 30s, 10m or 1h30m")
      << "zero is not an interval";
  EXPECT_EQ(refusal({"--metrics-max-age=soon"}).rfind("--metrics-max-age=soon: ", 0), 0u);
  EXPECT_EQ(refusal({"--shutdown-grace-period=1m1h"}).rfind("--shutdown-grace-period=1m1h: ", 0),
            0u);
  EXPECT_EQ(refusal({"--queue-stats-max-age=x"}).rfind("--queue-stats-max-age=x: ", 0), 0u);
  EXPECT_EQ(refusal({"--discovery-interval=-1m"}).rfind("--discovery-interval=-1m: ", 0), 0u);
  EXPECT_EQ(refusal({"--authorization-webhook-cache-unauthorized-ttl=1"})
                .rfind("--authorization-webhook-cache-unauthorized-ttl=1: ", 0),
            0u);
}

TEST(AdapterOptions, BadValuesNameTheFlag) {
  EXPECT_EQ(refusal({"--secure-port=70000"}), "--secure-port must be 0-65535");
  EXPECT_EQ(refusal({"--secure-port=-1"}), "--secure-port must be 0-65535");
  EXPECT_NE(refusal({"--secure-port=https"}).find("--secure-port"), std::string::npos)
      << refusal({"--secure-port=https"});
  EXPECT_EQ(refusal({"--prometheus-verb=PUT"}), "--prometheus-verb must be GET or POST");
  EXPECT_EQ(refusal({"--log-format=xml"}), "--log-format must be text or json");
  EXPECT_EQ(refusal({"--server-threads=-1"}), "--server-threads must be 0 (one per core) or more");
  EXPECT_EQ(refusal({"--max-requests-inflight=-1"}), "--max-requests-inflight must be 0 or more");
  EXPECT_EQ(refusal({"--prometheus-max-inflight=-5"}),
            "--prometheus-max-inflight must be 0 or more");
  EXPECT_EQ(refusal({"--prometheus-max-response-bytes=lots"}),
            "--prometheus-max-response-bytes=lots: expected a byte count such as 67108864, 64Mi "
            "or 1Gi");
  EXPECT_EQ(refusal({"--request-timeout=0s"}),
            "--request-timeout=0s: expected a duration such as 30s, 10m or 1h30m");
  EXPECT_EQ(refusal({"--kube-api-qps=-1"}), "--kube-api-qps must not be negative");
  EXPECT_EQ(refusal({"--kube-api-burst=0"}), "--kube-api-burst must be at least 1");
  EXPECT_EQ(refusal({"--prometheus-header=X-Scope-OrgID"}),
            "--prometheus-header=X-Scope-OrgID: expected Key=Value");
  EXPECT_EQ(refusal({"--prometheus-header==tenant"}),
            "--prometheus-header==tenant: expected Key=Value")
      << "an empty key";
  EXPECT_NE(refusal({"--no-such-flag"}).find("--no-such-flag"), std::string::npos)
      << refusal({"--no-such-flag"});
  EXPECT_NE(refusal({"--prometheus"}).find("--prometheus"), std::string::npos)
      << "no guessing from a prefix: " << refusal({"--prometheus"});
  EXPECT_EQ(refusal({}, false), "--config is required");
}

TEST(AdapterOptions, FlagsThatGoTogether) {
  EXPECT_EQ(refusal({"--tls-cert-file=c.pem"}),
            "--tls-cert-file and --tls-private-key-file go together");
  EXPECT_EQ(refusal({"--tls-private-key-file=k.pem"}),
            "--tls-cert-file and --tls-private-key-file go together");
  EXPECT_EQ(refusal({"--tls-cert-file=c.pem", "--tls-private-key-file=k.pem"}), "");
  EXPECT_EQ(refusal({"--queue-stats-address=q:9309", "--queue-stats-client-cert=c.pem"}),
            "--queue-stats-client-cert and --queue-stats-client-key go together");
  EXPECT_EQ(refusal({"--queue-stats-ca-file=ca.pem"}),
            "--queue-stats-ca-file and --queue-stats-client-cert need --queue-stats-address");
  EXPECT_EQ(
      refusal({"--requestheader-client-ca-file=ca.pem", "--requestheader-username-headers= , "}),
      "--requestheader-username-headers must name at least one header when "
      "--requestheader-client-ca-file is set");
}

TEST(AdapterOptions, StandaloneBindsLocallyAndRefusesClusterFlags) {
  AdapterOptions o = parse({"--standalone"});
  EXPECT_TRUE(o.standalone);
  EXPECT_EQ(o.server.bindAddress, "127.0.0.1");
  EXPECT_FALSE(o.bindAddressSet);
  o = parse({"--standalone", "--bind-address=0.0.0.0", "--secure-port=0"});
  EXPECT_EQ(o.server.bindAddress, "0.0.0.0");
  EXPECT_TRUE(o.bindAddressSet);
  EXPECT_EQ(o.server.port, 0);
  for (const char* flag :
       {"lister-kubeconfig", "authentication-kubeconfig", "authorization-kubeconfig",
        "client-ca-file", "requestheader-client-ca-file"}) {
    EXPECT_EQ(refusal({"--standalone", std::string("--") + flag + "=x"}),
              std::string("--") + flag +
                  " has no effect with --standalone (no Kubernetes connection, no "
                  "authentication)");
  }
}

TEST(AdapterOptions, RepeatedAndListFlags) {
  AdapterOptions o = parse({"--prometheus-header", "X-Scope-OrgID=tenant-1",
                            "--prometheus-header=Authorization=Bearer a=b", "--v=4",
                            "--log-format=json", "--requestheader-allowed-names= front-proxy , ,x",
                            "--requestheader-group-headers=X-Group,X-Team",
                            "--authorization-always-allow-paths=/healthz,/metrics/*"});
  EXPECT_EQ(o.prometheus.headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-Scope-OrgID", "tenant-1"},
                                                              {"Authorization", "Bearer a=b"}}))
      << "in order; the value keeps its own '='";
  EXPECT_EQ(o.verbosity, 4);
  EXPECT_EQ(o.logFormat, common::Logger::Format::Json);
  EXPECT_EQ(o.kubernetes.authentication.requestHeaderAllowedNames, (Strings{"front-proxy", "x"}));
  EXPECT_EQ(o.kubernetes.authentication.requestHeaderGroupHeaders, (Strings{"X-Group", "X-Team"}));
  EXPECT_EQ(o.kubernetes.alwaysAllowPaths, (Strings{"/healthz", "/metrics/*"}));
  // A single-valued flag given twice is an error, not "the last one wins".
  EXPECT_NE(
      refusal({"--prometheus-url=http://a", "--prometheus-url=http://b"}).find("--prometheus-url"),
      std::string::npos);
}

TEST(AdapterOptions, SplitListTrimsAndDropsBlanks) {
  EXPECT_EQ(splitList(""), Strings{});
  EXPECT_EQ(splitList(" , ,"), Strings{});
  EXPECT_EQ(splitList("a"), Strings{"a"});
  EXPECT_EQ(splitList(" a ,\tb\t,c,"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(splitList("with space, x"), (Strings{"with space", "x"}));
}

TEST(AdapterOptions, ParseDurationFlag) {
  EXPECT_EQ(parseDurationFlag("f", "1h"), 1h);
  EXPECT_THROW(parseDurationFlag("f", "0s"), std::invalid_argument);
  try {
    parseDurationFlag("some-flag", "ten");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()),
              "--some-flag=ten: expected a duration such as 30s, 10m or 1h30m");
  }
}

TEST(AdapterOptions, UpstreamFlagsApplyToEveryFlagGivenUpstream) {
  auto o = parse({"--external-metrics-upstream=https://keda.keda.svc:443",
                  "--external-metrics-upstream=https://dd.datadog.svc",
                  "--custom-metrics-upstream=https://pa.monitoring.svc", "--upstream-ca-file=/ca",
                  "--upstream-token-file=/token", "--upstream-timeout=2s",
                  "--upstream-discovery-interval=10s", "--upstream-max-inflight=7",
                  "--upstream-max-response-bytes=1Mi"});
  const auto& u = o.upstreams;
  ASSERT_EQ(u.upstreams.size(), 3u);
  EXPECT_EQ(u.upstreams[0].url, "https://keda.keda.svc:443");
  EXPECT_EQ(u.upstreams[1].url, "https://dd.datadog.svc");
  EXPECT_EQ(u.upstreams[1].api, apiservice::MetricsApi::External);
  EXPECT_EQ(u.upstreams[2].api, apiservice::MetricsApi::Custom);
  for (const auto& one : u.upstreams) {
    EXPECT_EQ(one.tls.caFile, "/ca");
    EXPECT_EQ(one.tokenFile, "/token");
    EXPECT_EQ(one.timeout, 2s);
  }
  EXPECT_EQ(u.discoveryInterval, 10s);
  EXPECT_EQ(u.maxInflight, 7u);
  EXPECT_EQ(u.maxResponseBytes, 1u << 20);
  auto none = parse({});
  EXPECT_TRUE(none.upstreams.upstreams.empty());
  EXPECT_EQ(none.upstreams.discoveryInterval, 30s);
}

TEST(AdapterOptions, UpstreamMistakesNameTheFlag) {
  EXPECT_EQ(refusal({"--external-metrics-upstream=http://keda"}),
            "--external-metrics-upstream=http://keda: must be an https:// URL");
  EXPECT_NE(refusal({"--upstream-ca-file=/ca"}).find("need --external-metrics-upstream"),
            std::string::npos);
  EXPECT_NE(refusal({"--custom-metrics-upstream=https://a", "--upstream-client-cert=/c"})
                .find("--upstream-client-cert and --upstream-client-key go together"),
            std::string::npos);
  EXPECT_NE(refusal({"--upstreams-config=/x.yaml", "--external-metrics-upstream=https://a"})
                .find("use one or the other"),
            std::string::npos);
  EXPECT_NE(refusal({"--upstreams-config=/nonexistent.yaml"}).find("cannot read /nonexistent.yaml"),
            std::string::npos);
  EXPECT_NE(refusal({"--upstream-timeout=never", "--external-metrics-upstream=https://a"})
                .find("--upstream-timeout=never"),
            std::string::npos);
}
