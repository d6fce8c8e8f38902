#include "apiservice/request_info.h"

#include <algorithm>
#include <vector>

namespace apiservice {

RequestAttributes requestAttributes(std::string_view method, std::string_view target) {
  return requestAttributes(method, parseRequestTarget(target));
}

RequestAttributes requestAttributes(std::string_view method, const RequestTarget& target) {
  RequestAttributes a;
  const std::string& rawPath = target.path;
  const auto& query = target.query;
  const std::vector<std::string>& parts = target.segments;
  a.path = "/";
  for (size_t k = 0; k < parts.size(); ++k) a.path += (k ? "/" : "") + parts[k];
  if (a.path.size() > 1 && !rawPath.empty() && rawPath.back() == '/') a.path += '/';
  std::string lower(method);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  a.verb = lower;

  // Only /apis/{group}/{version}/... (and the groupless /api/{version}/...)
  // with at least one more segment are resource requests.
  if (parts.empty() || (parts[0] != "apis" && parts[0] != "api")) return a;
  size_t i = 1;
  if (parts[0] == "apis") {
    if (parts.size() < 4) return a;
    a.apiGroup = parts[i++];
  } else if (parts.size() < 3) {
    return a;
  }
  a.apiVersion = parts[i++];
  a.resourceRequest = true;
  std::vector<std::string> rest(parts.begin() + static_cast<long>(i), parts.end());

  if (lower == "get" || lower == "head")
    a.verb = "get";
  else if (lower == "post")
    a.verb = "create";
  else if (lower == "put")
    a.verb = "update";
  else if (lower == "patch")
    a.verb = "patch";
  else if (lower == "delete")
    a.verb = "delete";

  // namespaces/{ns}/... scopes the rest, except the namespace object's own
  // subresources (status, finalize).
  if (!rest.empty() && rest[0] == "namespaces" && rest.size() > 1) {
    a.ns = rest[1];
    if (rest.size() > 2 && rest[2] != "status" && rest[2] != "finalize")
      rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (!rest.empty()) a.resource = rest[0];
  if (rest.size() >= 2) a.name = rest[1];
  if (rest.size() >= 3) a.subresource = rest[2];

  if (a.name.empty() && a.verb == "get") a.verb = "list";
  if (a.name.empty() && a.verb == "delete") a.verb = "deletecollection";
  if (a.verb == "list") {
    if (auto w = query.find("watch"); w != query.end() && (w->second == "true" || w->second == "1"))
      a.verb = "watch";
  }
  return a;
}

}  // namespace apiservice
