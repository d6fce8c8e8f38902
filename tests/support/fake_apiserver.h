// A fake kube-apiserver for integration tests, speaking the real wire
// format over real TLS: discovery (/api, /apis, APIResourceLists), paged
// LIST with resourceVersion and continue, chunked WATCH streams (ADDED,
// MODIFIED, DELETED, BOOKMARK, ERROR 410), TokenReview and
// SubjectAccessReview, the extension-apiserver-authentication ConfigMap,
// and the aggregation layer: requests for registered API groups are
// proxied to the adapter with a front-proxy client certificate and
// X-Remote-User / X-Remote-Group, as kube-aggregator does.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_pki.h"
#include "test_support.h"

namespace testsupport {

struct ResourceType {
  std::string group;  // "" for core
  std::string version;
  std::string plural;
  std::string kind;
  std::string singular;
  bool namespaced = true;
  std::vector<std::string> shortNames;
};

struct FakeUser {
  std::string name;
  std::vector<std::string> groups;
};

class FakeApiServer {
 public:
  // The token the adapter uses (kubeconfig()); allowed everything it needs.
  static constexpr const char* kAdapterToken = "adapter-token";
  static constexpr const char* kAdapterUser = "system:serviceaccount:monitoring:metrics-adapter";

  FakeApiServer();
  ~FakeApiServer();

  int port() const;
  std::string url() const;
  const TestCa& serverCa() const;      // signs the fake's serving certificate
  const TestCa& frontProxyCa() const;  // signs the front-proxy client certificate
  const TestCa& clientCa() const;      // signs user client certificates
  // A kubeconfig (written into `dir`) for `token`, trusting the fake's CA.
  std::string writeKubeconfig(const TempDir& dir, const std::string& name,
                              const std::string& token) const;

  // Users by bearer token (TokenReview answers; also authenticates clients
  // of the fake itself, such as kubectl).
  void addToken(const std::string& token, FakeUser user);
  // Decides SubjectAccessReviews: spec in, allowed out (reason optional).
  using Policy = std::function<bool(const nlohmann::json& spec, std::string& reason)>;
  void setPolicy(Policy p);

  // Objects. Each change gets the next resourceVersion and is streamed to
  // watches.
  void registerType(const ResourceType& t);
  void upsert(const std::string& plural, nlohmann::json object);
  void remove(const std::string& plural, const std::string& ns, const std::string& name);
  static nlohmann::json pod(const std::string& ns, const std::string& name,
                            const std::map<std::string, std::string>& labels,
                            const std::string& phase = "Running");
  static nlohmann::json node(const std::string& name,
                             const std::map<std::string, std::string>& labels);

  // Breaks every open watch (as a dropped connection does).
  void dropWatches();
  // Forgets history up to now: watches from an older resourceVersion get
  // 410 Gone (as an ERROR event, or as HTTP 410 when `httpStatus`).
  void compact(bool httpStatus = false);
  void setBookmarkInterval(std::chrono::milliseconds d);
  // Delays LIST answers for a resource (makes "not synced yet" observable).
  void setListDelay(const std::string& plural, std::chrono::milliseconds d);

  // Registers an APIService: requests under /apis/{group}/{version} are
  // proxied to 127.0.0.1:port over TLS.
  void registerApiService(const std::string& group, const std::string& version, int port);
  // What the aggregator's availability check sees (GET /apis/{group}/{version}
  // as system:kube-aggregator through the proxy).
  HttpsResult probeApiService(const std::string& group, const std::string& version);

  // Counters, for "no LIST per request" and cache assertions.
  int listCount(const std::string& plural) const;
  int watchCount(const std::string& plural) const;
  int tokenReviews() const;
  int accessReviews() const;
  std::vector<nlohmann::json> accessReviewSpecs() const;
  std::vector<std::string> requestLog() const;  // "GET /api/v1/pods?...", in order

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// An HTTPS GET with optional client certificate and headers (each pair is
// sent as its own header line, so a name may repeat).
HttpsResult httpsRequest(int port, const std::string& target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const KeyPair* clientCert = nullptr);

}  // namespace testsupport
