// FFN blocks: the dense SwiGLU MLP (hf-models-spec §1.5) and Jamba's sparse MoE (§2.7):
// router linear → softmax over all experts in fp32 → top-k (not renormalised) → weighted sum
// of the chosen experts' SwiGLU outputs. Experts are stacked [X, F, D] at load time.
#include "models/layers/layer.h"

namespace braid {
namespace {

void mlp_forward(const LayerCall& c) {
  SwigluMlpArgs a{c.x, param(c, "gate_proj.weight"), param(c, "up_proj.weight"), param(c, "down_proj.weight"), c.out};
  run(run_swiglu_mlp(c.be, a), c.prefix + "mlp");
}

void moe_forward(const LayerCall& c) {
  const FfnSpec& f = c.spec.ffn;
  const TensorView x = c.x.as_2d();  // [M, D]
  const int64_t M = x.dim(0);
  Tensor logits = new_tensor(c.be, {M, f.n_experts}, c.dtype);
  project(c, "router", x, logits);
  Tensor weights = new_tensor(c.be, {M, f.top_k}, DType::f32);  // router weights are f32 by contract
  Tensor ids(c.be, {M, f.top_k}, DType::i32);
  run(run_moe_router(c.be, MoeRouterArgs{logits, weights, ids, RouterKind::softmax_topk, false}), c.prefix + "router");
  MoeExpertsArgs e{x,   c.params.storage(c.prefix + "experts.gate_proj"), c.params.storage(c.prefix + "experts.up_proj"),
                   c.params.storage(c.prefix + "experts.down_proj"), ids, weights, c.out.as_2d()};
  run(run_moe_experts(c.be, e), c.prefix + "experts");
}

void no_ffn(const LayerCall&) {}

}  // namespace

extern const FfnEntry kMlpFfn{FfnKind::mlp, "mlp", mlp_forward};
extern const FfnEntry kMoeFfn{FfnKind::moe, "moe", moe_forward};
extern const FfnEntry kNoFfn{FfnKind::none, "none", no_ffn};

}  // namespace braid
