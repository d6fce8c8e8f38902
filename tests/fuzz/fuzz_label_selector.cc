// Label selectors arrive in request query strings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rules/label_selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto sel = rules::parseLabelSelector(text);
    auto m = rules::selectorToMatchers(sel);
    rules::selectorMatches(sel, {{"app", "web"}});
    // Every matcher keeps its value inside one quoted string.
    for (const auto& x : m.matchers) {
      if (x.back() != '"') __builtin_trap();
    }
  } catch (const rules::SelectorError&) {
  }
  return 0;
}
