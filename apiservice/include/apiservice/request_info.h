// What a request asks for, in the terms kube-apiserver authorizes it with
// (its RequestInfoFactory): a resource request (verb, group, version,
// namespace, resource, name, subresource) or a non-resource path.
#pragma once

#include <string>
#include <string_view>

#include "apiservice/request_target.h"

namespace apiservice {

struct RequestAttributes {
  bool resourceRequest = false;
  std::string verb;  // get, list, watch, create, ...; the lowercase method for paths
  std::string path;  // decoded path (non-resource requests)
  std::string apiGroup;
  std::string apiVersion;
  std::string ns;
  std::string resource;
  std::string subresource;
  std::string name;

  // "pods/http_requests" or "pods": the resource as RBAC rules name it.
  std::string resourceWithSubresource() const {
    return subresource.empty() ? resource : resource + "/" + subresource;
  }
};

// `target` is the raw request target (path and query, percent-encoded).
// Throws StatusError 400 on malformed percent-encoding.
RequestAttributes requestAttributes(std::string_view method, std::string_view target);
// The same for a target already parsed (the router parses each once).
RequestAttributes requestAttributes(std::string_view method, const RequestTarget& target);

}  // namespace apiservice
