// Mamba2 mixer (hf-models-spec §5.4 for Mamba2, §3.4 for Bamba's mamba layers):
//   [z ; xBC ; dt] = in_proj(u)          split [Di, C, H], gate FIRST (≠ Mamba1)   [B, T, Di+C+H]
//   xBC ← silu(causal_conv(xBC))         over all C = Di + 2·G·N channels          [B, T, C]
//   [x ; B ; C] = xBC                    split [Di, G·N, G·N]; x head-major [H, P]
//   y = SSD(x, dt, dt_bias, A, B, C, D)                                            [B, T, H, P]
//   out = out_proj( GatedRMSNorm(y, z) ) gate before the norm; mean over all Di channels
//                                        (HF) or per group of Di/G (mamba_ssm, mamba2_norm_groups)
#include "models/layers/layer.h"

namespace braid {
namespace {

void mamba2_forward(const LayerCall& c) {
  const Mamba2Spec& m = c.spec.mamba2;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), Di = m.d_inner, C = m.conv_dim(), H = m.n_heads;
  const int64_t GN = m.n_groups * m.d_state;
  Tensor zxbcdt = new_tensor(c.be, {B, T, m.in_proj_dim()}, c.dtype);
  project(c, "in_proj", c.x, zxbcdt);
  const TensorView z = zxbcdt.view().narrow_last(0, Di);
  const TensorView xbc = zxbcdt.view().narrow_last(Di, C);
  const TensorView dt = zxbcdt.view().narrow_last(Di + C, H);

  Tensor xbc_c = new_tensor(c.be, {B, T, C}, c.dtype);  // conv output
  Conv1dArgs conv{xbc, view_as(param(c, "conv1d.weight"), {C, m.d_conv}), optional_param(c, "conv1d.bias"),
                  c.cache ? TensorView(c.cache->conv) : TensorView(), c.lengths, xbc_c, true};
  run(c.step() ? run_conv1d_step(c.be, conv) : run_conv1d(c.be, conv), c.prefix + "conv1d");

  Tensor y = new_tensor(c.be, {B, T, H, m.head_dim}, c.dtype);
  Mamba2SsdArgs ssd;
  ssd.x = xbc_c.view().narrow_last(0, Di).split_last(H, m.head_dim);               // [B, T, H, P]
  ssd.dt = dt;                                                                      // [B, T, H]
  ssd.dt_bias = param(c, "dt_bias");
  ssd.A = *c.derived;
  ssd.Bm = xbc_c.view().narrow_last(Di, GN).split_last(m.n_groups, m.d_state);       // [B, T, G, N]
  ssd.Cm = xbc_c.view().narrow_last(Di + GN, GN).split_last(m.n_groups, m.d_state);  // [B, T, G, N]
  ssd.D = param(c, "D");
  ssd.state = c.cache ? TensorView(c.cache->ssm) : TensorView();
  ssd.lengths = c.lengths;
  ssd.y = y;
  ssd.dt_min = m.dt_min;
  ssd.dt_max = m.dt_max;
  ssd.chunk_size = m.chunk_size;
  run(c.step() ? run_mamba2_step(c.be, ssd) : run_mamba2_ssd(c.be, ssd), c.prefix + "ssd");

  Tensor yn = new_tensor(c.be, {B, T, Di}, c.dtype);
  RmsNormArgs norm{view_as(y, {B, T, Di}), param(c, "norm.weight"), z, yn, c.cfg.norm_eps,
                   m.norm_per_group ? Di / m.n_groups : 0};
  run(run_rmsnorm(c.be, norm), c.prefix + "norm");
  project(c, "out_proj", yn, c.out);
}

void mamba2_alloc_cache(Backend& be, const LayerSpec& spec, int64_t B, int64_t, DType dtype, LayerCache& cache) {
  const Mamba2Spec& m = spec.mamba2;
  cache.conv = new_tensor(be, {B, m.d_conv - 1, m.conv_dim()}, dtype);
  cache.ssm = new_tensor(be, {B, m.n_heads, m.head_dim, m.d_state}, DType::f32);
  be.fill_zero(cache.conv);
  be.fill_zero(cache.ssm);
}

// Conv state (K−1)·C in the storage dtype, SSM state H·P·N in fp32.
int64_t mamba2_state_bytes(const LayerSpec& spec, int64_t elem) {
  const Mamba2Spec& m = spec.mamba2;
  return (m.d_conv - 1) * m.conv_dim() * elem + m.n_heads * m.head_dim * m.d_state * 4;
}

}  // namespace

extern const MixerEntry kMamba2Mixer{MixerKind::mamba2, "mamba2", mamba2_forward, mamba2_alloc_cache,
                              no_kv_bytes,        mamba2_state_bytes, derive_decay_rates};

}  // namespace braid
