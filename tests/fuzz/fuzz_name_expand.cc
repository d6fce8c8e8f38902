// name.matches / name.as: RE2 patterns and Go Expand templates from configs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rules/go_regexp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  // pattern \n template \n subject
  auto a = in.find('\n');
  auto b = a == std::string::npos ? a : in.find('\n', a + 1);
  if (b == std::string::npos) return 0;
  try {
    rules::GoRegexp re(in.substr(0, a));
    (void)re.expand(in.substr(a + 1, b - a - 1), in.substr(b + 1));
  } catch (const rules::RegexError&) {
  }
  return 0;
}
