// Transport-neutral request and response, so routing is testable without
// sockets.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace apiservice {

struct HttpRequest {
  std::string method;
  std::string target;                          // raw path and query, still percent-encoded
  std::map<std::string, std::string> headers;  // lowercase names
  std::string remoteAddress;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace apiservice
