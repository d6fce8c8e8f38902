#include "common/logger.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace common {

void Logger::write(char severity, const std::string& msg, Fields fields) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[64];
  std::string line;
  if (format_ == Format::Json) {
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    nlohmann::ordered_json j;
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06ldZ", static_cast<long>(micros));
    j["ts"] = std::string(ts) + frac;
    j["level"] = severity == 'E' ? "error" : severity == 'W' ? "warning" : "info";
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[k] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    std::strftime(ts, sizeof ts, "%m%d %H:%M:%S", &tm);
    char head[96];
    std::snprintf(head, sizeof head, "%c%s.%06ld %7d] ", severity, ts, static_cast<long>(micros),
                  static_cast<int>(getpid()));
    line = head + msg;
    for (const auto& [k, v] : fields) {
      line += " " + k + "=";
      bool quote = v.empty() || v.find_first_of(" \"=\t\n") != std::string::npos;
      line += quote
                  ? nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  : v;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line << '\n';
  out_.flush();
}

}  // namespace common
