#include "rules/resource_naming.h"

namespace rules {

namespace {
gotemplate::Value groupResourceValue(const std::string& group, const std::string& resource) {
  auto s = std::make_shared<gotemplate::ValueStruct>();
  s->typeName = "schema.GroupResource";
  s->fields = {{"Group", gotemplate::Value(group)}, {"Resource", gotemplate::Value(resource)}};
  return gotemplate::Value(std::shared_ptr<const gotemplate::ValueStruct>(std::move(s)));
}

// Group names become label-safe: "networking.k8s.io" -> "networking_k8s_io".
std::string sanitizeGroup(std::string g) {
  for (char& c : g)
    if (c == '.' || c == '-') c = '_';
  return g;
}
}  // namespace

ResourceNaming::ResourceNaming(const ResourceMapping& mapping,
                               std::shared_ptr<const ResourceMapper> mapper)
    : mapper_(std::move(mapper)) {
  for (const auto& [label, ref] : mapping.overrides) {
    std::string name = ref.group.empty() ? ref.resource : ref.resource + "." + ref.group;
    auto info = mapper_->resolve(name);
    if (!info) {
      // Not in the resource table (a CRD, say): keep it as written.
      info = ResourceInfo{GroupResource{ref.group, ref.resource}, "", ref.resource, "v1", true, {}};
    }
    byLabel_[label] = *info;
    byResource_[info->gr] = label;
  }
  if (!mapping.templ.empty()) {
    try {
      template_ = gotemplate::Template::parse(mapping.templ);
      std::string pattern =
          template_->execute(groupResourceValue("(?P<group>.+?)", "(?P<resource>.+?)"));
      if (pattern.empty()) throw NamingError("resources.template renders to an empty label");
      labelPattern_.emplace("^" + pattern + "$");
    } catch (const gotemplate::TemplateError& e) {
      throw NamingError(std::string("resources.template: ") + e.what());
    } catch (const RegexError& e) {
      throw NamingError(std::string("resources.template does not make a valid label pattern: ") +
                        e.what());
    }
  }
}

std::optional<ResourceInfo> ResourceNaming::resourceForLabel(std::string_view label) const {
  if (auto it = byLabel_.find(label); it != byLabel_.end()) return it->second;
  if (!labelPattern_) return std::nullopt;
  auto resource = labelPattern_->expand("${resource}", label);
  if (!resource || resource->empty()) return std::nullopt;
  std::string group = labelPattern_->expand("${group}", label).value_or("");
  return mapper_->resolve(group.empty() ? *resource : *resource + "." + group);
}

std::string ResourceNaming::labelForResource(const GroupResource& resource) const {
  if (auto it = byResource_.find(resource); it != byResource_.end()) return it->second;
  if (!template_) {
    throw NamingError("the rule has no label for " + resource.str() +
                      " (add resources.overrides or resources.template)");
  }
  auto info = mapper_->resolve(resource.str());
  std::string singular = info ? info->singular : resource.resource;
  std::string label =
      template_->execute(groupResourceValue(sanitizeGroup(resource.group), singular));
  if (label.empty())
    throw NamingError("resources.template renders an empty label for " + resource.str());
  return label;
}

}  // namespace rules
