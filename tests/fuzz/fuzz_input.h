// tests/fuzz/fuzz_input.h — what the fuzz targets share: the parsers under test read files, so
// each input is written to a scratch file first (one per process, in /dev/shm when it exists).
// A braid::Error is the expected answer to a bad input; anything else (a crash, a sanitizer
// report, another exception) is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace braid::fuzz {

inline std::string scratch_path(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  return (dir / ("braid-fuzz-" + std::to_string(getpid()) + "-" + name)).string();
}

inline void write_file(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}

}  // namespace braid::fuzz
