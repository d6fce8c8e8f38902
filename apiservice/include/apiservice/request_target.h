// A request target ("/apis/...?labelSelector=..."), decoded once per
// request and read by routing and authorization alike.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace apiservice {

struct RequestTarget {
  std::string path;                          // raw (still percent-encoded), without the query
  std::vector<std::string> segments;         // decoded, empty segments dropped
  std::map<std::string, std::string> query;  // decoded; the first value of a key wins
};

// Throws StatusError 400 on malformed percent-encoding.
RequestTarget parseRequestTarget(std::string_view target);

// Splits a raw path into percent-decoded segments; throws StatusError 400
// on malformed escapes.
std::vector<std::string> decodePathSegments(std::string_view path);
// Decodes an application/x-www-form-urlencoded query string.
std::map<std::string, std::string> decodeQuery(std::string_view query);

}  // namespace apiservice
