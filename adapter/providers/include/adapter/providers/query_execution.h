// What every provider does on its way to the backend: take the served
// snapshot, parse the request's selectors, run the query -- each failure
// turned into the Status the client should see.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapter/prometheus/prometheus_api.h"
#include "adapter/prometheus/serving_state.h"
#include "common/clock.h"
#include "common/logger.h"
#include "rules/label_selector.h"

namespace adapter {

// The snapshot requests read; 503 until the first discovery has finished.
std::shared_ptr<const Snapshot> currentSnapshot(const ServingState& state);
// Runs a query at the clock's now; backend failures become 503
// (unreachable) or 500 (the backend refused it or answered garbage).
// A request that ran out of time or lost its client propagates
// common::RequestAborted.
common::Task<std::vector<Sample>> runQuery(PrometheusApi& backend, const common::Clock& clock,
                                           common::Logger& log, const std::string& promql,
                                           const common::RequestContext& ctx);
// Parses a request's selector; a bad one is 400 naming the parameter.
rules::LabelSelector parseRequestSelector(const std::string& text, const char* param);

}  // namespace adapter
