// Leveled logging as klog does it (--v), one line per event, as text or
// JSON. Passed by reference to whoever logs; never a global. Control
// characters in messages, keys and values are escaped (\n, \r, \t, \x1b in
// text; JSON's own escapes in JSON), so an entry is always one line.
#pragma once

#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>

namespace common {

class Logger {
 public:
  enum class Format { Text, Json };
  using Fields = std::initializer_list<std::pair<std::string, std::string>>;

  Logger(std::ostream& out, int verbosity, Format format)
      : out_(out), verbosity_(verbosity), format_(format) {}

  bool enabled(int level) const { return level <= verbosity_; }
  void info(const std::string& msg, Fields fields = {}) { write('I', msg, fields); }
  void warning(const std::string& msg, Fields fields = {}) { write('W', msg, fields); }
  void error(const std::string& msg, Fields fields = {}) { write('E', msg, fields); }
  // Logged only when --v is at least `level`.
  void v(int level, const std::string& msg, Fields fields = {}) {
    if (enabled(level)) write('I', msg, fields);
  }

 private:
  void write(char severity, const std::string& msg, Fields fields);
  std::ostream& out_;
  int verbosity_;
  Format format_;
  std::mutex mu_;
};

}  // namespace common
