// One link of the external metrics chain (queue-stats feed, rules, later
// upstream servers): it says which names it serves, and answers them.
#pragma once

#include <string>

#include "apiservice/external_metrics_provider.h"

namespace adapter {

class ExternalMetricsSource : public apiservice::ExternalMetricsProvider {
 public:
  // Whether this source answers `metric` now (a cheap check: no I/O). A
  // source asked for a name it does not serve answers 404.
  virtual bool servesExternalMetric(const std::string& metric) const = 0;
};

}  // namespace adapter
