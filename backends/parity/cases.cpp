// backends/parity/cases.cpp — the annotated shape list: every contract × 3–6 shapes.
//
// Each case names the real model its shape comes from (hf-models-spec §2.9 Jamba-v0.1, §3.6
// Bamba-9B, §4.4 Mamba-130m, §5.7 Mamba2-2.7B and Mamba-Codestral-7B), cut down where memory
// or the CPU reference's time needs it (the cut is in the label), plus small odd sizes that
// fast paths get wrong: head dims 80 and 96, n_groups 2, 3 and 8, d_state 12 and 24, conv
// widths 2 and 3, T not a multiple of the chunk Q, B = 3 with per-row lengths (one of them 0
// or 1), channel-sliced inputs, in-place outputs. Cases marked `large` (real sizes the naive
// CPU reference needs seconds for) run on --backend cpu only with --full.
//
// Input ranges follow trained checkpoints: activations N(0, 1); weights N(0, 1/fan_in);
// Mamba Δ from dt_bias = softplus⁻¹(U_log(1e-3, 1e-1)) (mamba_ssm's dt init) plus a
// N(0, 0.5) projection; A = −(n+1)·e^{N(0, 0.1)} (S4D-real) for Mamba1 and −U(1, 16) for
// Mamba2; norm weights 1 + N(0, 0.1); router logits on well-separated levels (ties only where
// a case wants exact ties, see moe_router).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "backends/parity/harness.h"

namespace braid::parity {
namespace {

std::vector<float> scaled_randn(Rng& rng, int64_t n, int64_t fan_in) {
  return randn(rng, n, 1.0f / std::sqrt(static_cast<float>(fan_in)));
}

// mamba_ssm's dt_proj.bias init: Δ0 log-uniform in [1e-3, 1e-1], bias = softplus⁻¹(Δ0).
std::vector<float> dt_bias_init(Rng& rng, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& b : v) {
    const double dt = std::exp(rng.uniform(std::log(1e-3f), std::log(1e-1f)));
    b = static_cast<float>(dt + std::log(-std::expm1(-dt)));
  }
  return v;
}

std::vector<float> near_one(Rng& rng, int64_t n) {
  std::vector<float> v = randn(rng, n, 0.1f);
  for (float& x : v) x += 1.0f;
  return v;
}

std::vector<int64_t> random_ids(Rng& rng, int64_t n, int64_t V) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t& x : v) x = static_cast<int64_t>(rng.below(static_cast<uint64_t>(V)));
  return v;
}

// Routing of M tokens to k distinct experts of X with softmax weights (what moe_router makes).
void random_routing(Rng& rng, int64_t M, int64_t X, int64_t k, std::vector<int64_t>& ids, std::vector<float>& w,
                    int64_t unused_expert = -1) {
  ids.clear();
  w.clear();
  for (int64_t m = 0; m < M; ++m) {
    std::vector<int64_t> experts(static_cast<size_t>(X));
    std::iota(experts.begin(), experts.end(), 0);
    if (unused_expert >= 0) std::erase(experts, unused_expert);
    for (int64_t i = 0; i < k; ++i) {  // partial Fisher–Yates: k distinct experts
      const size_t j = static_cast<size_t>(i) + rng.below(experts.size() - static_cast<size_t>(i));
      std::swap(experts[static_cast<size_t>(i)], experts[j]);
    }
    std::vector<float> logit(static_cast<size_t>(k));
    float sum = 0.0f;
    for (float& l : logit) sum += (l = std::exp(rng.normal()));
    for (int64_t i = 0; i < k; ++i) {
      ids.push_back(experts[static_cast<size_t>(i)]);
      w.push_back(logit[static_cast<size_t>(i)] / sum * 0.8f);  // top-k mass < 1 without renormalisation
    }
  }
}

}  // namespace

// ---- Builders shared with the decode checks ----------------------------------------------

Problem conv1d_problem(Rng& rng, const Conv1dDims& d) {
  const int64_t B = d.B, T = d.T, C = d.C, K = d.K;
  Problem p;
  p.add(sliced(input("x", {B, T, C}, randn(rng, B * T * C), Axis::token), d.pad_before, d.pad_after));
  p.add(input("w", {C, K}, scaled_randn(rng, C * K, K)));
  if (d.bias) p.add(input("bias", {C}, randn(rng, C, 0.1f)));
  // The conv state holds raw inputs, so it is stored like them (models/model.h: KV caches and
  // conv states take the storage dtype; only SSM states and A stay f32).
  if (d.state) p.add(inplace("state", {B, K - 1, C}, randn(rng, B * (K - 1) * C), Axis::batch));
  if (!d.lengths.empty()) p.add(index_input("lengths", {B}, d.lengths, Axis::batch));
  p.add(output("y", {B, T, C}, Axis::token));
  const bool silu = d.silu;
  auto args = [silu](const Bound& b) {
    Conv1dArgs a;
    a.x = b["x"];
    a.w = b["w"];
    a.bias = b["bias"];
    a.state = b["state"];
    a.lengths = b["lengths"];
    a.y = b["y"];
    a.silu = silu;
    return a;
  };
  p.run = [args](Backend& be, const Bound& b) { return run_conv1d(be, args(b)); };
  p.run_step = [args](Backend& be, const Bound& b) { return run_conv1d_step(be, args(b)); };
  p.step_contract = "conv1d_step";
  return p;
}

// Mamba1: x is the conv output (contiguous), dt the dt_proj output, B and C slices of x_proj's
// output [R | N | N], z the second half of in_proj's output [Di | Di].
Problem mamba1_problem(Rng& rng, const Mamba1Dims& d) {
  const int64_t B = d.B, T = d.T, Di = d.Di, N = d.N, R = d.R;
  Problem p;
  p.add(input("x", {B, T, Di}, randn(rng, B * T * Di), Axis::token));
  std::vector<float> dt = d.softplus ? randn(rng, B * T * Di, 0.5f) : uniform(rng, B * T * Di, 1e-3f, 0.1f);
  if (d.softplus && !d.dt_bias)
    for (float& v : dt) v -= 4.0f;  // keep Δ near its trained range without a bias
  p.add(input("dt", {B, T, Di}, std::move(dt), Axis::token));
  if (d.dt_bias) p.add(input("dt_bias", {Di}, dt_bias_init(rng, Di)));
  std::vector<float> A(static_cast<size_t>(Di * N));
  for (int64_t i = 0; i < Di * N; ++i) A[i] = -static_cast<float>(i % N + 1) * std::exp(0.1f * rng.normal());
  p.add(input("A", {Di, N}, std::move(A), Axis::none, Kind::f32));
  TensorSpec bm = input("Bm", {B, T, N}, randn(rng, B * T * N), Axis::token);
  TensorSpec cm = input("Cm", {B, T, N}, randn(rng, B * T * N), Axis::token);
  p.add(d.sliced ? sliced(bm, R, N) : bm);
  p.add(d.sliced ? sliced(cm, R + N, 0) : cm);
  if (d.D) p.add(input("D", {Di}, near_one(rng, Di)));
  if (d.z) {
    TensorSpec z = input("z", {B, T, Di}, randn(rng, B * T * Di), Axis::token);
    p.add(d.sliced ? sliced(z, Di, 0) : z);
  }
  if (d.state) p.add(inplace("state", {B, Di, N}, randn(rng, B * Di * N, 0.5f), Axis::batch, Kind::f32));
  if (!d.lengths.empty()) p.add(index_input("lengths", {B}, d.lengths, Axis::batch));
  p.add(output("y", {B, T, Di}, Axis::token));
  const bool softplus = d.softplus;
  auto args = [softplus](const Bound& b) {
    Mamba1ScanArgs a;
    a.x = b["x"];
    a.dt = b["dt"];
    a.dt_bias = b["dt_bias"];
    a.A = b["A"];
    a.Bm = b["Bm"];
    a.Cm = b["Cm"];
    a.D = b["D"];
    a.z = b["z"];
    a.state = b["state"];
    a.lengths = b["lengths"];
    a.y = b["y"];
    a.dt_softplus = softplus;
    return a;
  };
  p.run = [args](Backend& be, const Bound& b) { return run_mamba1_scan(be, args(b)); };
  p.run_step = [args](Backend& be, const Bound& b) { return run_mamba1_step(be, args(b)); };
  p.step_contract = "mamba1_step";
  return p;
}

// Mamba2, laid out as the model passes it: in_proj's output row is [z | xBC | dt] with
// xBC = [x (Di) | B (G·N) | C (G·N)] (the conv output, whose row also holds B and C).
Problem mamba2_problem(Rng& rng, const Mamba2Dims& d) {
  const int64_t B = d.B, T = d.T, H = d.H, P = d.P, G = d.G, N = d.N;
  const int64_t Di = H * P, GN = G * N;
  Problem p;
  TensorSpec x = input("x", {B, T, H, P}, randn(rng, B * T * Di), Axis::token);
  p.add(d.sliced ? sliced(x, 0, 2 * GN, 2) : x);
  std::vector<float> dt = randn(rng, B * T * H, 0.5f);
  if (!d.dt_bias)
    for (float& v : dt) v -= 4.0f;
  TensorSpec dts = input("dt", {B, T, H}, std::move(dt), Axis::token);
  p.add(d.sliced ? sliced(dts, 2 * Di + 2 * GN, 0) : dts);
  if (d.dt_bias) p.add(input("dt_bias", {H}, dt_bias_init(rng, H)));
  std::vector<float> A = uniform(rng, H, 1.0f, 16.0f);
  for (float& a : A) a = -a;
  p.add(input("A", {H}, std::move(A), Axis::none, Kind::f32));
  TensorSpec bm = input("Bm", {B, T, G, N}, randn(rng, B * T * GN), Axis::token);
  TensorSpec cm = input("Cm", {B, T, G, N}, randn(rng, B * T * GN), Axis::token);
  p.add(d.sliced ? sliced(bm, Di, GN, 2) : bm);
  p.add(d.sliced ? sliced(cm, Di + GN, 0, 2) : cm);
  if (d.D) p.add(input("D", {H}, near_one(rng, H)));
  if (d.z) {
    TensorSpec z = input("z", {B, T, H, P}, randn(rng, B * T * Di), Axis::token);
    p.add(d.sliced ? sliced(z, 0, Di + 2 * GN + H, 2) : z);
  }
  if (d.state) p.add(inplace("state", {B, H, P, N}, randn(rng, B * Di * N, 0.5f), Axis::batch, Kind::f32));
  if (!d.lengths.empty()) p.add(index_input("lengths", {B}, d.lengths, Axis::batch));
  p.add(output("y", {B, T, H, P}, Axis::token));
  const float dt_min = d.dt_min, dt_max = d.dt_max;
  const int64_t Q = d.Q;
  auto args = [=](const Bound& b) {
    Mamba2SsdArgs a;
    a.x = b["x"];
    a.dt = b["dt"];
    a.dt_bias = b["dt_bias"];
    a.A = b["A"];
    a.Bm = b["Bm"];
    a.Cm = b["Cm"];
    a.D = b["D"];
    a.z = b["z"];
    a.state = b["state"];
    a.lengths = b["lengths"];
    a.y = b["y"];
    a.dt_min = dt_min;
    a.dt_max = dt_max;
    a.chunk_size = Q;
    return a;
  };
  p.run = [args](Backend& be, const Bound& b) { return run_mamba2_ssd(be, args(b)); };
  p.run_step = [args](Backend& be, const Bound& b) { return run_mamba2_step(be, args(b)); };
  p.step_contract = "mamba2_step";
  return p;
}

// Attention: q, k, v as separate projections' outputs; with a cache, positions ≥ cache_len
// hold stale values that must be neither read nor changed (beyond the new tokens).
Problem attention_problem(Rng& rng, const AttentionDims& d) {
  const int64_t B = d.B, T = d.T, Hq = d.Hq, Hkv = d.Hkv, P = d.P;
  Problem p;
  p.add(input("q", {B, T, Hq, P}, randn(rng, B * T * Hq * P), Axis::token));
  p.add(input("k", {B, T, Hkv, P}, randn(rng, B * T * Hkv * P), Axis::token));
  p.add(input("v", {B, T, Hkv, P}, randn(rng, B * T * Hkv * P), Axis::token));
  if (d.S > 0) {
    p.add(inplace("k_cache", {B, d.S, Hkv, P}, randn(rng, B * d.S * Hkv * P), Axis::batch));
    p.add(inplace("v_cache", {B, d.S, Hkv, P}, randn(rng, B * d.S * Hkv * P), Axis::batch));
    std::vector<int64_t> past = d.past;
    past.resize(static_cast<size_t>(B), 0);
    p.add(index_input("cache_len", {B}, past, Axis::past));
  }
  if (!d.lengths.empty()) p.add(index_input("lengths", {B}, d.lengths, Axis::batch));
  p.add(output("o", {B, T, Hq, P}, Axis::token));
  const float scale = d.scale;
  p.run = [scale](Backend& be, const Bound& b) {
    AttentionArgs a;
    a.q = b["q"];
    a.k = b["k"];
    a.v = b["v"];
    a.k_cache = b["k_cache"];
    a.v_cache = b["v_cache"];
    a.cache_len = b["cache_len"];
    a.lengths = b["lengths"];
    a.o = b["o"];
    a.scale = scale;
    return run_attention(be, a);
  };
  p.run_step = p.run;  // decode is the T == 1 case of the same contract
  p.step_contract = "attention";
  return p;
}

// ---- Contract-specific builders -----------------------------------------------------------

// ---- Builders shared with the backward cases (backward_cases.cpp) ---------------------------

Problem embedding_problem(Rng& rng, int64_t B, int64_t T, int64_t V, int64_t D, Kind id_kind) {
  Problem p;
  p.add(index_input("ids", {B, T}, random_ids(rng, B * T, V), Axis::token, id_kind));
  p.add(input("table", {V, D}, randn(rng, V * D)));
  p.add(output("out", {B, T, D}, Axis::token));
  p.run = [](Backend& be, const Bound& b) { return run_embedding(be, {b["ids"], b["table"], b["out"]}); };
  return p;
}

// RMSNorm over x [shape]; gated with z when `gated`; `in_place` writes into x.
Problem rmsnorm_problem(Rng& rng, Shape shape, bool gated, int64_t group_size, float eps, bool in_place,
                        int64_t z_pad_before, int64_t z_pad_after) {
  const int64_t D = shape[shape.ndim() - 1], n = shape.numel();
  Problem p;
  if (in_place) p.add(inplace("x", shape, randn(rng, n)));
  else p.add(input("x", shape, randn(rng, n)));
  p.add(input("w", {D}, near_one(rng, D)));
  if (gated) p.add(sliced(input("z", shape, randn(rng, n)), z_pad_before, z_pad_after));
  if (!in_place) p.add(output("out", shape));
  p.run = [=](Backend& be, const Bound& b) {
    RmsNormArgs a;
    a.x = b["x"];
    a.w = b["w"];
    a.z = b["z"];
    a.out = in_place ? b["x"] : b["out"];
    a.eps = eps;
    a.group_size = group_size;
    return run_rmsnorm(be, a);
  };
  return p;
}

Problem linear_problem(Rng& rng, Shape xshape, int64_t N, bool bias, int64_t pad_before, int64_t pad_after) {
  const int64_t K = xshape[xshape.ndim() - 1], M = xshape.numel() / K;
  std::vector<int64_t> ydims = xshape.dims;
  ydims.back() = N;
  Problem p;
  p.add(sliced(input("x", xshape, randn(rng, M * K)), pad_before, pad_after));
  p.add(input("w", {N, K}, scaled_randn(rng, N * K, K)));
  if (bias) p.add(input("bias", {N}, randn(rng, N, 0.1f)));
  p.add(output("y", Shape(ydims)));
  p.run = [](Backend& be, const Bound& b) { return run_linear(be, {b["x"], b["w"], b["bias"], b["y"]}); };
  return p;
}

// Rotary on x [B, T, H, P] in place; positions = start[b] + t, or random in [0, max_pos).
Problem rotary_problem(Rng& rng, int64_t B, int64_t T, int64_t H, int64_t P, int64_t r, float theta,
                       std::vector<int64_t> start, int64_t max_pos, Kind pos_kind, int64_t pad_after) {
  Problem p;
  p.add(sliced(inplace("x", {B, T, H, P}, randn(rng, B * T * H * P), Axis::token), 0, pad_after, 2));
  std::vector<int64_t> pos(static_cast<size_t>(B * T));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      pos[b * T + t] = start.empty() ? static_cast<int64_t>(rng.below(static_cast<uint64_t>(max_pos))) : start[b] + t;
  p.add(index_input("positions", {B, T}, std::move(pos), Axis::token, pos_kind));
  p.run = [=](Backend& be, const Bound& b) { return run_rotary(be, {b["x"], b["positions"], r, theta}); };
  return p;
}

// Router logits [M, X]: each row a random permutation of X levels `spacing` apart plus jitter
// well below bf16 resolution at that spacing, so no two experts are within rounding of each
// other (a near-tie would make the top-k order depend on exp() rounding). `ties` instead puts
// logits on 4 levels, giving exact ties that the contract's stable rule (lower index first)
// must break the same way on every backend.
Problem router_problem(Rng& rng, int64_t M, int64_t X, int64_t k, bool renormalize, bool ties) {
  std::vector<float> logits(static_cast<size_t>(M * X));
  for (int64_t m = 0; m < M; ++m) {
    std::vector<int64_t> perm(static_cast<size_t>(X));
    std::iota(perm.begin(), perm.end(), 0);
    for (int64_t i = X - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(static_cast<uint64_t>(i + 1))]);
    for (int64_t e = 0; e < X; ++e) {
      float& l = logits[m * X + e];
      if (ties) l = 0.5f * static_cast<float>(rng.below(4)) - 0.75f;
      else l = 0.25f * static_cast<float>(perm[e] - X / 2) + rng.uniform(-0.02f, 0.02f);
    }
  }
  Problem p;
  p.add(input("logits", {M, X}, std::move(logits)));
  p.add(output("weights", {M, k}, Axis::none, Kind::f32));
  p.add(output("ids", {M, k}, Axis::none, Kind::i32));
  p.run = [=](Backend& be, const Bound& b) {
    MoeRouterArgs a;
    a.logits = b["logits"];
    a.weights = b["weights"];
    a.ids = b["ids"];
    a.renormalize = renormalize;
    return run_moe_router(be, a);
  };
  return p;
}

Problem experts_problem(Rng& rng, int64_t M, int64_t X, int64_t k, int64_t D, int64_t F, int64_t unused_expert) {
  std::vector<int64_t> ids;
  std::vector<float> w;
  random_routing(rng, M, X, k, ids, w, unused_expert);
  Problem p;
  p.add(input("x", {M, D}, randn(rng, M * D)));
  p.add(input("w_gate", {X, F, D}, scaled_randn(rng, X * F * D, D)));
  p.add(input("w_up", {X, F, D}, scaled_randn(rng, X * F * D, D)));
  p.add(input("w_down", {X, D, F}, scaled_randn(rng, X * D * F, F)));
  p.add(index_input("ids", {M, k}, std::move(ids)));
  p.add(input("weights", {M, k}, std::move(w), Axis::none, Kind::f32));
  p.add(output("out", {M, D}));
  p.run = [](Backend& be, const Bound& b) {
    return run_moe_experts(be, {b["x"], b["w_gate"], b["w_up"], b["w_down"], b["ids"], b["weights"], b["out"]});
  };
  return p;
}

Problem swiglu_problem(Rng& rng, Shape xshape, int64_t F) {
  const int64_t D = xshape[xshape.ndim() - 1], n = xshape.numel();
  Problem p;
  p.add(input("x", xshape, randn(rng, n)));
  p.add(input("w_gate", {F, D}, scaled_randn(rng, F * D, D)));
  p.add(input("w_up", {F, D}, scaled_randn(rng, F * D, D)));
  p.add(input("w_down", {D, F}, scaled_randn(rng, D * F, F)));
  p.add(output("out", xshape));
  p.run = [](Backend& be, const Bound& b) {
    return run_swiglu_mlp(be, {b["x"], b["w_gate"], b["w_up"], b["w_down"], b["out"]});
  };
  return p;
}

Problem add_problem(Rng& rng, Shape shape, bool in_place) {
  const int64_t n = shape.numel();
  Problem p;
  if (in_place) p.add(inplace("a", shape, randn(rng, n)));
  else p.add(input("a", shape, randn(rng, n)));
  p.add(input("b", shape, randn(rng, n)));
  if (!in_place) p.add(output("out", shape));
  p.run = [in_place](Backend& be, const Bound& b) { return run_add(be, {b["a"], b["b"], in_place ? b["a"] : b["out"]}); };
  return p;
}

// copy src → dst; `src_kind`/`dst_kind` pick f32 or the case dtype (conversions in bf16).
Problem copy_problem(Rng& rng, Shape shape, Kind src_kind, Kind dst_kind, int64_t pad_before, int64_t pad_after,
                     int row_dims) {
  Problem p;
  p.add(sliced(input("src", shape, randn(rng, shape.numel(), 3.0f), Axis::none, src_kind), pad_before, pad_after,
               row_dims));
  p.add(output("dst", shape, Axis::none, dst_kind));
  p.run = [](Backend& be, const Bound& b) { return run_copy(be, {b["src"], b["dst"]}); };
  return p;
}

namespace {

template <class Fn>
CaseDef def(std::string contract, std::string slug, std::string label, bool large, Fn&& make) {
  return CaseDef{std::move(contract), std::move(slug), std::move(label), large, std::forward<Fn>(make)};
}

// The step contracts are the T == 1 problems of their scans, run through run_step.
Problem as_step(Problem p) {
  p.run = p.run_step;
  return p;
}

}  // namespace

std::vector<CaseDef> contract_cases() {
  constexpr bool large = true, small = false;
  std::vector<CaseDef> c;

  // ---- embedding: out[b, t] = table[ids[b, t]] --------------------------------------------
  c.push_back(def("embedding", "jamba", "embedding B2 T64 V1024 D4096 [Jamba-v0.1, V 65536 cut to 1024]", small,
                  [](Rng& r) { return embedding_problem(r, 2, 64, 1024, 4096, Kind::i32); }));
  c.push_back(def("embedding", "mamba130m", "embedding B2 T64 V50280 D768 ids i64 [Mamba-130m]", large,
                  [](Rng& r) { return embedding_problem(r, 2, 64, 50280, 768, Kind::i64); }));
  c.push_back(def("embedding", "odd", "embedding B3 T5 V1000 D77 ids i64 [odd D]", small,
                  [](Rng& r) { return embedding_problem(r, 3, 5, 1000, 77, Kind::i64); }));

  // ---- rmsnorm ------------------------------------------------------------------------------
  c.push_back(def("rmsnorm", "jamba", "rmsnorm M128 D4096 eps1e-6 [Jamba-v0.1 input norm]", small,
                  [](Rng& r) { return rmsnorm_problem(r, {2, 64, 4096}, false, 0, 1e-6f, false); }));
  // Mamba2-2.7B gated norm: z is a slice of in_proj's output [z | xBC | dt], one mean over Di (HF).
  c.push_back(def("rmsnorm", "mamba2_2_7b_gated", "rmsnorm gated M64 D5120 z-slice [Mamba2-2.7B, HF one group]", small,
                  [](Rng& r) { return rmsnorm_problem(r, {1, 64, 5120}, true, 0, 1e-5f, false, 0, 5120 + 256 + 80); }));
  c.push_back(def("rmsnorm", "codestral_g8", "rmsnorm gated M32 D8192 group1024 [Mamba-Codestral-7B G=8, per-group]", small,
                  [](Rng& r) { return rmsnorm_problem(r, {1, 32, 8192}, true, 1024, 1e-5f, false); }));
  c.push_back(def("rmsnorm", "odd_inplace", "rmsnorm gated B3 T5 D200 group40 in place [odd G=5]", small,
                  [](Rng& r) { return rmsnorm_problem(r, {3, 5, 200}, true, 40, 1e-5f, true); }));
  c.push_back(def("rmsnorm", "odd_d96", "rmsnorm M7 D96 eps1e-5 [odd D]", small,
                  [](Rng& r) { return rmsnorm_problem(r, {7, 96}, false, 0, 1e-5f, false); }));

  // ---- linear --------------------------------------------------------------------------------
  c.push_back(def("linear", "mamba130m_x_proj", "linear M128 K1536 N80 [Mamba-130m x_proj]", small,
                  [](Rng& r) { return linear_problem(r, {2, 64, 1536}, 80, false); }));
  c.push_back(def("linear", "jamba_x_proj", "linear M32 K8192 N288 [Jamba-v0.1 x_proj]", small,
                  [](Rng& r) { return linear_problem(r, {1, 32, 8192}, 288, false); }));
  c.push_back(def("linear", "bamba_in_proj", "linear M64 K4096 N4192 [Bamba-9B in_proj, N 16768 cut to 4192]", large,
                  [](Rng& r) { return linear_problem(r, {1, 64, 4096}, 4192, false); }));
  c.push_back(def("linear", "odd_bias_sliced", "linear M21 K75 N33 bias, x a row slice [odd]", small,
                  [](Rng& r) { return linear_problem(r, {3, 7, 75}, 33, true, 5, 3); }));

  // ---- rotary (in place) ---------------------------------------------------------------------
  c.push_back(def("rotary", "bamba_q", "rotary B2 T64 H32 P128 r64 pos 0/1000+t [Bamba-9B q, partial RoPE]", small,
                  [](Rng& r) { return rotary_problem(r, 2, 64, 32, 128, 64, 10000.0f, {0, 1000}, 0, Kind::i32); }));
  c.push_back(def("rotary", "bamba_k_decode", "rotary B4 T1 H8 P128 r64 pos<4200 i64 [Bamba-9B k, decode]", small,
                  [](Rng& r) { return rotary_problem(r, 4, 1, 8, 128, 64, 10000.0f, {}, 4200, Kind::i64); }));
  c.push_back(def("rotary", "odd_p80_full", "rotary B3 T9 H6 P80 r80 theta1e6 [odd P, full RoPE]", small,
                  [](Rng& r) { return rotary_problem(r, 3, 9, 6, 80, 80, 1e6f, {}, 300, Kind::i32); }));
  c.push_back(def("rotary", "odd_p96_sliced", "rotary B2 T5 H4 P96 r32 x a slice of qkv [odd P]", small,
                  [](Rng& r) { return rotary_problem(r, 2, 5, 4, 96, 32, 10000.0f, {}, 2000, Kind::i64, 2 * 4 * 96); }));

  // ---- attention -----------------------------------------------------------------------------
  c.push_back(def("attention", "jamba_prefill", "attention B1 T64 Hq32 Hkv8 P128 [Jamba-v0.1, T cut to 64]", small,
                  [](Rng& r) { return attention_problem(r, {.B = 1, .T = 64, .Hq = 32, .Hkv = 8, .P = 128}); }));
  c.push_back(def("attention", "jamba_prefill_t256", "attention B1 T256 Hq32 Hkv8 P128 [Jamba-v0.1]", large,
                  [](Rng& r) { return attention_problem(r, {.B = 1, .T = 256, .Hq = 32, .Hkv = 8, .P = 128}); }));
  c.push_back(def("attention", "jamba_decode", "attention decode B2 T1 S320 past 256/17 Hq32 Hkv8 P128 [Jamba-v0.1]", small,
                  [](Rng& r) {
                    return attention_problem(r, {.B = 2, .T = 1, .Hq = 32, .Hkv = 8, .P = 128, .S = 320, .past = {256, 17}});
                  }));
  c.push_back(def("attention", "bamba_chunk", "attention B2 T48 S128 past 16/0 lengths 48/31 Hq32 Hkv8 P128 [Bamba-9B]",
                  small, [](Rng& r) {
                    return attention_problem(
                        r, {.B = 2, .T = 48, .Hq = 32, .Hkv = 8, .P = 128, .S = 128, .past = {16, 0}, .lengths = {48, 31}});
                  }));
  c.push_back(def("attention", "odd_p80_varlen", "attention B3 T37 Hq6 Hkv2 P80 lengths 37/20/1 [odd P]", small,
                  [](Rng& r) {
                    return attention_problem(r, {.B = 3, .T = 37, .Hq = 6, .Hkv = 2, .P = 80, .lengths = {37, 20, 1}});
                  }));
  c.push_back(def("attention", "odd_p96_cache", "attention B2 T19 S40 past 3/21 Hq4 Hkv4 P96 scale0.1 [odd P, MHA]", small,
                  [](Rng& r) {
                    return attention_problem(
                        r, {.B = 2, .T = 19, .Hq = 4, .Hkv = 4, .P = 96, .S = 40, .past = {3, 21}, .scale = 0.1f});
                  }));

  // ---- conv1d --------------------------------------------------------------------------------
  c.push_back(def("conv1d", "mamba130m", "conv1d B2 T64 C1536 K4 x-slice [Mamba-130m]", small, [](Rng& r) {
    return conv1d_problem(r, {.B = 2, .T = 64, .C = 1536, .K = 4, .pad_before = 0, .pad_after = 1536});
  }));
  c.push_back(def("conv1d", "mamba2_2_7b", "conv1d B1 T256 C5376 K4 xBC-slice [Mamba2-2.7B]", small, [](Rng& r) {
    return conv1d_problem(r, {.B = 1, .T = 256, .C = 5376, .K = 4, .pad_before = 5120, .pad_after = 80});
  }));
  c.push_back(def("conv1d", "jamba", "conv1d B1 T32 C8192 K4 x-slice [Jamba-v0.1]", small, [](Rng& r) {
    return conv1d_problem(r, {.B = 1, .T = 32, .C = 8192, .K = 4, .pad_before = 0, .pad_after = 8192});
  }));
  c.push_back(def("conv1d", "odd_k2_varlen", "conv1d B3 T10 C100 K2 lengths 10/4/0 no bias, no silu [odd K]", small,
                  [](Rng& r) {
                    return conv1d_problem(r, {.B = 3, .T = 10, .C = 100, .K = 2, .bias = false, .silu = false,
                                              .lengths = {10, 4, 0}});
                  }));
  c.push_back(def("conv1d", "odd_k3_nostate", "conv1d B2 T7 C77 K3 no state [odd K, odd C]", small,
                  [](Rng& r) { return conv1d_problem(r, {.B = 2, .T = 7, .C = 77, .K = 3, .state = false}); }));

  // ---- conv1d_step ---------------------------------------------------------------------------
  c.push_back(def("conv1d_step", "mamba130m", "conv1d_step B4 C1536 K4 [Mamba-130m]", small,
                  [](Rng& r) { return as_step(conv1d_problem(r, {.B = 4, .T = 1, .C = 1536, .K = 4})); }));
  c.push_back(def("conv1d_step", "bamba", "conv1d_step B2 C8448 K4 xBC-slice [Bamba-9B]", small, [](Rng& r) {
    return as_step(conv1d_problem(r, {.B = 2, .T = 1, .C = 8448, .K = 4, .pad_before = 8192, .pad_after = 128}));
  }));
  c.push_back(def("conv1d_step", "odd_k3", "conv1d_step B3 C77 K3 no bias, no silu [odd K]", small, [](Rng& r) {
    return as_step(conv1d_problem(r, {.B = 3, .T = 1, .C = 77, .K = 3, .bias = false, .silu = false}));
  }));

  // ---- mamba1_scan ---------------------------------------------------------------------------
  c.push_back(def("mamba1_scan", "mamba130m", "mamba1_scan B2 T64 Di1536 N16 [Mamba-130m]", small,
                  [](Rng& r) { return mamba1_problem(r, {.B = 2, .T = 64, .Di = 1536, .N = 16, .R = 48}); }));
  c.push_back(def("mamba1_scan", "jamba", "mamba1_scan B1 T32 Di8192 N16 [Jamba-v0.1, T cut to 32]", small,
                  [](Rng& r) { return mamba1_problem(r, {.B = 1, .T = 32, .Di = 8192, .N = 16, .R = 256}); }));
  c.push_back(def("mamba1_scan", "jamba_t256", "mamba1_scan B1 T256 Di8192 N16 [Jamba-v0.1]", large,
                  [](Rng& r) { return mamba1_problem(r, {.B = 1, .T = 256, .Di = 8192, .N = 16, .R = 256}); }));
  c.push_back(def("mamba1_scan", "odd_n12_varlen", "mamba1_scan B3 T37 Di100 N12 lengths 37/20/1 no z, no D [odd N]",
                  small, [](Rng& r) {
                    return mamba1_problem(r, {.B = 3, .T = 37, .Di = 100, .N = 12, .R = 7, .D = false, .z = false,
                                              .lengths = {37, 20, 1}});
                  }));
  c.push_back(def("mamba1_scan", "odd_n24_raw_dt", "mamba1_scan B1 T9 Di40 N24 no softplus, no state [odd N]", small,
                  [](Rng& r) {
                    return mamba1_problem(r, {.B = 1, .T = 9, .Di = 40, .N = 24, .dt_bias = false, .state = false,
                                              .softplus = false, .sliced = false});
                  }));

  // ---- mamba1_step ---------------------------------------------------------------------------
  c.push_back(def("mamba1_step", "mamba130m", "mamba1_step B4 Di1536 N16 [Mamba-130m]", small,
                  [](Rng& r) { return as_step(mamba1_problem(r, {.B = 4, .T = 1, .Di = 1536, .N = 16, .R = 48})); }));
  c.push_back(def("mamba1_step", "jamba", "mamba1_step B2 Di8192 N16 [Jamba-v0.1]", small,
                  [](Rng& r) { return as_step(mamba1_problem(r, {.B = 2, .T = 1, .Di = 8192, .N = 16, .R = 256})); }));
  c.push_back(def("mamba1_step", "odd_n12", "mamba1_step B3 Di100 N12 no z [odd N]", small, [](Rng& r) {
    return as_step(mamba1_problem(r, {.B = 3, .T = 1, .Di = 100, .N = 12, .R = 7, .z = false}));
  }));

  // ---- mamba2_ssd ----------------------------------------------------------------------------
  c.push_back(def("mamba2_ssd", "mamba2_2_7b", "mamba2_ssd B1 T64 H80 P64 G1 N128 Q256 [Mamba2-2.7B, T cut to 64]",
                  small, [](Rng& r) {
                    return mamba2_problem(r, {.B = 1, .T = 64, .H = 80, .P = 64, .G = 1, .N = 128, .Q = 256});
                  }));
  c.push_back(def("mamba2_ssd", "mamba2_2_7b_t256", "mamba2_ssd B1 T256 H80 P64 G1 N128 Q256 [Mamba2-2.7B]", large,
                  [](Rng& r) {
                    return mamba2_problem(r, {.B = 1, .T = 256, .H = 80, .P = 64, .G = 1, .N = 128, .Q = 256});
                  }));
  c.push_back(def("mamba2_ssd", "bamba", "mamba2_ssd B1 T80 H128 P64 G1 N128 Q32 [Bamba-9B, Q 256 cut to 32]", small,
                  [](Rng& r) {
                    return mamba2_problem(r, {.B = 1, .T = 80, .H = 128, .P = 64, .G = 1, .N = 128, .Q = 32});
                  }));
  c.push_back(def("mamba2_ssd", "codestral_g8", "mamba2_ssd B1 T24 H128 P64 G8 N128 Q16 [Mamba-Codestral-7B]", small,
                  [](Rng& r) {
                    return mamba2_problem(r, {.B = 1, .T = 24, .H = 128, .P = 64, .G = 8, .N = 128, .Q = 16});
                  }));
  c.push_back(def("mamba2_ssd", "odd_g2_varlen", "mamba2_ssd B3 T37 H6 P80 G2 N12 Q16 lengths 37/20/1 [odd P, G, N]",
                  small, [](Rng& r) {
                    return mamba2_problem(
                        r, {.B = 3, .T = 37, .H = 6, .P = 80, .G = 2, .N = 12, .Q = 16, .lengths = {37, 20, 1}});
                  }));
  c.push_back(def("mamba2_ssd", "odd_g3_clamp", "mamba2_ssd B2 T50 H9 P96 G3 N24 Q32 dt in [1e-3, 0.1], no D, no z [odd]",
                  small, [](Rng& r) {
                    return mamba2_problem(r, {.B = 2, .T = 50, .H = 9, .P = 96, .G = 3, .N = 24, .Q = 32, .D = false,
                                              .z = false, .dt_min = 1e-3f, .dt_max = 0.1f});
                  }));

  // ---- mamba2_step ---------------------------------------------------------------------------
  c.push_back(def("mamba2_step", "mamba2_2_7b", "mamba2_step B2 H80 P64 G1 N128 [Mamba2-2.7B]", small, [](Rng& r) {
    return as_step(mamba2_problem(r, {.B = 2, .T = 1, .H = 80, .P = 64, .G = 1, .N = 128}));
  }));
  c.push_back(def("mamba2_step", "bamba", "mamba2_step B1 H128 P64 G1 N128 [Bamba-9B]", small, [](Rng& r) {
    return as_step(mamba2_problem(r, {.B = 1, .T = 1, .H = 128, .P = 64, .G = 1, .N = 128}));
  }));
  c.push_back(def("mamba2_step", "odd_g3_clamp", "mamba2_step B3 H9 P96 G3 N24 dt in [1e-3, 0.1] [odd]", small,
                  [](Rng& r) {
                    return as_step(mamba2_problem(
                        r, {.B = 3, .T = 1, .H = 9, .P = 96, .G = 3, .N = 24, .dt_min = 1e-3f, .dt_max = 0.1f}));
                  }));

  // ---- moe_router ----------------------------------------------------------------------------
  c.push_back(def("moe_router", "jamba", "moe_router M128 X16 k2 [Jamba-v0.1]", small,
                  [](Rng& r) { return router_problem(r, 128, 16, 2, false, false); }));
  c.push_back(def("moe_router", "jamba_ties", "moe_router M64 X16 k2 exact ties [Jamba-v0.1, tie rule]", small,
                  [](Rng& r) { return router_problem(r, 64, 16, 2, false, true); }));
  c.push_back(def("moe_router", "odd_renorm", "moe_router M33 X7 k3 renormalize [odd X, Mixtral-style]", small,
                  [](Rng& r) { return router_problem(r, 33, 7, 3, true, false); }));

  // ---- moe_experts ---------------------------------------------------------------------------
  c.push_back(def("moe_experts", "jamba", "moe_experts M64 X16 k2 D128 F448 [Jamba-v0.1, D and F cut by 32]", small,
                  [](Rng& r) { return experts_problem(r, 64, 16, 2, 128, 448); }));
  c.push_back(def("moe_experts", "jamba_d1024", "moe_experts M128 X16 k2 D1024 F3584 [Jamba-v0.1, D and F cut by 4]",
                  large, [](Rng& r) { return experts_problem(r, 128, 16, 2, 1024, 3584); }));
  c.push_back(def("moe_experts", "odd_idle_expert", "moe_experts M23 X5 k3 D72 F100, expert 4 idle [odd]", small,
                  [](Rng& r) { return experts_problem(r, 23, 5, 3, 72, 100, 4); }));

  // ---- swiglu_mlp ----------------------------------------------------------------------------
  c.push_back(def("swiglu_mlp", "bamba", "swiglu_mlp M32 D512 F1792 [Bamba-9B, D and F cut by 8]", small,
                  [](Rng& r) { return swiglu_problem(r, {1, 32, 512}, 1792); }));
  c.push_back(def("swiglu_mlp", "bamba_d4096", "swiglu_mlp M64 D4096 F3584 [Bamba-9B, F cut by 4]", large,
                  [](Rng& r) { return swiglu_problem(r, {1, 64, 4096}, 3584); }));
  c.push_back(def("swiglu_mlp", "odd", "swiglu_mlp B3 T5 D100 F257 [odd]", small,
                  [](Rng& r) { return swiglu_problem(r, {3, 5, 100}, 257); }));

  // ---- add -----------------------------------------------------------------------------------
  c.push_back(def("add", "jamba_residual", "add B2 T64 D4096 [Jamba-v0.1 residual]", small,
                  [](Rng& r) { return add_problem(r, {2, 64, 4096}, false); }));
  c.push_back(def("add", "mamba130m_decode", "add B4 T1 D768 [Mamba-130m residual, decode]", small,
                  [](Rng& r) { return add_problem(r, {4, 1, 768}, false); }));
  c.push_back(def("add", "odd_inplace", "add B3 T7 D77 out = a [odd, in place]", small,
                  [](Rng& r) { return add_problem(r, {3, 7, 77}, true); }));

  // ---- copy ----------------------------------------------------------------------------------
  c.push_back(def("copy", "jamba_to_act", "copy f32 -> act B2 T64 D4096 [Jamba-v0.1 residual to compute dtype]", small,
                  [](Rng& r) { return copy_problem(r, {2, 64, 4096}, Kind::f32, Kind::act, 0, 0, 1); }));
  c.push_back(def("copy", "mamba2_xbc_slice", "copy act slice -> f32 B1 T64 C5376 [Mamba2-2.7B xBC of in_proj]", small,
                  [](Rng& r) { return copy_problem(r, {1, 64, 5376}, Kind::act, Kind::f32, 5120, 80, 1); }));
  c.push_back(def("copy", "odd_heads_slice", "copy act slice -> act B3 T7 H5 P9 [odd, 2-dim row slice]", small,
                  [](Rng& r) { return copy_problem(r, {3, 7, 5, 9}, Kind::act, Kind::act, 4, 13, 2); }));
  for (CaseDef& d : backward_cases()) c.push_back(std::move(d));
  return c;
}

}  // namespace braid::parity
