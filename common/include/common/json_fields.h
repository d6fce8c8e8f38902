// Fields of JSON from peers we do not control (kube-apiserver, reviews,
// Prometheus): a field of the wrong type reads as absent, where
// nlohmann::json::value would throw a type_error that no caller expects.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace common {

inline std::string jsonString(const nlohmann::json& obj, const char* key,
                              const std::string& fallback = "") {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline bool jsonBool(const nlohmann::json& obj, const char* key, bool fallback = false) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

inline int64_t jsonInt(const nlohmann::json& obj, const char* key, int64_t fallback = 0) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

// An object or array member, or an empty value of that kind.
inline nlohmann::json jsonMember(const nlohmann::json& obj, const char* key,
                                 nlohmann::json fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->type() == fallback.type() ? *it : fallback;
}

}  // namespace common
