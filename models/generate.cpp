#include "models/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace braid {

int32_t sample_token(const float* logits, int64_t V, const SamplingOptions& opts, Rng& rng) {
  if (opts.temperature <= 0.0f) return static_cast<int32_t>(std::max_element(logits, logits + V) - logits);
  // Candidates sorted by logit, descending (stable: lower id first on ties).
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t keep = order.size();
  if (opts.top_k > 0) keep = std::min(keep, static_cast<size_t>(opts.top_k));
  // Softmax over the kept candidates at the given temperature, in double.
  std::vector<double> p(keep);
  const double top = logits[order[0]];
  double sum = 0.0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((logits[order[i]] - top) / opts.temperature);
  for (double& v : p) v /= sum;
  // Nucleus: the smallest prefix with cumulative probability ≥ top_p.
  if (opts.top_p < 1.0f) {
    double cum = 0.0;
    size_t n = 0;
    while (n < keep && cum < opts.top_p) cum += p[n++];
    keep = std::max<size_t>(n, 1);
    sum = std::accumulate(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
  } else {
    sum = 1.0;
  }
  double u = static_cast<double>(rng.uniform()) * sum;
  for (size_t i = 0; i < keep; ++i) {
    if (u < p[i]) return order[i];
    u -= p[i];
  }
  return order[keep - 1];
}

GenerationResult generate(HybridModel& model, const std::vector<std::vector<int32_t>>& prompts,
                          int64_t max_new_tokens, const SamplingOptions& opts, bool stop_at_eos,
                          const TokenCallback& on_token) {
  using clock = std::chrono::steady_clock;
  const int64_t B = static_cast<int64_t>(prompts.size()), V = model.config().vocab_size;
  if (B == 0) fail("generate: no prompt given");
  int64_t T = 0;
  for (size_t b = 0; b < prompts.size(); ++b) {
    if (prompts[b].empty()) fail("generate: prompt ", b, " is empty");
    T = std::max<int64_t>(T, static_cast<int64_t>(prompts[b].size()));
  }
  // Right-pad to T with id 0; lengths keep padding out of every state.
  std::vector<int32_t> ids(static_cast<size_t>(B * T), 0), lengths(static_cast<size_t>(B));
  bool ragged = false;
  for (int64_t b = 0; b < B; ++b) {
    std::copy(prompts[b].begin(), prompts[b].end(), ids.begin() + b * T);
    lengths[b] = static_cast<int32_t>(prompts[b].size());
    ragged |= lengths[b] != T;
  }

  GenerationResult res;
  res.tokens = prompts;
  HybridCache cache = model.new_cache(B, T + std::max<int64_t>(max_new_tokens, 0));
  Rng rng(opts.seed);
  std::vector<float> logits(static_cast<size_t>(B * V));
  std::vector<bool> done(static_cast<size_t>(B), false);
  const std::optional<int64_t> eos = stop_at_eos ? model.config().eos_token_id : std::nullopt;
  Backend& be = model.backend();

  auto pick = [&](std::vector<int32_t>& next) {
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;  // finished rows keep feeding their last token; its output is dropped
      next[b] = sample_token(logits.data() + b * V, V, opts, rng);
      res.tokens[b].push_back(next[b]);
      if (on_token && !on_token(b, next[b])) done[b] = true;  // the caller stops the row (a stop string)
      if (eos && next[b] == *eos) done[b] = true;
    }
  };

  std::vector<int32_t> next(static_cast<size_t>(B));
  auto t0 = clock::now();
  Tensor out = model.forward(ids, B, T, ragged ? lengths : std::vector<int32_t>{}, &cache, LogitsAt::last);
  logits = to_host_f32(be, out);
  res.stats.prefill_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  res.stats.prefill_tokens = std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
  if (max_new_tokens <= 0) return res;
  for (int64_t b = 0; b < B; ++b) next[b] = prompts[b].back();
  pick(next);

  t0 = clock::now();
  for (int64_t step = 1; step < max_new_tokens; ++step) {
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    out = model.forward(next, B, 1, {}, &cache, LogitsAt::last);
    logits = to_host_f32(be, out);
    pick(next);
    res.stats.decode_tokens += B;
  }
  res.stats.decode_seconds = std::chrono::duration<double>(clock::now() - t0).count();
  return res;
}

}  // namespace braid
