// Templates come from user configs: parsing and executing any text must
// either work or throw TemplateError, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "rules/go_template.h"

using rules::gotemplate::Value;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto t = rules::gotemplate::Template::parse(text);
    auto s = std::make_shared<rules::gotemplate::ValueStruct>();
    s->typeName = "args";
    s->fields = {{"Series", Value("s")},
                 {"LabelMatchers", Value("a=\"b\"")},
                 {"LabelValuesByName", Value::stringMap({{"pod", "p1|p2"}})},
                 {"GroupBySlice", Value::stringList({"pod", "x"})},
                 {"N", Value(3)}};
    (void)t.execute(Value(std::shared_ptr<const rules::gotemplate::ValueStruct>(std::move(s))));
  } catch (const rules::gotemplate::TemplateError&) {
  }
  return 0;
}
