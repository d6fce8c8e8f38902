// A bounded map whose entries expire, evicting the least recently used
// when full: the memo behind token reviews, access reviews and certificate
// verification. A flood of new keys evicts old ones one at a time; the
// cache is never emptied wholesale, so busy keys (the front proxy's) stay.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace apiservice {

template <class V>
class LruCache {
 public:
  explicit LruCache(size_t maxEntries) : max_(maxEntries == 0 ? 1 : maxEntries) {}

  std::optional<V> get(const std::string& key, int64_t nowMs) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (it->second->expiresMs <= nowMs) {
      order_.erase(it->second);
      index_.erase(it);
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  void put(const std::string& key, V value, int64_t expiresMs) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->value = std::move(value);
      it->second->expiresMs = expiresMs;
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.push_front(Entry{key, std::move(value), expiresMs});
    index_.emplace(key, order_.begin());
    while (index_.size() > max_) {
      index_.erase(order_.back().key);
      order_.pop_back();
    }
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return index_.size();
  }
  size_t capacity() const { return max_; }

 private:
  struct Entry {
    std::string key;
    V value;
    int64_t expiresMs;
  };
  size_t max_;
  mutable std::mutex mu_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace apiservice
