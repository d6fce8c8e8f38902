#include "common/logger.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>

namespace common {

namespace {

constexpr auto kReplaceInvalidUtf8 = nlohmann::json::error_handler_t::replace;

struct Timestamp {
  std::tm tm{};
  long micros = 0;
};

Timestamp now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  Timestamp ts;
  ts.micros = static_cast<long>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000);
  gmtime_r(&t, &ts.tm);
  return ts;
}

bool isControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Control bytes become escapes, so that an entry is one line whatever a
// value holds and no value can forge an entry of its own.
void appendEscaped(std::string& out, std::string_view s, bool quoted) {
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (isControl(c)) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      if (quoted && (c == '"' || c == '\\')) out += '\\';
      out += static_cast<char>(c);
    }
  }
}

bool needsQuotes(std::string_view v) {
  if (v.empty() || v.find_first_of(" \"=") != std::string_view::npos) return true;
  for (unsigned char c : v)
    if (isControl(c)) return true;
  return false;
}

// Invalid UTF-8 in a quoted value becomes U+FFFD, as it always has.
std::string validUtf8(const std::string& v) {
  std::string json = nlohmann::json(v).dump(-1, ' ', false, kReplaceInvalidUtf8);
  return nlohmann::json::parse(json).get<std::string>();
}

std::string textLine(char severity, const Timestamp& ts, const std::string& msg,
                     Logger::Fields fields) {
  char date[64];
  std::strftime(date, sizeof date, "%m%d %H:%M:%S", &ts.tm);
  char head[96];
  std::snprintf(head, sizeof head, "%c%s.%06ld %7d] ", severity, date, ts.micros,
                static_cast<int>(getpid()));
  std::string line = head;
  appendEscaped(line, msg, false);
  for (const auto& [k, v] : fields) {
    line += ' ';
    appendEscaped(line, k, false);
    line += '=';
    if (!needsQuotes(v)) {
      line += v;
      continue;
    }
    line += '"';
    appendEscaped(line, validUtf8(v), true);
    line += '"';
  }
  return line;
}

std::string jsonLine(char severity, const Timestamp& ts, const std::string& msg,
                     Logger::Fields fields) {
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &ts.tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06ldZ", ts.micros);
  nlohmann::ordered_json j;
  j["ts"] = std::string(date) + frac;
  j["level"] = severity == 'E' ? "error" : severity == 'W' ? "warning" : "info";
  j["msg"] = msg;
  for (const auto& [k, v] : fields) j[k] = v;
  // nlohmann escapes bytes below 0x20 (keys too) but leaves DEL raw; a raw
  // DEL can only be inside a string here, where \u007f means the same.
  std::string dumped = j.dump(-1, ' ', false, kReplaceInvalidUtf8);
  std::string line;
  line.reserve(dumped.size());
  for (char c : dumped) {
    if (c == '\x7f') {
      line += "\\u007f";
    } else {
      line += c;
    }
  }
  return line;
}

}  // namespace

void Logger::write(char severity, const std::string& msg, Fields fields) {
  Timestamp ts = now();
  std::string line = format_ == Format::Json ? jsonLine(severity, ts, msg, fields)
                                             : textLine(severity, ts, msg, fields);
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line << '\n';
  out_.flush();
}

}  // namespace common
