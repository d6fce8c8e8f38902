// Kubernetes `Status` errors: what every failed request answers.
#pragma once

#include <stdexcept>
#include <string>

namespace apiservice {

class StatusError : public std::runtime_error {
 public:
  StatusError(int code, std::string reason, const std::string& message)
      : std::runtime_error(message), code_(code), reason_(std::move(reason)) {}
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }

  static StatusError badRequest(const std::string& m) { return {400, "BadRequest", m}; }
  static StatusError unauthorized(const std::string& m) { return {401, "Unauthorized", m}; }
  static StatusError forbidden(const std::string& m) { return {403, "Forbidden", m}; }
  static StatusError notFound(const std::string& m) { return {404, "NotFound", m}; }
  static StatusError methodNotAllowed(const std::string& m) { return {405, "MethodNotAllowed", m}; }
  static StatusError internal(const std::string& m) { return {500, "InternalError", m}; }
  static StatusError unavailable(const std::string& m) { return {503, "ServiceUnavailable", m}; }

 private:
  int code_;
  std::string reason_;
};

// The JSON body of a Status object for `code`, `reason` and `message`.
std::string statusJson(int code, const std::string& reason, const std::string& message);

}  // namespace apiservice
