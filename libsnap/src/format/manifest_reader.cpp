// Routes the JSON parser's events (nlohmann::json::sax_parse) of a manifest:
// the regions' elements into RegionFields, everything else into a small JSON
// tree (see manifest_reader.h).
#include "format/manifest_reader.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "format/layout.h"
#include "format/manifest_region.h"

namespace vramsnap::format {
namespace {

using nlohmann::json;
using Type = JsonMember::Type;
using Field = RegionFields::Field;

// A JSON tree from parser events, as json::parse builds it: a repeated
// member keeps its last value. Only containers on the open path are held, so
// no pointer goes stale when an array grows.
class TreeBuilder {
 public:
  explicit TreeBuilder(json& root) : root_(root) {}
  void key(std::string& k) { key_ = std::move(k); }
  void value(json&& v) { place(std::move(v)); }
  void start(json&& container) { open_.push_back(place(std::move(container))); }
  void end() { open_.pop_back(); }

 private:
  json* place(json&& v) {
    if (open_.empty()) return &(root_ = std::move(v));
    json& c = *open_.back();
    if (c.is_array()) {
      c.push_back(std::move(v));
      return &c.back();
    }
    return &(c[key_] = std::move(v));
  }
  json& root_;
  std::vector<json*> open_;
  std::string key_;
};

// Depth of an event (containers open before it): 1 for the top-level
// members, 2 for the regions' elements, 3 for a region's members, 4 for the
// elements of its shape, flags or labels.
constexpr int kElement = 2, kMember = 3, kInner = 4;

class ManifestEvents {
 public:
  ManifestEvents(json& top, RegionsRead& out, bool use_defaults, const std::optional<json>* preset,
                 size_t reserve)
      : tree_(top), top_(top), out_(out), use_defaults_(use_defaults), preset_(preset), reserve_(reserve) {}

  // What region_defaults the regions were read with, when they were read.
  bool regions_seen() const { return regions_seen_; }
  const std::optional<json>& defaults_used() const { return defaults_used_; }

  // The SAX interface of nlohmann::json::sax_parse.
  bool null() { return scalar(json(nullptr), JsonMember(Type::Null)); }
  bool boolean(bool b) { return scalar(json(b), JsonMember(Type::Bool)); }
  bool number_integer(int64_t v) { return scalar(json(v), JsonMember::of_int(v)); }
  bool number_unsigned(uint64_t v) { return scalar(json(v), JsonMember::of_uint(v)); }
  bool number_float(double v, const std::string&) { return scalar(json(v), JsonMember(Type::Float)); }
  bool string(std::string& s) {
    if (!in_regions()) return scalar(json(std::move(s)), {});
    return scalar(json(), JsonMember::of_string(std::move(s)));
  }
  bool binary(json::binary_t&) { return false; }  // never in JSON text
  bool start_object(size_t) { return start(Type::Object); }
  bool start_array(size_t) { return start(Type::Array); }
  bool end_object() { return end(); }
  bool end_array() { return end(); }
  bool key(std::string& k) {
    if (!in_regions()) {
      if (depth_ == 1) top_key_ = k;
      tree_.key(k);
    } else if (labels_) {
      labels_->key(k);
    } else if (depth_ == kMember && element_is_object_) {
      field_ = RegionFields::field_of(k);
    }
    return true;
  }
  bool parse_error(size_t, const std::string&, const json::exception&) { return false; }

 private:
  bool in_regions() const { return regions_open_ && depth_ >= kElement; }

  bool scalar(json&& v, JsonMember&& m) {
    if (!in_regions()) {
      tree_.value(std::move(v));
    } else if (labels_) {
      labels_->value(m.type == Type::String ? json(std::move(m.s)) : std::move(v));
    } else if (depth_ == kElement) {
      end_element(false);
    } else if (depth_ == kMember) {
      const bool labels = field_ == Field::Labels;
      if (labels) v = m.type == Type::String ? json(std::move(m.s)) : std::move(v);
      fields_.set(field_, std::move(m));
      if (labels) fields_.labels() = std::move(v);
    } else if (depth_ == kInner) {
      inner_element(m);
    }
    return true;
  }

  bool start(Type t) {
    // Built only for the tree: a region's own object is never allocated.
    auto container = [t] { return t == Type::Object ? json::object() : json::array(); };
    if (!in_regions()) {
      if (depth_ == 1 && t == Type::Array && top_key_ == "regions") begin_regions();
      tree_.start(container());
    } else if (labels_) {
      labels_->start(container());
    } else if (depth_ == kElement) {
      element_is_object_ = t == Type::Object;
      field_ = member_ = Field::Other;
      fields_.reset();
    } else if (depth_ == kMember && element_is_object_) {
      fields_.set(field_, JsonMember(t));
      if (field_ == Field::Labels) labels_.emplace(fields_.labels()), labels_->start(container());
      member_ = field_;
    } else if (depth_ == kInner) {
      inner_element(JsonMember(t));
    }
    ++depth_;
    return true;
  }

  bool end() {
    --depth_;
    if (!in_regions()) {
      if (regions_open_ && depth_ == 1) regions_open_ = false;
      tree_.end();
    } else if (labels_) {
      labels_->end();
      if (depth_ == kMember) labels_.reset();
    } else if (depth_ == kElement) {
      end_element(element_is_object_);
    } else if (depth_ == kMember) {
      member_ = Field::Other;
    }
    return true;
  }

  // An element of a region's shape or flags array; inside other members'
  // containers, nothing the format reads.
  void inner_element(const JsonMember& m) {
    if (member_ == Field::Shape) fields_.shape_element(m);
    else if (member_ == Field::Flags) fields_.flags_element(m);
  }

  // A repeated "regions" member replaces the earlier one, as in a tree.
  void begin_regions() {
    regions_open_ = regions_seen_ = true;
    out_.count = 0;
    out_.regions.clear();
    out_.first_error.reset();
    out_.regions.reserve(reserve_);
    if (preset_) {
      defaults_used_ = *preset_;
    } else {
      auto it = top_.is_object() ? top_.find("region_defaults") : top_.end();
      defaults_used_ = it != top_.end() ? std::optional<json>(*it) : std::nullopt;
    }
    const bool usable = use_defaults_ && defaults_used_ && defaults_used_->is_object();
    defaults_ = RegionDefaults::of(usable ? &*defaults_used_ : nullptr);
  }

  void end_element(bool is_object) {
    const size_t i = out_.count++;
    if (out_.first_error || i >= kMaxRegionCount) return;
    if (!is_object) {
      out_.first_error = manifest_error(fmt::format("regions[{}] is not an object", i));
      return;
    }
    // Filled in place: no RegionMeta is built only to be moved.
    auto st = fields_.finish(i, defaults_, out_.regions.emplace_back());
    if (!st.ok()) {
      out_.regions.pop_back();
      out_.first_error = std::move(st).error();
    }
  }

  TreeBuilder tree_;
  json& top_;
  RegionsRead& out_;
  bool use_defaults_;
  const std::optional<json>* preset_;
  size_t reserve_;
  int depth_ = 0;
  std::string top_key_;
  bool regions_open_ = false, regions_seen_ = false, element_is_object_ = false;
  std::optional<json> defaults_used_;
  RegionDefaults defaults_;
  RegionFields fields_;
  Field field_ = Field::Other, member_ = Field::Other;
  std::optional<TreeBuilder> labels_;
};

std::optional<json> final_defaults(const json& top) {
  auto it = top.is_object() ? top.find("region_defaults") : top.end();
  return it != top.end() ? std::optional<json>(*it) : std::nullopt;
}

}  // namespace

bool read_manifest(std::string_view text, bool use_defaults, size_t expect_regions, json& top, RegionsRead& out) {
  // Each region takes at least 16 bytes of text ({"name":"a","size":0}).
  const size_t reserve = std::min({expect_regions, static_cast<size_t>(kMaxRegionCount), text.size() / 16});
  ManifestEvents events(top, out, use_defaults, nullptr, reserve);
  if (!json::sax_parse(text.begin(), text.end(), &events)) return false;
  // A region_defaults after the regions, or a second one: read again with the
  // one that counts. Our writer never makes such a file.
  if (use_defaults && events.regions_seen() && events.defaults_used() != final_defaults(top)) {
    const std::optional<json> preset = final_defaults(top);
    top = json();
    out = RegionsRead{};
    ManifestEvents again(top, out, use_defaults, &preset, reserve);
    if (!json::sax_parse(text.begin(), text.end(), &again)) return false;
  }
  return true;
}

}  // namespace vramsnap::format
