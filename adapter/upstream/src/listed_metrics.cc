#include "adapter/upstream/listed_metrics.h"

#include <nlohmann/json.hpp>

namespace adapter {

std::vector<ListedMetric> parseListedMetrics(std::string_view body, size_t maxNames) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("kind", "") != "APIResourceList")
    throw DiscoveryFormatError("the discovery answer is not an APIResourceList");
  auto it = doc.find("resources");
  if (it == doc.end() || it->is_null()) return {};  // Go encodes an empty list as null
  if (!it->is_array()) throw DiscoveryFormatError("APIResourceList.resources is not a list");
  if (it->size() > maxNames) {
    throw DiscoveryFormatError("the discovery answer lists " + std::to_string(it->size()) +
                               " resources, more than " + std::to_string(maxNames));
  }
  std::vector<ListedMetric> out;
  out.reserve(it->size());
  for (const auto& r : *it) {
    if (!r.is_object()) throw DiscoveryFormatError("APIResourceList.resources[] is not an object");
    auto name = r.find("name");
    if (name == r.end() || !name->is_string() || name->get_ref<const std::string&>().empty())
      throw DiscoveryFormatError("APIResourceList.resources[] has no name");
    auto ns = r.find("namespaced");
    out.push_back(
        {name->get<std::string>(), ns == r.end() || !ns->is_boolean() || ns->get<bool>()});
  }
  return out;
}

}  // namespace adapter
