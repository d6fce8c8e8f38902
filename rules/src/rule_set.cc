#include "rules/rule_set.h"

#include <map>

namespace rules {

std::optional<std::string> CompiledRule::metricNameFor(std::string_view seriesName) const {
  for (const auto& f : is)
    if (!f.matches(seriesName)) return std::nullopt;
  for (const auto& f : isNot)
    if (f.matches(seriesName)) return std::nullopt;
  return nameMatches.expand(nameAs, seriesName);
}

namespace {

std::optional<CompiledRule> compileRule(const DiscoveryRule& r, const std::string& ctx,
                                        bool external, const std::string& file,
                                        const std::shared_ptr<const ResourceMapper>& mapper,
                                        std::vector<Diagnostic>& diags) {
  size_t before = diags.size();
  auto err = [&](SourcePos p, const std::string& c, const std::string& msg) {
    diags.push_back({file, p.line ? p : r.pos, c, msg});
  };
  std::vector<GoRegexp> is, isNot;
  for (size_t i = 0; i < r.seriesFilters.size(); ++i) {
    const auto& f = r.seriesFilters[i];
    std::string c = ctx + ".seriesFilters[" + std::to_string(i) + "]";
    try {
      if (!f.is.empty()) is.emplace_back(f.is);
      if (!f.isNot.empty()) isNot.emplace_back(f.isNot);
    } catch (const RegexError& e) {
      err(f.pos, c, e.what());
    }
  }
  std::optional<GoRegexp> matches;
  std::string as = r.name.as;
  try {
    matches.emplace(r.name.matches);
    if (as.empty()) {
      int groups = matches->groupCount();
      if (groups == 0)
        as = "$0";
      else if (groups == 1)
        as = "$1";
      else {
        err(r.name.pos, ctx + ".name",
            "name.matches has " + std::to_string(groups) +
                " groups, so name.as is required (e.g. as: \"${1}_${2}\")");
      }
    }
  } catch (const RegexError& e) {
    err(r.name.pos, ctx + ".name.matches", e.what());
  }
  std::optional<ResourceNaming> naming;
  try {
    naming.emplace(r.resources, mapper);
  } catch (const NamingError& e) {
    err(r.resources.templPos, ctx + ".resources", e.what());
  }
  if (!external && r.resources.templ.empty() && r.resources.overrides.empty()) {
    err(r.pos, ctx + ".resources",
        "a custom-metrics rule needs resources.overrides or resources.template to tie series to "
        "objects");
  }
  std::optional<gotemplate::Template> query;
  try {
    query = gotemplate::Template::parse(r.metricsQuery);
  } catch (const gotemplate::TemplateError& e) {
    err(r.metricsQueryPos, ctx + ".metricsQuery", std::string("template ") + e.what());
  }
  if (diags.size() != before || !matches || !naming || !query) return std::nullopt;
  return CompiledRule{ctx,
                      external,
                      r.seriesQuery,
                      std::move(is),
                      std::move(isNot),
                      std::move(*matches),
                      as,
                      std::move(*naming),
                      std::move(*query),
                      r.metricsQuery,
                      r.resources.namespaced};
}

std::optional<CompiledResourceQuery> compileResourceQuery(
    const ResourceRule& r, const std::string& ctx, const std::string& file,
    const std::shared_ptr<const ResourceMapper>& mapper, std::vector<Diagnostic>& diags) {
  size_t before = diags.size();
  auto err = [&](const std::string& c, const std::string& msg) {
    diags.push_back({file, r.pos, c, msg});
  };
  std::optional<ResourceNaming> naming;
  try {
    naming.emplace(r.resources, mapper);
    for (const char* res : {"pods", "nodes", "namespaces"}) {
      if (!naming->canNameResource({"", res})) {
        err(ctx + ".resources",
            std::string("no label names ") + res + " (add an override such as " +
                (std::string(res) == "pods"    ? "pod: {resource: pod}"
                 : std::string(res) == "nodes" ? "node: {resource: node}"
                                               : "namespace: {resource: namespace}") +
                ")");
      }
    }
  } catch (const NamingError& e) {
    err(ctx + ".resources", e.what());
  }
  if (r.containerLabel.empty())
    err(ctx + ".containerLabel",
        "containerLabel is required (the label naming containers, e.g. container)");
  std::optional<gotemplate::Template> container, node;
  try {
    container = gotemplate::Template::parse(r.containerQuery);
  } catch (const gotemplate::TemplateError& e) {
    err(ctx + ".containerQuery", std::string("template ") + e.what());
  }
  try {
    node = gotemplate::Template::parse(r.nodeQuery);
  } catch (const gotemplate::TemplateError& e) {
    err(ctx + ".nodeQuery", std::string("template ") + e.what());
  }
  if (diags.size() != before || !naming || !container || !node) return std::nullopt;
  return CompiledResourceQuery{std::move(*naming), std::move(*container), std::move(*node),
                               r.containerLabel};
}

}  // namespace

std::shared_ptr<const RuleSet> RuleSet::compile(const Config& config, const std::string& file,
                                                std::shared_ptr<const ResourceMapper> mapper) {
  auto set = std::make_shared<RuleSet>();
  set->config_ = config;
  set->mapper_ = mapper;
  std::vector<Diagnostic> diags;
  for (size_t i = 0; i < config.rules.size(); ++i) {
    auto r = compileRule(config.rules[i], "rules[" + std::to_string(i) + "]", false, file, mapper,
                         diags);
    if (r) set->custom_.push_back(std::move(*r));
  }
  for (size_t i = 0; i < config.externalRules.size(); ++i) {
    auto r = compileRule(config.externalRules[i], "externalRules[" + std::to_string(i) + "]", true,
                         file, mapper, diags);
    if (r) set->external_.push_back(std::move(*r));
  }
  if (config.resourceRules) {
    const auto& rr = *config.resourceRules;
    auto cpu = compileResourceQuery(rr.cpu, "resourceRules.cpu", file, mapper, diags);
    auto memory = compileResourceQuery(rr.memory, "resourceRules.memory", file, mapper, diags);
    if (cpu && memory)
      set->resource_ = CompiledResourceRules{std::move(*cpu), std::move(*memory), rr.windowSeconds};
  }
  if (!diags.empty()) throw ConfigError(diags);
  std::map<std::string, size_t> index;
  auto add = [&](const CompiledRule& r) {
    auto [it, fresh] = index.emplace(r.seriesQuery, set->seriesQueries_.size());
    if (fresh) {
      set->seriesQueries_.push_back(r.seriesQuery);
      set->rulesByQuery_.emplace_back();
    }
    set->rulesByQuery_[it->second].push_back(&r);
  };
  for (const auto& r : set->custom_) add(r);
  for (const auto& r : set->external_) add(r);
  return set;
}

}  // namespace rules
