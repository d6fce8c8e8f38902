#include "common/secret_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

TEST(SecretFile, ReadsWithoutTrailingNewlineAndRereadsWhenReplaced) {
  char tmpl[] = "/tmp/secret-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/token";
  std::ofstream(path) << "first\n";
  common::SecretFile f(path);
  EXPECT_EQ(f.read(), "first");
  // As a projected token rotates: a new file renamed over the old one.
  std::ofstream(path + ".new") << "second-token\n";
  std::filesystem::rename(path + ".new", path);
  EXPECT_EQ(f.read(), "second-token");
  std::filesystem::remove(path);
  EXPECT_THROW(f.read(), common::SecretFileError);
  std::filesystem::remove_all(tmpl);
}
