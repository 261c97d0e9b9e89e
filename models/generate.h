// models/generate.h — batched generation with the hybrid cache: one prefill over all prompts
// (right-padded to the longest, with per-row lengths so padding never reaches a state), then
// one-token decode steps for every row. Sampling: greedy, temperature, top-k, top-p, seeded.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/rng.h"
#include "models/model.h"

namespace braid {

struct SamplingOptions {
  float temperature = 0.0f;  // 0: greedy (argmax, lowest id on ties)
  int64_t top_k = 0;         // 0: off
  float top_p = 1.0f;        // 1: off
  uint64_t seed = 0;
};

// Picks the next token from one row of logits [V]. Greedy when temperature == 0; otherwise
// softmax(logits / temperature) restricted to the top_k most likely tokens, then to the
// smallest prefix whose probability reaches top_p, sampled with `rng`.
int32_t sample_token(const float* logits, int64_t V, const SamplingOptions& opts, Rng& rng);

struct GenerationStats {
  int64_t prefill_tokens = 0;
  int64_t decode_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
};

struct GenerationResult {
  std::vector<std::vector<int32_t>> tokens;  // per prompt: the prompt followed by the new tokens
  GenerationStats stats;
};

// Called after every generated token of row `row` (streaming output); returning false ends
// that row after this token (stop strings).
using TokenCallback = std::function<bool(int64_t row, int32_t token)>;

// Generates `max_new_tokens` tokens after each prompt. With `stop_at_eos` a row stops at the
// config's eos_token_id (the token is kept). Prompts must be non-empty with ids in [0, V).
GenerationResult generate(HybridModel& model, const std::vector<std::vector<int32_t>>& prompts,
                          int64_t max_new_tokens, const SamplingOptions& opts, bool stop_at_eos = false,
                          const TokenCallback& on_token = {});

}  // namespace braid
