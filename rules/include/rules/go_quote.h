// Go's strconv.Quote (fmt's %q): the one quoting both PromQL label values
// and templates' printf use.
#pragma once

#include <string>
#include <string_view>

namespace rules {

// A double-quoted Go string literal: \ and " escaped, control bytes and
// invalid UTF-8 as \xNN, valid UTF-8 kept as is.
std::string goQuote(std::string_view s);

}  // namespace rules
