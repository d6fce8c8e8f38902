#include "adapter/kube/kube_objects.h"

#include <istream>
#include <nlohmann/json.hpp>

#include "common/json_fields.h"
#include "common/reader_streambuf.h"

namespace adapter {

using nlohmann::json;

namespace {

// Tracks where in the document each SAX event is, and copies the fields
// of interest out of every object found at `objectPath`.
class ObjectSax : public json::json_sax_t {
 public:
  // `objectPath`: {"items", "[]"} for a list, {"object"} for a watch event.
  ObjectSax(std::vector<std::string> objectPath, bool keepData,
            std::function<void(KubeObject&&)> onObject)
      : objectPath_(std::move(objectPath)), keepData_(keepData), onObject_(std::move(onObject)) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override { return number(static_cast<int64_t>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<int64_t>(v)); }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool string(string_t& v) override {
    std::string_view slot = currentSlot();
    if (frames_.size() == 1) {  // top-level fields
      if (slot == "type") type_ = v;
      if (slot == "kind") kind_ = v;
      if (slot == "reason") status_.reason = v;
      if (slot == "message") status_.message = v;
    }
    if (frames_.size() == 2 && frames_[1].name == "metadata") {
      if (slot == "resourceVersion") listResourceVersion_ = v;
      if (slot == "continue") continue_ = v;
    }
    if (frames_.size() == 2 && frames_[1].name == "object" && objectKind_ == "Status") {
      if (slot == "reason") status_.reason = v;
      if (slot == "message") status_.message = v;
    }
    if (!inObject()) return true;
    size_t rel = frames_.size() - objectDepth();
    const std::string& parent = frames_.back().name;
    // rel: 0 in the object itself, 1 in metadata/status/data, 2 in labels.
    if (rel == 0 && slot == "kind") objectKind_ = v;
    if (rel == 1 && parent == "metadata") {
      if (slot == "name")
        obj_.name = v;
      else if (slot == "namespace")
        obj_.ns = v;
      else if (slot == "resourceVersion")
        obj_.resourceVersion = v;
    } else if (rel == 2 && parent == "labels" && frames_[frames_.size() - 2].name == "metadata") {
      obj_.labels.emplace_back(std::string(slot), v);
    } else if (rel == 1 && parent == "status" && slot == "phase") {
      obj_.phase = v;
    } else if (rel == 1 && parent == "data" && keepData_) {
      obj_.data[std::string(slot)] = v;
    }
    return true;
  }
  bool start_object(std::size_t) override {
    frames_.push_back({std::string(currentSlot()), false, {}});
    if (atObjectRoot()) {
      obj_ = KubeObject{};
      objectKind_.clear();
    }
    return true;
  }
  bool key(string_t& k) override {
    frames_.back().key = k;
    return true;
  }
  bool end_object() override {
    if (atObjectRoot() && objectKind_ != "Status") onObject_(std::move(obj_));
    frames_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    frames_.push_back({std::string(currentSlot()), true, {}});
    return true;
  }
  bool end_array() override {
    frames_.pop_back();
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    throw KubeError("malformed JSON from kube-apiserver at byte " + std::to_string(pos) + ": " +
                    ex.what());
  }

  const std::string& type() const { return type_; }
  const std::string& kind() const { return kind_; }
  const std::string& listResourceVersion() const { return listResourceVersion_; }
  const std::string& continueToken() const { return continue_; }
  KubeStatus status() const { return status_; }
  const std::string& objectKind() const { return objectKind_; }

 private:
  struct Frame {
    std::string name;  // the key (or "[]") this container sits under
    bool array;
    std::string key;  // the member being read, for objects
  };
  std::string_view currentSlot() const {
    if (frames_.empty()) return "";
    return frames_.back().array ? std::string_view("[]") : std::string_view(frames_.back().key);
  }
  size_t objectDepth() const { return objectPath_.size() + 1; }
  // Whether frames_ is exactly the object root (or inside it).
  bool pathMatches() const {
    if (frames_.size() < objectDepth()) return false;
    for (size_t i = 0; i < objectPath_.size(); ++i)
      if (frames_[i + 1].name != objectPath_[i]) return false;
    return true;
  }
  bool atObjectRoot() const { return frames_.size() == objectDepth() && pathMatches(); }
  bool inObject() const { return frames_.size() > objectDepth() - 1 && pathMatches(); }
  bool number(int64_t v) {
    if (currentSlot() == "code" &&
        (frames_.size() == 1 || (frames_.size() == 2 && frames_[1].name == "object")))
      status_.code = static_cast<int>(v);
    return true;
  }

  std::vector<std::string> objectPath_;
  bool keepData_;
  std::function<void(KubeObject&&)> onObject_;
  std::vector<Frame> frames_;
  KubeObject obj_;
  std::string objectKind_;
  std::string type_, kind_, listResourceVersion_, continue_;
  KubeStatus status_;
};

std::string statusText(const KubeStatus& s) {
  std::string out = "HTTP " + std::to_string(s.code);
  if (!s.reason.empty()) out += " " + s.reason;
  if (!s.message.empty()) out += ": " + s.message;
  return out;
}

}  // namespace

KubeStatus parseStatus(std::string_view body) {
  KubeStatus st;
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && common::jsonString(j, "kind") == "Status") {
    st.code = static_cast<int>(common::jsonInt(j, "code"));
    st.reason = common::jsonString(j, "reason");
    st.message = common::jsonString(j, "message");
  }
  return st;
}

ListPage parseListPage(int httpStatus, const std::function<size_t(char*, size_t)>& read,
                       bool keepData) {
  if (httpStatus != 200) {
    std::string body;
    char buf[4096];
    while (size_t n = read(buf, sizeof buf)) {
      body.append(buf, n);
      if (body.size() > 65536) break;
    }
    KubeStatus st = parseStatus(body);
    if (st.code == 0) st.code = httpStatus;
    throw KubeError("LIST failed: " + statusText(st), httpStatus);
  }
  ListPage page;
  ObjectSax sax({"items", "[]"}, keepData,
                [&](KubeObject&& o) { page.items.push_back(std::move(o)); });
  common::ReaderStreamBuf sb(read);
  std::istream in(&sb);
  if (!json::sax_parse(in, &sax, json::input_format_t::json, true))
    throw KubeError("malformed LIST answer from kube-apiserver");
  if (sax.kind() == "Status") throw KubeError("LIST failed: " + statusText(sax.status()));
  page.resourceVersion = sax.listResourceVersion();
  page.continueToken = sax.continueToken();
  return page;
}

WatchEvent parseWatchEvent(std::string_view line, bool keepData) {
  WatchEvent ev;
  bool got = false;
  ObjectSax sax({"object"}, keepData, [&](KubeObject&& o) {
    ev.object = std::move(o);
    got = true;
  });
  if (!json::sax_parse(line, &sax, json::input_format_t::json, true))
    throw KubeError("malformed watch event");
  const std::string& t = sax.type();
  if (t == "ADDED")
    ev.type = WatchEvent::Type::Added;
  else if (t == "MODIFIED")
    ev.type = WatchEvent::Type::Modified;
  else if (t == "DELETED")
    ev.type = WatchEvent::Type::Deleted;
  else if (t == "BOOKMARK")
    ev.type = WatchEvent::Type::Bookmark;
  else if (t == "ERROR")
    ev.type = WatchEvent::Type::Error;
  else
    throw KubeError("watch event of unknown type \"" + t + "\"");
  if (ev.type == WatchEvent::Type::Error) {
    ev.status = sax.status();
  } else if (!got) {
    throw KubeError("watch event " + t + " without an object");
  } else if (ev.object.resourceVersion.empty()) {
    throw KubeError("watch event " + t + " without metadata.resourceVersion");
  }
  return ev;
}

}  // namespace adapter
