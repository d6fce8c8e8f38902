// The config file: YAML, structure, regexes and templates, all validated.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rules/config.h"
#include "rules/rule_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto mapper =
      std::make_shared<rules::StaticResourceMapper>(std::vector<rules::ResourceInfo>{
          {{"", "pods"}, "Pod", "pod", "v1", true, {"po"}},
          {{"", "namespaces"}, "Namespace", "namespace", "v1", false, {}}});
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    rules::RuleSet::compile(rules::parseConfig(text, "fuzz.yaml"), "fuzz.yaml", mapper);
  } catch (const rules::ConfigError&) {
  }
  return 0;
}
