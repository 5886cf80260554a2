#include "text.h"

#include <system_error>

namespace vramsnap::cli {
namespace {

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string plural(uint64_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Error errno_error(ErrorKind kind, const std::string& path, const char* what, int err) {
  return Error(kind, path + ": " + what + ": " + std::generic_category().message(err));
}

}  // namespace vramsnap::cli
