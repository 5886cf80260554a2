#pragma once
// Shared helpers for the library-level tests (test_format, test_seal,
// test_restore): temp directories, whole-file I/O, deterministic data,
// snapshots captured from host memory, corruption helpers, and an
// independent parser/serialiser of the format v1 layout
// (formats/snapshot-v1.md) used to craft files whose hashes and check values
// are all correct, so that only the check under test can catch them.
//
// The serialiser deliberately does not use libsnap/src/format/binary.cpp: it
// encodes every field itself from the offsets of the spec (mirrored in
// format/layout.h) and hashes with OpenSSL directly.
#include <doctest/doctest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/leaf_hash.h"
#include "format/layout.h"
#include "temp_dir.h"
#include "vramsnap/capture.hpp"
#include "vramsnap/error.hpp"
#include "vramsnap/key.hpp"
#include "vramsnap/restore.hpp"
#include "vramsnap/snapshot.hpp"

namespace doctest {
template <>
struct StringMaker<vramsnap::ErrorKind> {
  static String convert(vramsnap::ErrorKind k) { return vramsnap::to_string(k); }
};
}  // namespace doctest

namespace vtest {

using Bytes = std::vector<uint8_t>;
using vramsnap::ErrorKind;

inline constexpr uint64_t KiB = 1024;

// ---- temp directories and files ----------------------------------------------


inline Bytes read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE_MESSAGE(fd >= 0, path << ": " << std::strerror(errno));
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  Bytes out(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    REQUIRE(n > 0);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}

inline void write_file(const std::string& path, std::span<const uint8_t> data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE_MESSAGE(fd >= 0, path << ": " << std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
    REQUIRE(n > 0);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

inline void write_file(const std::string& path, std::string_view text) {
  write_file(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

// Overwrites bytes of an existing file in place (same inode).
inline void patch_file(const std::string& path, uint64_t offset, std::span<const uint8_t> data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(data.size()));
  ::close(fd);
}

// Sorted names in a directory, without "." and "..".
inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

inline bool path_exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// ---- deterministic data --------------------------------------------------------

// bf16-like weights: N(0, 0.02) floats, upper 16 bits, little-endian.
inline Bytes bf16_like(size_t n, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  Bytes out(n);
  for (size_t i = 0; i < n; i += 2) {
    float f = dist(rng);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    out[i] = static_cast<uint8_t>(u >> 16);
    if (i + 1 < n) out[i + 1] = static_cast<uint8_t>(u >> 24);
  }
  return out;
}

// N(0, 1) values of type F; the last one cut short when n is not a multiple.
template <class F>
inline Bytes normal_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<F> dist(F(0), F(1));
  Bytes out(n);
  for (size_t i = 0; i < n; i += sizeof(F)) {
    const F f = dist(rng);
    std::memcpy(out.data() + i, &f, std::min<size_t>(sizeof(F), n - i));
  }
  return out;
}

inline Bytes f32_like(size_t n, uint32_t seed = 2) { return normal_values<float>(n, seed); }
inline Bytes f64_like(size_t n, uint32_t seed = 3) { return normal_values<double>(n, seed); }

// Incompressible.
inline Bytes random_bytes(size_t n, uint32_t seed = 4) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng() >> 24);
  return out;
}

// Compresses well with plain zstd.
inline Bytes text_like(size_t n, uint32_t seed = 5) {
  static const char* const kWords[] = {"tensor ", "weight ", "cache ",  "layer ", "head ",  "query ",
                                       "key ",    "value ",  "token ",  "norm ",  "bias ",  "embed ",
                                       "rotary ", "expert ", "router ", "gate "};
  std::mt19937 rng(seed);
  Bytes out;
  out.reserve(n + 8);
  while (out.size() < n) {
    const char* w = kWords[rng() % 16];
    out.insert(out.end(), w, w + std::strlen(w));
  }
  out.resize(n);
  return out;
}

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ---- corruption helpers (return modified copies) ---------------------------------

inline Bytes flip_bit(Bytes v, uint64_t offset, unsigned bit = 0) {
  REQUIRE(offset < v.size());
  v[offset] ^= static_cast<uint8_t>(1u << (bit & 7));
  return v;
}
inline Bytes truncate_at(Bytes v, uint64_t size) {
  REQUIRE(size <= v.size());
  v.resize(size);
  return v;
}
inline Bytes insert_at(Bytes v, uint64_t offset, std::span<const uint8_t> bytes) {
  REQUIRE(offset <= v.size());
  v.insert(v.begin() + static_cast<std::ptrdiff_t>(offset), bytes.begin(), bytes.end());
  return v;
}
inline Bytes overwrite_at(Bytes v, uint64_t offset, std::span<const uint8_t> bytes) {
  REQUIRE(offset + bytes.size() <= v.size());
  std::copy(bytes.begin(), bytes.end(), v.begin() + static_cast<std::ptrdiff_t>(offset));
  return v;
}

// ---- hashing (OpenSSL directly, independent of libsnap/src/crypto) ---------------

using Digest = std::array<uint8_t, 32>;

inline Digest sha256(std::span<const uint8_t> data) {
  Digest d{};
  ::SHA256(data.data(), data.size(), d.data());
  return d;
}
inline Digest sha256(std::string_view s) { return sha256(as_bytes(s)); }

inline std::array<uint8_t, 8> h8(std::span<const uint8_t> data) {
  auto d = sha256(data);
  std::array<uint8_t, 8> out{};
  std::copy_n(d.begin(), 8, out.begin());
  return out;
}

inline std::string hex(std::span<const uint8_t> b) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s.push_back(kDigits[x >> 4]);
    s.push_back(kDigits[x & 15]);
  }
  return s;
}

inline Bytes unhex(std::string_view s) {
  Bytes out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int hi = -1;
  for (char c : s) {
    int v = nib(c);
    if (v < 0) continue;  // whitespace allowed
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  REQUIRE(hi < 0);
  return out;
}

using KeyBytes = std::array<uint8_t, 32>;

inline KeyBytes key_bytes(uint8_t first) {
  KeyBytes k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(first + i);
  return k;
}

// key_id = H8("vramsnap/v1/key-id" NUL || key)   (spec 9.1)
inline std::array<uint8_t, 8> key_id_of(const KeyBytes& key) {
  Bytes in;
  const char prefix[] = "vramsnap/v1/key-id";
  in.insert(in.end(), prefix, prefix + sizeof prefix);  // NUL included
  in.insert(in.end(), key.begin(), key.end());
  return h8(in);
}

inline vramsnap::Key make_key(const KeyBytes& k) {
  auto r = vramsnap::Key::from_bytes(k.data(), k.size());
  REQUIRE(r.ok());
  return *r;
}

// ---- little-endian field access ---------------------------------------------------

inline uint64_t get_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline void put_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// ---- format v1 layout (spec sections 3-10) ---------------------------------------

namespace L = vramsnap::format;

struct Record {
  uint32_t region = 0;
  uint8_t codec = 1;
  uint8_t elem = 0;
  uint16_t flags = 0;
  uint64_t region_offset = 0;
  uint64_t raw_size = 0;
  uint64_t stored_offset = 0;
  uint64_t stored_size = 0;
  Digest hash{};
};

inline void encode_record(const Record& r, uint8_t* out) {
  std::memset(out, 0, L::kChunkRecordSize);
  put_le(out + 0, r.region, 4);
  out[4] = r.codec;
  out[5] = r.elem;
  put_le(out + 6, r.flags, 2);
  put_le(out + 8, r.region_offset, 8);
  put_le(out + 16, r.raw_size, 8);
  put_le(out + 24, r.stored_offset, 8);
  put_le(out + 32, r.stored_size, 8);
  std::copy(r.hash.begin(), r.hash.end(), out + 40);
}

inline Record decode_record(const uint8_t* in) {
  Record r;
  r.region = static_cast<uint32_t>(get_le(in + 0, 4));
  r.codec = in[4];
  r.elem = in[5];
  r.flags = static_cast<uint16_t>(get_le(in + 6, 2));
  r.region_offset = get_le(in + 8, 8);
  r.raw_size = get_le(in + 16, 8);
  r.stored_offset = get_le(in + 24, 8);
  r.stored_size = get_le(in + 32, 8);
  std::copy_n(in + 40, 32, r.hash.begin());
  return r;
}

// A snapshot taken apart into its structures. parse() trusts its input (it is
// used on files the library just wrote); build() lays the structures out again
// exactly as section 13.1 says, with fresh table/manifest hashes, file
// offsets and trailer check value.
struct SnapFile {
  Bytes head;                      // [0, 4096): header and its padding
  Bytes data;                      // [4096, table_offset)
  std::vector<Record> records;
  std::string manifest;
  std::array<uint8_t, 128> seal{};
  std::array<uint8_t, 160> trailer{};  // as parsed; build() rewrites the layout fields

  uint64_t table_offset() const { return L::kDataOffset + data.size(); }

  // A chunk's stored bytes, taken from the data area.
  Bytes stored(size_t i) const {
    const Record& r = records.at(i);
    if (r.codec == 0) return {};
    REQUIRE(r.stored_offset >= L::kDataOffset);
    REQUIRE(r.stored_offset - L::kDataOffset + r.stored_size <= data.size());
    auto b = data.begin() + static_cast<std::ptrdiff_t>(r.stored_offset - L::kDataOffset);
    return Bytes(b, b + static_cast<std::ptrdiff_t>(r.stored_size));
  }

  nlohmann::json manifest_json() const { return nlohmann::json::parse(manifest); }
  void set_manifest(const nlohmann::json& j) { manifest = j.dump(); }

  // Rewrites a header field and recomputes the header check value.
  void set_header_field(size_t offset, uint64_t value, int width) {
    put_le(head.data() + offset, value, width);
    rehash_header();
  }
  void rehash_header() {
    auto c = h8({head.data(), L::hdr::kCheck});
    std::copy(c.begin(), c.end(), head.begin() + L::hdr::kCheck);
  }
  void set_unsealed() {
    seal.fill(0);
    std::copy(L::kSealMagic.begin(), L::kSealMagic.end(), seal.begin());
  }
};

inline SnapFile parse(const Bytes& f) {
  REQUIRE(f.size() >= L::kDataOffset + L::kSealSize + L::kTrailerSize);
  SnapFile s;
  const uint8_t* t = f.data() + f.size() - L::kTrailerSize;
  std::copy_n(t, L::kTrailerSize, s.trailer.begin());
  const uint64_t table_offset = get_le(t + L::trl::kTableOffset, 8);
  const uint64_t count = get_le(t + L::trl::kChunkCount, 8);
  const uint64_t moff = get_le(t + L::trl::kManifestOffset, 8);
  const uint64_t msize = get_le(t + L::trl::kManifestSize, 8);
  const uint64_t soff = get_le(t + L::trl::kSealOffset, 8);
  REQUIRE(table_offset >= L::kDataOffset);
  REQUIRE(moff == table_offset + count * L::kChunkRecordSize);
  REQUIRE(soff + L::kSealSize + L::kTrailerSize == f.size());
  s.head.assign(f.begin(), f.begin() + L::kDataOffset);
  s.data.assign(f.begin() + L::kDataOffset, f.begin() + static_cast<std::ptrdiff_t>(table_offset));
  for (uint64_t i = 0; i < count; ++i) s.records.push_back(decode_record(f.data() + table_offset + i * L::kChunkRecordSize));
  s.manifest.assign(reinterpret_cast<const char*>(f.data() + moff), msize);
  std::copy_n(f.data() + soff, L::kSealSize, s.seal.begin());
  return s;
}

inline Bytes encode_table(const std::vector<Record>& records) {
  Bytes table(records.size() * L::kChunkRecordSize);
  for (size_t i = 0; i < records.size(); ++i) encode_record(records[i], table.data() + i * L::kChunkRecordSize);
  return table;
}

// MAC of spec 9.2 over the given header and trailer.
inline Digest seal_mac(const KeyBytes& key, std::span<const uint8_t> header64, std::span<const uint8_t> trailer) {
  Bytes in;
  in.insert(in.end(), L::kSealDomain, L::kSealDomain + sizeof(L::kSealDomain));  // NUL included
  auto id = key_id_of(key);
  in.insert(in.end(), id.begin(), id.end());
  in.insert(in.end(), header64.begin(), header64.begin() + 64);
  in.insert(in.end(), trailer.begin(), trailer.begin() + 144);
  REQUIRE(in.size() == 245);
  Digest mac{};
  unsigned len = 0;
  REQUIRE(::HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), in.data(), in.size(), mac.data(), &len) != nullptr);
  REQUIRE(len == 32);
  return mac;
}

struct BuildOptions {
  // Runs on the trailer after the layout fields and hashes are filled in and
  // before the check value is computed: to plant a crafted trailer value.
  std::function<void(uint8_t* trailer)> edit_trailer;
  // Re-seal the result with this key (after the trailer is final).
  std::optional<KeyBytes> seal_key;
  // Leave the trailer check value as it was computed before edit_trailer.
  bool skip_trailer_check = false;
};

inline Bytes build(const SnapFile& s, const BuildOptions& opt = {}) {
  Bytes out = s.head;
  REQUIRE(out.size() == L::kDataOffset);
  out.insert(out.end(), s.data.begin(), s.data.end());
  const uint64_t table_offset = out.size();
  const Bytes table = encode_table(s.records);
  out.insert(out.end(), table.begin(), table.end());
  const uint64_t manifest_offset = out.size();
  out.insert(out.end(), s.manifest.begin(), s.manifest.end());
  const uint64_t seal_offset = (out.size() + L::kSealAlign - 1) / L::kSealAlign * L::kSealAlign;
  out.resize(seal_offset, 0);
  std::array<uint8_t, 128> seal = s.seal;
  std::array<uint8_t, 160> t = s.trailer;
  put_le(&t[L::trl::kTableOffset], table_offset, 8);
  put_le(&t[L::trl::kChunkCount], s.records.size(), 8);
  put_le(&t[L::trl::kManifestOffset], manifest_offset, 8);
  put_le(&t[L::trl::kManifestSize], s.manifest.size(), 8);
  put_le(&t[L::trl::kSealOffset], seal_offset, 8);
  put_le(&t[L::trl::kFileSize], seal_offset + L::kSealSize + L::kTrailerSize, 8);
  const Digest th = sha256(table), mh = sha256(s.manifest);
  std::copy(th.begin(), th.end(), t.begin() + L::trl::kTableHash);
  std::copy(mh.begin(), mh.end(), t.begin() + L::trl::kManifestHash);
  auto check = h8({t.data(), L::trl::kCheck});
  std::copy(check.begin(), check.end(), t.begin() + L::trl::kCheck);
  if (opt.edit_trailer) {
    opt.edit_trailer(t.data());
    if (!opt.skip_trailer_check) {
      check = h8({t.data(), L::trl::kCheck});
      std::copy(check.begin(), check.end(), t.begin() + L::trl::kCheck);
    }
  }
  if (opt.seal_key) {
    seal.fill(0);
    std::copy(L::kSealMagic.begin(), L::kSealMagic.end(), seal.begin());
    put_le(&seal[L::seal::kAlgorithm], L::kSealHmacSha256, 4);
    auto id = key_id_of(*opt.seal_key);
    std::copy(id.begin(), id.end(), seal.begin() + L::seal::kKeyId);
    auto mac = seal_mac(*opt.seal_key, s.head, t);
    std::copy(mac.begin(), mac.end(), seal.begin() + L::seal::kTag);
  }
  out.insert(out.end(), seal.begin(), seal.end());
  out.insert(out.end(), t.begin(), t.end());
  return out;
}

// The chunk hash the file's header calls for: the leaf tree when it sets the
// leaf-sha256 bit (section 5.4), else the flat SHA-256.
inline Digest chunk_hash_of(const SnapFile& s, std::span<const uint8_t> stored) {
  const bool leaf = get_le(s.head.data() + L::hdr::kRequired, 8) & 1;
  return leaf && !stored.empty() ? vramsnap::crypto::leaf_sha256(stored) : sha256(stored);
}

// Lays the data area out again from the given stored bytes per chunk (section
// 13.1 step 3), updating stored_offset / stored_size, and the hashes when asked.
inline void relayout(SnapFile& s, const std::vector<Bytes>& stored, bool rehash) {
  REQUIRE(stored.size() == s.records.size());
  s.data.clear();
  for (size_t i = 0; i < s.records.size(); ++i) {
    Record& r = s.records[i];
    if (r.codec == 0) {
      r.stored_offset = 0;
      r.stored_size = 0;
      if (rehash) r.hash = sha256(std::span<const uint8_t>{});
      continue;
    }
    r.stored_offset = L::kDataOffset + s.data.size();
    r.stored_size = stored[i].size();
    s.data.insert(s.data.end(), stored[i].begin(), stored[i].end());
    s.data.resize((s.data.size() + L::kDataAlign - 1) / L::kDataAlign * L::kDataAlign, 0);
    if (rehash) r.hash = chunk_hash_of(s, stored[i]);
  }
}

inline std::vector<Bytes> all_stored(const SnapFile& s) {
  std::vector<Bytes> v;
  for (size_t i = 0; i < s.records.size(); ++i) v.push_back(s.stored(i));
  return v;
}

// File offsets of the structures of a valid snapshot, from its trailer.
struct Offsets {
  uint64_t size, table, manifest, manifest_end, seal, trailer;
};
inline Offsets offsets_of(const Bytes& f) {
  const uint8_t* t = f.data() + f.size() - L::kTrailerSize;
  Offsets o{};
  o.size = f.size();
  o.table = get_le(t + L::trl::kTableOffset, 8);
  o.manifest = get_le(t + L::trl::kManifestOffset, 8);
  o.manifest_end = o.manifest + get_le(t + L::trl::kManifestSize, 8);
  o.seal = get_le(t + L::trl::kSealOffset, 8);
  o.trailer = f.size() - L::kTrailerSize;
  return o;
}

// ---- snapshots from host memory --------------------------------------------------

struct RegionData {
  vramsnap::RegionMeta meta;
  Bytes bytes;
};

inline RegionData region(std::string name, Bytes bytes, std::string dtype = "",
                         vramsnap::RegionKind kind = vramsnap::RegionKind::Host) {
  RegionData r;
  r.meta.name = std::move(name);
  r.meta.kind = kind;
  r.meta.size = bytes.size();
  r.meta.dtype = std::move(dtype);
  r.bytes = std::move(bytes);
  return r;
}

inline vramsnap::CaptureOptions capture_options() {
  vramsnap::CaptureOptions o;
  o.chunk_size = 64 * KiB;  // the smallest chunk size: many chunks from little data
  o.pack_below = 0;         // one chunk layout per region; test_packed.cpp packs
  o.threads = 2;
  o.source = vramsnap::SourceInfo{};
  o.source->host = "test-host";
  return o;
}

inline vramsnap::Result<vramsnap::CaptureSummary> capture(const std::string& path, const std::vector<RegionData>& regions,
                                                          const vramsnap::CaptureOptions& opt = capture_options()) {
  std::vector<vramsnap::RegionInput> in;
  for (const auto& r : regions) in.push_back(vramsnap::RegionInput::from_host(r.meta, r.bytes.data()));
  return vramsnap::capture(path, in, opt);
}

// Captures and REQUIREs success; returns the file's bytes.
inline Bytes make_snapshot(const std::string& path, const std::vector<RegionData>& regions,
                           const vramsnap::CaptureOptions& opt = capture_options()) {
  auto r = capture(path, regions, opt);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message()));
  return read_file(path);
}

inline vramsnap::Snapshot open_ok(const std::string& path) {
  auto r = vramsnap::Snapshot::open(path);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message()));
  return *r;
}

// Options that accept an unsealed file (structure and hashes only).
inline vramsnap::VerifyOptions unsealed_verify(bool decode = true) {
  vramsnap::VerifyOptions o;
  o.allow_unsealed = true;
  o.decode = decode;
  o.threads = 1;
  return o;
}
inline vramsnap::RestoreOptions unsealed_restore() {
  vramsnap::RestoreOptions o;
  o.allow_unsealed = true;
  o.threads = 1;
  return o;
}

template <class R>
std::string message_of(const R& r) {
  return r.ok() ? std::string("(succeeded)") : r.error().message();
}

}  // namespace vtest

// Checks that a Result/Status failed with the given kind and a message fragment.
#define VT_CHECK_ERROR(expr, kind_, fragment_)                                                    \
  do {                                                                                            \
    const auto& vt_r_ = (expr);                                                                   \
    if (vt_r_.ok()) {                                                                             \
      FAIL_CHECK("expected a " << vramsnap::to_string(kind_) << " error containing \""            \
                               << (fragment_) << "\", but it succeeded");                        \
    } else {                                                                                      \
      CHECK_MESSAGE(std::string(vramsnap::to_string(vt_r_.error().kind())) ==                    \
                        std::string(vramsnap::to_string(kind_)),                                  \
                    vt_r_.error().message());                                                     \
      CHECK_MESSAGE(vtest::contains(vt_r_.error().message(), (fragment_)), vt_r_.error().message()); \
    }                                                                                             \
  } while (0)
