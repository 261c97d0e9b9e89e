// Mamba1 mixer (hf-models-spec §2.6 for Jamba, §4.3 for Mamba):
//   [x ; z] = in_proj(u)                    x first, gate z second          [B, T, 2·Di]
//   x  ← silu(causal_conv(x))               conv1d contract, state in cache [B, T, Di]
//   [δ ; B ; C] = x_proj(x)                 split [R, N, N]                 [B, T, R+2N]
//   δ, B, C ← RMSNorm each                  Jamba only (mamba_inner_layernorms)
//   dt = dt_proj.weight · δ                 bias passed to the scan         [B, T, Di]
//   y  = selective_scan(x, dt, A, B, C, D, z)                               [B, T, Di]
//   out = out_proj(y)
// Padding (lengths) replaces HF's attention-mask multiplications: the conv and the scan
// skip padding tokens, so a padded row's state equals its unpadded run.
#include "models/layers/layer.h"

namespace braid {
namespace {

// out = RMSNorm(x) with weight `name` (Jamba's dt/B/C norms), into a new contiguous tensor.
Tensor inner_norm(const LayerCall& c, const TensorView& x, const std::string& name) {
  Tensor out = new_tensor(c.be, x.shape_of(), c.dtype);
  RmsNormArgs a{x, param(c, name), {}, out, c.cfg.norm_eps, 0};
  run(run_rmsnorm(c.be, a), c.prefix + name);
  return out;
}

void mamba_forward(const LayerCall& c) {
  const MambaSpec& m = c.spec.mamba;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), Di = m.d_inner, N = m.d_state, R = m.dt_rank;
  Tensor xz = new_tensor(c.be, {B, T, 2 * Di}, c.dtype);
  project(c, "in_proj", c.x, xz);
  const TensorView x = xz.view().narrow_last(0, Di), z = xz.view().narrow_last(Di, Di);

  Tensor xc = new_tensor(c.be, {B, T, Di}, c.dtype);  // conv output
  Conv1dArgs conv{x, view_as(param(c, "conv1d.weight"), {Di, m.d_conv}),
                  optional_param(c, "conv1d.bias"), c.cache ? TensorView(c.cache->conv) : TensorView(),
                  c.lengths, xc, true};
  run(c.step() ? run_conv1d_step(c.be, conv) : run_conv1d(c.be, conv), c.prefix + "conv1d");

  Tensor dbc = new_tensor(c.be, {B, T, R + 2 * N}, c.dtype);
  project(c, "x_proj", xc, dbc);
  TensorView delta = dbc.view().narrow_last(0, R), Bm = dbc.view().narrow_last(R, N),
             Cm = dbc.view().narrow_last(R + N, N);
  Tensor delta_n, B_n, C_n;  // Jamba's normalised copies
  if (m.inner_norms) {
    delta_n = inner_norm(c, delta, "dt_layernorm.weight");
    B_n = inner_norm(c, Bm, "b_layernorm.weight");
    C_n = inner_norm(c, Cm, "c_layernorm.weight");
    delta = delta_n;
    Bm = B_n;
    Cm = C_n;
  }
  Tensor dt = new_tensor(c.be, {B, T, Di}, c.dtype);
  run(run_linear(c.be, {delta, param(c, "dt_proj.weight"), {}, dt}), c.prefix + "dt_proj");  // bias goes to the scan

  Tensor y = new_tensor(c.be, {B, T, Di}, c.dtype);
  Mamba1ScanArgs scan;
  scan.x = xc;
  scan.dt = dt;
  scan.dt_bias = param(c, "dt_proj.bias");
  scan.A = *c.derived;
  scan.Bm = Bm;
  scan.Cm = Cm;
  scan.D = param(c, "D");
  scan.z = z;
  scan.state = c.cache ? TensorView(c.cache->ssm) : TensorView();
  scan.lengths = c.lengths;
  scan.y = y;
  run(c.step() ? run_mamba1_step(c.be, scan) : run_mamba1_scan(c.be, scan), c.prefix + "selective_scan");
  project(c, "out_proj", y, c.out);
}

void mamba_alloc_cache(Backend& be, const LayerSpec& spec, int64_t B, int64_t, DType dtype, LayerCache& cache) {
  const MambaSpec& m = spec.mamba;
  cache.conv = new_tensor(be, {B, m.d_conv - 1, m.d_inner}, dtype);
  cache.ssm = new_tensor(be, {B, m.d_inner, m.d_state}, DType::f32);
  be.fill_zero(cache.conv);
  be.fill_zero(cache.ssm);
}

// Conv state (K−1)·Di in the storage dtype, SSM state Di·N in fp32.
int64_t mamba_state_bytes(const LayerSpec& spec, int64_t elem) {
  const MambaSpec& m = spec.mamba;
  return (m.d_conv - 1) * m.d_inner * elem + m.d_inner * m.d_state * 4;
}

}  // namespace

extern const MixerEntry kMambaMixer{MixerKind::mamba, "mamba", mamba_forward, mamba_alloc_cache,
                             no_kv_bytes,      mamba_state_bytes, derive_decay_rates};

}  // namespace braid
