#include "apiservice/status.h"

#include <nlohmann/json.hpp>

namespace apiservice {

std::string statusJson(int code, const std::string& reason, const std::string& message) {
  nlohmann::ordered_json j;
  j["kind"] = "Status";
  j["apiVersion"] = "v1";
  j["metadata"] = nlohmann::json::object();
  j["status"] = "Failure";
  j["message"] = message;
  j["reason"] = reason;
  j["code"] = code;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace apiservice
