#include "adapter/providers/query_execution.h"

#include "apiservice/status.h"

namespace adapter {

using apiservice::StatusError;

std::shared_ptr<const Snapshot> currentSnapshot(const ServingState& state) {
  auto snap = state.current();
  if (!snap)
    throw StatusError::unavailable("metric discovery has not completed yet; retry shortly");
  return snap;
}

common::Task<std::vector<Sample>> runQuery(PrometheusApi& backend, const common::Clock& clock,
                                           common::Logger& log, const std::string& promql,
                                           const common::RequestContext& ctx) {
  log.v(4, "running query", {{"query", promql}});
  try {
    co_return co_await backend.query(promql, clock.nowMillis(), ctx);
  } catch (const BackendError& e) {
    if (e.unavailable()) throw StatusError::unavailable(e.what());
    throw StatusError::internal(e.what());
  }
}

rules::LabelSelector parseRequestSelector(const std::string& text, const char* param) {
  try {
    return rules::parseLabelSelector(text);
  } catch (const rules::SelectorError& e) {
    throw StatusError::badRequest(std::string(param) + ": " + e.what());
  }
}

}  // namespace adapter
