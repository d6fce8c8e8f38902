// kube-apiserver's review endpoints (TokenReview, SubjectAccessReview) as
// the authenticators and authorizers reach them: each POST is answered
// with `status` and the body the test's handler makes of the request (a
// handler may check the request with EXPECTs); `down` makes every POST
// fail as an unreachable apiserver does. Counts and records requests.
#pragma once

#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "apiservice/review_transport.h"

namespace mocks {

class FakeReviewTransport final : public apiservice::ReviewTransport {
 public:
  // The reply body for a POST of `body` to `path`.
  using Handler = std::function<std::string(const std::string& path, const std::string& body)>;
  struct Request {
    std::string path;
    std::string body;
  };

  FakeReviewTransport() = default;
  explicit FakeReviewTransport(Handler answer) : answer_(std::move(answer)) {}

  // Set by the test; read them while no request is in flight.
  int calls = 0;      // POSTs received, failed ones included
  bool down = false;  // POSTs throw std::runtime_error("connection refused")
  int status = 201;   // the HTTP status of every reply
  std::vector<Request> requests;

  common::Task<apiservice::ReviewReply> post(const std::string& path, const std::string& jsonBody,
                                             const common::RequestContext&) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls;
      requests.push_back({path, jsonBody});
      if (down) throw std::runtime_error("connection refused");
    }
    co_return apiservice::ReviewReply{status,
                                      answer_ ? answer_(path, jsonBody) : std::string("{}")};
  }

 private:
  Handler answer_;
  std::mutex mu_;
};

}  // namespace mocks
