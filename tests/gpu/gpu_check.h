#pragma once
// The GPU tests' tiny harness: CHECK counts instead of aborting, and main
// prints "N passed, N failed" (a closing line ctest's output readers know).
#include <cstdio>

namespace gputest {
inline int passed = 0, failed = 0;
}  // namespace gputest

#define CHECK(cond, ...)                                                              \
  do {                                                                                \
    if (cond) ++gputest::passed;                                                      \
    else {                                                                            \
      ++gputest::failed;                                                              \
      std::fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);   \
      std::fprintf(stderr, __VA_ARGS__);                                              \
      std::fprintf(stderr, "\n");                                                     \
    }                                                                                 \
  } while (0)
