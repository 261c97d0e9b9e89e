#include "models/cli/token_input.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "core/status.h"
#include "models/io/npy.h"

namespace braid::cli {
namespace {

void check_id(int64_t id, int64_t vocab_size, const std::string& source, int64_t row, int64_t col) {
  if (id < 0 || id >= vocab_size)
    fail(source, ": token id ", id, " at [", row, ", ", col, "] is outside the vocabulary [0, ", vocab_size, ")");
}

}  // namespace

TokenBatch read_token_npy(const std::string& path, int64_t vocab_size) {
  const NpyArray a = read_npy(path);
  if (a.shape.ndim() != 1 && a.shape.ndim() != 2)
    fail(path, ": expected token ids of shape [B, T], got ", a.shape.to_string());
  TokenBatch tb;
  tb.B = a.shape.ndim() == 2 ? a.shape[0] : 1;
  tb.T = a.shape[a.shape.ndim() - 1];
  if (tb.B == 0 || tb.T == 0) fail(path, ": empty input (shape ", a.shape.to_string(), ")");
  const std::vector<int64_t> ids = a.to_i64();  // errors on float arrays
  tb.ids.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    check_id(ids[i], vocab_size, path, static_cast<int64_t>(i) / tb.T, static_cast<int64_t>(i) % tb.T);
    tb.ids[i] = static_cast<int32_t>(ids[i]);
  }
  return tb;
}

std::vector<std::vector<int32_t>> parse_prompt_ids(const std::string& text, int64_t vocab_size) {
  std::vector<std::vector<int32_t>> prompts;
  std::stringstream rows(text);
  std::string row;
  while (std::getline(rows, row, ';')) {
    std::vector<int32_t> ids;
    std::stringstream cols(row);
    std::string tok;
    while (std::getline(cols, tok, ',')) {
      const size_t b = tok.find_first_not_of(" \t"), e = tok.find_last_not_of(" \t");
      if (b == std::string::npos) fail("--prompt-ids: empty entry in '", text, "'");
      tok = tok.substr(b, e - b + 1);
      char* end = nullptr;
      errno = 0;
      const long long v = std::strtoll(tok.c_str(), &end, 10);
      if (*end != '\0' || errno == ERANGE) fail("--prompt-ids: '", tok, "' is not an integer token id");
      check_id(v, vocab_size, "--prompt-ids", static_cast<int64_t>(prompts.size()), static_cast<int64_t>(ids.size()));
      ids.push_back(static_cast<int32_t>(v));
    }
    if (ids.empty()) fail("--prompt-ids: prompt ", prompts.size(), " is empty");
    prompts.push_back(std::move(ids));
  }
  if (prompts.empty()) fail("--prompt-ids: empty input");
  return prompts;
}

}  // namespace braid::cli
