// models/data/text_data.h — byte-level text for `braid train --data`: `text:FILE` and
// `corpus:DIR`. Every byte is one token id in [0, 256), so the model needs vocab_size ≥ 256.
//
// Training rows are windows of seq_len + 1 bytes (ids = the first seq_len, targets = the next
// seq_len), started uniformly at random from (seed, step, micro) inside the training part of a
// file: its first n − ⌈n/10⌉ bytes. Eval windows lie wholly in the held-out part (the last
// ⌈n/10⌉ bytes, or the whole file of a held-out domain): up to eval_batches × batch windows of
// T = min(seq_len, part − 1) targets, evenly spaced so that no byte is a target twice, grouped
// in batches of `batch` rows; each target is one byte (target_bytes = rows × T), so the eval
// log reports bits_per_byte. Training windows never reach the held-out part.
//
// corpus:DIR reads DIR/manifest.json (scripts/make_corpus.sh):
//   {"format": "braid-corpus", "version": 1, "domains": [
//     {"name": "bible", "bytes": 4298239, "package": "bible-kjv-text", "role": "train"}, ...]}
// Domain `name` lives in DIR/<name>.txt of exactly `bytes` bytes; role "train" domains are
// trained on (a row picks its domain in proportion to the domain's window starts) and give the
// eval set "valid/<name>"; role "heldout" domains give "heldout/<name>".
#pragma once

#include <cstdint>

#include "models/data/spec.h"
#include "models/data/training_data.h"

namespace braid {

// The bytes of an n-byte text that are trained on: the first n − ⌈n/10⌉; the rest is held out.
int64_t text_train_bytes(int64_t n);

TrainingData open_text_data(const DataSpec& spec, const DataOptions& opt, int64_t vocab_size);
TrainingData open_corpus_data(const DataSpec& spec, const DataOptions& opt, int64_t vocab_size);

}  // namespace braid
