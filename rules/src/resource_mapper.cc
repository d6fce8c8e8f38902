#include "rules/resource_mapper.h"

#include <algorithm>

namespace rules {

std::optional<ResourceInfo> StaticResourceMapper::resolve(std::string_view name) const {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string_view res = lower;
  std::optional<std::string_view> group;
  if (auto dot = res.find('.'); dot != std::string_view::npos) {
    group = res.substr(dot + 1);
    res = res.substr(0, dot);
  }
  for (const auto& info : resources_) {
    if (group && info.gr.group != *group) continue;
    if (info.gr.resource == res || info.singular == res ||
        std::find(info.shortNames.begin(), info.shortNames.end(), res) != info.shortNames.end()) {
      return info;
    }
  }
  return std::nullopt;
}

}  // namespace rules
