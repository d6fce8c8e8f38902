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

// `names` empty means "every object that has series" (standalone `*`).
// Throws NamingError, SelectorError or gotemplate::TemplateError.
CustomQuery buildCustomQuery(const CompiledRule& rule, const std::string& seriesName,
                             const GroupResource& resource, const std::string& ns,
                             const std::vector<std::string>& names,
                             const LabelSelector& metricSelector,
                             const std::vector<std::string>& extraGroupBy = {});

std::string buildExternalQuery(const CompiledRule& rule, const std::string& seriesName,
                               const std::string& ns, const LabelSelector& selector,
                               const std::vector<std::string>& groupBy = {});

}  // namespace rules
