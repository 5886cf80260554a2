#pragma once
// One element of the manifest's "regions" array, filled member by member from
// the JSON parser's events and checked once the element ends. No JSON tree is
// built for it: a snapshot of 60,000 small regions would otherwise build and
// drop 60,000 objects. The checks, their order and their messages are those
// of the manifest section of formats/snapshot-v1.md as the tree walk applied
// them; a repeated member keeps its last value, as a JSON tree would.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "format/layout.h"
#include "vramsnap/error.hpp"
#include "vramsnap/types.hpp"

namespace vramsnap::format {

Error manifest_error(std::string msg);  // Format, "manifest: " + msg

// A label object as the manifest holds it (top level or a region's).
Result<std::map<std::string, std::string>> parse_labels(const nlohmann::json& j, const std::string& where);

// A scalar member, or the type of a container member.
struct JsonMember {
  enum class Type : uint8_t { Absent, Null, Bool, Int, Uint, Float, String, Array, Object };
  Type type = Type::Absent;
  uint64_t u = 0;  // Uint
  int64_t i = 0;   // Int: negative, or "-0"
  std::string s;   // String

  JsonMember() = default;
  explicit JsonMember(Type t) : type(t) {}
  static JsonMember of_int(int64_t v) { JsonMember m(Type::Int); m.i = v; return m; }
  static JsonMember of_uint(uint64_t v) { JsonMember m(Type::Uint); m.u = v; return m; }
  static JsonMember of_string(std::string&& v) { JsonMember m(Type::String); m.s = std::move(v); return m; }
  static JsonMember of(const nlohmann::json& j);
  bool present() const { return type != Type::Absent; }
  bool is_unsigned() const { return type == Type::Uint || (type == Type::Int && i >= 0); }
  uint64_t as_unsigned() const { return type == Type::Uint ? u : static_cast<uint64_t>(i); }
};

// region_defaults (section 7.2) as a region reads it: the members that may
// stand in for ones a region omits.
struct RegionDefaults {
  JsonMember kind, dtype, device;
  static RegionDefaults of(const nlohmann::json* defaults);  // null: none
};

class RegionFields {
 public:
  enum class Field : uint8_t { Other, Name, Kind, Size, Dtype, Shape, Device, Va, AllocBase, AllocSize, Flags, Labels };
  static Field field_of(const std::string& key);

  void reset();
  // A scalar (or, with a container's type, the start of one) as the value
  // of member f.
  void set(Field f, JsonMember&& v);
  // An element of the shape or flags array (a container counts as one).
  void shape_element(const JsonMember& v);
  void flags_element(const JsonMember& v);
  nlohmann::json& labels() { return labels_; }

  // The checks of one region, in order, filling r (a fresh RegionMeta, left
  // partly filled on failure); index names it in messages.
  Status finish(size_t index, const RegionDefaults& defaults, RegionMeta& r);

 private:
  JsonMember name_, kind_, size_, dtype_, device_, va_, alloc_base_, alloc_size_;
  JsonMember::Type shape_type_ = JsonMember::Type::Absent, flags_type_ = JsonMember::Type::Absent;
  size_t shape_count_ = 0;  // elements seen; only the first kMaxShapeRank are kept
  bool shape_bad_ = false, flags_bad_ = false;
  std::array<uint64_t, kMaxShapeRank> shape_{};
  uint32_t flags_ = 0;
  bool has_labels_ = false;
  nlohmann::json labels_;
};

}  // namespace vramsnap::format
