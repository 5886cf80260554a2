// One region object of the manifest: its members as parsed, and the checks
// that turn them into a RegionMeta (see manifest_region.h).
#include "format/manifest_region.h"

#include <charconv>
#include <string_view>

#include <fmt/format.h>

namespace vramsnap::format {

using nlohmann::json;
using Type = JsonMember::Type;

Error manifest_error(std::string msg) { return Error(ErrorKind::Format, "manifest: " + std::move(msg)); }

Result<std::map<std::string, std::string>> parse_labels(const json& j, const std::string& where) {
  if (!j.is_object()) return manifest_error(where + " is not an object");
  if (j.size() > kMaxLabelCount)
    return manifest_error(fmt::format("{} has {} labels (at most {})", where, j.size(), kMaxLabelCount));
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return manifest_error(fmt::format("{}.{} is not a string", where, k));
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

JsonMember JsonMember::of(const json& j) {
  JsonMember m;
  switch (j.type()) {
    case json::value_t::null: m.type = Type::Null; break;
    case json::value_t::boolean: m.type = Type::Bool; break;
    case json::value_t::number_integer: m.type = Type::Int, m.i = j.get<int64_t>(); break;
    case json::value_t::number_unsigned: m.type = Type::Uint, m.u = j.get<uint64_t>(); break;
    case json::value_t::number_float: m.type = Type::Float; break;
    case json::value_t::string: m.type = Type::String, m.s = j.get<std::string>(); break;
    case json::value_t::array: m.type = Type::Array; break;
    default: m.type = Type::Object; break;  // object, binary, discarded
  }
  return m;
}

RegionDefaults RegionDefaults::of(const json* d) {
  RegionDefaults out;
  if (!d) return out;
  for (auto [key, member] : {std::pair{"kind", &out.kind}, {"dtype", &out.dtype}, {"device", &out.device}})
    if (auto it = d->find(key); it != d->end()) *member = JsonMember::of(*it);
  return out;
}

RegionFields::Field RegionFields::field_of(const std::string& k) {
  // By length first: three members a region always has share length 4.
  auto is = [&](std::string_view name) { return std::char_traits<char>::compare(k.data(), name.data(), name.size()) == 0; };
  switch (k.size()) {
    case 2: return is("va") ? Field::Va : Field::Other;
    case 4: return is("name") ? Field::Name : is("size") ? Field::Size : is("kind") ? Field::Kind : Field::Other;
    case 5: return is("dtype") ? Field::Dtype : is("shape") ? Field::Shape : is("flags") ? Field::Flags : Field::Other;
    case 6: return is("device") ? Field::Device : is("labels") ? Field::Labels : Field::Other;
    case 10: return is("alloc_base") ? Field::AllocBase : is("alloc_size") ? Field::AllocSize : Field::Other;
    default: return Field::Other;
  }
}

void RegionFields::reset() {
  for (JsonMember* m : {&name_, &kind_, &size_, &dtype_, &device_, &va_, &alloc_base_, &alloc_size_})
    m->type = Type::Absent;
  shape_type_ = flags_type_ = Type::Absent;
  shape_count_ = 0;
  shape_bad_ = flags_bad_ = has_labels_ = false;
  flags_ = 0;
}

void RegionFields::set(Field f, JsonMember&& v) {
  switch (f) {
    case Field::Name: name_ = std::move(v); break;
    case Field::Kind: kind_ = std::move(v); break;
    case Field::Size: size_ = std::move(v); break;
    case Field::Dtype: dtype_ = std::move(v); break;
    case Field::Device: device_ = std::move(v); break;
    case Field::Va: va_ = std::move(v); break;
    case Field::AllocBase: alloc_base_ = std::move(v); break;
    case Field::AllocSize: alloc_size_ = std::move(v); break;
    case Field::Shape: shape_type_ = v.type, shape_count_ = 0, shape_bad_ = false; break;
    case Field::Flags: flags_type_ = v.type, flags_ = 0, flags_bad_ = false; break;
    case Field::Labels: has_labels_ = true, labels_ = nullptr; break;  // the reader then builds labels()
    case Field::Other: break;
  }
}

void RegionFields::shape_element(const JsonMember& v) {
  if (!v.is_unsigned()) shape_bad_ = true;
  else if (shape_count_ < shape_.size()) shape_[shape_count_] = v.as_unsigned();
  ++shape_count_;
}

void RegionFields::flags_element(const JsonMember& v) {
  if (v.type != Type::String) flags_bad_ = true;
  else if (v.s == "read_mostly") flags_ |= kFlagReadMostly;
  else if (v.s == "warm") flags_ |= kFlagWarm;
  // Unknown flags are hints from a newer writer: ignored.
}

namespace {

std::optional<uint64_t> parse_hex_u64(const std::string& s) {
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), v, 16);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Status RegionFields::finish(size_t index, const RegionDefaults& defaults, RegionMeta& r) {
  // Messages are built only on failure: most manifests have no bad region.
  auto where = [index] { return fmt::format("regions[{}]", index); };
  auto missing = [&](const char* key) { return manifest_error(fmt::format("{}: missing \"{}\"", where(), key)); };
  auto not_a = [&](const char* key, const char* what) { return manifest_error(fmt::format("{}.{} is not {}", where(), key, what)); };
  if (!name_.present()) return missing("name");
  if (name_.type != Type::String) return not_a("name", "a string");
  r.name = std::move(name_.s);
  const JsonMember& kind = kind_.present() ? kind_ : defaults.kind;
  if (!kind.present()) return missing("kind");
  if (kind.type != Type::String) return not_a("kind", "a string");
  auto k = parse_region_kind(kind.s);
  if (!k) return manifest_error(fmt::format("{}.kind \"{}\" is not device, host, module or other", where(), kind.s));
  r.kind = *k;
  if (!size_.present()) return missing("size");
  if (!size_.is_unsigned()) return not_a("size", "an unsigned integer");
  r.size = size_.as_unsigned();
  const JsonMember& dtype = dtype_.present() ? dtype_ : defaults.dtype;
  if (dtype.present()) {
    if (dtype.type != Type::String) return not_a("dtype", "a string");
    r.dtype = &dtype == &dtype_ ? std::move(dtype_.s) : dtype.s;
  }
  if (shape_type_ != Type::Absent) {
    if (shape_type_ != Type::Array) return not_a("shape", "an array");
    if (shape_count_ > kMaxShapeRank)
      return manifest_error(fmt::format("{}.shape has rank {} (at most {})", where(), shape_count_, kMaxShapeRank));
    if (shape_bad_) return manifest_error(where() + ".shape holds a value that is not an unsigned integer");
    r.shape.assign(shape_.begin(), shape_.begin() + static_cast<ptrdiff_t>(shape_count_));
  }
  if (const JsonMember& d = device_.present() ? device_ : defaults.device; d.present()) {
    const bool ok = (d.type == Type::Uint && d.u <= 1023) || (d.type == Type::Int && d.i >= -1 && d.i <= 1023);
    if (!ok) return not_a("device", "an integer in -1..1023");
    r.device = static_cast<int32_t>(d.type == Type::Uint ? static_cast<int64_t>(d.u) : d.i);
  }
  if (va_.present() && va_.type != Type::Null) {
    if (va_.type != Type::String) return not_a("va", "a hex string");
    auto v = parse_hex_u64(va_.s);
    if (!v) return not_a("va", "a hex string like \"0x7f0000000000\"");
    r.va = *v;
  }
  // The enclosing allocation: both members or neither (section 7.3); a null
  // alloc_base is absent, a null alloc_size is present (and not a number).
  const bool has_base = alloc_base_.present() && alloc_base_.type != Type::Null;
  if (has_base != alloc_size_.present()) return manifest_error(where() + ": alloc_base and alloc_size go together");
  if (has_base) {
    if (alloc_base_.type != Type::String) return not_a("alloc_base", "a hex string");
    auto v = parse_hex_u64(alloc_base_.s);
    if (!v) return not_a("alloc_base", "a hex string like \"0x7f0000000000\"");
    if (!alloc_size_.is_unsigned()) return not_a("alloc_size", "an unsigned integer");
    r.alloc = AllocationRange{*v, alloc_size_.as_unsigned()};
  }
  if (flags_type_ != Type::Absent) {
    if (flags_type_ != Type::Array) return not_a("flags", "an array");
    if (flags_bad_) return manifest_error(where() + ".flags holds a non-string");
    r.flags = flags_;
  }
  if (has_labels_) {
    VRAMSNAP_ASSIGN_OR_RETURN(r.labels, parse_labels(labels_, where() + ".labels"));
  }
  auto st = validate_region(r);
  // Caps read from a file are format errors (exit 3), whatever kind the
  // shared validator uses for capture inputs.
  if (!st.ok()) return Error(ErrorKind::Format, "manifest: " + where() + ": " + st.error().message());
  return {};
}

}  // namespace vramsnap::format
