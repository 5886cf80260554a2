#pragma once
// A linear SAX pass over hostile JSON before the DOM is built: nlohmann's DOM
// keeps only the last of duplicate keys, and a huge or deeply nested document
// would be built in full before anyone looked at it. The scan stops at the
// first duplicate key, over-long array or over-deep container; what its
// messages say (a JSON path, a tensor name) is the reader's, through the
// hooks below. Used for capture spec files and safetensors headers.
#include <cstddef>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vramsnap::source {

class JsonScan {
 public:
  using json = nlohmann::json;
  // Arrays longer than max_elements, and containers opened inside max_depth
  // open ones, are refused.
  JsonScan(size_t max_elements, size_t max_depth) : max_elements_(max_elements), max_depth_(max_depth) {}
  virtual ~JsonScan() = default;

  // nlohmann's SAX interface.
  bool null() { return value(); }
  bool boolean(bool) { return value(); }
  bool number_integer(json::number_integer_t) { return value(); }
  bool number_unsigned(json::number_unsigned_t) { return value(); }
  bool number_float(json::number_float_t, const json::string_t&) { return value(); }
  bool string(json::string_t&) { return value(); }
  bool binary(json::binary_t&) { return value(); }
  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (!frames_.back().keys.insert(k).second) return fail(duplicate_key(k));
    frames_.back().key = k;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const json::exception&) {
    return fail(not_json(position));
  }

  // The first problem found; empty when the text passed.
  const std::string& problem() const { return problem_; }

 protected:
  struct Frame {
    bool object = false;
    size_t elements = 0;  // values seen so far in an array
    std::unordered_set<std::string> keys;
    std::string key;  // the key of the value being read in an object
  };
  // The open containers, outermost first.
  const std::vector<Frame>& frames() const { return frames_; }

  // Messages, for the state the scan is in when it stops.
  virtual std::string duplicate_key(const std::string& key) const = 0;
  virtual std::string not_json(size_t position) const = 0;
  virtual std::string too_many_elements() const = 0;
  virtual std::string too_deep() const = 0;
  // A reason to refuse a container about to open (the root's kind, say).
  virtual std::string refuse_open(bool /*object*/) const { return {}; }

 private:
  bool fail(std::string message) {
    if (problem_.empty()) problem_ = std::move(message);
    return false;
  }
  bool value() {
    if (!frames_.empty() && !frames_.back().object && ++frames_.back().elements > max_elements_)
      return fail(too_many_elements());
    return true;
  }
  bool open(bool object) {
    if (std::string why = refuse_open(object); !why.empty()) return fail(std::move(why));
    if (!value()) return false;
    if (frames_.size() >= max_depth_) return fail(too_deep());
    frames_.emplace_back();
    frames_.back().object = object;
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }

  size_t max_elements_, max_depth_;
  std::vector<Frame> frames_;
  std::string problem_;
};

}  // namespace vramsnap::source
