// `metrics-adapter rules check|explain`: validate a config, and show what it
// discovers and which PromQL a request would run.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace adapter {

// args excludes "metrics-adapter rules". Returns the process exit code.
int runRulesCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace adapter
