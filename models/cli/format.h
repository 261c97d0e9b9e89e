// Human-readable numbers for CLI output.
#pragma once

#include <cstdint>
#include <string>

namespace braid::cli {

std::string human_count(int64_t n);  // 51570323456 -> "51.57B"
std::string human_bytes(int64_t n);  // 4294967296 -> "4.00 GiB"

}  // namespace braid::cli
