#include "apiservice/authorization.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "apiservice/status.h"
#include "common/json_fields.h"

namespace apiservice {

using Json = nlohmann::ordered_json;

std::string subjectAccessReviewJson(const UserInfo& user, const RequestAttributes& a) {
  Json spec;
  if (a.resourceRequest) {
    Json r;
    if (!a.ns.empty()) r["namespace"] = a.ns;
    r["verb"] = a.verb;
    r["group"] = a.apiGroup;
    r["version"] = a.apiVersion;
    r["resource"] = a.resource;
    if (!a.subresource.empty()) r["subresource"] = a.subresource;
    if (!a.name.empty()) r["name"] = a.name;
    spec["resourceAttributes"] = std::move(r);
  } else {
    spec["nonResourceAttributes"] = Json{{"path", a.path}, {"verb", a.verb}};
  }
  spec["user"] = user.name;
  if (!user.groups.empty()) spec["groups"] = user.groups;
  if (!user.extra.empty()) {
    Json extra = Json::object();
    for (const auto& [k, v] : user.extra) extra[k] = v;
    spec["extra"] = std::move(extra);
  }
  if (!user.uid.empty()) spec["uid"] = user.uid;
  Json review = {{"apiVersion", "authorization.k8s.io/v1"},
                 {"kind", "SubjectAccessReview"},
                 {"metadata", Json::object()},
                 {"spec", std::move(spec)}};
  return review.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string forbiddenMessage(const UserInfo& user, const RequestAttributes& a,
                             const std::string& reason) {
  std::string msg;
  if (a.resourceRequest) {
    std::string gr = a.apiGroup.empty() ? a.resource : a.resource + "." + a.apiGroup;
    msg = a.name.empty() ? gr + " is forbidden: " : gr + " \"" + a.name + "\" is forbidden: ";
    msg += "User \"" + user.name + "\" cannot " + a.verb + " resource \"" +
           a.resourceWithSubresource() + "\" in API group \"" + a.apiGroup + "\"";
    msg += a.ns.empty() ? " at the cluster scope" : " in the namespace \"" + a.ns + "\"";
  } else {
    msg = "forbidden: User \"" + user.name + "\" cannot " + a.verb + " path \"" + a.path + "\"";
  }
  if (!reason.empty()) msg += ": " + reason;
  return msg;
}

DelegatingAuthorizer::DelegatingAuthorizer(ReviewTransport& reviews, const common::Clock& clock,
                                           AuthorizerOptions opts)
    : reviews_(reviews), clock_(clock), opts_(std::move(opts)), cache_(opts_.maxCacheEntries) {}

common::Task<Decision> DelegatingAuthorizer::review(
    const std::string& body, common::RequestContext::Clock::time_point deadline) const {
  // Its own context: a shared review outlives the first caller's client.
  common::RequestContext ctx(deadline);
  ReviewReply reply;
  try {
    ++reviewsSent_;
    const std::string path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    reply = co_await reviews_.post(path, body, ctx);  // named: see coro.h
  } catch (const std::exception& e) {
    throw StatusError::unavailable(std::string("cannot authorize the request: ") + e.what());
  }
  if (reply.status != 200 && reply.status != 201) {
    throw StatusError::unavailable(
        "cannot authorize the request: SubjectAccessReview answered HTTP " +
        std::to_string(reply.status));
  }
  nlohmann::json j = nlohmann::json::parse(reply.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("status") || !j["status"].is_object()) {
    throw StatusError::unavailable(
        "cannot authorize the request: malformed SubjectAccessReview reply");
  }
  const auto& st = j["status"];
  Decision d;
  d.allowed = common::jsonBool(st, "allowed") && !common::jsonBool(st, "denied");
  d.reason = common::jsonString(st, "reason");
  if (std::string ev = common::jsonString(st, "evaluationError"); !ev.empty())
    d.reason += (d.reason.empty() ? "" : "; ") + ev;
  int64_t now = clock_.monotonicMillis();
  cache_.put(body, d, now + (d.allowed ? opts_.allowedTtlMs : opts_.deniedTtlMs));
  co_return d;
}

common::Task<Decision> DelegatingAuthorizer::authorize(const UserInfo& user,
                                                       const RequestAttributes& a,
                                                       const common::RequestContext& ctx) const {
  for (const auto& g : user.groups) {
    if (std::find(opts_.alwaysAllowGroups.begin(), opts_.alwaysAllowGroups.end(), g) !=
        opts_.alwaysAllowGroups.end()) {
      co_return Decision{true, "member of " + g};
    }
  }
  std::string body = subjectAccessReviewJson(user, a);
  if (auto d = cache_.get(body, clock_.monotonicMillis())) co_return *d;
  const std::function<common::Task<Decision>()> work = [&] { return review(body, ctx.deadline()); };
  co_return co_await flights_.run(body, ctx, work);  // named: see coro.h
}

}  // namespace apiservice
