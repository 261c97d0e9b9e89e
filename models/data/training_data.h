// models/data/training_data.h — the data SPEC of `braid train`, opened into a batch function
// and held-out evaluation sets (models/train/trainer.h). One parser reads every SPEC
// (models/data/spec.h): `kind:PATH` or `kind[:key=value,...]`; unknown keys are errors.
//
// SPEC forms:
//   tokens:FILE.npy   int32/int64 token ids, [N, L] rows (L ≥ 2). Each step draws `batch` rows
//                     (seeded by (seed, step, micro), with replacement) and cuts a random window
//                     of seq_len + 1 tokens (the whole row when it is shorter); targets are the
//                     next tokens. The last ⌈N/10⌉ rows (at least one, when N ≥ 2) are held out
//                     as the eval set "heldout".
//   text:FILE         byte-level text: every byte of FILE is a token id 0..255 (needs
//                     vocab_size ≥ 256). Random windows of seq_len + 1 bytes from the first 90%
//                     of the file; the last ⌈n/10⌉ bytes are the eval set "heldout", evenly
//                     spaced windows that count one byte per target (bits_per_byte is reported).
//                     models/data/text_data.h.
//   corpus:DIR        byte-level domains DIR/<domain>.txt listed in DIR/manifest.json (written by
//                     scripts/make_corpus.sh). Trains on the first 90% of the "train" domains
//                     (windows drawn in proportion to their sizes); eval sets "valid/<domain>"
//                     (the last 10% of each train domain) and "heldout/<domain>" (each whole
//                     "heldout" domain, never trained on). models/data/text_data.h.
//   mqar[:vocab=V,num_kv_pairs=K,power_a=A,random_non_queries=0|1]
//   selective_copy[:vocab=V,num_tokens=M,noise=N,marker=R]
//   induction[:vocab=V,trigger=S]
//                     synthetic recall tasks (Zoology MQAR; the Mamba paper's selective copying
//                     and induction heads) of --seq-len tokens a row, scored only at the answers
//                     (other targets -1); a fixed eval set "heldout" from its own seed stream.
//                     Definitions and defaults: models/data/synthetic.h.
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

// The seed of one batch: a hash of (seed, stream, step, micro). Training batches use
// kTrainStream with (step, micro); fixed eval sets use kHeldoutStream with (batch index, 0).
constexpr uint64_t kTrainStream = 0, kHeldoutStream = 1;
uint64_t batch_seed(uint64_t seed, uint64_t stream, int64_t step, int64_t micro);

// Errors name the SPEC field or the file at fault.
TrainingData open_training_data(const std::string& spec, const DataOptions& opt, int64_t vocab_size);

}  // namespace braid
