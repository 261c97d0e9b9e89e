// Causal grouped-query attention, for prefill and for decode against a KV cache
// (hf-models-spec §1.4; semantics of flash-attn's `flash_attn_with_kvcache`).
//
// Query head i reads key/value head floor(i / (Hq/Hkv)). For row b let past = cache_len[b]
// (0 without a cache) and n = lengths[b] (T without lengths). Query t < n sits at absolute
// position past + t and attends to keys at positions 0 … past + t:
//   s[τ] = (q · k_τ) · scale,  p = softmax(s) in fp32,  o = Σ_τ p[τ] · v_τ
// Outputs at padding queries (t ≥ n) are zero.
//
// Without a cache the keys are the new k, v themselves. With a cache the contract first
// writes the n new keys/values of row b into k_cache/v_cache at positions past … past+n−1
// (the caller later advances cache_len), then attends over the cache. Nothing else in the
// cache is modified. Decode is the T == 1 case of the same contract.
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct AttentionArgs {
  TensorView q;          // [B, T, Hq, P]   float
  TensorView k;          // [B, T, Hkv, P]  float, new keys (already rotated when RoPE is used)
  TensorView v;          // [B, T, Hkv, P]  float, new values
  TensorView k_cache;    // [B, S, Hkv, P]  float, optional (present iff v_cache and cache_len are)
  TensorView v_cache;    // [B, S, Hkv, P]  float, optional
  TensorView cache_len;  // [B]             i32, optional: valid cached tokens per row before this call
  TensorView lengths;    // [B]             i32, optional: valid new tokens per row (≤ T)
  TensorView o;          // [B, T, Hq, P]   float
  float scale = 0.0f;    // 0 means P^-0.5
};

// Shapes and dtypes. cache_len[b] + lengths[b] ≤ S is data and is checked by the backend.
Status validate(const AttentionArgs& a);
Cost cost(const AttentionArgs& a);  // q, k, v, o, and the whole cache (assumed full: cache_len + T = S); 4·P FLOPs and one exp per causal score

// Backward of the cache-free form (fwd.k_cache, v_cache, cache_len undefined), recomputing
// the softmax p from q and k (flash-attention style):
//   d_v[τ] += Σ_t p[t,τ]·d_o[t];  d_p = d_o·vᵀ;  d_s = p ⊙ (d_p − Σ_τ p·d_p)
//   d_q[t] = scale·Σ_τ d_s[t,τ]·k[τ];  d_k[τ] = scale·Σ_t d_s[t,τ]·q[t]
// summed over the query heads that share a key/value head. Padding queries contribute
// nothing; gradients at padding keys are zero.
struct AttentionBackwardArgs {
  AttentionArgs fwd;   // the forward call, with fwd.o its output
  TensorView d_o;      // [B, T, Hq, P]   float
  TensorView d_q;      // [B, T, Hq, P]   float, written
  TensorView d_k;      // [B, T, Hkv, P]  float, written
  TensorView d_v;      // [B, T, Hkv, P]  float, written
};

Status validate(const AttentionBackwardArgs& a);
Cost cost(const AttentionBackwardArgs& a);  // q, k, v, o, d_o read, d_q, d_k, d_v written; 2.5× the forward's score work

}  // namespace braid
