#include "adapter/app/rules_cli.h"

#include <boost/program_options.hpp>
#include <map>
#include <set>

#include "adapter/app/options.h"
#include "adapter/kube/builtin_resources.h"
#include "adapter/prometheus/prometheus_client.h"
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
    "--external [--selector S]]\n";

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

}  // namespace

int runRulesCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || (args[0] != "check" && args[0] != "explain")) {
    err << kUsage;
    return 2;
  }
  bool explain = args[0] == "explain";
  std::string config, metric, resource = "pods", ns, name = "*", metricSel, selector,
                              maxAge = "10m", timeout = "30s";
  bool external = false;
  PrometheusClientOptions prom;
  std::vector<std::string> headers;
  po::options_description desc("rules flags");
  // clang-format off
  desc.add_options()
    ("help,h", "help")
    ("config", po::value(&config))
    ("prometheus-url", po::value(&prom.url))
    ("prometheus-token-file", po::value(&prom.tokenFile))
    ("prometheus-ca-file", po::value(&prom.tls.caFile))
    ("prometheus-header", po::value(&headers)->composing())
    ("prometheus-timeout", po::value(&timeout))
    ("metrics-max-age", po::value(&maxAge))
    ("metric", po::value(&metric))
    ("resource", po::value(&resource))
    ("namespace", po::value(&ns))
    ("name", po::value(&name))
    ("metric-label-selector", po::value(&metricSel))
    ("external", po::bool_switch(&external))
    ("selector", po::value(&selector));
  // clang-format on
  po::variables_map vm;
  try {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    po::store(po::command_line_parser(rest).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "error: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (vm.count("help")) {
    out << kUsage;
    return 0;
  }
  if (config.empty()) {
    err << "error: --config is required\n" << kUsage;
    return 2;
  }
  auto mapper = builtinResources();
  std::shared_ptr<const rules::RuleSet> set;
  try {
    set = rules::RuleSet::compile(rules::loadConfigFile(config), config, mapper);
  } catch (const rules::ConfigError& e) {
    for (const auto& d : e.diagnostics()) err << "error: " << d.str() << "\n";
    err << e.diagnostics().size() << " problem(s) in " << config << "\n";
    return 1;
  }
  const auto& cfg = set->config();
  out << config << ": OK: " << cfg.rules.size() << " rules, " << cfg.externalRules.size()
      << " external rules, " << (cfg.resourceRules ? "resourceRules set" : "no resourceRules")
      << "\n";
  warnings(*set, out);
  if (!explain) return 0;
  if (prom.url.empty()) {
    err << "error: explain needs --prometheus-url\n";
    return 2;
  }
  int64_t now = common::SystemClock().nowMillis();
  std::chrono::milliseconds age;
  try {
    age = parseDurationFlag("metrics-max-age", maxAge);
    prom.timeout = parseDurationFlag("prometheus-timeout", timeout);
    for (const auto& h : headers) {
      auto eq = h.find('=');
      if (eq == std::string::npos)
        throw std::invalid_argument("--prometheus-header=" + h + ": expected Key=Value");
      prom.headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
    }
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  std::unique_ptr<HttpPrometheusClient> client;
  rules::CatalogBuilder builder(set);
  std::map<const rules::CompiledRule*, RuleStats> stats;
  out << "\nDiscovery: series of the last " << maxAge << " from " << prom.url << "\n";
  try {
    client = std::make_unique<HttpPrometheusClient>(prom);
    for (size_t q = 0; q < set->seriesQueries().size(); ++q) {
      size_t count = 0;
      client->series(set->seriesQueries()[q], now - age.count(), now,
                     [&](std::string_view seriesName, const std::vector<std::string>& labels) {
                       ++count;
                       builder.addSeries(q, seriesName, labels);
                       for (const rules::CompiledRule* r : set->rulesByQuery()[q]) {
                         RuleStats& st = stats[r];
                         ++st.seen;
                         bool kept = true;
                         for (const auto& f : r->is) kept = kept && f.matches(seriesName);
                         for (const auto& f : r->isNot) kept = kept && !f.matches(seriesName);
                         if (!kept) {
                           ++st.filtered;
                           continue;
                         }
                         auto m = r->nameMatches.expand(r->nameAs, seriesName);
                         if (!m || m->empty()) {
                           ++st.nameMismatch;
                           continue;
                         }
                         ++st.named;
                         st.metrics.insert(*m);
                         if (r->external) continue;
                         bool any = false;
                         for (const auto& l : labels) {
                           if (auto info = r->resources.resourceForLabel(l)) {
                             any = true;
                             st.resources.insert(info->gr.str() + " (label " + l + ")");
                           }
                         }
                         if (!any) ++st.noResource;
                       }
                     });
      out << "  seriesQuery " << set->seriesQueries()[q] << ": " << count << " series\n";
      for (const rules::CompiledRule* r : set->rulesByQuery()[q]) {
        const RuleStats& st = stats[r];
        out << "    " << r->context << ": " << st.named << " named -> " << st.metrics.size()
            << " metrics";
        if (st.filtered) out << "; " << st.filtered << " removed by seriesFilters";
        if (st.nameMismatch)
          out << "; " << st.nameMismatch << " did not match name.matches "
              << r->nameMatches.pattern();
        if (st.noResource) out << "; " << st.noResource << " had no label naming a resource";
        out << "\n";
        if (!st.resources.empty()) {
          out << "      resources:";
          for (const auto& res : st.resources) out << " " << res;
          out << "\n";
        }
      }
    }
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
  rules::SeriesCatalog catalog = std::move(builder).build();
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
  if (metric.empty()) return 0;
  out << "\n";
  try {
    if (external) {
      const auto* e = catalog.findExternal(metric);
      if (!e) {
        out << "external metric " << metric
            << " is not discovered: no external rule named a series so\n";
        return 1;
      }
      out << "external metric " << metric << " in namespace " << (ns.empty() ? "(none)" : ns)
          << " is served by " << e->rule->context << "\n  PromQL: "
          << rules::buildExternalQuery(*e->rule, e->seriesName, ns,
                                       rules::parseLabelSelector(selector))
          << "\n";
      return 0;
    }
    auto info = mapper->resolve(resource);
    if (!info) {
      out << "resource " << resource << " is not a known Kubernetes resource\n";
      return 1;
    }
    const auto* e = catalog.findCustom(info->gr, metric);
    if (!e) {
      out << "metric " << metric << " is not discovered for " << info->gr.str()
          << ": no rule produced it from a series with a label naming " << info->gr.str() << "\n";
      return 1;
    }
    std::vector<std::string> names;
    if (name != "*") names.push_back(name);
    auto q = rules::buildCustomQuery(*e->rule, e->seriesName, info->gr, ns, names,
                                     rules::parseLabelSelector(metricSel));
    out << info->gr.str() << " " << name << " metric " << metric
        << (ns.empty() ? "" : " in namespace " + ns) << " is served by " << e->rule->context
        << " (series " << e->seriesName << ")\n  PromQL: " << q.promql
        << "\n  object names come from label: " << q.resourceLabel << "\n";
  } catch (const std::exception& ex) {
    err << "error: " << ex.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace adapter
