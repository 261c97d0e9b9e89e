// models/data/training_data.h — the data SPEC of `braid train`, opened into a batch function
// and held-out evaluation sets (models/train/trainer.h).
//
// SPEC forms:
//   tokens:FILE.npy   int32/int64 token ids, [N, L] rows (L ≥ 2). Each step draws `batch` rows
//                     (seeded by (seed, step, micro), with replacement) and cuts a random window
//                     of seq_len + 1 tokens (the whole row when it is shorter); targets are the
//                     next tokens. The last ⌈N/10⌉ rows (at least one, when N ≥ 2) are held out
//                     as the eval set "heldout".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/train/trainer.h"

namespace braid {

struct DataOptions {
  int64_t batch = 8;
  int64_t seq_len = 256;
  uint64_t seed = 0;
  int64_t eval_batches = 8;
};

struct TrainingData {
  BatchFn next_batch;
  std::vector<EvalSet> eval_sets;
  std::string description;
};

// Errors name the SPEC field or the file at fault.
TrainingData open_training_data(const std::string& spec, const DataOptions& opt, int64_t vocab_size);

}  // namespace braid
