#include "adapter/app/rules_cli.h"

#include <boost/program_options.hpp>
#include <map>
#include <set>

#include "adapter/app/options.h"
#include "adapter/kube/builtin_resources.h"
#include "adapter/prometheus/prometheus_client.h"
#include "adapter/upstream/https_upstream.h"
#include "adapter/upstream/upstream_catalog.h"
#include "common/clock.h"
#include "rules/label_selector.h"
#include "rules/query_builder.h"
#include "rules/rule_set.h"
#include "rules/series_catalog.h"

namespace adapter {

namespace po = boost::program_options;

namespace {

const char* kUsage =
    "usage:\n"
    "  metrics-adapter rules check --config FILE\n"
    "  metrics-adapter rules explain --config FILE --prometheus-url URL [--metric M [--resource R] "
    "[--namespace N]\n"
    "                                [--name X] [--metric-label-selector S] | --metric M "
    "--external [--selector S]]\n"
    "                                [--external-metrics-upstream URL | --custom-metrics-upstream "
    "URL | --upstreams-config FILE ...]\n";

// Per rule: why series were or were not turned into metrics.
struct RuleStats {
  size_t seen = 0, filtered = 0, nameMismatch = 0, named = 0, noResource = 0;
  std::set<std::string> metrics;
  std::set<std::string> resources;
};

void warnings(const rules::RuleSet& set, std::ostream& out) {
  const rules::GroupResource ns{"", "namespaces"};
  for (const auto& r : set.external()) {
    if (r.namespaced && !r.resources.canNameResource(ns)) {
      out << "warning: " << r.context
          << ": namespaced external rule without a namespace label (resources.overrides or "
             "template); "
             "its metrics are served across all namespaces\n";
    }
  }
  for (const auto& r : set.custom()) {
    if (!r.resources.canNameResource(ns)) {
      out << "warning: " << r.context
          << ": no label names namespaces, so namespaced requests for its metrics will fail; "
             "add an override such as namespace: {resource: namespace}\n";
    }
  }
}

// The command line of `rules check|explain`.
struct RulesArgs {
  bool explain = false;
  std::string config, metric, resource = "pods", ns, name = "*", metricSel, selector,
                              maxAge = "10m", timeout = "30s";
  bool external = false;
  bool help = false;
  PrometheusClientOptions prom;
  std::vector<std::string> headers;
  UpstreamFlags upstreamFlags;
  UpstreamsOptions upstreams;
};

// Parses the flags after the verb; throws po::error.
RulesArgs parseRulesArgs(const std::vector<std::string>& args) {
  RulesArgs a;
  a.explain = args[0] == "explain";
  po::options_description desc("rules flags");
  // clang-format off
  desc.add_options()
    ("help,h", "help")
    ("config", po::value(&a.config))
    ("prometheus-url", po::value(&a.prom.url))
    ("prometheus-token-file", po::value(&a.prom.tokenFile))
    ("prometheus-ca-file", po::value(&a.prom.tls.caFile))
    ("prometheus-header", po::value(&a.headers)->composing())
    ("prometheus-timeout", po::value(&a.timeout))
    ("metrics-max-age", po::value(&a.maxAge))
    ("metric", po::value(&a.metric))
    ("resource", po::value(&a.resource))
    ("namespace", po::value(&a.ns))
    ("name", po::value(&a.name))
    ("metric-label-selector", po::value(&a.metricSel))
    ("external", po::bool_switch(&a.external))
    ("selector", po::value(&a.selector));
  // clang-format on
  describeUpstreamFlags(desc, a.upstreamFlags);
  po::variables_map vm;
  std::vector<std::string> rest(args.begin() + 1, args.end());
  po::store(po::command_line_parser(rest).options(desc).run(), vm);
  po::notify(vm);
  a.help = vm.count("help") > 0;
  return a;
}

// The Prometheus flags of explain; throws std::invalid_argument naming one.
std::chrono::milliseconds applyBackendFlags(RulesArgs& a) {
  std::chrono::milliseconds age = parseDurationFlag("metrics-max-age", a.maxAge);
  a.prom.timeout = parseDurationFlag("prometheus-timeout", a.timeout);
  for (const auto& h : a.headers) a.prom.headers.push_back(parseHeaderFlag(h));
  applyUpstreamFlags(a.upstreams, a.upstreamFlags);
  return age;
}

// Counts one series against a rule: filtered, unnamed, named, and the
// resources its labels name.
void tally(const rules::CompiledRule& r, std::string_view seriesName,
           const std::vector<std::string>& labels, RuleStats& st) {
  ++st.seen;
  bool kept = true;
  for (const auto& f : r.is) kept = kept && f.matches(seriesName);
  for (const auto& f : r.isNot) kept = kept && !f.matches(seriesName);
  if (!kept) {
    ++st.filtered;
    return;
  }
  auto m = r.nameMatches.expand(r.nameAs, seriesName);
  if (!m || m->empty()) {
    ++st.nameMismatch;
    return;
  }
  ++st.named;
  st.metrics.insert(*m);
  if (r.external) return;
  bool any = false;
  for (const auto& l : labels) {
    if (auto info = r.resources.resourceForLabel(l)) {
      any = true;
      st.resources.insert(info->gr.str() + " (label " + l + ")");
    }
  }
  if (!any) ++st.noResource;
}

void printRuleStats(const rules::CompiledRule& r, const RuleStats& st, std::ostream& out) {
  out << "    " << r.context << ": " << st.named << " named -> " << st.metrics.size() << " metrics";
  if (st.filtered) out << "; " << st.filtered << " removed by seriesFilters";
  if (st.nameMismatch)
    out << "; " << st.nameMismatch << " did not match name.matches " << r.nameMatches.pattern();
  if (st.noResource) out << "; " << st.noResource << " had no label naming a resource";
  out << "\n";
  if (!st.resources.empty()) {
    out << "      resources:";
    for (const auto& res : st.resources) out << " " << res;
    out << "\n";
  }
}

// One /series call per distinct seriesQuery, as the relister does, with
// what each rule made of the series; throws on backend failures.
rules::SeriesCatalog discover(const std::shared_ptr<const rules::RuleSet>& set, const RulesArgs& a,
                              std::chrono::milliseconds age, std::ostream& out) {
  int64_t now = common::SystemClock().nowMillis();
  rules::CatalogBuilder builder(set);
  std::map<const rules::CompiledRule*, RuleStats> stats;
  out << "\nDiscovery: series of the last " << a.maxAge << " from " << a.prom.url << "\n";
  HttpPrometheusClient client(a.prom);
  for (size_t q = 0; q < set->seriesQueries().size(); ++q) {
    size_t count = 0;
    client.series(set->seriesQueries()[q], now - age.count(), now,
                  [&](std::string_view seriesName, const std::vector<std::string>& labels) {
                    ++count;
                    builder.addSeries(q, seriesName, labels);
                    for (const rules::CompiledRule* r : set->rulesByQuery()[q])
                      tally(*r, seriesName, labels, stats[r]);
                  });
    out << "  seriesQuery " << set->seriesQueries()[q] << ": " << count << " series\n";
    for (const rules::CompiledRule* r : set->rulesByQuery()[q]) printRuleStats(*r, stats[r], out);
  }
  return std::move(builder).build();
}

void printCatalog(const rules::SeriesCatalog& catalog, std::ostream& out) {
  out << "\nCustom metrics (" << catalog.customMetrics().size() << "):\n";
  for (const auto& m : catalog.customMetrics()) {
    const auto* e = catalog.findCustom(m.resource.gr, m.metric);
    out << "  " << m.resource.gr.str() << "/" << m.metric
        << (m.namespaced ? "" : " (cluster-scoped)") << "  <- " << e->rule->context << " from "
        << e->seriesName << "\n";
  }
  out << "External metrics (" << catalog.externalMetrics().size() << "):\n";
  for (const auto& m : catalog.externalMetrics()) {
    out << "  " << m << "  <- " << catalog.findExternal(m)->rule->context << " from "
        << catalog.findExternal(m)->seriesName << "\n";
  }
}

// Each upstream's discovery, as the adapter reads it, with the names ours
// shadow; returns the upstreams that list `wanted` (the metric explained).
bool servesCustom(const rules::SeriesCatalog& catalog, const rules::ResourceMapper& mapper,
                  const std::string& name) {
  auto slash = name.find('/');
  if (slash == std::string::npos) return false;
  auto info = mapper.resolve(name.substr(0, slash));
  return info && catalog.findCustom(info->gr, name.substr(slash + 1)) != nullptr;
}

std::vector<std::string> explainUpstreams(const rules::SeriesCatalog& catalog,
                                          const rules::ResourceMapper& mapper, const RulesArgs& a,
                                          const std::string& wanted, std::ostream& out) {
  std::vector<std::string> listing;
  if (a.upstreams.upstreams.empty()) return listing;
  out << "\nUpstreams (metrics not served here are forwarded to them, in this order):\n";
  for (const auto& u : a.upstreams.upstreams) {
    HttpsUpstream server(u, a.upstreams);
    for (const auto& version : apiVersions(u.api)) {
      out << "  " << u.url << " " << apiName(u.api) << " " << version << ": ";
      std::vector<ListedMetric> metrics;
      try {
        metrics = server.discover(version, nullptr);
      } catch (const std::exception& e) {
        out << "discovery failed: " << e.what() << "\n";
        continue;
      }
      std::vector<std::string> shadowed;
      for (const auto& m : metrics) {
        bool ours = u.api == apiservice::MetricsApi::External
                        ? catalog.findExternal(m.name) != nullptr
                        : servesCustom(catalog, mapper, m.name);
        if (ours) shadowed.push_back(m.name);
        if (m.name == wanted && std::find(listing.begin(), listing.end(), u.url) == listing.end())
          listing.push_back(u.url);
      }
      out << metrics.size() << " metrics";
      if (!shadowed.empty()) out << "; shadowed (served here instead):";
      for (const auto& n : shadowed) out << " " << n;
      out << "\n";
    }
  }
  return listing;
}

void printForwarding(const std::vector<std::string>& listing, bool servedHere, std::ostream& out) {
  for (const auto& u : listing) {
    out << (servedHere ? "  shadows the same name at upstream " : "  forwarded to upstream ") << u
        << (servedHere ? " (requests are answered here)\n" : "\n");
    if (!servedHere) return;  // the first upstream that lists it answers
  }
}

int explainExternal(const rules::SeriesCatalog& catalog, const RulesArgs& a,
                    const std::vector<std::string>& listing, std::ostream& out) {
  const auto* e = catalog.findExternal(a.metric);
  if (!e && !listing.empty()) {
    out << "external metric " << a.metric << " is not served here\n";
    printForwarding(listing, false, out);
    return 0;
  }
  if (!e) {
    out << "external metric " << a.metric
        << " is not discovered: no external rule named a series so\n";
    return 1;
  }
  out << "external metric " << a.metric << " in namespace " << (a.ns.empty() ? "(none)" : a.ns)
      << " is served by " << e->rule->context << "\n  PromQL: "
      << rules::buildExternalQuery(*e->rule, e->seriesName, a.ns,
                                   rules::parseLabelSelector(a.selector))
      << "\n";
  printForwarding(listing, true, out);
  return 0;
}

int explainCustom(const rules::SeriesCatalog& catalog, const rules::ResourceMapper& mapper,
                  const RulesArgs& a, const std::vector<std::string>& listing, std::ostream& out) {
  auto info = mapper.resolve(a.resource);
  const auto* served = info ? catalog.findCustom(info->gr, a.metric) : nullptr;
  if (!served && !listing.empty()) {
    out << "metric " << a.resource << "/" << a.metric << " is not served here\n";
    printForwarding(listing, false, out);
    return 0;
  }
  if (!info) {
    out << "resource " << a.resource << " is not a known Kubernetes resource\n";
    return 1;
  }
  const auto* e = catalog.findCustom(info->gr, a.metric);
  if (!e) {
    out << "metric " << a.metric << " is not discovered for " << info->gr.str()
        << ": no rule produced it from a series with a label naming " << info->gr.str() << "\n";
    return 1;
  }
  std::vector<std::string> names;
  if (a.name != "*") names.push_back(a.name);
  auto q = rules::buildCustomQuery(*e->rule, e->seriesName, info->gr, a.ns, names,
                                   rules::parseLabelSelector(a.metricSel));
  out << info->gr.str() << " " << a.name << " metric " << a.metric
      << (a.ns.empty() ? "" : " in namespace " + a.ns) << " is served by " << e->rule->context
      << " (series " << e->seriesName << ")\n  PromQL: " << q.promql
      << "\n  object names come from label: " << q.resourceLabel << "\n";
  printForwarding(listing, true, out);
  return 0;
}

// `explain` after the config checked out: discovery, the catalog, and the
// query one metric would run.
int explain(const std::shared_ptr<const rules::RuleSet>& set, const rules::ResourceMapper& mapper,
            RulesArgs& a, std::ostream& out, std::ostream& err) {
  if (a.prom.url.empty()) {
    err << "error: explain needs --prometheus-url\n";
    return 2;
  }
  std::chrono::milliseconds age;
  try {
    age = applyBackendFlags(a);
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  rules::SeriesCatalog catalog;
  try {
    catalog = discover(set, a, age, out);
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
  printCatalog(catalog, out);
  std::string wanted = a.external ? a.metric : a.resource + "/" + a.metric;
  std::vector<std::string> listing;
  try {
    listing = explainUpstreams(catalog, mapper, a, a.metric.empty() ? "" : wanted, out);
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
  if (a.metric.empty()) return 0;
  out << "\n";
  try {
    return a.external ? explainExternal(catalog, a, listing, out)
                      : explainCustom(catalog, mapper, a, listing, out);
  } catch (const std::exception& ex) {
    err << "error: " << ex.what() << "\n";
    return 1;
  }
}

}  // namespace

int runRulesCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || (args[0] != "check" && args[0] != "explain")) {
    err << kUsage;
    return 2;
  }
  RulesArgs a;
  try {
    a = parseRulesArgs(args);
  } catch (const po::error& e) {
    err << "error: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (a.help) {
    out << kUsage;
    return 0;
  }
  if (a.config.empty()) {
    err << "error: --config is required\n" << kUsage;
    return 2;
  }
  auto mapper = builtinResources();
  std::shared_ptr<const rules::RuleSet> set;
  try {
    set = rules::RuleSet::compile(rules::loadConfigFile(a.config), a.config, mapper);
  } catch (const rules::ConfigError& e) {
    for (const auto& d : e.diagnostics()) err << "error: " << d.str() << "\n";
    err << e.diagnostics().size() << " problem(s) in " << a.config << "\n";
    return 1;
  }
  const auto& cfg = set->config();
  out << a.config << ": OK: " << cfg.rules.size() << " rules, " << cfg.externalRules.size()
      << " external rules, " << (cfg.resourceRules ? "resourceRules set" : "no resourceRules")
      << "\n";
  warnings(*set, out);
  if (!a.explain) return 0;
  return explain(set, *mapper, a, out, err);
}

}  // namespace adapter
