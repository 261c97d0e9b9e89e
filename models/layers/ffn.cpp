// FFN blocks: the dense SwiGLU MLP (hf-models-spec §1.5) and Jamba's sparse MoE (§2.7):
// router linear → softmax over all experts in fp32 → top-k (not renormalised) → weighted sum
// of the chosen experts' SwiGLU outputs. Experts are stacked [X, F, D] at load time.
#include <algorithm>
#include <cmath>

#include "models/model.h"
#include "models/layers/layer.h"

namespace braid {
namespace {

SwigluMlpArgs mlp_args(const LayerCall& c) {
  return {c.x, param(c, "gate_proj.weight"), param(c, "up_proj.weight"), param(c, "down_proj.weight"), c.out};
}

void mlp_forward(const LayerCall& c) { run(run_swiglu_mlp(c.be, mlp_args(c)), c.prefix + "mlp"); }

void mlp_backward(const LayerCall& c, const LayerGrad& g) {
  SwigluMlpBackwardArgs a{mlp_args(c), g.d_out, g.d_x, grad(c, g, "gate_proj.weight"), grad(c, g, "up_proj.weight"),
                          grad(c, g, "down_proj.weight")};
  a.fwd.out = {};
  run(run_swiglu_mlp_backward(c.be, a), c.prefix + "mlp (backward)");
}

// The routing of one MoE forward, kept by the backward's recomputation.
struct MoeActs {
  Tensor logits;   // [M, X] router linear output
  Tensor weights;  // [M, k] f32
  Tensor ids;      // [M, k] i32
  MoeRouterArgs router;
  MoeExpertsArgs experts;
};

// Adds one layer's routing to the load-balancing statistics (host side; see RouterTrace).
void trace_routing(const LayerCall& c, const MoeActs& a, RouterTrace& trace) {
  const int64_t M = a.logits.view().dim(0), X = a.logits.view().dim(1), k = a.ids.view().dim(1);
  if (trace.n_experts == 0) {
    trace.n_experts = X;
    trace.count.assign(static_cast<size_t>(X), 0.0);
    trace.prob_sum.assign(static_cast<size_t>(X), 0.0);
  }
  if (trace.n_experts != X)
    fail(c.prefix, "router: the load-balancing loss needs one expert count in every MoE layer (", trace.n_experts,
         " and ", X, ")");
  const std::vector<float> logits = to_host_f32(c.be, a.logits);
  std::vector<int32_t> ids(static_cast<size_t>(M * k));
  c.be.download(ids.data(), a.ids.view().data, ids.size() * sizeof(int32_t));
  for (int64_t m = 0; m < M; ++m) {
    const float* row = logits.data() + m * X;
    double mx = row[0], sum = 0;
    for (int64_t x = 1; x < X; ++x) mx = std::max<double>(mx, row[x]);
    for (int64_t x = 0; x < X; ++x) sum += std::exp(row[x] - mx);
    for (int64_t x = 0; x < X; ++x) trace.prob_sum[x] += std::exp(row[x] - mx) / sum;
    for (int64_t i = 0; i < k; ++i) trace.count[ids[m * k + i]] += 1;
  }
  trace.rows += M;
}

void moe_run(const LayerCall& c, MoeActs& a) {
  const FfnSpec& f = c.spec.ffn;
  const TensorView x = c.x.as_2d();  // [M, D]
  const int64_t M = x.dim(0);
  a.logits = new_tensor(c.be, {M, f.n_experts}, c.dtype);
  project(c, "router", x, a.logits);
  a.weights = new_tensor(c.be, {M, f.top_k}, DType::f32);  // router weights are f32 by contract
  a.ids = Tensor(c.be, {M, f.top_k}, DType::i32);
  a.router = MoeRouterArgs{a.logits, a.weights, a.ids, RouterKind::softmax_topk, false};
  run(run_moe_router(c.be, a.router), c.prefix + "router");
  a.experts = MoeExpertsArgs{x,
                             c.params.storage(c.prefix + "experts.gate_proj"),
                             c.params.storage(c.prefix + "experts.up_proj"),
                             c.params.storage(c.prefix + "experts.down_proj"),
                             a.ids,
                             a.weights,
                             c.out.as_2d()};
  if (c.router_trace) trace_routing(c, a, *c.router_trace);
}

void moe_forward(const LayerCall& c) {
  MoeActs a;
  moe_run(c, a);
  run(run_moe_experts(c.be, a.experts), c.prefix + "experts");
}

void moe_backward(const LayerCall& c, const LayerGrad& g) {
  MoeActs a;
  moe_run(c, a);
  const int64_t M = a.logits.view().dim(0);
  Tensor d_weights = new_tensor(c.be, a.weights.view().shape_of(), DType::f32);
  MoeExpertsBackwardArgs eb;
  eb.fwd = a.experts;
  eb.fwd.out = {};
  eb.d_out = g.d_out.as_2d();
  eb.d_x = g.d_x.as_2d();
  eb.d_w_gate = g.grads->storage(c.prefix + "experts.gate_proj");
  eb.d_w_up = g.grads->storage(c.prefix + "experts.up_proj");
  eb.d_w_down = g.grads->storage(c.prefix + "experts.down_proj");
  eb.d_weights = d_weights;
  run(run_moe_experts_backward(c.be, eb), c.prefix + "experts (backward)");

  Tensor d_logits = new_tensor(c.be, {M, c.spec.ffn.n_experts}, c.dtype);
  run(run_moe_router_backward(c.be, MoeRouterBackwardArgs{a.router, d_weights, g.router_d_probs, d_logits}),
      c.prefix + "router (backward)");
  project_backward(c, g, "router", c.x.as_2d(), d_logits, g.d_x.as_2d(), /*accumulate_dx=*/true);
}

void no_ffn(const LayerCall&) {}

}  // namespace

extern const FfnEntry kMlpFfn{FfnKind::mlp, "mlp", mlp_forward, mlp_backward};
extern const FfnEntry kMoeFfn{FfnKind::moe, "moe", moe_forward, moe_backward};
extern const FfnEntry kNoFfn{FfnKind::none, "none", no_ffn, nullptr};

}  // namespace braid
