// The --upstreams-config file: one entry per upstream, for when upstreams
// need different CAs, tokens or timeouts.
//
//   upstreams:
//   - url: https://keda-operator-metrics-apiserver.keda.svc:443
//     api: external            # or custom
//     caFile: /etc/upstreams/keda/ca.crt
//     tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
//     certFile: ...            # with keyFile: a client certificate
//     keyFile: ...
//     timeout: 5s
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "adapter/upstream/upstream_options.h"

namespace adapter {

// Throws std::invalid_argument as "file:line:col: upstreams[1].url: ...".
// An entry without tokenFile gets `defaultTokenFile` (may be empty).
std::vector<UpstreamOptions> loadUpstreamsConfig(const std::string& path,
                                                 const std::string& defaultTokenFile);
// The same, from text (tests, fuzzing); `file` names it in errors.
std::vector<UpstreamOptions> parseUpstreamsConfig(const std::string& text, const std::string& file,
                                                  const std::string& defaultTokenFile);

}  // namespace adapter
