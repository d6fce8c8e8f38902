// What users deploy: the Helm chart rendered as `helm template` renders it
// (tests/helm/chart_render.go), the plain manifests under examples/deploy
// (rendered offline by `kubectl kustomize`), and the HPA examples, whose
// stated replica counts are checked against a real Prometheus holding the
// numbers they are explained with.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <yaml-cpp/yaml.h>

#include <boost/beast/core/detail/base64.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "test_pki.h"
#include "test_support.h"

using nlohmann::json;
using namespace testsupport;
using namespace std::chrono_literals;

namespace {

struct CommandResult {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion; stdout and stderr kept apart.
CommandResult run(const TempDir& dir, const std::vector<std::string>& argv) {
  static int n = 0;
  std::string base = dir.file("run" + std::to_string(++n));
  std::vector<std::string> sh{"sh", "-c",
                              "exec \"$0\" \"$@\" > '" + base + ".out' 2> '" + base + ".err'"};
  sh.insert(sh.end(), argv.begin(), argv.end());
  ChildProcess p(sh, base + ".log");
  CommandResult r;
  r.code = p.waitExit(120s);
  r.out = readFile(base + ".out");
  r.err = readFile(base + ".err");
  return r;
}

std::vector<YAML::Node> documents(const std::string& text) {
  std::vector<YAML::Node> out;
  for (auto& d : YAML::LoadAll(text))
    if (d.IsMap()) out.push_back(d);
  return out;
}

std::string b64decode(const std::string& in) {
  std::string out(boost::beast::detail::base64::decoded_size(in.size()), '\0');
  auto [written, read] = boost::beast::detail::base64::decode(out.data(), in.data(), in.size());
  out.resize(written);
  return out;
}

class Rendered {
 public:
  explicit Rendered(std::vector<YAML::Node> docs) : docs_(std::move(docs)) {}
  std::vector<YAML::Node> all(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const auto& d : docs_)
      if (d["kind"].as<std::string>() == kind) out.push_back(d);
    return out;
  }
  YAML::Node one(const std::string& kind, const std::string& name) const {
    for (const auto& d : docs_)
      if (d["kind"].as<std::string>() == kind && d["metadata"]["name"].as<std::string>() == name)
        return d;
    ADD_FAILURE() << "no " << kind << " " << name;
    return YAML::Node();
  }
  std::multiset<std::string> kinds() const {
    std::multiset<std::string> k;
    for (const auto& d : docs_) k.insert(d["kind"].as<std::string>());
    return k;
  }
  std::set<std::string> names(const std::string& kind) const {
    std::set<std::string> out;
    for (const auto& d : all(kind)) out.insert(d["metadata"]["name"].as<std::string>());
    return out;
  }
  const std::vector<YAML::Node>& docs() const { return docs_; }

 private:
  std::vector<YAML::Node> docs_;
};

std::vector<std::string> argsOf(const YAML::Node& deployment) {
  std::vector<std::string> out;
  for (const auto& a : deployment["spec"]["template"]["spec"]["containers"][0]["args"])
    out.push_back(a.as<std::string>());
  return out;
}

std::string argValue(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a.rfind(flag + "=", 0) == 0) return a.substr(flag.size() + 1);
  return "";
}

// Whether `leafPem` chains to `caPem`: for `purpose` (X509_PURPOSE_SSL_CLIENT
// or _SERVER; 0: any), valid for `host` and with subject CN `cn` when given.
bool chainsFor(const std::string& caPem, const std::string& leafPem, int purpose,
               const std::string& cn = "", const std::string& host = "") {
  auto load = [](const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return x;
  };
  X509* ca = load(caPem);
  X509* leaf = load(leafPem);
  bool ok = false;
  if (ca && leaf) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, nullptr);
    if (purpose) X509_STORE_CTX_set_purpose(ctx, purpose);
    ok = X509_verify_cert(ctx) == 1;
    if (ok && !host.empty()) ok = X509_check_host(leaf, host.data(), host.size(), 0, nullptr) == 1;
    if (ok && !cn.empty()) {
      char buf[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, buf, sizeof buf);
      ok = cn == buf;
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
  }
  X509_free(ca);
  X509_free(leaf);
  return ok;
}

// Whether `leafPem` chains to `caPem` and is valid for `host`.
bool verifies(const std::string& caPem, const std::string& leafPem, const std::string& host) {
  return chainsFor(caPem, leafPem, 0, "", host);
}

// The container's volume mount of `name` (a null node when none).
YAML::Node volumeMount(const YAML::Node& container, const std::string& name) {
  for (const auto& m : container["volumeMounts"])
    if (m["name"].as<std::string>() == name) return m;
  return YAML::Node();
}

std::string secretVolume(const YAML::Node& deployment, const std::string& volume) {
  for (const auto& v : deployment["spec"]["template"]["spec"]["volumes"])
    if (v["name"].as<std::string>() == volume && v["secret"])
      return v["secret"]["secretName"].as<std::string>();
  return "";
}

class HelmChart : public ::testing::Test {
 protected:
  // Renders the chart with `values` files (written into the temp dir when
  // given as text) into objects, after checking kubectl parses them as
  // Kubernetes objects.
  Rendered render(const std::vector<std::string>& valueTexts,
                  const std::string& ns = "monitoring") {
    CommandResult r = renderRaw(valueTexts, ns);
    EXPECT_EQ(r.code, 0) << r.err;
    writeFile(dir_.file("k/rendered.yaml"), r.out);
    writeFile(dir_.file("k/kustomization.yaml"), "resources: [rendered.yaml]\n");
    CommandResult k = run(dir_, {"kubectl", "kustomize", dir_.file("k")});
    EXPECT_EQ(k.code, 0) << "kubectl cannot read the rendered objects: " << k.err;
    return Rendered(documents(r.out));
  }
  // `extra`: more chart-render flags (-show-only).
  CommandResult renderRaw(const std::vector<std::string>& valueTexts,
                          const std::string& ns = "monitoring",
                          const std::vector<std::string>& extra = {}) {
    std::filesystem::create_directories(dir_.file("k"));
    std::vector<std::string> argv{binary("chart-render"),
                                  "-chart",
                                  sourceDir() + "/charts/metrics-adapter",
                                  "-name",
                                  "metrics-adapter",
                                  "-namespace",
                                  ns};
    for (const auto& v : valueTexts) {
      std::string path = v.find('\n') == std::string::npos
                             ? v
                             : dir_.file("values" + std::to_string(++files_) + ".yaml");
      if (path != v) writeFile(path, v);
      argv.insert(argv.end(), {"-f", path});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(dir_, argv);
  }
  // The flags are all known to the binary (its parser runs before --help).
  void expectFlagsAccepted(const std::string& bin, std::vector<std::string> args) {
    args.insert(args.begin(), binary(bin.c_str()));
    args.push_back("--help");
    CommandResult r = run(dir_, args);
    EXPECT_EQ(r.code, 0) << bin << " refused its rendered flags: " << r.err << r.out;
  }
  // The ConfigMap's rules pass `metrics-adapter rules check`.
  void expectRulesValid(const Rendered& objects, const std::string& name) {
    writeFile(dir_.file("rules.yaml"),
              objects.one("ConfigMap", name)["data"]["config.yaml"].as<std::string>());
    CommandResult r = run(
        dir_, {binary("metrics-adapter"), "rules", "check", "--config", dir_.file("rules.yaml")});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
  }
  static void expectCommonRbac(const Rendered& o, const std::string& sa, const std::string& ns) {
    auto delegator = o.one("ClusterRoleBinding", "metrics-adapter:system:auth-delegator");
    EXPECT_EQ(delegator["roleRef"]["name"].as<std::string>(), "system:auth-delegator");
    EXPECT_EQ(delegator["subjects"][0]["name"].as<std::string>(), sa);
    EXPECT_EQ(delegator["subjects"][0]["namespace"].as<std::string>(), ns);
    auto reader = o.one("RoleBinding", "metrics-adapter-auth-reader");
    EXPECT_EQ(reader["metadata"]["namespace"].as<std::string>(), "kube-system");
    EXPECT_EQ(reader["roleRef"]["kind"].as<std::string>(), "Role");
    EXPECT_EQ(reader["roleRef"]["name"].as<std::string>(),
              "extension-apiserver-authentication-reader");
    auto hpa = o.one("ClusterRoleBinding", "metrics-adapter-hpa-metrics-reader");
    EXPECT_EQ(hpa["subjects"][0]["name"].as<std::string>(), "horizontal-pod-autoscaler");
    for (const auto& rule : o.one("ClusterRole", "metrics-adapter-resource-reader")["rules"]) {
      for (const auto& r : rule["resources"])
        EXPECT_NE(r.as<std::string>(), "secrets") << "never Secrets";
      for (const auto& v : rule["verbs"])
        EXPECT_TRUE(v.as<std::string>() == "get" || v.as<std::string>() == "list" ||
                    v.as<std::string>() == "watch");
    }
  }
  static std::set<std::string> resourcesFor(const Rendered& o, const std::string& group) {
    std::set<std::string> out;
    for (const auto& rule : o.one("ClusterRole", "metrics-adapter-resource-reader")["rules"])
      if (rule["apiGroups"][0].as<std::string>() == group)
        for (const auto& r : rule["resources"]) out.insert(r.as<std::string>());
    return out;
  }
  TempDir dir_;
  int files_ = 0;
};

}  // namespace

TEST_F(HelmChart, DefaultValues) {
  Rendered o = render({});
  EXPECT_EQ(o.kinds(),
            (std::multiset<std::string>{"APIService", "APIService", "ClusterRole", "ClusterRole",
                                        "ClusterRoleBinding", "ClusterRoleBinding",
                                        "ClusterRoleBinding", "ConfigMap", "Deployment",
                                        "RoleBinding", "Secret", "Service", "ServiceAccount"}));
  // Only the custom metrics APIs: the default rules have no external or resource rules.
  EXPECT_EQ(o.names("APIService"), (std::set<std::string>{"v1beta1.custom.metrics.k8s.io",
                                                          "v1beta2.custom.metrics.k8s.io"}));
  auto v2 = o.one("APIService", "v1beta2.custom.metrics.k8s.io");
  EXPECT_EQ(v2["spec"]["service"]["name"].as<std::string>(), "metrics-adapter");
  EXPECT_EQ(v2["spec"]["service"]["namespace"].as<std::string>(), "monitoring");
  EXPECT_EQ(v2["spec"]["service"]["port"].as<int>(), 443);
  EXPECT_EQ(v2["spec"]["versionPriority"].as<int>(), 200) << "v1beta2 preferred";
  EXPECT_FALSE(v2["spec"]["insecureSkipTLSVerify"].as<bool>());
  // kube-apiserver verifies the adapter: the generated CA in caBundle signs
  // the serving certificate for the service's name.
  auto secret = o.one("Secret", "metrics-adapter-tls");
  std::string ca = b64decode(v2["spec"]["caBundle"].as<std::string>());
  EXPECT_EQ(ca, b64decode(secret["data"]["ca.crt"].as<std::string>()));
  EXPECT_TRUE(verifies(ca, b64decode(secret["data"]["tls.crt"].as<std::string>()),
                       "metrics-adapter.monitoring.svc"));
  EXPECT_EQ(b64decode(o.one("APIService", "v1beta1.custom.metrics.k8s.io")["spec"]["caBundle"]
                          .as<std::string>()),
            ca);

  auto deploy = o.one("Deployment", "metrics-adapter");
  auto args = argsOf(deploy);
  EXPECT_EQ(argValue(args, "--prometheus-url"), "http://prometheus.default.svc:9090");
  EXPECT_EQ(argValue(args, "--tls-cert-file"), "/var/run/serving-cert/tls.crt");
  expectFlagsAccepted("metrics-adapter", args);
  expectRulesValid(o, "metrics-adapter");
  auto pod = deploy["spec"]["template"]["spec"];
  auto c = pod["containers"][0];
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["scheme"].as<std::string>(), "HTTPS");
  EXPECT_EQ(c["ports"][0]["name"].as<std::string>(),
            c["readinessProbe"]["httpGet"]["port"].as<std::string>());
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 6443);
  EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), "metrics-adapter");
  EXPECT_EQ(pod["volumes"][0]["configMap"]["name"].as<std::string>(), "metrics-adapter");
  EXPECT_EQ(pod["volumes"][1]["secret"]["secretName"].as<std::string>(), "metrics-adapter-tls");
  auto svc = o.one("Service", "metrics-adapter");
  for (const auto& kv : svc["spec"]["selector"])
    EXPECT_EQ(deploy["spec"]["template"]["metadata"]["labels"][kv.first.as<std::string>()]
                  .as<std::string>(),
              kv.second.as<std::string>());
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"].as<std::string>(), "https");
  expectCommonRbac(o, "metrics-adapter", "monitoring");
  EXPECT_EQ(resourcesFor(o, ""),
            (std::set<std::string>{"namespaces", "pods", "nodes", "services"}));
}

TEST_F(HelmChart, PrometheusAdapterValuesCarryOver) {
  TestCa ca("values CA");
  CertOptions so("metrics-adapter");
  so.dnsNames = {"metrics-adapter.monitoring.svc"};
  so.serverAuth = true;
  KeyPair leaf = ca.issue(so);
  auto indent = [](const std::string& pem) {
    std::string out;
    for (char ch : pem) {
      out += ch;
      if (ch == '\n') out += "    ";
    }
    return out;
  };
  std::string tls = "tls:\n  enable: true\n  ca: |\n    " + indent(ca.pem()) +
                    "\n  certificate: |\n    " + indent(leaf.certPem) + "\n  key: |\n    " +
                    indent(leaf.keyPem) + "\n";
  Rendered o = render({dataDir() + "/helm/prometheus-adapter-values.yaml", tls});
  EXPECT_EQ(o.names("APIService"),
            (std::set<std::string>{"v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io",
                                   "v1beta1.external.metrics.k8s.io", "v1beta1.metrics.k8s.io"}));
  for (const auto& api : o.all("APIService"))
    EXPECT_EQ(b64decode(api["spec"]["caBundle"].as<std::string>()), ca.pem()) << "the given CA";
  EXPECT_EQ(b64decode(o.one("Secret", "metrics-adapter-tls")["data"]["tls.crt"].as<std::string>()),
            leaf.certPem);
  auto deploy = o.one("Deployment", "metrics-adapter");
  auto args = argsOf(deploy);
  EXPECT_EQ(argValue(args, "--prometheus-url"), "http://prometheus.monitoring.svc:9090/prom");
  EXPECT_EQ(argValue(args, "--metrics-relist-interval"), "30s");
  EXPECT_EQ(argValue(args, "--v"), "6");
  expectFlagsAccepted("metrics-adapter", args);
  EXPECT_EQ(deploy["spec"]["replicas"].as<int>(), 2);
  EXPECT_EQ(
      deploy["spec"]["template"]["metadata"]["annotations"]["example.com/team"].as<std::string>(),
      "platform");
  EXPECT_EQ(deploy["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
                .as<std::string>(),
            "100m");
  expectRulesValid(o, "metrics-adapter");
  std::string config =
      o.one("ConfigMap", "metrics-adapter")["data"]["config.yaml"].as<std::string>();
  YAML::Node cfg = YAML::Load(config);
  EXPECT_EQ(cfg["rules"].size(), 3u) << "rules.default: false leaves only the custom rules";
  EXPECT_EQ(cfg["externalRules"].size(), 1u);
  EXPECT_EQ(cfg["resourceRules"]["window"].as<std::string>(), "3m");
  auto pdb = o.one("PodDisruptionBudget", "metrics-adapter");
  EXPECT_EQ(pdb["spec"]["minAvailable"].as<int>(), 1);
  // RBAC covers what the rules' overrides name, in their groups.
  EXPECT_TRUE(resourcesFor(o, "example.com").count("widgets"));
  EXPECT_TRUE(resourcesFor(o, "argoproj.io").count("rollouts"));
  expectCommonRbac(o, "metrics-adapter", "monitoring");
  auto readers = o.one("ClusterRole", "metrics-adapter-metrics-reader")["rules"];
  EXPECT_EQ(readers.size(), 2u) << "metrics.k8s.io too, with resource rules";
}

TEST_F(HelmChart, QueueStatsWithMutualTls) {
  Rendered o = render(
      {"queueStats:\n  enabled: true\n  tls:\n    enabled: true\n  config:\n    interval: 10s\n"
       "    kafka:\n      - name: main\n        bootstrapServers: kafka:9092\n        groups: "
       "[orders]\n"
       "    sqs:\n      region: eu-west-1\n      queues: [jobs]\n"
       "  serviceAccount:\n    annotations:\n      eks.amazonaws.com/role-arn: "
       "arn:aws:iam::1:role/qs\n"});
  EXPECT_TRUE(o.names("APIService").count("v1beta1.external.metrics.k8s.io"))
      << "the feed serves external metrics";
  auto qs = o.one("Deployment", "metrics-adapter-queue-stats");
  auto qsArgs = argsOf(qs);
  expectFlagsAccepted("queue-stats", qsArgs);
  EXPECT_EQ(argValue(qsArgs, "--grpc-listen"), ":9309");
  EXPECT_EQ(argValue(qsArgs, "--grpc-client-ca-file"), "/var/run/queue-stats-tls/ca.crt");
  writeFile(
      dir_.file("qs.yaml"),
      o.one("ConfigMap", "metrics-adapter-queue-stats")["data"]["config.yaml"].as<std::string>());
  CommandResult check =
      run(dir_, {binary("queue-stats"), "--config", dir_.file("qs.yaml"), "--check-config"});
  EXPECT_EQ(check.code, 0) << check.err;
  auto svc = o.one("Service", "metrics-adapter-queue-stats");
  EXPECT_EQ(svc["spec"]["ports"][1]["port"].as<int>(), 9309);
  auto args = argsOf(o.one("Deployment", "metrics-adapter"));
  EXPECT_EQ(argValue(args, "--queue-stats-address"), "metrics-adapter-queue-stats:9309");
  EXPECT_EQ(argValue(args, "--queue-stats-client-cert"), "/var/run/queue-stats-tls/tls.crt");
  expectFlagsAccepted("metrics-adapter", args);
  // One CA: the server certificate is valid for the service name, and the
  // adapter's client certificate chains to the CA queue-stats requires.
  auto server = o.one("Secret", "metrics-adapter-queue-stats-tls")["data"];
  auto client = o.one("Secret", "metrics-adapter-queue-stats-client-tls")["data"];
  std::string ca = b64decode(server["ca.crt"].as<std::string>());
  EXPECT_TRUE(verifies(ca, b64decode(server["tls.crt"].as<std::string>()),
                       "metrics-adapter-queue-stats.monitoring.svc"));
  EXPECT_TRUE(verifies(ca, b64decode(client["tls.crt"].as<std::string>()), "queue-stats-client"));
  EXPECT_EQ(
      o.one("ServiceAccount",
            "metrics-adapter-queue-stats")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
          .as<std::string>(),
      "arn:aws:iam::1:role/qs");
  auto probes = qs["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(probes["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
}

TEST_F(HelmChart, ExistingRulesSelfSignedAndMistakes) {
  Rendered o = render({"rules:\n  existing: my-rules\ntls:\n  generate: false\n"});
  EXPECT_TRUE(o.all("ConfigMap").empty()) << "the existing ConfigMap is used";
  EXPECT_TRUE(o.all("Secret").empty());
  auto pod = o.one("Deployment", "metrics-adapter")["spec"]["template"]["spec"];
  EXPECT_EQ(pod["volumes"][0]["configMap"]["name"].as<std::string>(), "my-rules");
  EXPECT_TRUE(pod["volumes"][1]["emptyDir"].IsMap());
  EXPECT_EQ(argValue(argsOf(o.one("Deployment", "metrics-adapter")), "--cert-dir"),
            "/var/run/serving-cert");
  EXPECT_EQ(o.names("APIService").size(), 3u)
      << "existing rules may hold any kind: custom and external";
  for (const auto& api : o.all("APIService"))
    EXPECT_TRUE(api["spec"]["insecureSkipTLSVerify"].as<bool>());

  CommandResult r = renderRaw({"tls:\n  enable: true\n"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("tls.ca is required"), std::string::npos) << r.err;
  r = renderRaw({"queueStats:\n  enabled: true\n"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("queueStats.config.kafka"), std::string::npos) << r.err;
}

namespace {
const char* kQueueStatsOn =
    "queueStats:\n  enabled: true\n  config:\n    kafka:\n      - name: main\n"
    "        bootstrapServers: kafka:9092\n        groups: [orders]\n";
const char* kQsName = "metrics-adapter-queue-stats";
std::string secretData(const YAML::Node& secret, const char* key) {
  return b64decode(secret["data"][key].as<std::string>());
}
}  // namespace

// queue-stats' gRPC is mutual TLS unless turned off: a generated CA, the
// server certificate for the Service's names, and client certificates for
// the adapter (mounted) and KEDA (a Secret for a TriggerAuthentication).
TEST_F(HelmChart, QueueStatsTlsByDefault) {
  Rendered o = render({kQueueStatsOn});
  auto qs = o.one("Deployment", kQsName);
  auto qsArgs = argsOf(qs);
  EXPECT_EQ(argValue(qsArgs, "--grpc-tls-cert-file"), "/var/run/queue-stats-tls/tls.crt");
  EXPECT_EQ(argValue(qsArgs, "--grpc-tls-private-key-file"), "/var/run/queue-stats-tls/tls.key");
  EXPECT_EQ(argValue(qsArgs, "--grpc-client-ca-file"), "/var/run/queue-stats-tls/ca.crt")
      << "client certificates are required";
  EXPECT_EQ(argValue(qsArgs, "--grpc-max-streams"), "1000");
  expectFlagsAccepted("queue-stats", qsArgs);
  EXPECT_EQ(secretVolume(qs, "tls"), "metrics-adapter-queue-stats-tls");

  auto adapter = o.one("Deployment", "metrics-adapter");
  auto args = argsOf(adapter);
  EXPECT_EQ(argValue(args, "--queue-stats-ca-file"), "/var/run/queue-stats-tls/ca.crt");
  EXPECT_EQ(argValue(args, "--queue-stats-client-cert"), "/var/run/queue-stats-tls/tls.crt");
  EXPECT_EQ(argValue(args, "--queue-stats-client-key"), "/var/run/queue-stats-tls/tls.key");
  expectFlagsAccepted("metrics-adapter", args);
  EXPECT_EQ(secretVolume(adapter, "queue-stats-tls"), "metrics-adapter-queue-stats-client-tls");

  // Whole-directory mounts (a subPath mount never sees a Secret's update,
  // and both reload certificates when the files change).
  for (const auto* d : {&qs, &adapter}) {
    for (const auto& m : (*d)["spec"]["template"]["spec"]["containers"][0]["volumeMounts"])
      EXPECT_FALSE(m["subPath"]) << (*d)["metadata"]["name"] << " " << m["name"];
  }
  YAML::Node qsMount = volumeMount(qs["spec"]["template"]["spec"]["containers"][0], "tls");
  ASSERT_TRUE(qsMount.IsMap());
  EXPECT_EQ(qsMount["mountPath"].as<std::string>(), "/var/run/queue-stats-tls");
  YAML::Node adapterMount =
      volumeMount(adapter["spec"]["template"]["spec"]["containers"][0], "queue-stats-tls");
  ASSERT_TRUE(adapterMount.IsMap());
  EXPECT_EQ(adapterMount["mountPath"].as<std::string>(), "/var/run/queue-stats-tls");

  // One CA; the server certificate for every name the Service is dialled
  // by; two client certificates, the adapter's and KEDA's, apart.
  std::string ca = secretData(o.one("Secret", "metrics-adapter-queue-stats-ca"), "tls.crt");
  auto server = o.one("Secret", "metrics-adapter-queue-stats-tls");
  auto client = o.one("Secret", "metrics-adapter-queue-stats-client-tls");
  auto keda = o.one("Secret", "metrics-adapter-queue-stats-keda-tls");
  for (const auto* s : {&server, &client, &keda}) {
    EXPECT_EQ(secretData(*s, "ca.crt"), ca) << (*s)["metadata"]["name"];
    EXPECT_EQ((*s)["type"].as<std::string>(), "kubernetes.io/tls");
    EXPECT_EQ((*s)["metadata"]["namespace"].as<std::string>(), "monitoring");
  }
  for (const char* host : {"metrics-adapter-queue-stats", "metrics-adapter-queue-stats.monitoring",
                           "metrics-adapter-queue-stats.monitoring.svc",
                           "metrics-adapter-queue-stats.monitoring.svc.cluster.local"})
    EXPECT_TRUE(verifies(ca, secretData(server, "tls.crt"), host)) << host;
  EXPECT_TRUE(chainsFor(ca, secretData(server, "tls.crt"), X509_PURPOSE_SSL_SERVER));
  EXPECT_TRUE(
      chainsFor(ca, secretData(client, "tls.crt"), X509_PURPOSE_SSL_CLIENT, "queue-stats-client"));
  EXPECT_TRUE(
      chainsFor(ca, secretData(keda, "tls.crt"), X509_PURPOSE_SSL_CLIENT, "queue-stats-keda"));
  EXPECT_NE(secretData(keda, "tls.key"), secretData(client, "tls.key")) << "KEDA has its own key";
  EXPECT_NE(secretData(keda, "tls.crt"), secretData(client, "tls.crt"));
  EXPECT_NE(secretData(keda, "tls.key").find("PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(o.all("NetworkPolicy").empty()) << "off by default";

  // NOTES.txt: how to give KEDA the Secret.
  CommandResult notes = renderRaw({kQueueStatsOn}, "monitoring", {"-notes"});
  ASSERT_EQ(notes.code, 0) << notes.err;
  for (const char* want :
       {"TriggerAuthentication",
        "{parameter: caCert, name: metrics-adapter-queue-stats-keda-tls, key: ca.crt}",
        "{parameter: tlsClientCert, name: metrics-adapter-queue-stats-keda-tls, key: tls.crt}",
        "{parameter: tlsClientKey, name: metrics-adapter-queue-stats-keda-tls, key: tls.key}",
        "scalerAddress: metrics-adapter-queue-stats.monitoring.svc:9309", "authenticationRef:"})
    EXPECT_NE(notes.out.find(want), std::string::npos) << want << "\n" << notes.out;

  // The KEDA Secret can go to KEDA's namespace (ClusterTriggerAuthentication).
  Rendered k = render({kQueueStatsOn, "queueStats:\n  tls:\n    keda:\n      namespace: keda\n"});
  EXPECT_EQ(k.one("Secret", "metrics-adapter-queue-stats-keda-tls")["metadata"]["namespace"]
                .as<std::string>(),
            "keda");
  // Off: no Secrets, no TLS flags; grpcMaxStreams still wired.
  Rendered off =
      render({kQueueStatsOn, "queueStats:\n  tls:\n    enabled: false\n  grpcMaxStreams: 250\n"});
  EXPECT_EQ(off.names("Secret"), (std::set<std::string>{"metrics-adapter-tls"}));
  auto offArgs = argsOf(off.one("Deployment", kQsName));
  EXPECT_EQ(argValue(offArgs, "--grpc-client-ca-file"), "");
  EXPECT_EQ(argValue(offArgs, "--grpc-max-streams"), "250");
  EXPECT_EQ(argValue(argsOf(off.one("Deployment", "metrics-adapter")), "--queue-stats-ca-file"),
            "");
  CommandResult bad = renderRaw({kQueueStatsOn, "queueStats:\n  grpcMaxStreams: 0\n"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("grpcMaxStreams must be at least 1"), std::string::npos) << bad.err;
}

// helm upgrade keeps the generated certificates (lookup of the Secrets in
// the cluster), and certificates added later are signed by the same CA.
TEST_F(HelmChart, QueueStatsCertificatesSurviveUpgrade) {
  auto secrets = [](const Rendered& o) {
    std::map<std::string, std::string> out;
    for (const auto& s : o.all("Secret"))
      for (const auto& kv : s["data"])
        out[s["metadata"]["name"].as<std::string>() + "/" + kv.first.as<std::string>()] =
            kv.second.as<std::string>();
    return out;
  };
  auto cluster = [&](const Rendered& o, const std::set<std::string>& drop) {
    std::string text;
    for (const auto& d : o.docs())
      if (!drop.count(d["metadata"]["name"].as<std::string>()) ||
          d["kind"].as<std::string>() != "Secret")
        text += "---\n" + YAML::Dump(d) + "\n";
    std::string path = dir_.file("cluster" + std::to_string(++files_) + ".yaml");
    writeFile(path, text);
    return path;
  };
  auto upgrade = [&](const std::string& clusterFile) {
    CommandResult r = renderRaw({kQueueStatsOn}, "monitoring", {"-cluster", clusterFile});
    EXPECT_EQ(r.code, 0) << r.err;
    return Rendered(documents(r.out));
  };
  Rendered first = render({kQueueStatsOn});
  Rendered again = render({kQueueStatsOn});
  EXPECT_NE(secrets(first), secrets(again)) << "a fresh install generates new ones";

  Rendered upgraded = upgrade(cluster(first, {}));
  EXPECT_EQ(secrets(upgraded), secrets(first)) << "upgrade keeps every certificate";

  // KEDA's Secret missing (deleted, or added by this chart version): a new
  // certificate from the kept CA; the others unchanged.
  Rendered kedaAdded = upgrade(cluster(first, {"metrics-adapter-queue-stats-keda-tls"}));
  auto before = secrets(first), after = secrets(kedaAdded);
  for (const auto& [k, v] : before) {
    if (k.rfind("metrics-adapter-queue-stats-keda-tls/", 0) != 0) {
      EXPECT_EQ(after[k], v) << k;
    }
  }
  auto keda = kedaAdded.one("Secret", "metrics-adapter-queue-stats-keda-tls");
  EXPECT_NE(secretData(keda, "tls.crt"),
            b64decode(before["metrics-adapter-queue-stats-keda-tls/tls.crt"]));
  std::string ca = secretData(kedaAdded.one("Secret", "metrics-adapter-queue-stats-ca"), "tls.crt");
  EXPECT_TRUE(
      chainsFor(ca, secretData(keda, "tls.crt"), X509_PURPOSE_SSL_CLIENT, "queue-stats-keda"));

  // No CA Secret (an install from before it was kept): a new CA, and every
  // certificate re-issued from it, so they still agree.
  Rendered noCa = upgrade(cluster(first, {"metrics-adapter-queue-stats-ca"}));
  std::string newCa = secretData(noCa.one("Secret", "metrics-adapter-queue-stats-ca"), "tls.crt");
  EXPECT_NE(newCa, secretData(first.one("Secret", "metrics-adapter-queue-stats-ca"), "tls.crt"));
  for (const char* s : {"metrics-adapter-queue-stats-tls", "metrics-adapter-queue-stats-client-tls",
                        "metrics-adapter-queue-stats-keda-tls"}) {
    auto secret = noCa.one("Secret", s);
    EXPECT_EQ(secretData(secret, "ca.crt"), newCa) << s;
    EXPECT_TRUE(chainsFor(newCa, secretData(secret, "tls.crt"), X509_PURPOSE_ANY)) << s;
  }
}

// Secrets of one's own (cert-manager's, say) instead of generated ones.
TEST_F(HelmChart, QueueStatsExistingSecrets) {
  Rendered o = render({kQueueStatsOn,
                       "queueStats:\n  tls:\n    existingSecrets:\n      server: qs-server\n"
                       "      adapter: qs-adapter\n      keda: qs-keda\n"});
  EXPECT_EQ(o.names("Secret"), (std::set<std::string>{"metrics-adapter-tls"}))
      << "nothing generated for queue-stats";
  EXPECT_EQ(secretVolume(o.one("Deployment", kQsName), "tls"), "qs-server");
  auto adapter = o.one("Deployment", "metrics-adapter");
  EXPECT_EQ(secretVolume(adapter, "queue-stats-tls"), "qs-adapter");
  EXPECT_EQ(argValue(argsOf(adapter), "--queue-stats-client-key"),
            "/var/run/queue-stats-tls/tls.key");
  CommandResult notes =
      renderRaw({kQueueStatsOn,
                 "queueStats:\n  tls:\n    existingSecrets:\n      server: qs-server\n"
                 "      adapter: qs-adapter\n      keda: qs-keda\n"},
                "monitoring", {"-notes"});
  EXPECT_NE(notes.out.find("{parameter: tlsClientKey, name: qs-keda, key: tls.key}"),
            std::string::npos)
      << notes.out;

  CommandResult r =
      renderRaw({kQueueStatsOn, "queueStats:\n  tls:\n    existingSecrets:\n      server: qs\n"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("give both server and adapter"), std::string::npos) << r.err;
  r = renderRaw({kQueueStatsOn, "queueStats:\n  tls:\n    existingSecrets:\n      keda: qs\n"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("existingSecrets.keda needs"), std::string::npos) << r.err;
}

TEST_F(HelmChart, QueueStatsNetworkPolicy) {
  auto labelsMatch = [](const YAML::Node& selector, const YAML::Node& labels) {
    if (!selector["matchLabels"] || selector["matchLabels"].size() == 0) return false;
    for (const auto& kv : selector["matchLabels"])
      if (!labels[kv.first.as<std::string>()] ||
          labels[kv.first.as<std::string>()].as<std::string>() != kv.second.as<std::string>())
        return false;
    return true;
  };
  Rendered o = render({kQueueStatsOn, "queueStats:\n  networkPolicy:\n    enabled: true\n"});
  ASSERT_EQ(o.all("NetworkPolicy").size(), 1u);
  auto np = o.one("NetworkPolicy", kQsName)["spec"];
  auto qsLabels = o.one("Deployment", kQsName)["spec"]["template"]["metadata"]["labels"];
  auto adapterLabels =
      o.one("Deployment", "metrics-adapter")["spec"]["template"]["metadata"]["labels"];
  EXPECT_TRUE(labelsMatch(np["podSelector"], qsLabels));
  EXPECT_FALSE(labelsMatch(np["podSelector"], adapterLabels));
  EXPECT_EQ(np["policyTypes"].size(), 1u);
  EXPECT_EQ(np["policyTypes"][0].as<std::string>(), "Ingress");
  ASSERT_EQ(np["ingress"].size(), 2u);
  auto grpc = np["ingress"][0];
  ASSERT_EQ(grpc["ports"].size(), 1u);
  EXPECT_EQ(grpc["ports"][0]["port"].as<int>(), 9309);
  ASSERT_EQ(grpc["from"].size(), 2u);
  EXPECT_TRUE(labelsMatch(grpc["from"][0]["podSelector"], adapterLabels)) << "the adapter's pods";
  EXPECT_FALSE(grpc["from"][0]["namespaceSelector"]) << "in the policy's namespace";
  EXPECT_EQ(grpc["from"][1]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                .as<std::string>(),
            "keda");
  EXPECT_EQ(grpc["from"][1]["podSelector"]["matchLabels"]["app"].as<std::string>(),
            "keda-operator");
  auto metrics = np["ingress"][1];
  ASSERT_EQ(metrics["ports"].size(), 1u);
  EXPECT_EQ(metrics["ports"][0]["port"].as<int>(), 9308);
  ASSERT_EQ(metrics["from"].size(), 1u);
  EXPECT_EQ(metrics["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                .as<std::string>(),
            "monitoring")
      << "Prometheus in the release's namespace by default";
  EXPECT_EQ(
      metrics["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(),
      "prometheus");

  // Ports and selectors follow the values.
  Rendered c = render(
      {kQueueStatsOn,
       "queueStats:\n  grpcPort: 9400\n  metricsPort: 9401\n  networkPolicy:\n    enabled: true\n"
       "    keda:\n      namespace: autoscaling\n      podSelector:\n        matchLabels:\n"
       "          app: null\n          app.kubernetes.io/name: keda-operator\n"
       "    prometheus:\n      namespaceSelector:\n        matchLabels:\n          team: obs\n"
       "      podSelector: null\n"
       "    extraGrpcFrom:\n      - ipBlock:\n          cidr: 10.1.0.0/16\n"});
  auto cnp = c.one("NetworkPolicy", kQsName)["spec"];
  EXPECT_EQ(cnp["ingress"][0]["ports"][0]["port"].as<int>(), 9400);
  EXPECT_EQ(cnp["ingress"][1]["ports"][0]["port"].as<int>(), 9401);
  auto kedaPeer = cnp["ingress"][0]["from"][1];
  EXPECT_EQ(
      kedaPeer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as<std::string>(),
      "autoscaling");
  EXPECT_EQ(kedaPeer["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(),
            "keda-operator");
  EXPECT_FALSE(kedaPeer["podSelector"]["matchLabels"]["app"]) << "null drops a default label";
  EXPECT_EQ(cnp["ingress"][0]["from"][2]["ipBlock"]["cidr"].as<std::string>(), "10.1.0.0/16");
  auto promPeer = cnp["ingress"][1]["from"][0];
  EXPECT_EQ(promPeer["namespaceSelector"]["matchLabels"]["team"].as<std::string>(), "obs");
  EXPECT_FALSE(promPeer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]);
  EXPECT_TRUE(promPeer["podSelector"].IsMap());
  EXPECT_EQ(promPeer["podSelector"].size(), 0u) << "every pod of the selected namespaces";
  auto qsArgs = argsOf(c.one("Deployment", kQsName));
  EXPECT_EQ(argValue(qsArgs, "--grpc-listen"), ":9400");
  EXPECT_EQ(argValue(qsArgs, "--listen"), ":9401");
}

namespace {
// Upstreams of both kinds: KEDA's external metrics (its CA copied into a
// Secret) and a custom metrics server taking a token of its own and a
// client certificate, its CA from a ConfigMap.
const char* kUpstreams =
    "upstreams:\n"
    "  discoveryInterval: 45s\n"
    "  external:\n"
    "    - url: https://keda-operator-metrics-apiserver.keda.svc:443\n"
    "      ca: {secretName: keda-metrics-ca}\n"
    "  custom:\n"
    "    - url: https://prometheus-adapter.monitoring.svc:443\n"
    "      timeout: 3s\n"
    "      ca: {configMapName: pa-ca, key: bundle.pem}\n"
    "      tokenSecret: {secretName: pa-token, key: sa-token}\n"
    "      clientCertSecret: pa-client-tls\n";

// Where the adapter container finds a file: the volume mounted at the
// file's directory and what that volume holds.
struct MountedFile {
  std::string volume;     // empty: no volume is mounted there
  std::string secret;     // the volume's Secret, or
  std::string configMap;  // its ConfigMap
  std::string key;        // the file's name in the volume: the Secret's or ConfigMap's key
  bool readOnly = false;
  bool subPath = false;
};

MountedFile mountedFile(const YAML::Node& deployment, const std::string& path) {
  MountedFile f;
  auto pod = deployment["spec"]["template"]["spec"];
  std::string best;
  for (const auto& m : pod["containers"][0]["volumeMounts"]) {
    std::string at = m["mountPath"].as<std::string>();
    if (path.rfind(at + "/", 0) == 0 && at.size() > best.size()) {
      best = at;
      f.volume = m["name"].as<std::string>();
      f.readOnly = m["readOnly"] && m["readOnly"].as<bool>();
      f.subPath = static_cast<bool>(m["subPath"]);
    }
  }
  if (f.volume.empty()) return f;
  f.key = path.substr(best.size() + 1);
  for (const auto& v : pod["volumes"]) {
    if (v["name"].as<std::string>() != f.volume) continue;
    if (v["secret"]) f.secret = v["secret"]["secretName"].as<std::string>();
    if (v["configMap"]) f.configMap = v["configMap"]["name"].as<std::string>();
  }
  return f;
}

// The API groups the upstream reader ClusterRole grants get/list on (and
// that its binding gives them to the adapter's service account).
std::set<std::string> upstreamGroups(const Rendered& o) {
  auto role = o.one("ClusterRole", "metrics-adapter-upstream-metrics-reader");
  std::set<std::string> groups;
  for (const auto& rule : role["rules"]) {
    std::set<std::string> resources, verbs;
    for (const auto& r : rule["resources"]) resources.insert(r.as<std::string>());
    for (const auto& v : rule["verbs"]) verbs.insert(v.as<std::string>());
    EXPECT_EQ(resources, (std::set<std::string>{"*"}));
    EXPECT_EQ(verbs, (std::set<std::string>{"get", "list"}));
    for (const auto& g : rule["apiGroups"]) groups.insert(g.as<std::string>());
  }
  auto binding = o.one("ClusterRoleBinding", "metrics-adapter-upstream-metrics-reader");
  EXPECT_EQ(binding["roleRef"]["kind"].as<std::string>(), "ClusterRole");
  EXPECT_EQ(binding["roleRef"]["name"].as<std::string>(),
            "metrics-adapter-upstream-metrics-reader");
  EXPECT_EQ(binding["subjects"].size(), 1u);
  EXPECT_EQ(binding["subjects"][0]["kind"].as<std::string>(), "ServiceAccount");
  EXPECT_EQ(binding["subjects"][0]["name"].as<std::string>(), "metrics-adapter");
  EXPECT_EQ(binding["subjects"][0]["namespace"].as<std::string>(), "monitoring");
  return groups;
}
}  // namespace

// Upstreams: the --upstreams-config file from the values, each upstream's
// CA, token and client certificate mounted where the file says, and RBAC
// for the upstreams to authorize the adapter's service account.
TEST_F(HelmChart, UpstreamsConfigMountsAndRbac) {
  Rendered o = render({kUpstreams, "podAnnotations:\n  example.com/team: platform\n"});
  auto deploy = o.one("Deployment", "metrics-adapter");
  auto args = argsOf(deploy);
  EXPECT_EQ(argValue(args, "--upstream-discovery-interval"), "45s");
  expectFlagsAccepted("metrics-adapter", args);
  std::string configPath = argValue(args, "--upstreams-config");
  ASSERT_FALSE(configPath.empty()) << "no --upstreams-config";
  MountedFile configFile = mountedFile(deploy, configPath);
  EXPECT_EQ(configFile.configMap, "metrics-adapter-upstreams") << configPath;
  EXPECT_EQ(configFile.key, "upstreams.yaml");
  EXPECT_TRUE(configFile.readOnly);
  EXPECT_FALSE(configFile.subPath);

  auto cm = o.one("ConfigMap", "metrics-adapter-upstreams");
  EXPECT_EQ(cm["metadata"]["namespace"].as<std::string>(), "monitoring");
  ASSERT_TRUE(cm["data"]["upstreams.yaml"]) << YAML::Dump(cm);
  YAML::Node cfg = YAML::Load(cm["data"]["upstreams.yaml"].as<std::string>());
  ASSERT_TRUE(cfg["upstreams"].IsSequence()) << cm["data"]["upstreams.yaml"];
  ASSERT_EQ(cfg["upstreams"].size(), 2u);
  auto keda = cfg["upstreams"][0];
  EXPECT_EQ(keda["url"].as<std::string>(), "https://keda-operator-metrics-apiserver.keda.svc:443");
  EXPECT_EQ(keda["api"].as<std::string>(), "external");
  EXPECT_FALSE(keda["tokenFile"]) << "the pod's service-account token (the adapter's default)";
  EXPECT_FALSE(keda["certFile"]);
  EXPECT_FALSE(keda["keyFile"]);
  EXPECT_FALSE(keda["timeout"]) << "the adapter's default";
  auto custom = cfg["upstreams"][1];
  EXPECT_EQ(custom["url"].as<std::string>(), "https://prometheus-adapter.monitoring.svc:443");
  EXPECT_EQ(custom["api"].as<std::string>(), "custom");
  EXPECT_EQ(custom["timeout"].as<std::string>(), "3s");
  std::set<std::string> known{"url",      "api",     "caFile", "tokenFile",
                              "certFile", "keyFile", "timeout"};
  for (const auto& u : cfg["upstreams"])
    for (const auto& kv : u)
      EXPECT_TRUE(known.count(kv.first.as<std::string>())) << kv.first.as<std::string>();

  // Every file the config names is in a read-only directory mount (no
  // subPath, so rotations arrive) of the right Secret or ConfigMap, under
  // the right key.
  struct Want {
    YAML::Node entry;
    const char* field;
    std::string secret, configMap, key;
  };
  std::vector<Want> wants{
      {keda, "caFile", "keda-metrics-ca", "", "ca.crt"},
      {custom, "caFile", "", "pa-ca", "bundle.pem"},
      {custom, "tokenFile", "pa-token", "", "sa-token"},
      {custom, "certFile", "pa-client-tls", "", "tls.crt"},
      {custom, "keyFile", "pa-client-tls", "", "tls.key"},
  };
  std::set<std::string> volumes;
  for (const auto& w : wants) {
    ASSERT_TRUE(w.entry[w.field]) << w.field << " missing:\n" << YAML::Dump(w.entry);
    std::string path = w.entry[w.field].as<std::string>();
    MountedFile f = mountedFile(deploy, path);
    EXPECT_FALSE(f.volume.empty()) << path << " is in no mounted volume";
    EXPECT_EQ(f.secret, w.secret) << path;
    EXPECT_EQ(f.configMap, w.configMap) << path;
    EXPECT_EQ(f.key, w.key) << path;
    EXPECT_TRUE(f.readOnly) << path;
    EXPECT_FALSE(f.subPath) << path;
    volumes.insert(f.volume);
  }
  EXPECT_EQ(volumes.size(), 4u) << "a volume each: KEDA's CA, the CA, the token, the client pair";
  EXPECT_EQ(mountedFile(deploy, custom["certFile"].as<std::string>()).volume,
            mountedFile(deploy, custom["keyFile"].as<std::string>()).volume);
  EXPECT_NE(mountedFile(deploy, keda["caFile"].as<std::string>()).volume,
            mountedFile(deploy, custom["caFile"].as<std::string>()).volume);
  for (const auto& m : deploy["spec"]["template"]["spec"]["containers"][0]["volumeMounts"])
    EXPECT_FALSE(m["subPath"]) << m["name"];

  // The config is hashed into the pod template, so a change rolls the pods;
  // the user's pod annotations stay.
  auto annotations = deploy["spec"]["template"]["metadata"]["annotations"];
  EXPECT_EQ(annotations["example.com/team"].as<std::string>(), "platform");
  ASSERT_TRUE(annotations["checksum/upstreams"]);
  std::string checksum = annotations["checksum/upstreams"].as<std::string>();
  EXPECT_EQ(checksum.size(), 64u);
  Rendered changed = render({kUpstreams,
                             "upstreams:\n  external:\n    - url: https://keda.example.svc:443\n"
                             "      ca: {secretName: keda-metrics-ca}\n"});
  EXPECT_NE(changed
                .one("Deployment", "metrics-adapter")["spec"]["template"]["metadata"]["annotations"]
                                                     ["checksum/upstreams"]
                .as<std::string>(),
            checksum);

  // Both APIs upstreamed: both groups readable, and both APIs registered.
  EXPECT_EQ(upstreamGroups(o),
            (std::set<std::string>{"custom.metrics.k8s.io", "external.metrics.k8s.io"}));
  EXPECT_TRUE(o.names("APIService").count("v1beta1.external.metrics.k8s.io"))
      << "KEDA's metrics are served through the adapter's external metrics API";
  expectCommonRbac(o, "metrics-adapter", "monitoring");

  // One API only: the RBAC covers that one.
  Rendered external = render(
      {"upstreams:\n  external:\n    - url: https://keda-operator-metrics-apiserver.keda.svc:443\n"
       "      ca: {secretName: keda-metrics-ca}\n"});
  EXPECT_EQ(upstreamGroups(external), (std::set<std::string>{"external.metrics.k8s.io"}));
  EXPECT_TRUE(external.names("APIService").count("v1beta1.external.metrics.k8s.io"))
      << "no external rules: registered for the upstream";
  Rendered customOnly =
      render({"rules:\n  default: false\n"
              "upstreams:\n  custom:\n    - url: https://prometheus-adapter.monitoring.svc:443\n"});
  EXPECT_EQ(upstreamGroups(customOnly), (std::set<std::string>{"custom.metrics.k8s.io"}));
  EXPECT_EQ(
      customOnly.names("APIService"),
      (std::set<std::string>{"v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io"}))
      << "no custom rules: registered for the upstream";
  YAML::Node noCa =
      YAML::Load(customOnly.one("ConfigMap", "metrics-adapter-upstreams")["data"]["upstreams.yaml"]
                     .as<std::string>())["upstreams"][0];
  EXPECT_FALSE(noCa["caFile"]) << "no ca: the system trust store";
  EXPECT_EQ(
      customOnly.one("Deployment", "metrics-adapter")["spec"]["template"]["spec"]["volumes"].size(),
      3u)
      << "config, serving-cert, upstreams-config";

  // rbac.create false: no RBAC, the rest as before.
  Rendered noRbac = render({kUpstreams, "rbac:\n  create: false\n"});
  EXPECT_TRUE(noRbac.names("ClusterRole").empty());
  EXPECT_TRUE(noRbac.names("ClusterRoleBinding").empty());
  EXPECT_TRUE(noRbac.names("ConfigMap").count("metrics-adapter-upstreams"));

  // NOTES.txt names the upstreams and the ClusterRole.
  CommandResult notes = renderRaw({kUpstreams}, "monitoring", {"-notes"});
  ASSERT_EQ(notes.code, 0) << notes.err;
  for (const char* want : {"external: https://keda-operator-metrics-apiserver.keda.svc:443",
                           "custom: https://prometheus-adapter.monitoring.svc:443",
                           "metrics-adapter-upstream-metrics-reader"})
    EXPECT_NE(notes.out.find(want), std::string::npos) << want << "\n" << notes.out;
}

TEST_F(HelmChart, NoUpstreamsNoneOfIt) {
  for (const char* values :
       {"upstreams:\n  external: []\n  custom: []\n", "upstreams:\n  discoveryInterval: \"\"\n"}) {
    Rendered o = render({values});
    EXPECT_FALSE(o.names("ConfigMap").count("metrics-adapter-upstreams")) << values;
    for (const char* kind : {"ClusterRole", "ClusterRoleBinding"})
      for (const auto& n : o.names(kind)) EXPECT_EQ(n.find("upstream"), std::string::npos) << n;
    auto deploy = o.one("Deployment", "metrics-adapter");
    for (const auto& a : argsOf(deploy)) EXPECT_EQ(a.find("--upstream"), std::string::npos) << a;
    auto pod = deploy["spec"]["template"]["spec"];
    for (const auto& v : pod["volumes"])
      EXPECT_EQ(v["name"].as<std::string>().find("upstream"), std::string::npos) << v["name"];
    for (const auto& m : pod["containers"][0]["volumeMounts"])
      EXPECT_EQ(m["name"].as<std::string>().find("upstream"), std::string::npos) << m["name"];
    EXPECT_FALSE(deploy["spec"]["template"]["metadata"]["annotations"]);
    EXPECT_EQ(o.names("APIService"), (std::set<std::string>{"v1beta1.custom.metrics.k8s.io",
                                                            "v1beta2.custom.metrics.k8s.io"}));
  }
  CommandResult notes = renderRaw({}, "monitoring", {"-notes"});
  EXPECT_EQ(notes.out.find("forwarded"), std::string::npos) << notes.out;
}

// Mistakes in an upstream fail rendering with a message naming the entry.
TEST_F(HelmChart, UpstreamMistakesFailNamingTheEntry) {
  struct Case {
    const char* values;
    const char* message;
  };
  const Case cases[] = {
      {"upstreams:\n  external:\n    - ca: {secretName: keda-metrics-ca}\n",
       "upstreams.external[0]: url is required"},
      {"upstreams:\n  custom:\n    - url: https://a.svc:443\n    - url: http://b.svc:80\n",
       "upstreams.custom[1]: url http://b.svc:80 must start with https://"},
      {"upstreams:\n  external:\n    - url: https://a.svc\n      ca: {key: ca.crt}\n",
       "upstreams.external[0].ca needs secretName or configMapName"},
      {"upstreams:\n  external:\n    - url: https://a.svc\n      ca: {secretName: a, "
       "configMapName: b}\n",
       "upstreams.external[0].ca: give secretName or configMapName, not both"},
      {"upstreams:\n  custom:\n    - url: https://a.svc\n      tokenSecret: {key: token}\n",
       "upstreams.custom[0].tokenSecret needs secretName"},
      {"upstreams:\n  custom:\n    - url: https://a.svc\n      clientCertSecret: {name: x}\n",
       "upstreams.custom[0].clientCertSecret is the name of a kubernetes.io/tls Secret"},
      {"upstreams:\n  external:\n    url: https://a.svc\n", "upstreams.external must be a list"},
  };
  for (const auto& c : cases) {
    CommandResult r = renderRaw({c.values});
    EXPECT_NE(r.code, 0) << c.values;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.values << "\n" << r.err;
  }
}

// The plain manifests, rendered from the chart (HelmChart's renderer).
class DeployManifests : public HelmChart {
 protected:
  Rendered kustomize(const std::string& dir) {
    CommandResult r = run(dir_, {"kubectl", "kustomize", sourceDir() + "/" + dir});
    EXPECT_EQ(r.code, 0) << r.err;
    return Rendered(documents(r.out));
  }
};

TEST_F(DeployManifests, KustomizeRendersThePlainManifests) {
  Rendered base = kustomize("examples/deploy/base");
  std::multiset<std::string> kinds = base.kinds();
  for (const char* k :
       {"Namespace", "ServiceAccount", "ConfigMap", "Deployment", "Service", "RoleBinding"})
    EXPECT_EQ(kinds.count(k), 1u) << k;
  EXPECT_EQ(kinds.count("ClusterRoleBinding"), 3u);
  EXPECT_EQ(base.names("APIService"),
            (std::set<std::string>{"v1beta1.custom.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io",
                                   "v1beta1.external.metrics.k8s.io"}));
  auto qs = kustomize("examples/deploy/queue-stats");
  EXPECT_EQ(qs.kinds().count("Deployment"), 2u);
  auto args = argsOf(qs.one("Deployment", "metrics-adapter"));
  EXPECT_EQ(argValue(args, "--queue-stats-address"), "metrics-adapter-queue-stats:9309");
  EXPECT_EQ(qs.one("Service", "metrics-adapter-queue-stats")["spec"]["ports"][1]["port"].as<int>(),
            9309);
  auto cm = kustomize("examples/deploy/cert-manager");
  EXPECT_EQ(cm.kinds().count("Certificate"), 2u);
  for (const auto& api : cm.all("APIService")) {
    EXPECT_FALSE(api["spec"]["insecureSkipTLSVerify"].as<bool>());
    EXPECT_EQ(api["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].as<std::string>(),
              "monitoring/metrics-adapter-tls");
  }
  auto cmArgs = argsOf(cm.one("Deployment", "metrics-adapter"));
  EXPECT_EQ(argValue(cmArgs, "--tls-cert-file"), "/var/run/serving-cert/tls.crt");
  EXPECT_EQ(argValue(cmArgs, "--cert-dir"), "");
  EXPECT_EQ(
      cm.one("Deployment",
             "metrics-adapter")["spec"]["template"]["spec"]["volumes"][1]["secret"]["secretName"]
          .as<std::string>(),
      "metrics-adapter-tls");
}

TEST_F(DeployManifests, TheSameObjectsAsTheChart) {
  // scripts/render-manifests.sh wrote them; re-render and compare object by object.
  auto compare = [&](const std::string& file, const std::vector<std::string>& extra,
                     const std::string& values) {
    CommandResult r = renderRaw({sourceDir() + "/" + values}, "monitoring", extra);
    ASSERT_EQ(r.code, 0) << r.err;
    auto want = documents(r.out);
    auto have = documents(readFile(sourceDir() + "/" + file));
    ASSERT_EQ(have.size(), want.size())
        << file << " is out of date: run scripts/render-manifests.sh";
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_EQ(YAML::Dump(have[i]), YAML::Dump(want[i]))
          << file << " is out of date: run scripts/render-manifests.sh";
  };
  compare("examples/deploy/base/metrics-adapter.yaml", {}, "examples/deploy/base/values.yaml");
  compare("examples/deploy/queue-stats/queue-stats.yaml",
          {"-show-only", "templates/queue-stats.yaml"}, "examples/deploy/queue-stats/values.yaml");
  compare("examples/deploy/keda-upstream/upstreams.yaml",
          {"-show-only", "templates/upstreams.yaml"}, "examples/deploy/keda-upstream/values.yaml");
}

namespace {
// An object with its keys in one order (scalars as text), to compare
// kustomize's output with the chart's.
json canonical(const YAML::Node& n) {
  if (n.IsMap()) {
    json out = json::object();
    for (const auto& kv : n) out[kv.first.as<std::string>()] = canonical(kv.second);
    return out;
  }
  if (n.IsSequence()) {
    json out = json::array();
    for (const auto& e : n) out.push_back(canonical(e));
    return out;
  }
  if (n.IsScalar()) return n.as<std::string>();
  return nullptr;
}
}  // namespace

// The KEDA upstream overlay is the chart with the base's values and its
// own: the generated ConfigMap and RBAC, and a Deployment patched into the
// chart's (the flag, the mounts, the CA Secret's volume).
TEST_F(DeployManifests, KedaUpstreamIsTheChartWithUpstreams) {
  Rendered overlay = kustomize("examples/deploy/keda-upstream");
  CommandResult r = renderRaw({sourceDir() + "/examples/deploy/base/values.yaml",
                               sourceDir() + "/examples/deploy/keda-upstream/values.yaml"});
  ASSERT_EQ(r.code, 0) << r.err;
  Rendered chart(documents(r.out));
  auto key = [](const YAML::Node& d) {
    return d["kind"].as<std::string>() + "/" + d["metadata"]["name"].as<std::string>();
  };
  std::map<std::string, json> want, have;
  for (const auto& d : chart.docs()) want[key(d)] = canonical(d);
  for (const auto& d : overlay.docs())
    if (d["kind"].as<std::string>() != "Namespace") have[key(d)] = canonical(d);
  for (const auto& [k, v] : want) {
    ASSERT_TRUE(have.count(k)) << k << " missing from examples/deploy/keda-upstream";
    EXPECT_EQ(have[k], v) << k << " differs from the chart's (a stale checksum/upstreams in "
                          << "examples/deploy/keda-upstream/kustomization.yaml?)";
  }
  for (const auto& [k, v] : have) EXPECT_TRUE(want.count(k)) << k << " is not the chart's";

  auto args = argsOf(overlay.one("Deployment", "metrics-adapter"));
  EXPECT_EQ(argValue(args, "--upstreams-config"), "/etc/metrics-adapter-upstreams/upstreams.yaml");
  expectFlagsAccepted("metrics-adapter", args);
  YAML::Node cfg =
      YAML::Load(overlay.one("ConfigMap", "metrics-adapter-upstreams")["data"]["upstreams.yaml"]
                     .as<std::string>());
  ASSERT_EQ(cfg["upstreams"].size(), 1u);
  EXPECT_EQ(cfg["upstreams"][0]["url"].as<std::string>(),
            "https://keda-operator-metrics-apiserver.keda.svc:443");
  MountedFile ca = mountedFile(overlay.one("Deployment", "metrics-adapter"),
                               cfg["upstreams"][0]["caFile"].as<std::string>());
  EXPECT_EQ(ca.secret, "keda-metrics-ca");
  EXPECT_EQ(ca.key, "ca.crt");
  EXPECT_EQ(upstreamGroups(overlay), (std::set<std::string>{"external.metrics.k8s.io"}));
}

TEST_F(DeployManifests, HpaExamplesParse) {
  Rendered hpa = kustomize("examples/hpa");
  EXPECT_EQ(hpa.all("HorizontalPodAutoscaler").size(), 5u);
  for (const auto& h : hpa.all("HorizontalPodAutoscaler"))
    EXPECT_EQ(h["apiVersion"].as<std::string>(), "autoscaling/v2") << h["metadata"]["name"];
  EXPECT_EQ(hpa.all("ScaledObject").size(), 3u);
  ASSERT_EQ(hpa.all("TriggerAuthentication").size(), 1u);
  EXPECT_EQ(hpa.all("TriggerAuthentication")[0]["spec"]["secretTargetRef"].size(), 3u)
      << "caCert, tlsClientCert, tlsClientKey: the chart's gRPC is mutual TLS";
  for (const auto& so : hpa.all("ScaledObject")) {
    EXPECT_EQ(so["spec"]["triggers"][0]["type"].as<std::string>(), "external");
    EXPECT_EQ(so["spec"]["triggers"][0]["authenticationRef"]["name"].as<std::string>(),
              "queue-stats-tls");
    EXPECT_EQ(so["spec"]["triggers"][0]["metadata"]["scalerAddress"].as<std::string>(),
              "metrics-adapter-queue-stats.monitoring:9309");
  }
  CommandResult r = run(dir_, {binary("metrics-adapter"), "rules", "check", "--config",
                               sourceDir() + "/examples/hpa/rules.yaml"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

// The replica counts the HPA examples' comments promise, from what the
// adapter answers against a real Prometheus with the numbers they cite.
TEST_F(DeployManifests, HpaExamplesScaleAsTheirCommentsSay) {
  PrometheusServer prom(dataDir() + "/examples/series.txt");
  AdapterProcess adapter({"--standalone", "--config=" + sourceDir() + "/examples/hpa/rules.yaml",
                          "--prometheus-url=" + prom.url(), "--metrics-relist-interval=30s"},
                         dir_);
  ASSERT_TRUE(adapter.waitReady(30s)) << adapter.process().log();
  auto values = [&](const std::string& path) {
    HttpsResult r = httpsGet(adapter.port(), path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    std::vector<double> out;
    json answer = json::parse(r.body);
    for (const auto& item : answer["items"]) {
      std::string q = item["value"];
      out.push_back(q.back() == 'm' ? std::stod(q.substr(0, q.size() - 1)) / 1000 : std::stod(q));
    }
    return out;
  };
  auto target = [](const YAML::Node& metric, const char* type) {
    return std::stod(metric[type]["target"]["averageValue"].as<std::string>());
  };
  auto hpaIn = [&](const std::string& file) {
    return YAML::LoadFile(sourceDir() + "/examples/hpa/" + file)["spec"]["metrics"][0];
  };
  auto sum = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s;
  };

  // Pods: ceil(pods * average / target).
  auto pods = hpaIn("pods-requests-per-second.yaml");
  auto perPod = values("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/" +
                       pods["pods"]["metric"]["name"].as<std::string>());
  ASSERT_EQ(perPod.size(), 3u);
  EXPECT_EQ(std::ceil(3 * (sum(perPod) / 3) / target(pods, "pods")), 8)
      << "pods-requests-per-second.yaml";
  // Object with AverageValue: ceil(value / target).
  auto object = hpaIn("object-ingress.yaml");
  auto ingress =
      values("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/ingresses.networking.k8s.io/" +
             object["object"]["describedObject"]["name"].as<std::string>() + "/" +
             object["object"]["metric"]["name"].as<std::string>());
  ASSERT_EQ(ingress.size(), 1u);
  EXPECT_EQ(std::ceil(ingress[0] / target(object, "object")), 3) << "object-ingress.yaml";
  // External with AverageValue: ceil(sum of the selected values / target).
  auto external = [&](const std::string& file) {
    auto m = hpaIn(file);
    std::string selector;
    for (const auto& kv : m["external"]["metric"]["selector"]["matchLabels"])
      selector += (selector.empty() ? "" : ",") + kv.first.as<std::string>() + "%3D" +
                  kv.second.as<std::string>();
    auto v =
        values("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/" +
               m["external"]["metric"]["name"].as<std::string>() + "?labelSelector=" + selector);
    EXPECT_FALSE(v.empty()) << file;
    return std::ceil(sum(v) / target(m, "external"));
  };
  EXPECT_EQ(external("external-queue-depth.yaml"), 2);
  EXPECT_EQ(external("kafka-lag.yaml"), 5);
  EXPECT_EQ(external("sqs-depth.yaml"), 7);
}

// --- monitoring: ServiceMonitors, the PrometheusRule, dashboards ---------

namespace {
// Whether a LabelSelector (matchLabels, matchExpressions) selects `labels`.
bool selects(const YAML::Node& selector, const YAML::Node& labels) {
  auto label = [&](const std::string& k) -> std::optional<std::string> {
    if (labels && labels[k]) return labels[k].as<std::string>();
    return std::nullopt;
  };
  for (const auto& kv : selector["matchLabels"])
    if (label(kv.first.as<std::string>()) != kv.second.as<std::string>()) return false;
  for (const auto& e : selector["matchExpressions"]) {
    auto v = label(e["key"].as<std::string>());
    std::string op = e["operator"].as<std::string>();
    std::set<std::string> values;
    for (const auto& x : e["values"]) values.insert(x.as<std::string>());
    bool in = v && values.count(*v);
    if ((op == "In" && !in) || (op == "NotIn" && in) || (op == "Exists" && !v) ||
        (op == "DoesNotExist" && v))
      return false;
  }
  return true;
}

const char* kWithQueueStats =
    "queueStats:\n  enabled: true\n  config:\n    interval: 15s\n    kafka:\n"
    "      - {name: main, bootstrapServers: \"kafka:9092\", groups: [orders]}\n";

std::set<std::string> dashboardFiles() {
  std::set<std::string> out;
  for (const auto& f :
       std::filesystem::directory_iterator(sourceDir() + "/charts/metrics-adapter/dashboards"))
    out.insert(f.path().filename().string());
  return out;
}
}  // namespace

TEST_F(HelmChart, MonitoringOnlyWhenEnabled) {
  for (const auto& values : std::vector<std::vector<std::string>>{{}, {kWithQueueStats}}) {
    Rendered o = render(values);
    EXPECT_TRUE(o.all("ServiceMonitor").empty());
    EXPECT_TRUE(o.all("PrometheusRule").empty());
    EXPECT_EQ(o.names("ClusterRole").count("metrics-adapter-self-metrics-reader"), 0u);
    for (const auto& cm : o.all("ConfigMap"))
      EXPECT_FALSE(cm["metadata"]["labels"]["grafana_dashboard"]) << YAML::Dump(cm);
  }
  // The queue-stats ServiceMonitor needs queue-stats.
  Rendered o = render({"queueStats:\n  serviceMonitor: {enabled: true}\n"});
  EXPECT_TRUE(o.all("ServiceMonitor").empty());
}

TEST_F(HelmChart, ServiceMonitorsScrapeWithTokenAndTheChartsCa) {
  Rendered o = render({kWithQueueStats,
                       "serviceMonitor:\n  enabled: true\n  labels: {release: kps}\n"
                       "  interval: 30s\n  scrapeTimeout: 10s\n"
                       "  relabelings: [{sourceLabels: [__meta_kubernetes_pod_node_name], "
                       "targetLabel: node}]\n"
                       "  metricRelabelings: [{sourceLabels: [__name__], regex: 'go_.*', action: "
                       "drop}]\n"
                       "  prometheusServiceAccounts: [{name: prometheus-k8s, namespace: obs}]\n"
                       "queueStats:\n  serviceMonitor:\n    enabled: true\n    interval: 15s\n"
                       "    labels: {release: kps}\n"
                       "    metricRelabelings: [{action: labeldrop, regex: queue_url}]\n"});
  ASSERT_EQ(o.names("ServiceMonitor"),
            (std::set<std::string>{"metrics-adapter", "metrics-adapter-queue-stats"}));
  auto sm = o.one("ServiceMonitor", "metrics-adapter");
  EXPECT_EQ(sm["metadata"]["namespace"].as<std::string>(), "monitoring");
  EXPECT_EQ(sm["metadata"]["labels"]["release"].as<std::string>(), "kps");
  // It selects the adapter's Service (and port), not queue-stats'.
  auto svc = o.one("Service", "metrics-adapter");
  auto qsSvc = o.one("Service", "metrics-adapter-queue-stats");
  EXPECT_TRUE(selects(sm["spec"]["selector"], svc["metadata"]["labels"]));
  EXPECT_FALSE(selects(sm["spec"]["selector"], qsSvc["metadata"]["labels"]));
  EXPECT_EQ(sm["spec"]["namespaceSelector"]["matchNames"][0].as<std::string>(), "monitoring");
  ASSERT_EQ(sm["spec"]["endpoints"].size(), 1u);
  auto ep = sm["spec"]["endpoints"][0];
  EXPECT_EQ(ep["port"].as<std::string>(), svc["spec"]["ports"][0]["name"].as<std::string>());
  EXPECT_EQ(ep["scheme"].as<std::string>(), "https");
  EXPECT_EQ(ep["path"].as<std::string>(), "/metrics");
  EXPECT_EQ(ep["interval"].as<std::string>(), "30s");
  EXPECT_EQ(ep["scrapeTimeout"].as<std::string>(), "10s");
  EXPECT_EQ(ep["bearerTokenFile"].as<std::string>(),
            "/var/run/secrets/kubernetes.io/serviceaccount/token");
  // TLS verified with the chart's CA, for the name the serving certificate has.
  auto tls = ep["tlsConfig"];
  EXPECT_FALSE(tls["insecureSkipVerify"]);
  std::string secretName = tls["ca"]["secret"]["name"].as<std::string>();
  auto secret = o.one("Secret", secretName);
  std::string ca =
      b64decode(secret["data"][tls["ca"]["secret"]["key"].as<std::string>()].as<std::string>());
  EXPECT_TRUE(verifies(ca, b64decode(secret["data"]["tls.crt"].as<std::string>()),
                       tls["serverName"].as<std::string>()));
  EXPECT_EQ(tls["serverName"].as<std::string>(), "metrics-adapter.monitoring.svc");
  // The job the alerts select on first, then the user's relabelings.
  ASSERT_EQ(ep["relabelings"].size(), 2u);
  EXPECT_EQ(ep["relabelings"][0]["targetLabel"].as<std::string>(), "job");
  EXPECT_EQ(ep["relabelings"][0]["replacement"].as<std::string>(), "metrics-adapter");
  EXPECT_EQ(ep["relabelings"][1]["targetLabel"].as<std::string>(), "node");
  EXPECT_EQ(ep["metricRelabelings"][0]["regex"].as<std::string>(), "go_.*");

  auto qsm = o.one("ServiceMonitor", "metrics-adapter-queue-stats");
  EXPECT_TRUE(selects(qsm["spec"]["selector"], qsSvc["metadata"]["labels"]));
  EXPECT_FALSE(selects(qsm["spec"]["selector"], svc["metadata"]["labels"]));
  auto qep = qsm["spec"]["endpoints"][0];
  EXPECT_EQ(qep["port"].as<std::string>(), "metrics");
  EXPECT_EQ(qsSvc["spec"]["ports"][0]["name"].as<std::string>(), "metrics");
  EXPECT_EQ(qep["scheme"].as<std::string>(), "http");
  EXPECT_EQ(qep["interval"].as<std::string>(), "15s");
  EXPECT_FALSE(qep["scrapeTimeout"]);
  EXPECT_FALSE(qep["bearerTokenFile"]) << "queue-stats' /metrics is plain HTTP";
  EXPECT_EQ(qep["relabelings"][0]["replacement"].as<std::string>(), "queue-stats");
  EXPECT_EQ(qep["metricRelabelings"][0]["action"].as<std::string>(), "labeldrop");
  EXPECT_EQ(qsm["metadata"]["labels"]["release"].as<std::string>(), "kps");

  // GET on /metrics for Prometheus, bound to the given service account.
  auto role = o.one("ClusterRole", "metrics-adapter-self-metrics-reader");
  ASSERT_EQ(role["rules"].size(), 1u);
  EXPECT_EQ(role["rules"][0]["nonResourceURLs"][0].as<std::string>(), "/metrics");
  EXPECT_EQ(role["rules"][0]["nonResourceURLs"].size(), 1u);
  EXPECT_EQ(role["rules"][0]["verbs"][0].as<std::string>(), "get");
  EXPECT_EQ(role["rules"][0]["verbs"].size(), 1u);
  auto binding = o.one("ClusterRoleBinding", "metrics-adapter-self-metrics-reader");
  EXPECT_EQ(binding["roleRef"]["name"].as<std::string>(), "metrics-adapter-self-metrics-reader");
  EXPECT_EQ(binding["subjects"][0]["name"].as<std::string>(), "prometheus-k8s");
  EXPECT_EQ(binding["subjects"][0]["namespace"].as<std::string>(), "obs");
}

TEST_F(HelmChart, ServiceMonitorTlsAndTokenChoices) {
  // Without a chart CA the adapter's certificate is self-signed: not verified.
  Rendered selfSigned = render({"tls: {generate: false}\nserviceMonitor: {enabled: true}\n"});
  auto ep = selfSigned.one("ServiceMonitor", "metrics-adapter")["spec"]["endpoints"][0];
  EXPECT_TRUE(ep["tlsConfig"]["insecureSkipVerify"].as<bool>());
  EXPECT_FALSE(ep["tlsConfig"]["ca"]);
  EXPECT_EQ(selfSigned.names("ClusterRole").count("metrics-adapter-self-metrics-reader"), 1u);
  EXPECT_EQ(selfSigned.names("ClusterRoleBinding").count("metrics-adapter-self-metrics-reader"), 0u)
      << "no service accounts given: bind it yourself";
  // A tlsConfig and a token Secret of one's own replace the defaults.
  Rendered own = render(
      {"serviceMonitor:\n  enabled: true\n"
       "  tlsConfig: {ca: {secret: {name: my-ca, key: ca.crt}}, serverName: adapter.example}\n"
       "  authorization: {type: Bearer, credentials: {name: scrape-token, key: token}}\n"});
  ep = own.one("ServiceMonitor", "metrics-adapter")["spec"]["endpoints"][0];
  EXPECT_EQ(ep["tlsConfig"]["ca"]["secret"]["name"].as<std::string>(), "my-ca");
  EXPECT_EQ(ep["tlsConfig"]["serverName"].as<std::string>(), "adapter.example");
  EXPECT_EQ(ep["authorization"]["credentials"]["name"].as<std::string>(), "scrape-token");
  EXPECT_FALSE(ep["bearerTokenFile"]);
  // rbac.create false: no ClusterRole.
  Rendered noRbac = render({"rbac: {create: false}\nserviceMonitor: {enabled: true}\n"});
  EXPECT_EQ(noRbac.names("ClusterRole").count("metrics-adapter-self-metrics-reader"), 0u);
}

TEST_F(HelmChart, PrometheusRuleIsTheAlertsFile) {
  Rendered o = render({"prometheusRule:\n  enabled: true\n  labels: {release: kps}\n"});
  auto rule = o.one("PrometheusRule", "metrics-adapter");
  EXPECT_EQ(rule["apiVersion"].as<std::string>(), "monitoring.coreos.com/v1");
  EXPECT_EQ(rule["metadata"]["namespace"].as<std::string>(), "monitoring");
  EXPECT_EQ(rule["metadata"]["labels"]["release"].as<std::string>(), "kps");
  YAML::Node file = YAML::LoadFile(sourceDir() + "/charts/metrics-adapter/files/alerts.yaml");
  EXPECT_EQ(YAML::Dump(rule["spec"]["groups"]), YAML::Dump(file["groups"]));
  EXPECT_EQ(rule["spec"].size(), 1u) << "groups only";
  // Every alert carries what the issue asks for, its runbook section included.
  std::string runbook = readFile(sourceDir() + "/docs/runbook.md");
  std::set<std::string> alerts;
  for (const auto& g : rule["spec"]["groups"])
    for (const auto& r : g["rules"]) {
      std::string name = r["alert"].as<std::string>();
      alerts.insert(name);
      EXPECT_TRUE(r["labels"]["severity"]) << name;
      for (const char* a : {"summary", "description", "runbook_url"})
        EXPECT_TRUE(r["annotations"][a]) << name << " has no " << a;
      std::string url = r["annotations"]["runbook_url"].as<std::string>();
      std::string anchor = url.substr(url.find('#') + 1);
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_EQ(anchor, lower) << url;
      EXPECT_NE(url.find("/docs/runbook.md#"), std::string::npos) << url;
      EXPECT_NE(runbook.find("\n## " + name + "\n"), std::string::npos)
          << "docs/runbook.md has no section for " << name;
    }
  EXPECT_EQ(alerts, (std::set<std::string>{
                        "MetricsAdapterDown", "MetricsAdapterRelistFailing",
                        "MetricsAdapterBackendErrors", "MetricsAdapterConfigReloadFailed",
                        "MetricsAdapterSlowRequests", "MetricsAdapterFeedDown", "QueueStatsDown",
                        "QueueStatsCollectionFailing", "QueueStatsStale"}));
  // Another namespace for the rule (a Prometheus' ruleNamespaceSelector).
  Rendered other = render({"prometheusRule:\n  enabled: true\n  namespace: obs\n"});
  EXPECT_EQ(
      other.one("PrometheusRule", "metrics-adapter")["metadata"]["namespace"].as<std::string>(),
      "obs");
}

TEST_F(HelmChart, DashboardsAsSidecarConfigMaps) {
  ASSERT_EQ(dashboardFiles(), (std::set<std::string>{"metrics-adapter.json", "queue-stats.json"}));
  // The adapter's only, without queue-stats.
  Rendered adapterOnly = render({"dashboards: {enabled: true}\n"});
  std::set<std::string> keys;
  for (const auto& cm : adapterOnly.all("ConfigMap"))
    if (cm["metadata"]["labels"]["grafana_dashboard"])
      for (const auto& kv : cm["data"]) keys.insert(kv.first.as<std::string>());
  EXPECT_EQ(keys, std::set<std::string>{"metrics-adapter.json"});

  Rendered o = render({kWithQueueStats,
                       "dashboards:\n  enabled: true\n  namespace: grafana\n"
                       "  annotations: {grafana_folder: Autoscaling}\n"});
  std::map<std::string, std::string> byName;
  for (const auto& cm : o.all("ConfigMap")) {
    if (!cm["metadata"]["labels"]["grafana_dashboard"]) continue;
    EXPECT_EQ(cm["metadata"]["labels"]["grafana_dashboard"].as<std::string>(), "1");
    EXPECT_EQ(cm["metadata"]["namespace"].as<std::string>(), "grafana");
    EXPECT_EQ(cm["metadata"]["annotations"]["grafana_folder"].as<std::string>(), "Autoscaling");
    ASSERT_EQ(cm["data"].size(), 1u);
    for (const auto& kv : cm["data"])
      byName[cm["metadata"]["name"].as<std::string>() + "/" + kv.first.as<std::string>()] =
          kv.second.as<std::string>();
  }
  ASSERT_EQ(byName.size(), 2u);
  for (const auto& [key, text] : byName) {
    std::string file = key.substr(key.find('/') + 1);
    json want = json::parse(readFile(sourceDir() + "/charts/metrics-adapter/dashboards/" + file));
    json have = json::parse(text);
    EXPECT_EQ(have, want) << key;
    EXPECT_EQ(have["uid"], file.substr(0, file.size() - 5));
  }
  EXPECT_TRUE(byName.count("metrics-adapter-dashboard/metrics-adapter.json"));
  EXPECT_TRUE(byName.count("metrics-adapter-queue-stats-dashboard/queue-stats.json"));
  // Another label for another sidecar configuration.
  Rendered label =
      render({"dashboards: {enabled: true, label: my_dashboards, labelValue: enabled}\n"});
  auto cm = label.one("ConfigMap", "metrics-adapter-dashboard");
  EXPECT_EQ(cm["metadata"]["labels"]["my_dashboards"].as<std::string>(), "enabled");
  EXPECT_FALSE(cm["metadata"]["labels"]["grafana_dashboard"]);
}

// examples/deploy/monitoring: the chart's monitoring objects as plain
// manifests, on top of examples/deploy/queue-stats.
TEST_F(DeployManifests, MonitoringIsTheChartsMonitoring) {
  CommandResult r =
      renderRaw({sourceDir() + "/examples/deploy/monitoring/values.yaml"}, "monitoring",
                {"-show-only", "templates/servicemonitor.yaml", "-show-only",
                 "templates/prometheusrule.yaml", "-show-only", "templates/dashboards.yaml"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto want = documents(r.out);
  auto have = documents(readFile(sourceDir() + "/examples/deploy/monitoring/monitoring.yaml"));
  ASSERT_EQ(have.size(), want.size()) << "examples/deploy/monitoring/monitoring.yaml is out of "
                                         "date: run scripts/render-manifests.sh";
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(YAML::Dump(have[i]), YAML::Dump(want[i]))
        << "examples/deploy/monitoring/monitoring.yaml is out of date: run "
           "scripts/render-manifests.sh";
  Rendered m = kustomize("examples/deploy/monitoring");
  EXPECT_EQ(m.names("ServiceMonitor"),
            (std::set<std::string>{"metrics-adapter", "metrics-adapter-queue-stats"}));
  EXPECT_EQ(m.names("PrometheusRule"), std::set<std::string>{"metrics-adapter"});
  EXPECT_EQ(m.kinds().count("Deployment"), 2u) << "the queue-stats overlay's objects too";
  // The ServiceMonitors select the overlay's Services.
  EXPECT_TRUE(selects(m.one("ServiceMonitor", "metrics-adapter")["spec"]["selector"],
                      m.one("Service", "metrics-adapter")["metadata"]["labels"]));
  EXPECT_TRUE(selects(m.one("ServiceMonitor", "metrics-adapter-queue-stats")["spec"]["selector"],
                      m.one("Service", "metrics-adapter-queue-stats")["metadata"]["labels"]));
  EXPECT_EQ(
      m.one("ClusterRole", "metrics-adapter-self-metrics-reader")["rules"][0]["nonResourceURLs"][0]
          .as<std::string>(),
      "/metrics");
  size_t dashboards = 0;
  for (const auto& cm : m.all("ConfigMap"))
    if (cm["metadata"]["labels"]["grafana_dashboard"]) ++dashboards;
  EXPECT_EQ(dashboards, 2u);
}
