// Token ids from the command line or a .npy file, checked against the vocabulary with errors
// that name the source and the position.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace braid::cli {

struct TokenBatch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> ids;  // [B, T] row-major
};

// Reads int32/int64 ids [B, T] (a 1-D [T] array is one row). Errors: unreadable file, float
// dtype, empty input, id < 0 or ≥ V ("IDS.npy: token id 70000 at [0, 3] is outside the
// vocabulary [0, 65536)").
TokenBatch read_token_npy(const std::string& path, int64_t vocab_size);

// Parses "1,2,3" (one prompt) or "1,2;3,4,5" (a batch of prompts) and checks every id.
std::vector<std::vector<int32_t>> parse_prompt_ids(const std::string& text, int64_t vocab_size);

}  // namespace braid::cli
