// A bounded map whose entries expire: the memo behind token reviews,
// access reviews and certificate verification.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace apiservice {

template <class V>
class TtlCache {
 public:
  explicit TtlCache(size_t maxEntries) : max_(maxEntries) {}

  std::optional<V> get(const std::string& key, int64_t nowMs) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end() || it->second.expiresMs <= nowMs) return std::nullopt;
    return it->second.value;
  }

  void put(const std::string& key, V value, int64_t expiresMs, int64_t nowMs) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= max_ && !map_.count(key)) {
      std::erase_if(map_, [&](const auto& kv) { return kv.second.expiresMs <= nowMs; });
      // Still full of live entries: start over rather than track recency;
      // a miss only costs one review.
      if (map_.size() >= max_) map_.clear();
    }
    map_[key] = Entry{std::move(value), expiresMs};
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

 private:
  struct Entry {
    V value;
    int64_t expiresMs;
  };
  size_t max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace apiservice
