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

// The intermediate tensors of one forward, kept by the backward's recomputation.
struct MambaActs {
  Tensor xz;                  // [B, T, 2·Di] in_proj output: x, then z
  Tensor xc;                  // [B, T, Di]   conv output
  Tensor dbc;                 // [B, T, R+2N] x_proj output: δ, B, C
  Tensor delta_n, B_n, C_n;   // Jamba's normalised δ, B, C
  Tensor dt;                  // [B, T, Di]   dt_proj output (bias goes to the scan)
  Tensor y;                   // [B, T, Di]   scan output
  TensorView delta, Bm, Cm;   // what dt_proj and the scan read: slices of dbc, or the normed copies
  Mamba1ScanArgs scan;
};

// Everything up to and including the scan; the caller applies out_proj to acts.y.
void mamba_scan_part(const LayerCall& c, MambaActs& a) {
  const MambaSpec& m = c.spec.mamba;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), Di = m.d_inner, N = m.d_state, R = m.dt_rank;
  a.xz = new_tensor(c.be, {B, T, 2 * Di}, c.dtype);
  project(c, "in_proj", c.x, a.xz);
  const TensorView x = a.xz.view().narrow_last(0, Di), z = a.xz.view().narrow_last(Di, Di);

  a.xc = new_tensor(c.be, {B, T, Di}, c.dtype);
  Conv1dArgs conv{x, view_as(param(c, "conv1d.weight"), {Di, m.d_conv}),
                  optional_param(c, "conv1d.bias"), c.cache ? TensorView(c.cache->conv) : TensorView(),
                  c.lengths, a.xc, true};
  run(c.step() ? run_conv1d_step(c.be, conv) : run_conv1d(c.be, conv), c.prefix + "conv1d");

  a.dbc = new_tensor(c.be, {B, T, R + 2 * N}, c.dtype);
  project(c, "x_proj", a.xc, a.dbc);
  a.delta = a.dbc.view().narrow_last(0, R);
  a.Bm = a.dbc.view().narrow_last(R, N);
  a.Cm = a.dbc.view().narrow_last(R + N, N);
  if (m.inner_norms) {
    a.delta_n = inner_norm(c, a.delta, "dt_layernorm.weight");
    a.B_n = inner_norm(c, a.Bm, "b_layernorm.weight");
    a.C_n = inner_norm(c, a.Cm, "c_layernorm.weight");
  }
  a.dt = new_tensor(c.be, {B, T, Di}, c.dtype);
  const TensorView delta = m.inner_norms ? TensorView(a.delta_n) : a.delta;
  run(run_linear(c.be, {delta, param(c, "dt_proj.weight"), {}, a.dt}), c.prefix + "dt_proj");  // bias goes to the scan

  a.y = new_tensor(c.be, {B, T, Di}, c.dtype);
  Mamba1ScanArgs& scan = a.scan;
  scan.x = a.xc;
  scan.dt = a.dt;
  scan.dt_bias = param(c, "dt_proj.bias");
  scan.A = *c.derived;
  scan.Bm = m.inner_norms ? TensorView(a.B_n) : a.Bm;
  scan.Cm = m.inner_norms ? TensorView(a.C_n) : a.Cm;
  scan.D = param(c, "D");
  scan.z = z;
  scan.state = c.cache ? TensorView(c.cache->ssm) : TensorView();
  scan.lengths = c.lengths;
  scan.y = a.y;
  run(c.step() ? run_mamba1_step(c.be, scan) : run_mamba1_scan(c.be, scan), c.prefix + "selective_scan");
}

void mamba_forward(const LayerCall& c) {
  MambaActs a;
  mamba_scan_part(c, a);
  project(c, "out_proj", a.y, c.out);
}

// Backward of RMSNorm `name` over x, writing d_x; the weight's gradient accumulates.
void inner_norm_backward(const LayerCall& c, const LayerGrad& g, const TensorView& x, const std::string& name,
                         const TensorView& d_out, const TensorView& d_x) {
  RmsNormBackwardArgs a{{x, param(c, name), {}, {}, c.cfg.norm_eps, 0}, d_out, d_x, {}, grad(c, g, name)};
  run(run_rmsnorm_backward(c.be, a), c.prefix + name + " (backward)");
}

void mamba_backward(const LayerCall& c, const LayerGrad& g) {
  const MambaSpec& m = c.spec.mamba;
  const int64_t B = c.x.dim(0), T = c.x.dim(1), Di = m.d_inner, N = m.d_state, R = m.dt_rank;
  MambaActs a;
  mamba_scan_part(c, a);

  Tensor d_y = new_tensor(c.be, {B, T, Di}, c.dtype);
  project_backward(c, g, "out_proj", a.y, g.d_out, d_y);

  // Scan: gradients of its inputs land in d_xz (z), d_xc, d_dt and d_dbc (B, C; or their normed copies).
  Tensor d_xz = new_tensor(c.be, {B, T, 2 * Di}, c.dtype);
  Tensor d_xc = new_tensor(c.be, {B, T, Di}, c.dtype);
  Tensor d_dt = new_tensor(c.be, {B, T, Di}, c.dtype);
  Tensor d_dbc = new_tensor(c.be, {B, T, R + 2 * N}, c.dtype);
  Tensor d_Bn, d_Cn, d_deltan;
  if (m.inner_norms) {
    d_Bn = new_tensor(c.be, {B, T, N}, c.dtype);
    d_Cn = new_tensor(c.be, {B, T, N}, c.dtype);
    d_deltan = new_tensor(c.be, {B, T, R}, c.dtype);
  }
  const TensorView d_delta = d_dbc.view().narrow_last(0, R), d_B = d_dbc.view().narrow_last(R, N),
                   d_C = d_dbc.view().narrow_last(R + N, N);
  Mamba1ScanBackwardArgs sb;
  sb.fwd = a.scan;
  sb.d_y = d_y;
  sb.d_x = d_xc;
  sb.d_dt = d_dt;
  sb.d_Bm = m.inner_norms ? TensorView(d_Bn) : d_B;
  sb.d_Cm = m.inner_norms ? TensorView(d_Cn) : d_C;
  sb.d_z = d_xz.view().narrow_last(Di, Di);
  sb.d_dt_bias = grad(c, g, "dt_proj.bias");
  sb.d_A = g.d_derived;
  sb.d_D = grad(c, g, "D");
  run(run_mamba1_scan_backward(c.be, sb), c.prefix + "selective_scan (backward)");

  // dt_proj (no bias here), then Jamba's inner norms back onto the x_proj output.
  LinearBackwardArgs dtb;
  dtb.fwd = LinearArgs{m.inner_norms ? TensorView(a.delta_n) : a.delta, param(c, "dt_proj.weight"), {}, {}};
  dtb.d_y = d_dt;
  dtb.d_x = m.inner_norms ? TensorView(d_deltan) : d_delta;
  dtb.d_w = grad(c, g, "dt_proj.weight");
  run(run_linear_backward(c.be, dtb), c.prefix + "dt_proj (backward)");
  if (m.inner_norms) {
    inner_norm_backward(c, g, a.delta, "dt_layernorm.weight", d_deltan, d_delta);
    inner_norm_backward(c, g, a.Bm, "b_layernorm.weight", d_Bn, d_B);
    inner_norm_backward(c, g, a.Cm, "c_layernorm.weight", d_Cn, d_C);
  }
  project_backward(c, g, "x_proj", a.xc, d_dbc, d_xc, /*accumulate_dx=*/true);

  Conv1dBackwardArgs cb;
  cb.fwd = Conv1dArgs{a.xz.view().narrow_last(0, Di), view_as(param(c, "conv1d.weight"), {Di, m.d_conv}),
                      optional_param(c, "conv1d.bias"), {}, c.lengths, {}, true};
  cb.d_y = d_xc;
  cb.d_x = d_xz.view().narrow_last(0, Di);
  cb.d_w = view_as(grad(c, g, "conv1d.weight"), {Di, m.d_conv});
  cb.d_bias = optional_grad(c, g, "conv1d.bias");
  run(run_conv1d_backward(c.be, cb), c.prefix + "conv1d (backward)");
  project_backward(c, g, "in_proj", c.x, d_xz, g.d_x);
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

extern const MixerEntry kMambaMixer{MixerKind::mamba, "mamba",           mamba_forward,      mamba_alloc_cache,
                                    no_kv_bytes,       mamba_state_bytes, derive_decay_rates, mamba_backward};

}  // namespace braid
