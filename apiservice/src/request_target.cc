#include "apiservice/request_target.h"

#include "apiservice/status.h"
#include "common/percent_encoding.h"

namespace apiservice {

namespace {

std::string percentDecode(std::string_view s, bool plusIsSpace) {
  auto out = common::percentDecode(s, plusIsSpace);
  if (!out)
    throw StatusError::badRequest("malformed percent-encoding in \"" + std::string(s) + "\"");
  return std::move(*out);
}

}  // namespace

std::vector<std::string> decodePathSegments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(percentDecode(path.substr(i, j - i), false));
    i = j;
  }
  return out;
}

std::map<std::string, std::string> decodeQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i <= query.size()) {
    size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    std::string_view kv = query.substr(i, j - i);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string k = percentDecode(kv.substr(0, eq), true);
      std::string v = eq == std::string_view::npos ? "" : percentDecode(kv.substr(eq + 1), true);
      out.emplace(std::move(k), std::move(v));  // first value wins, as Go's Query().Get
    }
    i = j + 1;
  }
  return out;
}

RequestTarget parseRequestTarget(std::string_view target) {
  size_t q = target.find('?');
  RequestTarget t;
  t.path = std::string(target.substr(0, q));
  t.query = decodeQuery(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  t.segments = decodePathSegments(t.path);
  return t;
}

}  // namespace apiservice
