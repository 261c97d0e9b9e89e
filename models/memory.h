// models/memory.h — the analytic size model of a configuration: parameters (total, and active
// per token when MoE layers use only k of X experts), weight bytes, KV-cache bytes at a
// context length, and recurrent-state bytes. Derived from the parameter table and the layer
// registry, so it always agrees with what is loaded and allocated.
#pragma once

#include <cstdint>

#include "models/config.h"

namespace braid {

struct MemoryModel {
  int64_t params_total = 0;    // every parameter once (a tied embedding counts once)
  int64_t params_active = 0;   // per token: MoE layers count k of their X experts
  int64_t weight_bytes = 0;    // params_total in the config's storage dtype
  int64_t kv_cache_bytes = 0;  // K and V of every attention layer, `context` tokens × `batch` rows
  int64_t ssm_state_bytes = 0; // conv + SSM state of every Mamba layer × `batch` rows
  int64_t context = 0, batch = 0;
  int64_t elem_bytes = 2;      // storage element size used for weights, KV and conv states
};

MemoryModel memory_model(const ModelConfig& cfg, int64_t context, int64_t batch);

// Activation bytes of one HybridModel::forward over `tokens` = B·T positions that returns
// logits for `logit_rows` positions (B with LogitsAt::last), with `elem`-byte storage. It
// counts what the model and its layers allocate: the residual stream h, the normalised
// input and the layer output (3 · tokens · D), the ids / positions, the final norm and the
// logits, plus the largest transient of any one layer (attention q, k, v, o; Mamba1 xz,
// conv out, x_proj out, Δ, y and Jamba's normed copies; Mamba2 zxbcdt, conv out, y, yn;
// MoE router logits, weights and ids). The contracts' internal scratch is estimated as the
// SwiGLU intermediate (gate and up, 2 · rows · F, where a MoE layer has rows = k · tokens)
// and the MoE gathered inputs and outputs (2 · k · tokens · D). The CUDA backend's
// workspace for scans and attention is not modelled beyond that.
int64_t forward_activation_bytes(const ModelConfig& cfg, int64_t tokens, int64_t logit_rows, int64_t elem);

// Bytes an inference run holds, with `elem`-byte storage: the weights, a cache of `capacity`
// tokens for `batch` rows (KV and conv windows in elem bytes, SSM states f32), and the
// activations of its largest forward (`tokens` positions, logits for `batch` rows).
int64_t inference_memory_bytes(const ModelConfig& cfg, int64_t capacity, int64_t batch, int64_t tokens, int64_t elem);

// Bytes one training step of B rows × T tokens holds (models/model_grad.cpp and
// models/train/optimizer.h), with `elem`-byte storage of parameters and activations:
//   parameters  params_total · (elem + 4 + 4 + 8): the model's copy, the f32 master, the f32
//               gradients and AdamW's two f32 moments;
//   activations the residual stream saved before every sublayer (one [M, D] each, M = B·T),
//               forward_activation_bytes with all M logit rows, the logits' gradient (M·V),
//               four [M, D] gradient buffers, and a second copy of the largest layer
//               transient (the sublayer's recomputed forward beside its backward).
// An estimate from the same terms as the forward's: the backward's own scratch beyond the
// transient is not modelled (braid ablate reports it beside the backend's measured peak).
int64_t training_memory_bytes(const ModelConfig& cfg, int64_t B, int64_t T, int64_t elem);

}  // namespace braid
