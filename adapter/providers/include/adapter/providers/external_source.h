// One link of the external metrics chain (queue-stats feed, rules): an
// external metrics provider, which says which names it serves and answers
// them.
#pragma once

#include "apiservice/external_metrics_provider.h"

namespace adapter {

using ExternalMetricsSource = apiservice::ExternalMetricsProvider;

}  // namespace adapter
