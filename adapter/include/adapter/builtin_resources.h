// The standard Kubernetes resources, for --standalone mode where there is no
// API discovery to ask.
#pragma once

#include <memory>

#include "rules/resource_mapper.h"

namespace adapter {

std::shared_ptr<const rules::ResourceMapper> builtinResources();

}  // namespace adapter
