// tests/data: helpers shared by the data tests.
#pragma once

#include <string>

#include "models/data/training_data.h"
#include "tests/test_helpers.h"

namespace braid::test {

inline DataOptions data_options(int64_t batch, int64_t seq_len, uint64_t seed = 3, int64_t eval_batches = 2) {
  DataOptions o;
  o.batch = batch;
  o.seq_len = seq_len;
  o.seed = seed;
  o.eval_batches = eval_batches;
  return o;
}

inline bool same_batch(const TrainBatch& a, const TrainBatch& b) {
  return a.B == b.B && a.T == b.T && a.ids == b.ids && a.targets == b.targets && a.target_bytes == b.target_bytes;
}

}  // namespace braid::test
