// Attention mixer (hf-models-spec §1.4, §1.6): q/k/v projections, optional RoPE on q and k
// at absolute positions (before the KV cache, so cached keys are already rotated), causal GQA
// through the attention contract (which appends to the cache), output projection.
// Jamba has no positional encoding; Bamba rotates the first P/2 dims; braid configs choose.
#include "models/layers/layer.h"

namespace braid {
namespace {

// The intermediate tensors of one forward, kept by the backward's recomputation.
struct AttentionActs {
  Tensor q, k, v;  // [B, T, Hq|Hkv, P], rotated when RoPE is used
  Tensor o;        // [B, T, Hq, P]
  AttentionArgs args;
};

void attention_run(const LayerCall& c, AttentionActs& a) {
  const AttentionSpec& s = c.spec.attn;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), P = s.head_dim;
  a.q = new_tensor(c.be, {B, T, s.n_heads, P}, c.dtype);
  a.k = new_tensor(c.be, {B, T, s.n_kv_heads, P}, c.dtype);
  a.v = new_tensor(c.be, {B, T, s.n_kv_heads, P}, c.dtype);
  project(c, "q_proj", c.x, view_as(a.q, {B, T, s.n_heads * P}));
  project(c, "k_proj", c.x, view_as(a.k, {B, T, s.n_kv_heads * P}));
  project(c, "v_proj", c.x, view_as(a.v, {B, T, s.n_kv_heads * P}));
  if (s.pos_emb != PosEmb::none) {
    run(run_rotary(c.be, RotaryArgs{a.q, c.positions, s.rot_dim, s.rope_theta}), c.prefix + "rotary(q)");
    run(run_rotary(c.be, RotaryArgs{a.k, c.positions, s.rot_dim, s.rope_theta}), c.prefix + "rotary(k)");
  }
  a.o = new_tensor(c.be, {B, T, s.n_heads, P}, c.dtype);
  AttentionArgs& args = a.args;
  args.q = a.q;
  args.k = a.k;
  args.v = a.v;
  if (c.cache) {
    args.k_cache = c.cache->k;
    args.v_cache = c.cache->v;
    args.cache_len = c.cache_len;
  }
  args.lengths = c.lengths;
  args.o = a.o;
  run(run_attention(c.be, args), c.prefix + "attention");
}

void attention_forward(const LayerCall& c) {
  const AttentionSpec& s = c.spec.attn;
  AttentionActs a;
  attention_run(c, a);
  project(c, "o_proj", view_as(a.o, {c.x.dim(0), c.x.dim(1), s.n_heads * s.head_dim}), c.out);
}

void attention_backward(const LayerCall& c, const LayerGrad& g) {
  const AttentionSpec& s = c.spec.attn;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), P = s.head_dim;
  AttentionActs a;
  attention_run(c, a);
  Tensor d_o = new_tensor(c.be, {B, T, s.n_heads, P}, c.dtype);
  project_backward(c, g, "o_proj", view_as(a.o, {B, T, s.n_heads * P}), g.d_out, view_as(d_o, {B, T, s.n_heads * P}));

  Tensor d_q = new_tensor(c.be, {B, T, s.n_heads, P}, c.dtype);
  Tensor d_k = new_tensor(c.be, {B, T, s.n_kv_heads, P}, c.dtype);
  Tensor d_v = new_tensor(c.be, {B, T, s.n_kv_heads, P}, c.dtype);
  run(run_attention_backward(c.be, AttentionBackwardArgs{a.args, d_o, d_q, d_k, d_v}), c.prefix + "attention (backward)");
  if (s.pos_emb != PosEmb::none) {  // the gradients of the unrotated q and k
    run(run_rotary_backward(c.be, RotaryArgs{d_q, c.positions, s.rot_dim, s.rope_theta}), c.prefix + "rotary(q) (backward)");
    run(run_rotary_backward(c.be, RotaryArgs{d_k, c.positions, s.rot_dim, s.rope_theta}), c.prefix + "rotary(k) (backward)");
  }
  project_backward(c, g, "q_proj", c.x, view_as(d_q, {B, T, s.n_heads * P}), g.d_x);
  project_backward(c, g, "k_proj", c.x, view_as(d_k, {B, T, s.n_kv_heads * P}), g.d_x, /*accumulate_dx=*/true);
  project_backward(c, g, "v_proj", c.x, view_as(d_v, {B, T, s.n_kv_heads * P}), g.d_x, /*accumulate_dx=*/true);
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

extern const MixerEntry kAttentionMixer{MixerKind::attention, "attention",    attention_forward, attention_alloc_cache,
                                        attention_kv_bytes,   no_state_bytes, nullptr,           attention_backward};

}  // namespace braid
