// A rule's `resources` section: which series label names which Kubernetes
// resource, in both directions (label -> resource for discovery, resource ->
// label for queries).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "rules/config.h"
#include "rules/go_regexp.h"
#include "rules/go_template.h"
#include "rules/resource_mapper.h"

namespace rules {

class NamingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ResourceNaming {
 public:
  // Throws NamingError when the template is invalid.
  ResourceNaming(const ResourceMapping& mapping, std::shared_ptr<const ResourceMapper> mapper);

  // The resource a series label refers to, if any.
  std::optional<ResourceInfo> resourceForLabel(std::string_view label) const;
  // The series label holding names of `resource`; throws NamingError when
  // the rule cannot name it.
  std::string labelForResource(const GroupResource& resource) const;
  bool canNameResource(const GroupResource& resource) const {
    return template_.has_value() || byResource_.count(resource) > 0;
  }

 private:
  std::shared_ptr<const ResourceMapper> mapper_;
  std::map<std::string, ResourceInfo, std::less<>> byLabel_;
  std::map<GroupResource, std::string> byResource_;
  std::optional<gotemplate::Template> template_;
  std::optional<GoRegexp> labelPattern_;
};

}  // namespace rules
