#include "target_arg.h"

#include <charconv>

namespace vramsnap::cli {

Result<TargetArg> parse_target_arg(const std::string& text) {
  const Error bad(ErrorKind::Usage, "--target: expected host, cuda or cuda:N, got " + text);
  if (text == "host") return TargetArg{Target::Host, 0};
  if (text == "cuda") return TargetArg{Target::Cuda, 0};
  if (text.rfind("cuda:", 0) != 0) return bad;
  const char* first = text.data() + 5;
  const char* last = text.data() + text.size();
  // Digits only: from_chars alone would accept a leading '-'.
  if (first == last || text.find_first_not_of("0123456789", 5) != std::string::npos) return bad;
  unsigned long long n = 0;
  const auto [end, ec] = std::from_chars(first, last, n);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && n > kMaxDeviceOrdinal))
    return Error(ErrorKind::Usage, "--target: device ordinal " + std::string(first, last) + " is out of range (0.." +
                                       std::to_string(kMaxDeviceOrdinal) + ")");
  if (ec != std::errc() || end != last) return bad;
  return TargetArg{Target::Cuda, static_cast<int>(n)};
}

Result<VerifyOn> parse_verify_on(const std::string& text) {
  if (text == "auto") return VerifyOn::Auto;
  if (text == "host") return VerifyOn::Host;
  if (text == "device") return VerifyOn::Device;
  return Error(ErrorKind::Usage, "--verify-on: expected auto, host or device, got " + text.substr(0, 64));
}

}  // namespace vramsnap::cli
