// libFuzzer target for the manifest parser (reliability item 8): the input is
// the manifest text. Besides "no crash, no exception, no leak", a manifest
// that parses must survive the writer's encoder: encode(parse(x)) parses to
// the same metadata, since that is the path every written snapshot takes.
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "format/manifest.h"

namespace {

using vramsnap::RegionMeta;
using vramsnap::SnapshotMeta;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_manifest: oracle failed: %s\n", why);
  __builtin_trap();
}

bool same_meta(const SnapshotMeta& a, const SnapshotMeta& b) {
  return a.id_hex == b.id_hex && a.created == b.created && a.tool == b.tool && a.generation == b.generation &&
         a.labels == b.labels && a.chunk_size == b.chunk_size && a.source.gpu_name == b.source.gpu_name &&
         a.source.compute_capability == b.source.compute_capability &&
         a.source.driver_version == b.source.driver_version && a.source.cuda_runtime == b.source.cuda_runtime &&
         a.source.host == b.source.host;
}

bool same_region(const RegionMeta& a, const RegionMeta& b) {
  return a.name == b.name && a.kind == b.kind && a.size == b.size && a.dtype == b.dtype && a.shape == b.shape &&
         a.device == b.device && a.va == b.va && a.flags == b.flags && a.labels == b.labels;
}

// Parse, encode, parse again: the same metadata. With region_defaults (files
// with the packed-regions bit) the writer leaves out what the defaults say,
// so the round trip checks that a default never stands in for a region's own
// value.
void round_trip(std::string_view text, bool region_defaults) {
  namespace F = vramsnap::format;
  auto m = F::parse_manifest(text, region_defaults);
  if (!m.ok()) {
    if (m.error().message().empty()) fail("error without a message");
    return;
  }
  const std::string again = F::encode_manifest(m->meta, m->regions, region_defaults);
  auto m2 = F::parse_manifest(again, region_defaults);
  if (!m2.ok()) {
    std::fprintf(stderr, "re-encoded manifest rejected: %s\n", m2.error().message().c_str());
    fail("encode_manifest output of a parsed manifest does not parse");
  }
  if (!same_meta(m->meta, m2->meta)) fail("snapshot metadata changed in an encode/parse round trip");
  if (m->regions.size() != m2->regions.size()) fail("region count changed in an encode/parse round trip");
  for (size_t i = 0; i < m->regions.size(); ++i)
    if (!same_region(m->regions[i], m2->regions[i])) fail("region changed in an encode/parse round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  round_trip(text, false);
  round_trip(text, true);
  return 0;
}
