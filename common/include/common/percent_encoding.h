// Percent-encoding (RFC 3986) for URLs and form bodies, both ways: one
// implementation for Prometheus query forms, SigV4's canonical requests and
// the API server's paths and queries.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common {

// Every byte outside A-Z a-z 0-9 - _ . ~ (and '/' when `keepSlash`) as %XX
// with upper-case hex, as SigV4 and application/x-www-form-urlencoded want.
std::string percentEncode(std::string_view s, bool keepSlash = false);

// Decodes %XX escapes (and '+' as a space when `plusIsSpace`, for query
// strings); nullopt when an escape is malformed.
std::optional<std::string> percentDecode(std::string_view s, bool plusIsSpace);

}  // namespace common
