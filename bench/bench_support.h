// What the benchmarks that drive child processes share: their memory as
// /proc reports it, and the load generator run as a child.
#pragma once

#include <sys/types.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace bench {

// A /proc/<pid>/status field in kB ("VmRSS:", "VmHWM:"); -1 when absent.
inline long statusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  return -1;
}

// A benchmark's checks that its answers succeeded and did the work: each
// failure is printed and makes the exit code 1.
struct Checks {
  int failed = 0;
  void expect(bool ok, const std::string& what) {
    if (ok) return;
    std::cerr << "CHECK FAILED: " << what << "\n";
    ++failed;
  }
};

// Runs bench/loadgen with `args` and returns the JSON summary it prints last.
inline nlohmann::json loadgen(const std::vector<std::string>& args,
                              const testsupport::TempDir& dir) {
  std::vector<std::string> argv{LOADGEN_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string log = dir.file("loadgen.out");
  testsupport::ChildProcess p(argv, log);
  p.waitExit(std::chrono::seconds(300));
  std::string out = testsupport::readFile(log);
  return nlohmann::json::parse(out.substr(out.rfind('{')));
}

}  // namespace bench
