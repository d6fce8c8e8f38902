#include "rules/query_builder.h"

#include "rules/promql.h"

namespace rules {

namespace {

const GroupResource kNamespaces{"", "namespaces"};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

std::string render(const gotemplate::Template& metricsQuery, const std::string& series,
                   const std::vector<std::string>& matchers,
                   const std::map<std::string, std::string>& valuesByName,
                   const std::vector<std::string>& groupBy) {
  using gotemplate::Value;
  auto args = std::make_shared<gotemplate::ValueStruct>();
  args->typeName = "naming.queryTemplateArgs";
  args->fields = {{"Series", Value(series)},
                  {"LabelMatchers", Value(join(matchers, ","))},
                  {"LabelValuesByName", Value::stringMap(valuesByName)},
                  {"GroupBy", Value(join(groupBy, ","))},
                  {"GroupBySlice", Value::stringList(groupBy)}};
  return metricsQuery.execute(
      Value(std::shared_ptr<const gotemplate::ValueStruct>(std::move(args))));
}

}  // namespace

CustomQuery buildCustomQuery(const CompiledRule& rule, const std::string& seriesName,
                             const GroupResource& resource, const std::string& ns,
                             const std::vector<std::string>& names,
                             const LabelSelector& metricSelector,
                             const std::vector<std::string>& extraGroupBy) {
  return buildObjectQuery(rule.metricsQuery, rule.resources, seriesName, resource, ns, names,
                          metricSelector, extraGroupBy);
}

CustomQuery buildObjectQuery(const gotemplate::Template& metricsQuery, const ResourceNaming& naming,
                             const std::string& seriesName, const GroupResource& resource,
                             const std::string& ns, const std::vector<std::string>& names,
                             const LabelSelector& metricSelector,
                             const std::vector<std::string>& extraGroupBy) {
  SelectorMatchers sel = selectorToMatchers(metricSelector);
  std::vector<std::string> matchers = std::move(sel.matchers);
  std::map<std::string, std::string> valuesByName;
  if (!ns.empty()) {
    std::string nsLabel = naming.labelForResource(kNamespaces);
    matchers.push_back(promql::labelEq(nsLabel, ns));
    valuesByName[nsLabel] = ns;
  }
  std::string label = naming.labelForResource(resource);
  if (names.empty()) {
    matchers.push_back(promql::labelMatches(label, ".+"));
    valuesByName[label] = ".+";
  } else if (names.size() == 1) {
    matchers.push_back(promql::labelEq(label, names[0]));
    valuesByName[label] = names[0];
  } else {
    matchers.push_back(promql::labelMatches(label, promql::namesRegex(names)));
    valuesByName[label] = join(names, "|");
  }
  std::vector<std::string> groupBy{label};
  groupBy.insert(groupBy.end(), extraGroupBy.begin(), extraGroupBy.end());
  return CustomQuery{render(metricsQuery, seriesName, matchers, valuesByName, groupBy), label};
}

std::string buildExternalQuery(const CompiledRule& rule, const std::string& seriesName,
                               const std::string& ns, const LabelSelector& selector,
                               const std::vector<std::string>& groupBy) {
  SelectorMatchers sel = selectorToMatchers(selector);
  // A namespaced external rule whose series carry no namespace label is
  // served across namespaces (prometheus-adapter fails these with a 500).
  if (rule.namespaced && !ns.empty() && rule.resources.canNameResource(kNamespaces)) {
    std::string nsLabel = rule.resources.labelForResource(kNamespaces);
    sel.matchers.push_back(promql::labelEq(nsLabel, ns));
    sel.valuesByName[nsLabel] = ns;
  }
  return render(rule.metricsQuery, seriesName, sel.matchers, sel.valuesByName, groupBy);
}

}  // namespace rules
