// The task definitions, with their sources, are in models/data/synthetic.h.
#include "models/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>

#include "core/rng.h"
#include "core/status.h"

namespace braid {
namespace {

// One row: ids[0..T) and targets[0..T), targets -1 except at the answers.
using RowFn = std::function<void(Rng& rng, int32_t* ids, int32_t* targets)>;

// `k` distinct values of [lo, hi) in draw order (partial Fisher–Yates).
std::vector<int32_t> distinct(Rng& rng, int32_t lo, int32_t hi, int64_t k) {
  std::vector<int32_t> pool(static_cast<size_t>(hi - lo));
  std::iota(pool.begin(), pool.end(), lo);
  for (int64_t i = 0; i < k; ++i)
    std::swap(pool[i], pool[i + rng.below(static_cast<uint64_t>(pool.size() - i))]);
  pool.resize(static_cast<size_t>(k));
  return pool;
}

void check_vocab(const SpecParams& p, int64_t V, int64_t min_v, int64_t model_vocab) {
  if (V < min_v) fail(p.where(), "vocab = ", V, " is too small (needs ≥ ", min_v, ")");
  if (V > model_vocab) fail(p.where(), "vocab = ", V, " exceeds the model's vocab_size ", model_vocab);
}

// Zoology's multiquery_ar (models/data/synthetic.h).
RowFn mqar_task(SpecParams& p, int64_t T, int64_t model_vocab) {
  const int64_t V = p.take_int("vocab", model_vocab);
  const int64_t K = p.take_int("num_kv_pairs", 8);
  const double a = p.take_double("power_a", 0.01);
  const bool random_fill = p.take_bool("random_non_queries", true);
  p.finish();
  check_vocab(p, V, 4, model_vocab);
  if (K < 1) fail(p.where(), "num_kv_pairs = ", K, " must be ≥ 1");
  if (K > V / 2 - 1)
    fail(p.where(), "num_kv_pairs = ", K, " needs vocab ≥ ", 2 * (K + 1), " (distinct keys in [1, vocab/2)), got vocab = ", V);
  if (T % 2 != 0) fail(p.where(), "needs an even seq_len, got --seq-len ", T);
  if (4 * K > T) fail(p.where(), "num_kv_pairs = ", K, " needs seq_len ≥ 4·num_kv_pairs = ", 4 * K, ", got --seq-len ", T);
  if (!(a > 0)) fail(p.where(), "power_a = ", a, " must be > 0");
  const int64_t C = 2 * K, space = (T - C) / 2;
  // p(g) ∝ a·(g + 1)^(a − 1) over the gaps g ∈ [0, space).
  auto weights = std::make_shared<std::vector<double>>(static_cast<size_t>(space));
  for (int64_t g = 0; g < space; ++g) (*weights)[g] = a * std::pow(static_cast<double>(g + 1), a - 1);
  return [=](Rng& rng, int32_t* ids, int32_t* targets) {
    const std::vector<int32_t> keys = distinct(rng, 1, static_cast<int32_t>(V / 2), K);
    const std::vector<int32_t> values = distinct(rng, static_cast<int32_t>(V / 2), static_cast<int32_t>(V), K);
    for (int64_t t = 0; t < T; ++t) targets[t] = -1;
    for (int64_t i = 0; i < K; ++i) ids[2 * i] = keys[i], ids[2 * i + 1] = values[i];
    for (int64_t t = C; t < T; ++t) ids[t] = random_fill ? static_cast<int32_t>(rng.below(static_cast<uint64_t>(V))) : 0;
    // Gaps without replacement, each draw proportional to the weights left (numpy's choice).
    std::vector<double> w = *weights;
    double total = std::accumulate(w.begin(), w.end(), 0.0);
    for (int64_t i = 0; i < K; ++i) {
      double u = static_cast<double>(rng.next_u64() >> 11) * 0x1p-53 * total;
      int64_t g = 0, last = 0;
      for (; g < space; ++g) {
        if (w[g] == 0) continue;
        last = g;
        if (u < w[g]) break;
        u -= w[g];
      }
      if (g == space) g = last;  // rounding ran past the last weight left
      total -= w[g];
      w[g] = 0;
      ids[C + 2 * g] = keys[i];
      targets[C + 2 * g] = values[i];
    }
  };
}

// Selective copying (models/data/synthetic.h).
RowFn selective_copy_task(SpecParams& p, int64_t T, int64_t model_vocab) {
  const int64_t V = p.take_int("vocab", 16);
  const int64_t M = p.take_int("num_tokens", 16);
  const int64_t noise = p.take_int("noise", 0);
  const int64_t marker = p.take_int("marker", V - 1);
  p.finish();
  check_vocab(p, V, 3, model_vocab);
  if (noise < 0 || noise >= V) fail(p.where(), "noise = ", noise, " is outside [0, vocab = ", V, ")");
  if (marker < 0 || marker >= V) fail(p.where(), "marker = ", marker, " is outside [0, vocab = ", V, ")");
  if (marker == noise) fail(p.where(), "marker = ", marker, " equals noise = ", noise);
  if (M < 1) fail(p.where(), "num_tokens = ", M, " must be ≥ 1");
  if (2 * M > T) fail(p.where(), "num_tokens = ", M, " needs seq_len ≥ 2·num_tokens = ", 2 * M, ", got --seq-len ", T);
  return [=](Rng& rng, int32_t* ids, int32_t* targets) {
    const int64_t data_len = T - M;
    for (int64_t t = 0; t < T; ++t) ids[t] = static_cast<int32_t>(noise), targets[t] = -1;
    std::vector<int32_t> pos = distinct(rng, 0, static_cast<int32_t>(data_len), M);
    std::sort(pos.begin(), pos.end());
    for (int64_t i = 0; i < M; ++i) {
      // Uniform over the V − 2 content tokens: skip the noise and marker ids.
      int32_t tok = static_cast<int32_t>(rng.below(static_cast<uint64_t>(V - 2)));
      const int32_t lo = static_cast<int32_t>(std::min(noise, marker)), hi = static_cast<int32_t>(std::max(noise, marker));
      if (tok >= lo) ++tok;
      if (tok >= hi) ++tok;
      ids[pos[i]] = tok;
      ids[data_len + i] = static_cast<int32_t>(marker);
      targets[data_len + i] = tok;
    }
  };
}

// Induction heads (models/data/synthetic.h).
RowFn induction_task(SpecParams& p, int64_t T, int64_t model_vocab) {
  const int64_t V = p.take_int("vocab", 16);
  const int64_t trigger = p.take_int("trigger", V - 1);
  p.finish();
  check_vocab(p, V, 2, model_vocab);
  if (trigger < 0 || trigger >= V) fail(p.where(), "trigger = ", trigger, " is outside [0, vocab = ", V, ")");
  if (T < 3) fail(p.where(), "needs seq_len ≥ 3 (trigger, answer, trigger), got --seq-len ", T);
  return [=](Rng& rng, int32_t* ids, int32_t* targets) {
    for (int64_t t = 0; t < T; ++t) {
      int32_t tok = static_cast<int32_t>(rng.below(static_cast<uint64_t>(V - 1)));
      if (tok >= trigger) ++tok;  // every id but the trigger
      ids[t] = tok, targets[t] = -1;
    }
    const int64_t first = static_cast<int64_t>(rng.below(static_cast<uint64_t>(T - 2)));
    ids[first] = static_cast<int32_t>(trigger);
    ids[T - 1] = static_cast<int32_t>(trigger);
    targets[T - 1] = ids[first + 1];
  };
}

TrainBatch draw(const RowFn& row, int64_t B, int64_t T, uint64_t seed) {
  Rng rng(seed);
  TrainBatch b;
  b.B = B, b.T = T;
  b.ids.resize(static_cast<size_t>(B * T));
  b.targets.resize(static_cast<size_t>(B * T));
  for (int64_t i = 0; i < B; ++i) row(rng, b.ids.data() + i * T, b.targets.data() + i * T);
  return b;
}

}  // namespace

bool is_synthetic_kind(const std::string& kind) {
  return kind == "mqar" || kind == "selective_copy" || kind == "induction";
}

TrainingData open_synthetic_data(const DataSpec& spec, const DataOptions& opt, int64_t vocab_size) {
  SpecParams params(spec);
  const int64_t T = opt.seq_len;
  RowFn row = spec.kind == "mqar"             ? mqar_task(params, T, vocab_size)
              : spec.kind == "selective_copy" ? selective_copy_task(params, T, vocab_size)
              : spec.kind == "induction"      ? induction_task(params, T, vocab_size)
                                              : RowFn();
  if (!row) fail("--data ", spec.text, ": not a synthetic task");
  TrainingData d;
  d.description = spec.kind + " (" + spec.text + "), seq_len " + std::to_string(T);
  const int64_t B = opt.batch;
  const uint64_t seed = opt.seed;
  d.next_batch = [row, B, T, seed](int64_t step, int64_t micro) {
    return draw(row, B, T, batch_seed(seed, kTrainStream, step, micro));
  };
  EvalSet heldout{"heldout", {}};
  for (int64_t i = 0; i < opt.eval_batches; ++i)
    heldout.batches.push_back(draw(row, B, T, batch_seed(seed, kHeldoutStream, i, 0)));
  if (!heldout.batches.empty()) d.eval_sets.push_back(std::move(heldout));
  return d;
}

}  // namespace braid
