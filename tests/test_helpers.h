// tests/test_helpers.h — small helpers several suites share.
#pragma once

#include <functional>
#include <string>

namespace braid::test {

// The message of the exception `f` throws, or "" when it returns normally.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Standard base64 (RFC 4648, with padding) to bytes: the fixtures store texts this way so
// that any byte, NUL included, survives JSON.
inline std::string base64_decode(const std::string& in) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    const size_t k = abc.find(c);
    if (k == std::string::npos) continue;  // line breaks
    val = (val << 6) + static_cast<int>(k);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

}  // namespace braid::test
