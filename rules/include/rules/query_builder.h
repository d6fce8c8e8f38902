// Renders a rule's metricsQuery for one request, with prometheus-adapter's
// template arguments and matcher order, every value escaped.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rules/label_selector.h"
#include "rules/resource_mapper.h"
#include "rules/rule_set.h"

namespace rules {

struct CustomQuery {
  std::string promql;
  std::string resourceLabel;  // the series label that names the objects
};

// Renders `metricsQuery` for `names` of `resource` (in `ns`), naming labels
// through `naming`. `names` empty means "every object that has series"
// (standalone `*`); several names become a regex (factored when long).
// Throws NamingError, SelectorError or gotemplate::TemplateError.
CustomQuery buildObjectQuery(const gotemplate::Template& metricsQuery, const ResourceNaming& naming,
                             const std::string& seriesName, const GroupResource& resource,
                             const std::string& ns, const std::vector<std::string>& names,
                             const LabelSelector& metricSelector,
                             const std::vector<std::string>& extraGroupBy = {});

// buildObjectQuery with a discovery rule's template and naming.
CustomQuery buildCustomQuery(const CompiledRule& rule, const std::string& seriesName,
                             const GroupResource& resource, const std::string& ns,
                             const std::vector<std::string>& names,
                             const LabelSelector& metricSelector,
                             const std::vector<std::string>& extraGroupBy = {});

std::string buildExternalQuery(const CompiledRule& rule, const std::string& seriesName,
                               const std::string& ns, const LabelSelector& selector,
                               const std::vector<std::string>& groupBy = {});

}  // namespace rules
