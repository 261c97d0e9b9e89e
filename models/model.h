// models/model.h — a hybrid language model composed from its layer plan:
//   h = embed(ids)
//   for il in plan:  h += mixer_il(RMSNorm(h));  if ffn_il: h += ffn_il(RMSNorm(h))
//   logits = lm_head(RMSNorm_final(h))
// (hf-models-spec §2.5, §3.4, §4.3, §5.3). Composition only: every computation is a backend
// contract, so the same model runs on any backend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"
#include "models/cache.h"
#include "models/config.h"
#include "models/params.h"

namespace braid {

enum class LogitsAt {
  all,   // [B, T, V]: every position
  last,  // [B, 1, V]: each row's last valid position (lengths[b] − 1)
};

// The training objective of one batch (models/model_grad.cpp):
//   J = ce_weight · Σ_counted CE(logits[b,t], targets[b,t])
//     + aux_weight · aux        (HF's MoE load-balancing loss over every MoE layer, RouterTrace)
//     + activation_weight · Σ_sublayers mean(out²)   (Jamba-1.5's activation loss on the output of
//                                                   every mixer and FFN, ablations.md A7)
// For HF's loss (mean CE plus router_aux_loss_coef · aux) pass ce_weight = 1/count and
// aux_weight = router_aux_loss_coef.
struct LossOptions {
  double ce_weight = 1.0;
  double aux_weight = 0.0;
  double activation_weight = 0.0;
  bool activation_stats = false;  // fill LossResult::max_abs
};

struct LossResult {
  double ce_sum = 0;           // Σ CE over counted positions (nats)
  int64_t count = 0;           // counted positions (targets ≥ 0)
  int64_t correct = 0;         // counted positions whose argmax is the target
  double aux = 0;              // the load-balancing loss (0 without MoE layers)
  double activation = 0;       // Σ_sublayers mean(out²) (computed only with activation_weight > 0 or stats)
  double objective = 0;        // J
  std::vector<float> max_abs;  // per sublayer (mixer, then FFN, layer by layer): max |out|
  std::vector<std::string> sublayers;  // "3.mixer", "3.ffn", matching max_abs
};

class HybridModel {
 public:
  // Allocates the parameters of `cfg` on `be` (values undefined until loaded or initialised).
  // `dtype` is the storage dtype of parameters, activations, KV caches and conv states (f32 or
  // bf16); SSM states and the Mamba decay rates A stay f32.
  HybridModel(Backend& be, ModelConfig cfg, DType dtype = DType::f32);
  // Reads config.json and the safetensors weights of a checkpoint directory.
  static HybridModel load(Backend& be, const std::string& dir, DType dtype = DType::f32);

  // Seeded random weights with HF's initialisation (see InitKind).
  void init_random(uint64_t seed, float initializer_range = 0.02f);
  // Recomputes tensors derived from parameters (Mamba A = −exp(A_log)); call after any
  // change to the parameters. load() and init_random() call it.
  void refresh_derived();

  const ModelConfig& config() const { return cfg_; }
  const ParamStore& params() const { return params_; }
  // Writable parameters (the optimizer's publish); call refresh_derived() after writing.
  ParamStore& mutable_params() { return params_; }
  Backend& backend() const { return *be_; }
  DType dtype() const { return dtype_; }

  // A zeroed cache for `batch` rows of up to `capacity` tokens each.
  HybridCache new_cache(int64_t batch, int64_t capacity) const;

  // Runs T tokens of B rows. `ids` is host int32, row-major [B, T], each in [0, V).
  // `lengths` (host, [B]) gives the valid tokens of each row (right padding), or is empty when
  // all T are valid. With a cache, row b continues after cache->seq_len[b] tokens and the
  // cache advances by its valid tokens; padding never reaches the cache. Returns f32 logits
  // on the backend, [B, T, V] or [B, 1, V] (see LogitsAt), in the model's dtype; values at
  // padding positions are unspecified.
  Tensor forward(const std::vector<int32_t>& ids, int64_t B, int64_t T, const std::vector<int32_t>& lengths,
                 HybridCache* cache, LogitsAt at = LogitsAt::all);

  // One training forward over full rows (no padding, no cache): ids and targets are host
  // int32 [B, T]; a negative target is ignored. With `grads` (an f32 ParamStore of this
  // model's param_table, see new_grads) the gradients of J accumulate into it (the tied
  // embedding receives both of its uses); without, only the losses are computed.
  LossResult loss_and_grad(const std::vector<int32_t>& ids, const std::vector<int32_t>& targets, int64_t B, int64_t T,
                           ParamStore* grads, const LossOptions& opt = {});
  // A zeroed f32 gradient store with the layout of the parameters.
  ParamStore new_grads() const;

 private:
  Backend* be_;
  DType dtype_;
  ModelConfig cfg_;
  ParamStore params_;
  std::vector<Tensor> derived_;  // per layer, from MixerEntry::derive (may be undefined)
};

// A zeroed hybrid cache of `cfg`'s layers on `be` without the model's weights (the memory
// ablation sizes caches of models too large to hold): `dtype` as the model's storage dtype.
HybridCache new_hybrid_cache(Backend& be, const ModelConfig& cfg, DType dtype, int64_t batch, int64_t capacity);

// HF's causal-LM shift: targets[b, t] = ids[b, t+1], and −1 (ignored) at t = T−1.
std::vector<int32_t> next_token_targets(const std::vector<int32_t>& ids, int64_t B, int64_t T);

// A contiguous float tensor copied to the host as f32 (converting from bf16 / f16).
std::vector<float> to_host_f32(Backend& be, const TensorView& t);

}  // namespace braid
