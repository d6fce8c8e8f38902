#include "queue_stats/log.h"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace queue_stats {

void Log::write(const char* level, const std::string& msg, const Fields& fields) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line;
  if (json_) {
    nlohmann::ordered_json j{{"ts", ts}, {"level", level}, {"msg", msg}};
    for (const auto& [k, v] : fields) j[k] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = std::string(ts) + " " + level + " " + msg;
    for (const auto& [k, v] : fields) {
      bool quote = v.empty() || v.find_first_of(" \"=") != std::string::npos;
      line +=
          " " + k + "=" +
          (quote ? nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                 : v);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line << std::endl;
}

}  // namespace queue_stats
