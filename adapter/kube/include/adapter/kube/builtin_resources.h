// The standard Kubernetes resources, for --standalone mode where there is no
// API discovery to ask.
#pragma once

#include <memory>
#include <vector>

#include "rules/resource_mapper.h"

namespace adapter {

std::vector<rules::ResourceInfo> builtinResourceTable();
std::shared_ptr<const rules::ResourceMapper> builtinResources();

}  // namespace adapter
