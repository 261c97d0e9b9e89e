// Attention mixer (hf-models-spec §1.4, §1.6): q/k/v projections, optional RoPE on q and k
// at absolute positions (before the KV cache, so cached keys are already rotated), causal GQA
// through the attention contract (which appends to the cache), output projection.
// Jamba has no positional encoding; Bamba rotates the first P/2 dims; braid configs choose.
#include "models/layers/layer.h"

namespace braid {
namespace {

void attention_forward(const LayerCall& c) {
  const AttentionSpec& s = c.spec.attn;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), P = s.head_dim;
  Tensor q = new_tensor(c.be, {B, T, s.n_heads, P}, c.dtype);
  Tensor k = new_tensor(c.be, {B, T, s.n_kv_heads, P}, c.dtype);
  Tensor v = new_tensor(c.be, {B, T, s.n_kv_heads, P}, c.dtype);
  project(c, "q_proj", c.x, view_as(q, {B, T, s.n_heads * P}));
  project(c, "k_proj", c.x, view_as(k, {B, T, s.n_kv_heads * P}));
  project(c, "v_proj", c.x, view_as(v, {B, T, s.n_kv_heads * P}));
  if (s.pos_emb != PosEmb::none) {
    run(run_rotary(c.be, RotaryArgs{q, c.positions, s.rot_dim, s.rope_theta}), c.prefix + "rotary(q)");
    run(run_rotary(c.be, RotaryArgs{k, c.positions, s.rot_dim, s.rope_theta}), c.prefix + "rotary(k)");
  }
  Tensor o = new_tensor(c.be, {B, T, s.n_heads, P}, c.dtype);
  AttentionArgs a;
  a.q = q;
  a.k = k;
  a.v = v;
  if (c.cache) {
    a.k_cache = c.cache->k;
    a.v_cache = c.cache->v;
    a.cache_len = c.cache_len;
  }
  a.lengths = c.lengths;
  a.o = o;
  run(run_attention(c.be, a), c.prefix + "attention");
  project(c, "o_proj", view_as(o, {B, T, s.n_heads * P}), c.out);
}

void attention_alloc_cache(Backend& be, const LayerSpec& spec, int64_t B, int64_t S, DType dtype, LayerCache& cache) {
  cache.k = new_tensor(be, {B, S, spec.attn.n_kv_heads, spec.attn.head_dim}, dtype);
  cache.v = new_tensor(be, {B, S, spec.attn.n_kv_heads, spec.attn.head_dim}, dtype);
  be.fill_zero(cache.k);
  be.fill_zero(cache.v);
}

// K and V: 2 · Hkv · P elements per token.
int64_t attention_kv_bytes(const LayerSpec& spec, int64_t tokens, int64_t elem) {
  return 2 * spec.attn.n_kv_heads * spec.attn.head_dim * tokens * elem;
}

int64_t no_state_bytes(const LayerSpec&, int64_t) { return 0; }

}  // namespace

extern const MixerEntry kAttentionMixer{MixerKind::attention, "attention", attention_forward, attention_alloc_cache,
                                 attention_kv_bytes,   no_state_bytes, nullptr};

}  // namespace braid
