// Errors thrown by Marquee. Two tiers, as in FAISS: caller mistakes (bad K, bad file, mismatched
// dimensions) throw with a message naming the value and the limit; internal invariants use
// MARQUEE_ASSERT. Every message carries the source file:line it was raised at.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace marquee {

/// Base of every error Marquee throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A caller passed a value outside its limits (K, batch size, unknown id, wrong dimension).
class ArgumentError : public Error {
 public:
  using Error::Error;
};

/// Input data is unusable (missing file, missing column, empty catalogue, rejected row under --strict).
class InputError : public Error {
 public:
  using Error::Error;
};

/// A backend (CUDA runtime, cuBLAS) failed or is unavailable.
class BackendError : public Error {
 public:
  using Error::Error;
};

namespace detail {
inline std::string with_location(const std::string& message, const char* file, int line) {
  return fmt::format("{} [{}:{}]", message, file, line);
}
}  // namespace detail

}  // namespace marquee

#define MARQUEE_THROW_AS(Type, ...) \
  throw Type(::marquee::detail::with_location(::fmt::format(__VA_ARGS__), __FILE__, __LINE__))

#define MARQUEE_THROW(...) MARQUEE_THROW_AS(::marquee::Error, __VA_ARGS__)

/// Throws ArgumentError with the formatted message unless `cond` holds.
#define MARQUEE_CHECK_ARG(cond, ...)                              \
  do {                                                            \
    if (!(cond)) MARQUEE_THROW_AS(::marquee::ArgumentError, __VA_ARGS__); \
  } while (0)

/// Throws InputError with the formatted message unless `cond` holds.
#define MARQUEE_CHECK_INPUT(cond, ...)                         \
  do {                                                         \
    if (!(cond)) MARQUEE_THROW_AS(::marquee::InputError, __VA_ARGS__); \
  } while (0)

/// Internal invariant; stays on in release builds (never abort inside the library).
#define MARQUEE_ASSERT(cond)                                                          \
  do {                                                                                \
    if (!(cond)) MARQUEE_THROW_AS(::marquee::Error, "internal invariant failed: {}", #cond); \
  } while (0)
