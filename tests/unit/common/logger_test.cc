#include "common/logger.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

// Log escaping (common::Logger): no value, key or message may break an entry
// over two lines, so none can forge an entry of its own.
namespace {

std::string logOnce(common::Logger::Format format, const std::string& msg,
                    common::Logger::Fields fields) {
  std::ostringstream out;
  common::Logger log(out, 0, format);
  log.info(msg, fields);
  std::string line = out.str();
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  EXPECT_EQ(line.back(), '\n');
  return line.substr(0, line.size() - 1);
}

// What follows the klog header "I0102 15:04:05.000000    123] ".
std::string afterHeader(const std::string& line) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(line, m, std::regex(R"(^I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+\] )")))
      << line;
  return m.suffix();
}

}  // namespace

TEST(LoggerEscaping, TextEscapesControlCharactersInMessagesKeysAndValues) {
  std::string forged = "E0102 15:04:05.000000       1] forged";
  std::string line = logOnce(common::Logger::Format::Text, "got\n" + forged,
                             {{"k\ney", "a\r\nb\tc\033d\177"}, {"bell", "\a"}});
  EXPECT_EQ(afterHeader(line),
            "got\\n" + forged + " k\\ney=\"a\\r\\nb\\tc\\x1bd\\x7f\" bell=\"\\x07\"");
}

TEST(LoggerEscaping, TextQuotesValuesAsBefore) {
  std::string line = logOnce(common::Logger::Format::Text, "plain message",
                             {{"path", "/apis/x"},
                              {"empty", ""},
                              {"q", "unknown key \"a b\""},
                              {"re", "a\\d=1"},
                              {"utf8", "caf\xc3\xa9"},
                              {"bad", "x \xff"}});
  EXPECT_EQ(afterHeader(line),
            "plain message path=/apis/x empty=\"\" q=\"unknown key \\\"a b\\\"\" "
            "re=\"a\\\\d=1\" utf8=caf\xc3\xa9 bad=\"x \xef\xbf\xbd\"");
}

TEST(LoggerEscaping, JsonEscapesControlCharactersAndReplacesInvalidUtf8) {
  std::string line = logOnce(common::Logger::Format::Json, "got\nforged",
                             {{"k\x01", "\x7f\r\t\xff"}, {"caf\xc3\xa9", "\x1b"}});
  EXPECT_NE(line.find(R"("msg":"got\nforged")"), std::string::npos) << line;
  EXPECT_NE(line.find("\"k\\u0001\":\"\\u007f\\r\\t\xef\xbf\xbd\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"caf\xc3\xa9\":\"\\u001b\""), std::string::npos) << line;
  for (unsigned char c : line) EXPECT_FALSE(c < 0x20 || c == 0x7f) << int(c);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["msg"], "got\nforged");
  EXPECT_EQ(j["k\x01"], "\x7f\r\t\xef\xbf\xbd");
  EXPECT_EQ(j["level"], "info");
}
