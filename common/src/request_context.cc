#include "common/request_context.h"

#include <utility>
#include <vector>

namespace common {

void RequestContext::check(const std::string& what) const {
  if (cancelled_) throw RequestAborted(what + ": the client went away", true);
  if (expired()) throw RequestAborted(what + ": the request's deadline passed", false);
}

void RequestContext::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  // Copies: a hook may end its own registration.
  std::vector<std::function<void()>> run(hooks_.begin(), hooks_.end());
  for (auto& h : run) h();
}

RequestContext::Registration RequestContext::onCancel(std::function<void()> hook) const {
  if (cancelled_) {
    hook();
    return {};
  }
  hooks_.push_back(std::move(hook));
  return {this, std::prev(hooks_.end())};
}

RequestContext::Registration& RequestContext::Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    reset();
    ctx_ = std::exchange(o.ctx_, nullptr);
    it_ = o.it_;
  }
  return *this;
}

void RequestContext::Registration::reset() {
  if (ctx_) ctx_->hooks_.erase(it_);
  ctx_ = nullptr;
}

}  // namespace common
