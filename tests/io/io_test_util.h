// tests/io/io_test_util.h — scratch directories, raw file builders and the error check
// shared by the models/io tests.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "core/status.h"
#include "tests/temp_dir.h"

namespace braid::test {

namespace fs = std::filesystem;

inline void write_file(const std::string& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  REQUIRE(f.good());
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::string u64_le(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// A safetensors file from a literal header (its true length is written) and data bytes.
inline std::string raw_safetensors(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

// Runs `f`, which must throw braid::Error whose message is one line containing every needle.
inline void check_error(const std::function<void()>& f, std::initializer_list<std::string> needles) {
  std::string msg;
  bool threw = false;
  try {
    f();
  } catch (const Error& e) {
    threw = true;
    msg = e.what();
  }
  INFO("message: " << msg);
  REQUIRE_MESSAGE(threw, "expected braid::Error");
  CHECK(msg.find('\n') == std::string::npos);
  for (const std::string& n : needles) {
    INFO("needle: " << n);
    CHECK(msg.find(n) != std::string::npos);
  }
}

}  // namespace braid::test
