// Kubernetes LIST answers and watch events, read by SAX so only what the
// adapter keeps (namespace, name, labels, resourceVersion, pod phase, and
// ConfigMap data when asked) is ever materialised. Pure parsing, fuzzed.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapter/kube/kube_api.h"

namespace adapter {

struct KubeObject {
  std::string ns;
  std::string name;
  std::string resourceVersion;
  std::string phase;                                        // status.phase (pods)
  std::vector<std::pair<std::string, std::string>> labels;  // as sent
  std::map<std::string, std::string> data;                  // only with keepData
};

// A Status object (an error answer or a watch ERROR event).
struct KubeStatus {
  int code = 0;
  std::string reason;
  std::string message;
};

struct ListPage {
  std::string resourceVersion;
  std::string continueToken;
  std::vector<KubeObject> items;
};

// Parses a LIST answer read from `read`; throws KubeError on malformed JSON
// or a Status answer (with its code and message).
ListPage parseListPage(int httpStatus, const std::function<size_t(char*, size_t)>& read,
                       bool keepData);

struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark, Error };
  Type type = Type::Added;
  KubeObject object;
  KubeStatus status;  // for Error
};

// Parses one watch event (one line of the stream); throws KubeError.
WatchEvent parseWatchEvent(std::string_view line, bool keepData);

// The code, reason and message of a Status body; code 0 when it is not one.
KubeStatus parseStatus(std::string_view body);

// What a watch feeds (the object cache, the authentication ConfigMap).
// Called from the watch's thread only.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Everything a LIST returned, replacing what was there.
  virtual void replaceAll(std::vector<KubeObject>&& objects) = 0;
  // An ADDED, MODIFIED or DELETED event.
  virtual void apply(WatchEvent::Type type, KubeObject&& object) = 0;
};

}  // namespace adapter
