#include "models/data/training_data.h"

#include <algorithm>
#include <memory>

#include "core/rng.h"
#include "models/data/spec.h"
#include "models/data/synthetic.h"
#include "models/data/text_data.h"
#include "models/io/npy.h"

namespace braid {
namespace {

// Rows of token ids held in memory, split into train and held-out rows.
struct TokenRows {
  std::vector<std::vector<int32_t>> rows;
  int64_t train_rows = 0;
};

std::shared_ptr<TokenRows> read_rows(const std::string& path, int64_t vocab_size) {
  const NpyArray a = read_npy(path);
  if (a.shape.ndim() != 2) fail(path, ": expected token ids [N, L], got shape ", a.shape.to_string());
  const int64_t N = a.shape[0], L = a.shape[1];
  if (N < 1 || L < 2) fail(path, ": need at least one row of two tokens, got shape ", a.shape.to_string());
  const std::vector<int64_t> ids = a.to_i64();
  auto out = std::make_shared<TokenRows>();
  for (int64_t r = 0; r < N; ++r) {
    std::vector<int32_t> row(static_cast<size_t>(L));
    for (int64_t t = 0; t < L; ++t) {
      const int64_t id = ids[r * L + t];
      if (id < 0 || id >= vocab_size)
        fail(path, ": token id ", id, " at [", r, ", ", t, "] is outside the vocabulary [0, ", vocab_size, ")");
      row[t] = static_cast<int32_t>(id);
    }
    out->rows.push_back(std::move(row));
  }
  out->train_rows = N >= 2 ? N - std::max<int64_t>(1, (N + 9) / 10) : N;
  return out;
}

// Row `r` cut at `start` into ids and next-token targets of `T` positions.
void cut(const std::vector<int32_t>& row, int64_t start, int64_t T, TrainBatch& b) {
  for (int64_t t = 0; t < T; ++t) {
    b.ids.push_back(row[start + t]);
    b.targets.push_back(row[start + t + 1]);
  }
}

TrainingData open_token_rows(const std::string& arg, const DataOptions& opt, int64_t vocab_size) {
  const std::shared_ptr<TokenRows> rows = read_rows(arg, vocab_size);
  const int64_t L = static_cast<int64_t>(rows->rows[0].size());
  const int64_t T = std::min(opt.seq_len, L - 1);
  TrainingData d;
  d.description = "tokens " + arg;
  d.next_batch = [rows, T, L, opt](int64_t step, int64_t micro) {
    Rng rng(opt.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(step) * 65537u + static_cast<uint64_t>(micro) + 1);
    TrainBatch b;
    b.B = opt.batch, b.T = T;
    for (int64_t i = 0; i < opt.batch; ++i) {
      const auto& row = rows->rows[rng.below(static_cast<uint64_t>(rows->train_rows))];
      cut(row, static_cast<int64_t>(rng.below(static_cast<uint64_t>(L - T))), T, b);
    }
    return b;
  };
  if (rows->train_rows < static_cast<int64_t>(rows->rows.size())) {
    EvalSet heldout{"heldout", {}};
    for (int64_t r = rows->train_rows; r < static_cast<int64_t>(rows->rows.size()) &&
                                      static_cast<int64_t>(heldout.batches.size()) < opt.eval_batches; ++r) {
      TrainBatch b;
      b.B = 1, b.T = T;
      cut(rows->rows[r], 0, T, b);
      heldout.batches.push_back(std::move(b));
    }
    d.eval_sets.push_back(std::move(heldout));
  }
  return d;
}

}  // namespace

uint64_t batch_seed(uint64_t seed, uint64_t stream, int64_t step, int64_t micro) {
  uint64_t h = Rng(seed).next_u64();
  h = Rng(h ^ stream).next_u64();
  h = Rng(h ^ static_cast<uint64_t>(step)).next_u64();
  return Rng(h ^ static_cast<uint64_t>(micro)).next_u64();
}

TrainingData open_training_data(const std::string& spec_text, const DataOptions& opt, int64_t vocab_size) {
  const DataSpec spec = parse_data_spec(spec_text);
  const bool path_kind = spec.kind == "tokens" || spec.kind == "text" || spec.kind == "corpus";
  if (!path_kind && !is_synthetic_kind(spec.kind))
    fail("--data ", spec_text, ": unknown data kind \"", spec.kind,
         "\" (expected tokens:FILE.npy, text:FILE, corpus:DIR, mqar[:...], selective_copy[:...] or induction[:...])");
  if (path_kind && spec.arg.empty()) fail("--data ", spec_text, ": ", spec.kind, " needs a path, e.g. ", spec.kind, ":",
                                          spec.kind == "tokens" ? "FILE.npy" : spec.kind == "text" ? "FILE" : "DIR");
  if (opt.batch < 1) fail("--batch must be ≥ 1, got ", opt.batch);
  if (opt.seq_len < 1) fail("--seq-len must be ≥ 1, got ", opt.seq_len);
  if (spec.kind == "tokens") return open_token_rows(spec.arg, opt, vocab_size);
  if (spec.kind == "text") return open_text_data(spec, opt, vocab_size);
  if (spec.kind == "corpus") return open_corpus_data(spec, opt, vocab_size);
  return open_synthetic_data(spec, opt, vocab_size);
}

}  // namespace braid
