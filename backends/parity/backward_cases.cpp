// backends/parity/backward_cases.cpp — the shape list of the backward contracts and of the
// training primitives (the parity suite's gradient mode: a backend's backward against the CPU
// reference's backward on the same seeded inputs).
//
// Each backward problem starts from the forward problem of its contract (cases.cpp), so the
// inputs have the same ranges, slices and per-row lengths. The forward output becomes the
// incoming gradient d_<out> (an input), every input gradient becomes an output, and every
// parameter gradient is an in-place f32 tensor with random initial values, which makes the
// comparison check that it is accumulated rather than overwritten.
#include <cmath>

#include "backends/parity/harness.h"

namespace braid::parity {
namespace {

// The forward output `out` turned into the incoming gradient `d_out`.
void output_to_gradient(Problem& p, Rng& rng, const std::string& out) {
  TensorSpec y = p.at(out);
  p.erase(out);
  p.add(input("d_" + out, y.shape, randn(rng, y.shape.numel()), y.axis));
}
void input_grad(Problem& p, const std::string& of) {
  const TensorSpec& t = p.at(of);
  p.add(output("d_" + of, t.shape, t.axis, t.kind == Kind::f32 ? Kind::f32 : Kind::act));
}
void param_grad(Problem& p, Rng& rng, const std::string& of) {
  if (!p.find(of)) return;
  const Shape s = p.at(of).shape;
  p.add(inplace("d_" + of, s, randn(rng, s.numel(), 0.5f), Axis::none, Kind::f32));
}

// A selective-scan forward problem (x, dt, Bm, Cm, z, state; dt_bias, A, D) turned into its
// backward: the initial state (when present) becomes a plain input and d_state an output; every
// optional tensor the forward lacks has no gradient either.
void scan_to_backward(Problem& p, Rng& r) {
  output_to_gradient(p, r, "y");
  for (const char* t : {"x", "dt", "Bm", "Cm", "z"})
    if (p.find(t)) input_grad(p, t);
  for (const char* t : {"dt_bias", "A", "D"}) param_grad(p, r, t);
  if (!p.find("state")) return;
  TensorSpec st = p.at("state");
  p.erase("state");
  st.role = Role::in;
  p.add(st);
  p.add(output("d_state", st.shape, Axis::batch, Kind::f32));
}

// The gradient tensors of scan_to_backward, bound into Mamba1/Mamba2 backward args.
template <class ScanBackwardArgs>
void bind_scan_grads(const Bound& b, ScanBackwardArgs& a) {
  a.d_y = b["d_y"], a.d_x = b["d_x"], a.d_dt = b["d_dt"], a.d_Bm = b["d_Bm"], a.d_Cm = b["d_Cm"], a.d_z = b["d_z"];
  a.d_dt_bias = b["d_dt_bias"], a.d_A = b["d_A"], a.d_D = b["d_D"], a.d_state = b["d_state"];
}
void no_step(Problem& p) {
  p.run_step = {};
  p.step_contract.clear();
}

Problem mamba1_backward_problem(Rng& r, const Mamba1Dims& d) {
  Problem p = mamba1_problem(r, d);
  scan_to_backward(p, r);
  p.run = [](Backend& be, const Bound& b) {
    Mamba1ScanBackwardArgs a;
    a.fwd = Mamba1ScanArgs{b["x"], b["dt"], b["dt_bias"], b["A"], b["Bm"], b["Cm"], b["D"], b["z"], b["state"], b["lengths"], {}};
    bind_scan_grads(b, a);
    return run_mamba1_scan_backward(be, a);
  };
  no_step(p);
  return p;
}

Problem mamba2_backward_problem(Rng& r, const Mamba2Dims& d) {
  Problem p = mamba2_problem(r, d);
  scan_to_backward(p, r);
  p.run = [d](Backend& be, const Bound& b) {
    Mamba2SsdBackwardArgs a;
    a.fwd.x = b["x"], a.fwd.dt = b["dt"], a.fwd.dt_bias = b["dt_bias"], a.fwd.A = b["A"], a.fwd.Bm = b["Bm"];
    a.fwd.Cm = b["Cm"], a.fwd.D = b["D"], a.fwd.z = b["z"], a.fwd.state = b["state"], a.fwd.lengths = b["lengths"];
    a.fwd.chunk_size = d.Q, a.fwd.dt_min = d.dt_min, a.fwd.dt_max = d.dt_max;
    bind_scan_grads(b, a);
    return run_mamba2_ssd_backward(be, a);
  };
  no_step(p);
  return p;
}

Problem attention_backward_problem(Rng& r, const AttentionDims& d) {
  Problem p = attention_problem(r, d);
  // The forward output o is an input of the backward (computed here by the reference).
  const Shape o = p.at("q").shape;
  p.add(input("d_o", o, randn(r, o.numel()), Axis::token));
  for (const char* t : {"q", "k", "v"}) input_grad(p, t);
  p.run = [scale = d.scale](Backend& be, const Bound& b) {
    AttentionArgs f;
    f.q = b["q"], f.k = b["k"], f.v = b["v"], f.lengths = b["lengths"], f.o = b["o"], f.scale = scale;
    BRAID_RETURN_IF_ERROR(run_attention(be, f));
    return run_attention_backward(be, {f, b["d_o"], b["d_q"], b["d_k"], b["d_v"]});
  };
  return p;
}

Problem router_backward_problem(Rng& r, int64_t M, int64_t X, int64_t k, bool renormalize, bool d_probs) {
  Problem p = router_problem(r, M, X, k, renormalize, false);
  p.add(input("d_weights", {M, k}, randn(r, M * k), Axis::none, Kind::f32));
  if (d_probs) p.add(input("d_probs", {X}, randn(r, X, 0.01f), Axis::none, Kind::f32));
  p.add(output("d_logits", {M, X}));
  p.run = [renormalize](Backend& be, const Bound& b) {
    MoeRouterArgs f{b["logits"], b["weights"], b["ids"], RouterKind::softmax_topk, renormalize};
    BRAID_RETURN_IF_ERROR(run_moe_router(be, f));
    return run_moe_router_backward(be, {f, b["d_weights"], b["d_probs"], b["d_logits"]});
  };
  return p;
}

Problem conv1d_backward_problem(Rng& r, const Conv1dDims& d) {
  Problem p = conv1d_problem(r, d);
  output_to_gradient(p, r, "y");
  if (p.find("state")) {
    TensorSpec st = p.at("state");  // the state before the call: read-only here
    p.erase("state");
    st.role = Role::in;
    p.add(st);
    p.add(output("d_state", st.shape, Axis::batch, Kind::f32));
  }
  p.add(output("d_x", {d.B, d.T, d.C}, Axis::token));
  param_grad(p, r, "w");
  param_grad(p, r, "bias");
  p.run = [silu = d.silu](Backend& be, const Bound& b) {
    return run_conv1d_backward(be, {{b["x"], b["w"], b["bias"], b["state"], b["lengths"], {}, silu}, b["d_y"], b["d_x"],
                                    b["d_w"], b["d_bias"], b["d_state"]});
  };
  no_step(p);
  return p;
}

Problem linear_backward_problem(Rng& r, Shape x, int64_t N, bool bias, bool accumulate) {
  Problem p = linear_problem(r, x, N, bias);
  output_to_gradient(p, r, "y");
  if (accumulate) p.add(inplace("d_x", p.at("x").shape, randn(r, p.at("x").shape.numel())));
  else input_grad(p, "x");
  param_grad(p, r, "w");
  param_grad(p, r, "bias");
  p.run = [accumulate](Backend& be, const Bound& b) {
    return run_linear_backward(be, {{b["x"], b["w"], b["bias"], {}}, b["d_y"], b["d_x"], b["d_w"], b["d_bias"], accumulate});
  };
  return p;
}

}  // namespace

std::vector<CaseDef> backward_cases() {
  std::vector<CaseDef> c;
  auto add = [&](std::string contract, std::string slug, std::string label, std::function<Problem(Rng&)> make) {
    c.push_back(CaseDef{std::move(contract), std::move(slug), std::move(label), false, std::move(make)});
  };

  add("cross_entropy", "bytes", "cross_entropy M96 V256 with ignored rows [byte-level LM]", [](Rng& r) {
    Problem p;
    const int64_t M = 96, V = 256;
    std::vector<int64_t> t(static_cast<size_t>(M));
    for (int64_t m = 0; m < M; ++m) t[m] = m % 7 == 3 ? -1 : static_cast<int64_t>(r.below(V));
    p.add(input("logits", {M, V}, randn(r, M * V, 2.0f)));
    p.add(index_input("targets", {M}, std::move(t)));
    p.add(output("losses", {M}, Axis::none, Kind::f32));
    p.add(output("d_logits", {M, V}));
    p.add(output("argmax", {M}, Axis::none, Kind::i32));
    p.run = [M](Backend& be, const Bound& b) {
      return run_cross_entropy(be, {b["logits"], b["targets"], b["losses"], b["d_logits"], b["argmax"], 1.0f / M});
    };
    return p;
  });
  add("adamw", "step7", "adamw n4099 step 7 decay 0.1 clip 0.5", [](Rng& r) {
    Problem p;
    const int64_t n = 4099;
    p.add(inplace("param", {n}, randn(r, n), Axis::none, Kind::f32));
    p.add(input("grad", {n}, randn(r, n), Axis::none, Kind::f32));
    p.add(inplace("m", {n}, randn(r, n, 0.1f), Axis::none, Kind::f32));
    std::vector<float> v = randn(r, n, 0.1f);
    for (float& x : v) x = x * x;
    p.add(inplace("v", {n}, std::move(v), Axis::none, Kind::f32));
    p.run = [](Backend& be, const Bound& b) {
      return run_adamw(be, {b["param"], b["grad"], b["m"], b["v"], 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.5f, 7});
    };
    return p;
  });
  add("tensor_stats", "grads", "tensor_stats n65537 [a gradient tensor]", [](Rng& r) {
    Problem p;
    p.add(input("x", {65537}, randn(r, 65537)));
    p.add(output("out", {2}, Axis::none, Kind::f32));
    p.run = [](Backend& be, const Bound& b) { return run_tensor_stats(be, {b["x"], b["out"]}); };
    return p;
  });
  add("embedding_backward", "jamba", "embedding_backward B2 T64 V1024 D512 padding_idx 0 [Jamba, cut]", [](Rng& r) {
    Problem p = embedding_problem(r, 2, 64, 1024, 512, Kind::i32);
    output_to_gradient(p, r, "out");
    param_grad(p, r, "table");
    p.erase("table");
    p.run = [](Backend& be, const Bound& b) { return run_embedding_backward(be, {b["ids"], b["d_out"], b["d_table"], 0}); };
    return p;
  });
  add("rmsnorm_backward", "mamba2_gated_groups", "rmsnorm_backward gated B2 T16 D512 group128 z-slice [Mamba2, G 4]",
      [](Rng& r) {
        Problem p = rmsnorm_problem(r, {2, 16, 512}, true, 128, 1e-5f, false, 0, 40);
        output_to_gradient(p, r, "out");
        input_grad(p, "x");
        input_grad(p, "z");
        param_grad(p, r, "w");
        p.run = [](Backend& be, const Bound& b) {
          return run_rmsnorm_backward(be, {{b["x"], b["w"], b["z"], {}, 1e-5f, 128}, b["d_out"], b["d_x"], b["d_z"], b["d_w"]});
        };
        return p;
      });
  add("rmsnorm_backward", "plain_odd", "rmsnorm_backward plain M15 D300 [odd D, the pre-norms]", [](Rng& r) {
    Problem p = rmsnorm_problem(r, {3, 5, 300}, false, 0, 1e-6f, false);
    output_to_gradient(p, r, "out");
    input_grad(p, "x");
    param_grad(p, r, "w");
    p.run = [](Backend& be, const Bound& b) {
      return run_rmsnorm_backward(be, {{b["x"], b["w"], {}, {}, 1e-6f, 0}, b["d_out"], b["d_x"], {}, b["d_w"]});
    };
    return p;
  });
  add("linear_backward", "x_proj_bias", "linear_backward M64 K768 N80 bias [Mamba-130m x_proj cut]",
      [](Rng& r) { return linear_backward_problem(r, {2, 32, 768}, 80, true, false); });
  add("linear_backward", "accumulate_sliced", "linear_backward M21 K75 N33 d_x accumulated [odd]",
      [](Rng& r) { return linear_backward_problem(r, {3, 7, 75}, 33, false, true); });
  add("rotary_backward", "bamba_partial", "rotary_backward B2 T16 H8 P128 r64 [Bamba-9B partial RoPE]", [](Rng& r) {
    Problem p = rotary_problem(r, 2, 16, 8, 128, 64, 10000.0f, {0, 100}, 0, Kind::i32);
    p.run = [](Backend& be, const Bound& b) { return run_rotary_backward(be, {b["x"], b["positions"], 64, 10000.0f}); };
    return p;
  });
  add("attention_backward", "gqa_varlen", "attention_backward B2 T24 Hq8 Hkv2 P64 lengths 24/9 [Jamba GQA, cut]",
      [](Rng& r) { return attention_backward_problem(r, {.B = 2, .T = 24, .Hq = 8, .Hkv = 2, .P = 64, .lengths = {24, 9}}); });
  add("attention_backward", "mha_t80_scale", "attention_backward B1 T80 Hq4 Hkv4 P40 scale 0.2 [odd P, MHA]",
      [](Rng& r) { return attention_backward_problem(r, {.B = 1, .T = 80, .Hq = 4, .Hkv = 4, .P = 40, .scale = 0.2f}); });
  add("attention_backward", "gqa4_varlen", "attention_backward B3 T33 Hq8 Hkv2 P16 lengths 33/1/0 [group 4, empty row]",
      [](Rng& r) {
        return attention_backward_problem(r, {.B = 3, .T = 33, .Hq = 8, .Hkv = 2, .P = 16, .lengths = {33, 1, 0}});
      });
  add("conv1d_backward", "mamba2_state_varlen", "conv1d_backward B3 T19 C96 K4 state lengths 19/7/1 [odd]", [](Rng& r) {
    return conv1d_backward_problem(r, {.B = 3, .T = 19, .C = 96, .K = 4, .lengths = {19, 7, 1}, .pad_before = 5, .pad_after = 3});
  });
  add("conv1d_backward", "k2_plain", "conv1d_backward B2 T9 C200 K2 no bias, no SiLU, no state [odd K]", [](Rng& r) {
    return conv1d_backward_problem(r, {.B = 2, .T = 9, .C = 200, .K = 2, .bias = false, .silu = false, .state = false});
  });
  add("mamba1_scan_backward", "mamba130m_cut", "mamba1_scan_backward B2 T70 Di96 N16 state z lengths 70/33 [Mamba-130m, Di cut]",
      [](Rng& r) { return mamba1_backward_problem(r, {.B = 2, .T = 70, .Di = 96, .N = 16, .R = 6, .lengths = {70, 33}}); });
  add("mamba1_scan_backward", "odd_bare", "mamba1_scan_backward B3 T131 Di200 N5, no state, z, D or dt_bias, lengths 131/64/2 [odd]",
      [](Rng& r) {
        return mamba1_backward_problem(r, {.B = 3, .T = 131, .Di = 200, .N = 5, .dt_bias = false, .D = false, .z = false,
                                           .state = false, .sliced = false, .lengths = {131, 64, 2}});
      });
  add("mamba1_scan_backward", "no_softplus", "mamba1_scan_backward B1 T20 Di40 N8 dt without softplus [delta_softplus off]",
      [](Rng& r) { return mamba1_backward_problem(r, {.B = 1, .T = 20, .Di = 40, .N = 8, .softplus = false}); });
  add("mamba1_scan_backward", "n32_state", "mamba1_scan_backward B2 T40 Di36 N32 state z lengths 40/23 [one warp per channel]",
      [](Rng& r) { return mamba1_backward_problem(r, {.B = 2, .T = 40, .Di = 36, .N = 32, .R = 3, .lengths = {40, 23}}); });
  add("mamba2_ssd_backward", "bamba_cut", "mamba2_ssd_backward B2 T40 H4 P64 G2 N32 Q16 state z lengths 40/17 [Bamba, cut]",
      [](Rng& r) {
        return mamba2_backward_problem(r, {.B = 2, .T = 40, .H = 4, .P = 64, .G = 2, .N = 32, .Q = 16, .lengths = {40, 17}});
      });
  add("mamba2_ssd_backward", "odd_clamped", "mamba2_ssd_backward B2 T70 H6 P8 G3 N40 Q32 dt clamp [0.05, 0.6], no state [odd]",
      [](Rng& r) {
        return mamba2_backward_problem(r, {.B = 2, .T = 70, .H = 6, .P = 8, .G = 3, .N = 40, .Q = 32, .state = false,
                                           .dt_min = 0.05f, .dt_max = 0.6f, .lengths = {70, 5}});
      });
  add("moe_router_backward", "jamba_16x2", "moe_router_backward M64 X16 k2 with d_probs [Jamba-v0.1 router]",
      [](Rng& r) { return router_backward_problem(r, 64, 16, 2, false, true); });
  add("moe_router_backward", "renormalized", "moe_router_backward M40 X8 k3 renormalised, no d_probs [Mixtral-style]",
      [](Rng& r) { return router_backward_problem(r, 40, 8, 3, true, false); });
  add("moe_experts_backward", "jamba_cut", "moe_experts_backward M48 X8 k2 D128 F224 [Jamba-v0.1, cut by 32]", [](Rng& r) {
    Problem p = experts_problem(r, 48, 8, 2, 128, 224);
    output_to_gradient(p, r, "out");
    input_grad(p, "x");
    for (const char* t : {"w_gate", "w_up", "w_down"}) param_grad(p, r, t);
    p.add(output("d_weights", {48, 2}, Axis::none, Kind::f32));
    p.run = [](Backend& be, const Bound& b) {
      return run_moe_experts_backward(be, {{b["x"], b["w_gate"], b["w_up"], b["w_down"], b["ids"], b["weights"], {}}, b["d_out"],
                                           b["d_x"], b["d_w_gate"], b["d_w_up"], b["d_w_down"], b["d_weights"]});
    };
    return p;
  });
  add("swiglu_mlp_backward", "bamba_cut", "swiglu_mlp_backward M32 D256 F896 [Bamba-9B, cut by 16]", [](Rng& r) {
    Problem p = swiglu_problem(r, {1, 32, 256}, 896);
    output_to_gradient(p, r, "out");
    input_grad(p, "x");
    for (const char* t : {"w_gate", "w_up", "w_down"}) param_grad(p, r, t);
    p.run = [](Backend& be, const Bound& b) {
      return run_swiglu_mlp_backward(be, {{b["x"], b["w_gate"], b["w_up"], b["w_down"], {}}, b["d_out"], b["d_x"],
                                          b["d_w_gate"], b["d_w_up"], b["d_w_down"]});
    };
    return p;
  });
  return c;
}

}  // namespace braid::parity
