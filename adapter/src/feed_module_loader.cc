#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "adapter/feed_source.h"

namespace adapter {

namespace {

// The module sits next to the binary (as the build and the image lay them out).
std::string modulePath() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path dir = ec ? std::filesystem::current_path() : exe.parent_path();
  return (dir / "metrics-adapter-queue-feed.so").string();
}

using CreateFn = FeedSource* (*)(const QueueStatsFeedOptions*, const FeedLog*, std::string*);

}  // namespace

std::unique_ptr<FeedSource> loadQueueStatsFeed(const QueueStatsFeedOptions& opts, apiservice::Logger& log) {
  const std::string path = modulePath();
  // Never unloaded: the feed's thread and objects live until exit.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw std::runtime_error("--queue-stats-address needs the feed module " + path + ", which cannot be loaded: " +
                             (why ? why : "unknown error"));
  }
  auto create = reinterpret_cast<CreateFn>(dlsym(handle, "ma_queue_stats_feed_create"));
  if (!create) throw std::runtime_error(path + " is not metrics-adapter's feed module (no ma_queue_stats_feed_create)");
  const std::string address = opts.address;
  FeedLog feedLog = [&log, address](bool warning, const std::string& message, const std::string& error) {
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
