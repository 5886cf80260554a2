#pragma once
// Errors as values. Nothing inside libvramsnap throws across the public API:
// every fallible call returns Result<T> (or Status). What a kind is called,
// the exit code vramsnap(1) gives it and its C API status live in one table
// (error_kind_info), which the tool and the C API both read.
#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "vramsnap/export.h"

namespace vramsnap {

enum class ErrorKind {
  Usage,        // bad argument or option value (exit 2)
  Format,       // not a snapshot, truncated, structurally corrupt (exit 3)
  Integrity,    // bad seal, wrong key, hash mismatch, unsealed, too old (exit 1)
  IO,           // read/write/open failure, output exists (exit 4)
  Limit,        // a cap exceeded, out of memory (exit 5)
  Resource,     // GPU out of memory and similar (exit 5)
  Compat,       // no GPU / driver, or incompatible with the snapshot (exit 6)
  Interrupted,  // cancelled by the caller or a signal (exit 130/143)
};

inline constexpr ErrorKind kAllErrorKinds[] = {ErrorKind::Usage, ErrorKind::Format, ErrorKind::Integrity,
                                               ErrorKind::IO,    ErrorKind::Limit,  ErrorKind::Resource,
                                               ErrorKind::Compat, ErrorKind::Interrupted};

struct ErrorKindInfo {
  const char* name;  // printed before the message: "integrity error", "usage error"
  int exit_code;     // vramsnap(1) exit status (SIGTERM while running exits 143 instead of 130)
  int c_status;      // vramsnap_status of the C API (vramsnap.h)
};
VRAMSNAP_API ErrorKindInfo error_kind_info(ErrorKind kind) noexcept;

// error_kind_info(kind).name
VRAMSNAP_API const char* to_string(ErrorKind kind) noexcept;

class VRAMSNAP_API Error {
 public:
  Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  ErrorKind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }
  // Prepends context ("file.snap: "), keeping the kind.
  Error&& with_context(const std::string& prefix) && {
    message_ = prefix + message_;
    return std::move(*this);
  }

 private:
  ErrorKind kind_;
  std::string message_;
};

// Minimal expected-like result (std::expected is C++23 and not usable with
// every compiler this project supports).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(v_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), has_err_(true) {}  // NOLINT
  bool ok() const noexcept { return !has_err_; }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const& { assert(!ok()); return err_; }
  Error&& error() && { assert(!ok()); return std::move(err_); }

 private:
  Error err_{ErrorKind::Usage, {}};
  bool has_err_ = false;
};

using Status = Result<void>;

inline Error make_error(ErrorKind kind, std::string message) { return Error(kind, std::move(message)); }

}  // namespace vramsnap

// Propagates an error from an expression returning Status / Result<T>.
#define VRAMSNAP_TRY(expr)                                        \
  do {                                                            \
    auto&& vramsnap_try_r_ = (expr);                              \
    if (!vramsnap_try_r_.ok()) return std::move(vramsnap_try_r_).error(); \
  } while (0)

#define VRAMSNAP_CONCAT_INNER(a, b) a##b
#define VRAMSNAP_CONCAT(a, b) VRAMSNAP_CONCAT_INNER(a, b)
// Assigns the value of a Result<T> expression to `lhs`, or returns its error.
#define VRAMSNAP_ASSIGN_OR_RETURN(lhs, expr) \
  VRAMSNAP_ASSIGN_OR_RETURN_IMPL(VRAMSNAP_CONCAT(vramsnap_r_, __LINE__), lhs, expr)
#define VRAMSNAP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).error();        \
  lhs = std::move(tmp).value()
