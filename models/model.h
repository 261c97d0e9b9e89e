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

 private:
  Backend* be_;
  DType dtype_;
  ModelConfig cfg_;
  ParamStore params_;
  std::vector<Tensor> derived_;  // per layer, from MixerEntry::derive (may be undefined)
};

// A contiguous float tensor copied to the host as f32 (converting from bf16 / f16).
std::vector<float> to_host_f32(Backend& be, const TensorView& t);

}  // namespace braid
