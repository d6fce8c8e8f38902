// Transport-neutral request and response, so routing is testable without
// sockets.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apiservice {

struct HttpRequest {
  std::string method;
  std::string target;  // raw path and query, still percent-encoded
  // Lowercase names; a header sent several times keeps every value, in
  // order (X-Remote-Group carries one group per header).
  std::multimap<std::string, std::string, std::less<>> headers;
  std::string remoteAddress;
  // The certificate chain the client presented in the TLS handshake (DER,
  // leaf first), shared by every request on the connection; null without
  // one. Not verified here: each authenticator checks it against its CA.
  std::shared_ptr<const std::vector<std::string>> peerCertificates;

  // The first value of a header, or nullptr.
  const std::string* header(std::string_view lowercaseName) const {
    auto it = headers.find(lowercaseName);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace apiservice
