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

// The intermediate tensors of one forward, kept by the backward's recomputation.
struct Mamba2Acts {
  Tensor zxbcdt;  // [B, T, Di + C + H] in_proj output
  Tensor xbc_c;   // [B, T, C]          conv output
  Tensor y;       // [B, T, H, P]       SSD output
  Tensor yn;      // [B, T, Di]         gated norm output
  Conv1dArgs conv;
  Mamba2SsdArgs ssd;
  RmsNormArgs norm;
};

void mamba2_run(const LayerCall& c, Mamba2Acts& a) {
  const Mamba2Spec& m = c.spec.mamba2;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), Di = m.d_inner, C = m.conv_dim(), H = m.n_heads;
  const int64_t GN = m.n_groups * m.d_state;
  a.zxbcdt = new_tensor(c.be, {B, T, m.in_proj_dim()}, c.dtype);
  project(c, "in_proj", c.x, a.zxbcdt);
  const TensorView z = a.zxbcdt.view().narrow_last(0, Di);
  const TensorView xbc = a.zxbcdt.view().narrow_last(Di, C);
  const TensorView dt = a.zxbcdt.view().narrow_last(Di + C, H);

  a.xbc_c = new_tensor(c.be, {B, T, C}, c.dtype);  // conv output
  a.conv = Conv1dArgs{xbc, view_as(param(c, "conv1d.weight"), {C, m.d_conv}), optional_param(c, "conv1d.bias"),
                      c.cache ? TensorView(c.cache->conv) : TensorView(), c.lengths, a.xbc_c, true};
  run(c.step() ? run_conv1d_step(c.be, a.conv) : run_conv1d(c.be, a.conv), c.prefix + "conv1d");

  a.y = new_tensor(c.be, {B, T, H, m.head_dim}, c.dtype);
  Mamba2SsdArgs& ssd = a.ssd;
  ssd.x = a.xbc_c.view().narrow_last(0, Di).split_last(H, m.head_dim);               // [B, T, H, P]
  ssd.dt = dt;                                                                        // [B, T, H]
  ssd.dt_bias = param(c, "dt_bias");
  ssd.A = *c.derived;
  ssd.Bm = a.xbc_c.view().narrow_last(Di, GN).split_last(m.n_groups, m.d_state);       // [B, T, G, N]
  ssd.Cm = a.xbc_c.view().narrow_last(Di + GN, GN).split_last(m.n_groups, m.d_state);  // [B, T, G, N]
  ssd.D = param(c, "D");
  ssd.state = c.cache ? TensorView(c.cache->ssm) : TensorView();
  ssd.lengths = c.lengths;
  ssd.y = a.y;
  ssd.dt_min = m.dt_min;
  ssd.dt_max = m.dt_max;
  ssd.chunk_size = m.chunk_size;
  run(c.step() ? run_mamba2_step(c.be, ssd) : run_mamba2_ssd(c.be, ssd), c.prefix + "ssd");

  a.yn = new_tensor(c.be, {B, T, Di}, c.dtype);
  a.norm = RmsNormArgs{view_as(a.y, {B, T, Di}), param(c, "norm.weight"), z, a.yn, c.cfg.norm_eps,
                       m.norm_per_group ? Di / m.n_groups : 0};
  run(run_rmsnorm(c.be, a.norm), c.prefix + "norm");
}

void mamba2_forward(const LayerCall& c) {
  Mamba2Acts a;
  mamba2_run(c, a);
  project(c, "out_proj", a.yn, c.out);
}

void mamba2_backward(const LayerCall& c, const LayerGrad& g) {
  const Mamba2Spec& m = c.spec.mamba2;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), Di = m.d_inner, C = m.conv_dim(), H = m.n_heads;
  const int64_t GN = m.n_groups * m.d_state;
  Mamba2Acts a;
  mamba2_run(c, a);

  Tensor d_yn = new_tensor(c.be, {B, T, Di}, c.dtype);
  project_backward(c, g, "out_proj", a.yn, g.d_out, d_yn);

  // Gated norm: d_y, and d_z into the z slice of d_zxbcdt.
  Tensor d_zxbcdt = new_tensor(c.be, {B, T, m.in_proj_dim()}, c.dtype);
  Tensor d_y = new_tensor(c.be, {B, T, Di}, c.dtype);
  RmsNormBackwardArgs nb{a.norm, d_yn, d_y, d_zxbcdt.view().narrow_last(0, Di), grad(c, g, "norm.weight")};
  run(run_rmsnorm_backward(c.be, nb), c.prefix + "norm (backward)");

  // SSD: gradients of x, B, C into d_xbc_c; of dt into its slice of d_zxbcdt.
  Tensor d_xbc_c = new_tensor(c.be, {B, T, C}, c.dtype);
  Mamba2SsdBackwardArgs sb;
  sb.fwd = a.ssd;
  sb.d_y = view_as(d_y, {B, T, H, m.head_dim});
  sb.d_x = d_xbc_c.view().narrow_last(0, Di).split_last(H, m.head_dim);
  sb.d_dt = d_zxbcdt.view().narrow_last(Di + C, H);
  sb.d_Bm = d_xbc_c.view().narrow_last(Di, GN).split_last(m.n_groups, m.d_state);
  sb.d_Cm = d_xbc_c.view().narrow_last(Di + GN, GN).split_last(m.n_groups, m.d_state);
  sb.d_dt_bias = grad(c, g, "dt_bias");
  sb.d_A = g.d_derived;
  sb.d_D = grad(c, g, "D");
  run(run_mamba2_ssd_backward(c.be, sb), c.prefix + "ssd (backward)");

  Conv1dBackwardArgs cb;
  cb.fwd = a.conv;
  cb.fwd.y = {};
  cb.d_y = d_xbc_c;
  cb.d_x = d_zxbcdt.view().narrow_last(Di, C);
  cb.d_w = view_as(grad(c, g, "conv1d.weight"), {C, m.d_conv});
  cb.d_bias = optional_grad(c, g, "conv1d.bias");
  run(run_conv1d_backward(c.be, cb), c.prefix + "conv1d (backward)");
  project_backward(c, g, "in_proj", c.x, d_zxbcdt, g.d_x);
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

extern const MixerEntry kMamba2Mixer{MixerKind::mamba2, "mamba2",          mamba2_forward,     mamba2_alloc_cache,
                                     no_kv_bytes,        mamba2_state_bytes, derive_decay_rates, mamba2_backward};

}  // namespace braid
