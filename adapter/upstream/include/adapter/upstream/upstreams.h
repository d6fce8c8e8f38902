// The upstreams of one adapter, built from its options: the HTTPS
// servers, their discovery catalog and the forwarder the router calls.
#pragma once

#include <memory>
#include <vector>

#include "adapter/upstream/https_upstream.h"
#include "adapter/upstream/upstream_catalog.h"
#include "adapter/upstream/upstream_forwarder.h"
#include "adapter/upstream/upstream_options.h"

namespace adapter {

class Upstreams {
 public:
  // Throws std::invalid_argument naming the upstream whose URL or TLS
  // files are unusable.
  Upstreams(const UpstreamsOptions& o, UpstreamCatalog::ServedHere servedHere,
            UpstreamForwarder::Observe observe, common::Logger& log);
  const UpstreamForwarder& forwarder() const { return forwarder_; }
  UpstreamCatalog& catalog() { return catalog_; }

 private:
  static std::vector<std::unique_ptr<HttpsUpstream>> connect(const UpstreamsOptions& o,
                                                             common::Logger& log);
  std::vector<const UpstreamServer*> views() const;
  std::vector<std::unique_ptr<HttpsUpstream>> servers_;
  UpstreamCatalog catalog_;
  UpstreamForwarder forwarder_;
};

}  // namespace adapter
