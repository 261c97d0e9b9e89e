// HybridModel::loss_and_grad — the training forward and its backward (models/model.h).
//
// Forward: the inference forward without cache, keeping the residual stream h before every
// sublayer (mixer or FFN). Backward, sublayer by sublayer in reverse: recompute the
// normalised input and let the layer recompute its internals (LayerGrad: per-sublayer
// activation checkpointing), run its backward, then the norm's backward onto the residual:
//   h_out = h_in + f(norm(h_in))   ⇒   d_h_in = d_h_out + norm_backward(f_backward(d_h_out))
// Memory: one [B, T, D] tensor per sublayer plus the internals of one sublayer at a time.
#include <cmath>

#include "models/layers/layer.h"
#include "models/model.h"

namespace braid {
namespace {

Tensor upload_i32(Backend& be, const std::vector<int32_t>& host, const Shape& shape) {
  Tensor t(be, shape, DType::i32);
  be.upload(t.view().data, host.data(), host.size() * sizeof(int32_t));
  return t;
}

// One mixer or FFN of the layer plan, with the residual stream saved before it.
struct Sublayer {
  int64_t il;
  bool ffn;
  std::string name;    // "3.mamba", "3.moe"
  std::string norm;    // HF name of its pre-norm weight
  std::string prefix;  // HF prefix of its parameters
  Tensor h_in;         // [B, T, D] residual stream before it (training only)
};

}  // namespace

std::vector<int32_t> next_token_targets(const std::vector<int32_t>& ids, int64_t B, int64_t T) {
  BRAID_CHECK(static_cast<int64_t>(ids.size()) == B * T, "next_token_targets: ", ids.size(), " ids for B·T = ", B * T);
  std::vector<int32_t> targets(ids.size(), -1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + 1 < T; ++t) targets[b * T + t] = ids[b * T + t + 1];
  return targets;
}

ParamStore HybridModel::new_grads() const {
  ParamStore g(*be_, params_.table(), DType::f32);
  g.zero();
  return g;
}

LossResult HybridModel::loss_and_grad(const std::vector<int32_t>& ids, const std::vector<int32_t>& targets, int64_t B,
                                      int64_t T, ParamStore* grads, const LossOptions& opt) {
  const int64_t D = cfg_.hidden_size, V = cfg_.vocab_size, M = B * T;
  if (B < 1 || T < 1) fail("loss_and_grad: empty input (B = ", B, ", T = ", T, ")");
  if (static_cast<int64_t>(ids.size()) != M || static_cast<int64_t>(targets.size()) != M)
    fail("loss_and_grad: ids has ", ids.size(), " and targets ", targets.size(), " entries, expected B·T = ", M);
  if (grads) BRAID_CHECK(grads->table().size() == params_.table().size() && grads->dtype() == DType::f32,
                         "loss_and_grad: grads must come from new_grads()");
  const ParamNames names = param_names(cfg_);
  std::vector<int32_t> pos(static_cast<size_t>(M));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) pos[b * T + t] = static_cast<int32_t>(t);
  const Tensor ids_t = upload_i32(*be_, ids, {B, T}), pos_t = upload_i32(*be_, pos, {B, T});
  const Tensor tgt_t = upload_i32(*be_, targets, {M});

  std::vector<Sublayer> subs;
  for (int64_t il = 0; il < cfg_.n_layers; ++il) {
    const LayerSpec& spec = cfg_.layers[static_cast<size_t>(il)];
    const std::string lp = names.layer(il);
    subs.push_back({il, false, std::to_string(il) + "." + mixer_entry(spec.mixer).name, lp + names.input_norm,
                    lp + (spec.mixer == MixerKind::attention ? names.attention : names.ssm), {}});
    if (spec.ffn.kind != FfnKind::none)
      subs.push_back({il, true, std::to_string(il) + "." + ffn_entry(spec.ffn.kind).name, lp + names.ffn_norm,
                      lp + names.ffn, {}});
  }
  const bool want_stats = opt.activation_stats || opt.activation_weight != 0;
  Tensor stats(*be_, {static_cast<int64_t>(subs.size()), 2}, DType::f32);
  RouterTrace trace;

  auto norm = [&](const std::string& weight, const TensorView& in, const TensorView& out) {
    run(run_rmsnorm(*be_, RmsNormArgs{in, params_.view(weight), {}, out, cfg_.norm_eps, 0}), weight);
  };
  auto call_for = [&](const Sublayer& s, const TensorView& x, const TensorView& out) {
    const LayerSpec& spec = cfg_.layers[static_cast<size_t>(s.il)];
    return LayerCall{*be_, cfg_, spec, params_, s.prefix, x, out, {}, pos_t, {}, nullptr, &derived_[s.il], dtype_};
  };
  auto sub_forward = [&](const Sublayer& s, const LayerCall& call) {
    const LayerSpec& spec = cfg_.layers[static_cast<size_t>(s.il)];
    if (s.ffn) ffn_entry(spec.ffn.kind).forward(call);
    else mixer_entry(spec.mixer).forward(call);
  };

  // ---- forward ----
  Tensor h(*be_, {B, T, D}, dtype_), xn(*be_, {B, T, D}, dtype_), y(*be_, {B, T, D}, dtype_);
  run(run_embedding(*be_, EmbeddingArgs{ids_t, params_.view(names.embed), h}), names.embed);
  for (size_t i = 0; i < subs.size(); ++i) {
    Sublayer& s = subs[i];
    if (grads) {
      s.h_in = Tensor(*be_, {B, T, D}, dtype_);
      run(run_copy(*be_, CopyArgs{h, s.h_in}), s.name + " (save)");
    }
    norm(s.norm, h, xn);
    LayerCall call = call_for(s, xn, y);
    call.router_trace = &trace;
    sub_forward(s, call);
    if (want_stats)
      run(run_tensor_stats(*be_, TensorStatsArgs{y, stats.view().select(0, static_cast<int64_t>(i))}), s.name + " (stats)");
    run(run_add(*be_, AddArgs{h, y, h}), s.name + " residual");
  }
  Tensor hn(*be_, {B, T, D}, dtype_), logits(*be_, {M, V}, dtype_);
  norm(names.final_norm, h, hn);
  const std::string head = cfg_.tie_embeddings ? names.embed : names.lm_head;
  run(run_linear(*be_, LinearArgs{hn, params_.view(head), {}, logits}), names.lm_head);

  // ---- losses ----
  Tensor losses(*be_, {M}, DType::f32), argmax(*be_, {M}, DType::i32);
  CrossEntropyArgs ce{logits, tgt_t, losses, grads ? TensorView(logits) : TensorView(), argmax,
                      static_cast<float>(opt.ce_weight)};
  run(run_cross_entropy(*be_, ce), "cross_entropy");  // d_logits overwrite the logits
  LossResult r;
  const std::vector<float> loss_host = to_host_f32(*be_, losses);
  std::vector<int32_t> argmax_host(static_cast<size_t>(M));
  be_->download(argmax_host.data(), argmax.view().data, argmax_host.size() * sizeof(int32_t));
  for (int64_t m = 0; m < M; ++m) {
    if (targets[m] < 0) continue;
    r.ce_sum += loss_host[m];
    r.count += 1;
    r.correct += argmax_host[m] == targets[m];
  }
  const int64_t X = trace.n_experts;
  const double Mall = static_cast<double>(trace.rows);
  for (int64_t x = 0; x < X; ++x) r.aux += X * (trace.count[x] / Mall) * (trace.prob_sum[x] / Mall);
  if (want_stats) {
    const std::vector<float> st = to_host_f32(*be_, stats);
    for (size_t i = 0; i < subs.size(); ++i) {
      r.activation += st[2 * i] / static_cast<double>(M * D);
      r.max_abs.push_back(st[2 * i + 1]);
      r.sublayers.push_back(subs[i].name);
    }
  }
  r.objective = opt.ce_weight * r.ce_sum + opt.aux_weight * r.aux + opt.activation_weight * r.activation;
  if (!grads) return r;

  // ---- backward ----
  Tensor d_hn(*be_, {B, T, D}, dtype_), d_h(*be_, {B, T, D}, dtype_), d_xn(*be_, {B, T, D}, dtype_);
  LinearBackwardArgs hb;
  hb.fwd = LinearArgs{hn, params_.view(head), {}, {}};
  hb.d_y = logits;  // holds d_logits
  hb.d_x = d_hn;
  hb.d_w = grads->view(head);
  run(run_linear_backward(*be_, hb), names.lm_head + " (backward)");
  auto norm_backward = [&](const std::string& weight, const TensorView& in, const TensorView& d_out,
                           const TensorView& d_in) {
    RmsNormBackwardArgs a{{in, params_.view(weight), {}, {}, cfg_.norm_eps, 0}, d_out, d_in, {}, grads->view(weight)};
    run(run_rmsnorm_backward(*be_, a), weight + " (backward)");
  };
  norm_backward(names.final_norm, h, d_hn, d_h);

  // The load-balancing loss's gradient on every row's router probabilities:
  //   ∂aux/∂p[m, x] = X · count[x] / M_all²  (the top-k counts are piecewise constant).
  Tensor d_probs;
  if (X > 0 && opt.aux_weight != 0) {
    std::vector<float> dp(static_cast<size_t>(X));
    for (int64_t x = 0; x < X; ++x) dp[x] = static_cast<float>(opt.aux_weight * X * trace.count[x] / (Mall * Mall));
    d_probs = Tensor(*be_, {X}, DType::f32);
    be_->upload(d_probs.view().data, dp.data(), dp.size() * sizeof(float));
  }
  Tensor d_sub(*be_, {B, T, D}, dtype_);
  for (size_t i = subs.size(); i-- > 0;) {
    const Sublayer& s = subs[i];
    const LayerSpec& spec = cfg_.layers[static_cast<size_t>(s.il)];
    norm(s.norm, s.h_in, xn);
    TensorView d_out = d_h;
    if (opt.activation_weight != 0) {  // ∂/∂out of w·mean(out²) = 2w/(B·T·D) · out
      sub_forward(s, call_for(s, xn, y));
      run(run_add(*be_, AddArgs{d_h, y, d_sub, static_cast<float>(2 * opt.activation_weight / (M * D))}),
          s.name + " activation loss");
      d_out = d_sub;
    }
    const LayerCall call = call_for(s, xn, {});
    Tensor d_derived;
    if (!s.ffn && derived_[s.il].defined()) {
      d_derived = Tensor(*be_, derived_[s.il].view().shape_of(), DType::f32);
      be_->fill_zero(d_derived);
    }
    const LayerGrad g{d_out, d_xn, grads, d_derived, s.ffn ? TensorView(d_probs) : TensorView()};
    if (s.ffn) ffn_entry(spec.ffn.kind).backward(call, g);
    else mixer_entry(spec.mixer).backward(call, g);
    if (d_derived.defined()) {  // A = −exp(A_log)  ⇒  ∂/∂A_log = ∂/∂A · A
      std::vector<float> dA = to_host_f32(*be_, d_derived);
      const std::vector<float> A = to_host_f32(*be_, derived_[s.il]);
      for (size_t j = 0; j < dA.size(); ++j) dA[j] *= A[j];
      grads->add_f32(s.prefix + "A_log", dA);
    }
    norm_backward(s.norm, s.h_in, d_xn, d_sub);
    run(run_add(*be_, AddArgs{d_h, d_sub, d_h}), s.name + " residual (backward)");
  }
  // HF's Jamba and Bamba (and braid's Jamba-named layouts) build nn.Embedding with
  // padding_idx = pad_token_id, whose row then gets no gradient; Mamba and Mamba2 do not.
  const bool has_padding_idx = cfg_.family != Family::mamba && cfg_.family != Family::mamba2;
  const int64_t padding_idx = has_padding_idx && cfg_.pad_token_id ? *cfg_.pad_token_id : -1;
  run(run_embedding_backward(*be_, EmbeddingBackwardArgs{ids_t, d_h, grads->view(names.embed), padding_idx}),
      names.embed + " (backward)");
  return r;
}

}  // namespace braid
