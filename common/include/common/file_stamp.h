// Files that are re-read when they change (certificates, tokens, configs):
// a cheap change stamp and a whole-file read.
#pragma once

#include <optional>
#include <string>

namespace common {

// Changes whenever the file is replaced or rewritten (mtime, size, inode);
// empty when the file cannot be stat'ed.
std::string fileStamp(const std::string& path);
// The whole file, or nullopt when it cannot be read.
std::optional<std::string> readWholeFile(const std::string& path);

}  // namespace common
