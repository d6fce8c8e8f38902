// A kube-apiserver answering canned replies per method and path: GET, POST
// and streamed GET (the body handed out in chunks, as a LIST page or a
// watch arrives), transport failures as KubeError, and a record of every
// request. A path is looked up exactly, then without its query string;
// anything else answers 404. Streams end at once (no blocking watches).
// Thread-safe.
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapter/kube/kube_api.h"

namespace mocks {

class FakeKubeApi final : public adapter::KubeApi {
 public:
  struct Request {
    std::string method;  // "GET", "POST" or "STREAM"
    std::string path;
    std::string body;  // POST only
  };

  explicit FakeKubeApi(std::string source = "fake-apiserver") : source_(std::move(source)) {}

  void replyGet(const std::string& path, int status, std::string body) {
    script("GET", path, status, std::move(body));
  }
  void replyPost(const std::string& path, int status, std::string body) {
    script("POST", path, status, std::move(body));
  }
  void replyStream(const std::string& path, int status, std::string body) {
    script("STREAM", path, status, std::move(body));
  }
  // `method` on `path` throws KubeError(message, httpStatus) instead.
  void fail(const std::string& method, const std::string& path, const std::string& message,
            int httpStatus = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_[{method, path}] = Reply{0, "", adapter::KubeError(message, httpStatus)};
  }
  // How many bytes a stream's reader hands out per call (default 7, so
  // parsers see bodies split mid-token).
  void setStreamChunk(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    chunk_ = std::max<size_t>(1, bytes);
  }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Requests with `method` for exactly `path`.
  size_t count(const std::string& method, const std::string& path) const {
    std::lock_guard<std::mutex> lock(mu_);
    return std::count_if(requests_.begin(), requests_.end(),
                         [&](const Request& r) { return r.method == method && r.path == path; });
  }

  adapter::KubeReply get(const std::string& path) override {
    Reply r = answer("GET", path, "");
    return {r.status, std::move(r.body)};
  }
  adapter::KubeReply post(const std::string& path, const std::string& jsonBody) override {
    Reply r = answer("POST", path, jsonBody);
    return {r.status, std::move(r.body)};
  }
  // Recorded as "GET"/"POST" like the blocking calls.
  common::Task<adapter::KubeReply> send(const std::string& method, const std::string& path,
                                        const std::string& jsonBody,
                                        const common::RequestContext&) override {
    Reply r = answer(method, path, jsonBody);
    co_return adapter::KubeReply{r.status, std::move(r.body)};
  }
  int stream(const std::string& path, std::chrono::milliseconds /*timeout*/,
             common::CancelToken* cancel,
             const std::function<void(int status, common::HttpClient::BodyReader& read)>& onBody)
      override {
    if (cancel && cancel->cancelled()) throw adapter::KubeError("GET " + path + ": cancelled");
    Reply r = answer("STREAM", path, "");
    size_t chunk;
    {
      std::lock_guard<std::mutex> lock(mu_);
      chunk = chunk_;
    }
    size_t pos = 0;
    common::HttpClient::BodyReader read = [&](char* buf, size_t len) {
      size_t n = std::min({len, chunk, r.body.size() - pos});
      std::memcpy(buf, r.body.data() + pos, n);
      pos += n;
      return n;
    };
    onBody(r.status, read);
    return r.status;
  }
  const std::string& source() const override { return source_; }

 private:
  struct Reply {
    int status = 0;
    std::string body;
    std::optional<adapter::KubeError> error;
  };
  void script(const std::string& method, const std::string& path, int status, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_[{method, path}] = Reply{status, std::move(body), std::nullopt};
  }
  Reply answer(const std::string& method, const std::string& path, const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back({method, path, body});
    auto it = replies_.find({method, path});
    if (it == replies_.end()) it = replies_.find({method, path.substr(0, path.find('?'))});
    if (it == replies_.end()) {
      return Reply{404,
                   R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound",)"
                   R"("code":404})",
                   std::nullopt};
    }
    if (it->second.error) throw *it->second.error;
    return it->second;
  }
  std::string source_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Reply> replies_;
  std::vector<Request> requests_;
  size_t chunk_ = 7;
};

}  // namespace mocks
