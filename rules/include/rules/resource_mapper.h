// Kubernetes resource names as rules see them: normalisation of plural,
// singular, short and group-qualified names, behind an interface so the
// adapter can back it with a built-in table or with API discovery.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rules {

struct GroupResource {
  std::string group;
  std::string resource;  // plural, lowercase
  // "pods", "deployments.apps": the form used in URLs and messages.
  std::string str() const { return group.empty() ? resource : resource + "." + group; }
  bool operator==(const GroupResource&) const = default;
  auto operator<=>(const GroupResource&) const = default;
};

struct ResourceInfo {
  GroupResource gr;
  std::string kind;      // "Pod"
  std::string singular;  // "pod"
  std::string version;   // preferred version, "v1"
  bool namespaced = true;
  std::vector<std::string> shortNames;
  // "v1" for the core group, "apps/v1" otherwise.
  std::string groupVersion() const { return gr.group.empty() ? version : gr.group + "/" + version; }
};

class ResourceMapper {
 public:
  virtual ~ResourceMapper() = default;
  // Resolves "pods", "pod", "po", "deployments.apps", "deployment.extensions".
  virtual std::optional<ResourceInfo> resolve(std::string_view name) const = 0;
};

// A mapper over a fixed list; earlier entries win when a bare name matches
// several groups.
class StaticResourceMapper final : public ResourceMapper {
 public:
  explicit StaticResourceMapper(std::vector<ResourceInfo> resources)
      : resources_(std::move(resources)) {}
  std::optional<ResourceInfo> resolve(std::string_view name) const override;

 private:
  std::vector<ResourceInfo> resources_;
};

}  // namespace rules
