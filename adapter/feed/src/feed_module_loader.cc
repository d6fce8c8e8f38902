#include "adapter/feed/feed_module_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "common/logger.h"

namespace adapter {

namespace {

constexpr const char* kModule = "metrics-adapter-queue-feed.so";

// Where the build leaves the module (next to the binary) or where
// `cmake --install` puts it (<prefix>/lib/metrics-adapter/).
std::vector<std::filesystem::path> moduleCandidates() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path dir = ec ? std::filesystem::current_path() : exe.parent_path();
  return {dir / kModule, dir.parent_path() / "lib" / "metrics-adapter" / kModule};
}

using CreateFn = FeedSource* (*)(const QueueStatsFeedOptions*, const FeedLog*, std::string*);

}  // namespace

std::unique_ptr<FeedSource> loadQueueStatsFeed(const QueueStatsFeedOptions& opts,
                                               common::Logger& log) {
  const auto candidates = moduleCandidates();
  std::string path = candidates.front().string();
  for (const auto& c : candidates)
    if (std::filesystem::exists(c)) {
      path = c.string();
      break;
    }
  // Never unloaded: the feed's thread and objects live until exit.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw std::runtime_error("--queue-stats-address needs the feed module " + std::string(kModule) +
                             " (looked for " + candidates[0].string() + " and " +
                             candidates[1].string() +
                             "), which cannot be loaded: " + (why ? why : "unknown error"));
  }
  auto create = reinterpret_cast<CreateFn>(dlsym(handle, "ma_queue_stats_feed_create"));
  if (!create)
    throw std::runtime_error(
        path + " is not metrics-adapter's feed module (no ma_queue_stats_feed_create)");
  const std::string address = opts.address;
  FeedLog feedLog = [&log, address](bool warning, const std::string& message,
                                    const std::string& error) {
    if (warning)
      log.warning(message, {{"address", address}, {"error", error}});
    else
      log.info(message, {{"address", address}});
  };
  std::string error;
  std::unique_ptr<FeedSource> feed(create(&opts, &feedLog, &error));
  if (!feed) throw std::runtime_error("queue-stats feed: " + error);
  return feed;
}

}  // namespace adapter
