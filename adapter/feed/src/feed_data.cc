#include "adapter/feed/feed_data.h"

namespace adapter {

const std::vector<std::string>& feedMetricNames() {
  static const std::vector<std::string> names{
      feedmetric::kDelayed, feedmetric::kNotVisible, feedmetric::kVisible,
      feedmetric::kLag,     feedmetric::kLagSeconds, feedmetric::kLagSecondsMax,
      feedmetric::kLagSum,  feedmetric::kMembers,    feedmetric::kOffsetSum};
  return names;
}

}  // namespace adapter
