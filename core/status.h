// core/status.h — the three ways braid reports failure (house style P11).
//
// 1. `Status`: a capability or input problem a caller can act on (unsupported shape, bad
//    config, missing weight). Contracts and loaders return it.
// 2. `braid::Error`: a `Status` that could not be handled locally, thrown up to `main()`,
//    which prints one line and exits non-zero.
// 3. `BRAID_CHECK`: a broken invariant (a bug). Always on, prints file:line and aborts.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace braid {

// Concatenates any streamable values: str("x has ", n, " rows").
template <class... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

enum class StatusCode {
  ok,
  invalid_argument,  // shapes, dtypes or values violate a contract or a format
  not_supported,     // valid request, but this backend / build cannot run it
  not_found,         // a file, tensor or key is missing
  io_error,          // reading or writing failed
};

const char* status_code_name(StatusCode c);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == StatusCode::ok; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

template <class... Args>
Status invalid_argument(Args&&... a) { return {StatusCode::invalid_argument, str(std::forward<Args>(a)...)}; }
template <class... Args>
Status not_supported(Args&&... a) { return {StatusCode::not_supported, str(std::forward<Args>(a)...)}; }
template <class... Args>
Status not_found(Args&&... a) { return {StatusCode::not_found, str(std::forward<Args>(a)...)}; }
template <class... Args>
Status io_error(Args&&... a) { return {StatusCode::io_error, str(std::forward<Args>(a)...)}; }

// A user-facing failure. The message is one line that names the file, tensor or value at
// fault; `main()` prints it as "braid: error: <message>" and exits with status 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const Status& s) : std::runtime_error(s.message()), code_(s.code()) {}
  explicit Error(const std::string& msg) : std::runtime_error(msg), code_(StatusCode::invalid_argument) {}
  StatusCode code() const { return code_; }

 private:
  StatusCode code_;
};

// Throws `Error` unless `s` is ok. Use at the boundary between Status-returning code and
// code that cannot continue (model loading, CLI commands).
inline void throw_if_error(const Status& s) {
  if (!s.is_ok()) throw Error(s);
}

template <class... Args>
[[noreturn]] void fail(Args&&... a) {
  throw Error(str(std::forward<Args>(a)...));
}

[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);

}  // namespace braid

// Returns early from a Status-returning function when `expr` is not ok.
#define BRAID_RETURN_IF_ERROR(expr)          \
  do {                                       \
    ::braid::Status braid_s_ = (expr);       \
    if (!braid_s_.is_ok()) return braid_s_;  \
  } while (0)

// Invariant check, always on. Extra arguments are streamed into the message.
#define BRAID_CHECK(cond, ...)                                                        \
  do {                                                                                \
    if (!(cond)) ::braid::check_failed(__FILE__, __LINE__, #cond, ::braid::str(__VA_ARGS__)); \
  } while (0)

#ifdef NDEBUG
#define BRAID_DCHECK(cond, ...) ((void)0)
#else
#define BRAID_DCHECK(cond, ...) BRAID_CHECK(cond, __VA_ARGS__)
#endif
