// Corpus replay driver: links against a fuzz target instead of libFuzzer so
// every build (gcc included, no -fsanitize=fuzzer) can run the committed
// corpora in ctest. Each argument is a file, or a directory whose regular
// files are replayed in name order (not recursive). Arguments starting with
// '-' are libFuzzer flags and are ignored, so the same command line works
// for both kinds of binary.
//
// A target reports a bug by crashing (trap, sanitizer report); this driver
// only fails for inputs it cannot read or when given nothing to replay.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool replay(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot open %s\n", file.c_str());
    return false;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return false;
  }
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
  // A copy of exactly the input's size, as libFuzzer passes it, so ASan
  // catches reads one past the end.
  std::vector<uint8_t> exact(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t count = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!arg.empty() && arg[0] == '-') continue;
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(arg, ec))
        if (e.is_regular_file()) files.push_back(e.path());
      if (ec) {
        std::fprintf(stderr, "replay: cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
        ok = false;
        continue;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        ok = replay(f) && ok;
        ++count;
      }
    } else {
      ok = replay(arg) && ok;
      ++count;
    }
  }
  if (count == 0) {
    std::fprintf(stderr, "usage: %s FILE|DIR...  (replays each input through the fuzz target)\n", argv[0]);
    return 2;
  }
  std::fprintf(stderr, "replay: %zu input(s) %s\n", count, ok ? "passed" : "replayed, some unreadable");
  return ok ? 0 : 1;
}
