#include "adapter/upstream/upstreams.h"

namespace adapter {

std::vector<std::unique_ptr<HttpsUpstream>> Upstreams::connect(const UpstreamsOptions& o,
                                                               common::Logger& log) {
  std::vector<std::unique_ptr<HttpsUpstream>> out;
  for (const auto& u : o.upstreams) {
    try {
      out.push_back(std::make_unique<HttpsUpstream>(u, o, &log));
    } catch (const common::HttpClientError& e) {
      throw std::invalid_argument("upstream " + u.url + ": " + e.what());
    }
  }
  return out;
}

std::vector<const UpstreamServer*> Upstreams::views() const {
  std::vector<const UpstreamServer*> out;
  for (const auto& s : servers_) out.push_back(s.get());
  return out;
}

Upstreams::Upstreams(const UpstreamsOptions& o, UpstreamCatalog::ServedHere servedHere,
                     UpstreamForwarder::Observe observe, common::Logger& log)
    : servers_(connect(o, log)),
      catalog_(views(), std::move(servedHere), o.discoveryInterval, log),
      forwarder_(views(), catalog_, std::move(observe)) {}

}  // namespace adapter
