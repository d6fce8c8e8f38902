// One line per event, klog-like text or JSON; verbosity as --v.
#pragma once

#include <iostream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace queue_stats {

class Log {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;
  Log(std::ostream& out, int verbosity, bool json)
      : out_(out), verbosity_(verbosity), json_(json) {}
  void info(const std::string& msg, const Fields& f = {}) { write("info", msg, f); }
  void warn(const std::string& msg, const Fields& f = {}) { write("warning", msg, f); }
  void error(const std::string& msg, const Fields& f = {}) { write("error", msg, f); }
  void v(int level, const std::string& msg, const Fields& f = {}) {
    if (level <= verbosity_) write("info", msg, f);
  }

 private:
  void write(const char* level, const std::string& msg, const Fields& fields);
  std::ostream& out_;
  int verbosity_;
  bool json_;
  std::mutex mu_;
};

}  // namespace queue_stats
