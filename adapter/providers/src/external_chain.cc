#include "adapter/providers/external_chain.h"

#include <algorithm>
#include <stdexcept>

#include "apiservice/status.h"

namespace adapter {

ExternalMetricsChain::ExternalMetricsChain(std::vector<const ExternalMetricsSource*> sources)
    : sources_(std::move(sources)) {
  if (sources_.empty()) throw std::invalid_argument("an external metrics chain needs a source");
}

std::vector<std::string> ExternalMetricsChain::listExternalMetrics() const {
  std::vector<std::string> out;
  for (const auto* s : sources_) {
    auto names = s->listExternalMetrics();
    out.insert(out.end(), std::make_move_iterator(names.begin()),
               std::make_move_iterator(names.end()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool ExternalMetricsChain::servesExternalMetric(const std::string& metric) const {
  return std::any_of(sources_.begin(), sources_.end(),
                     [&](const auto* s) { return s->servesExternalMetric(metric); });
}

common::Task<std::vector<apiservice::ExternalMetricValue>> ExternalMetricsChain::getExternalMetric(
    const apiservice::ExternalMetricRequest& req, const common::RequestContext& ctx) const {
  for (const auto* s : sources_)
    if (s->servesExternalMetric(req.metric)) co_return co_await s->getExternalMetric(req, ctx);
  // Nobody claims the name: the last 404 is the answer unless a source
  // says something else (503 while it starts).
  for (size_t i = 0; i + 1 < sources_.size(); ++i) {
    try {
      co_return co_await sources_[i]->getExternalMetric(req, ctx);
    } catch (const apiservice::StatusError& e) {
      if (e.code() != 404) throw;
    }
  }
  co_return co_await sources_.back()->getExternalMetric(req, ctx);
}

}  // namespace adapter
