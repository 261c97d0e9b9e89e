// backends/cpu/moe: the softmax-top-k router (reference, ties, all-equal logits, renormalize)
// and the expert FFN (reference with repeated and duplicate routing, bad ids).
#include <algorithm>
#include <numeric>
#include <vector>

#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

namespace {

struct Routed {
  std::vector<float> weights;
  std::vector<int32_t> ids;
};

Status route(CpuBackend& be, std::vector<float>& logits, int64_t M, int64_t X, int64_t k, bool renormalize, Routed& r) {
  r.weights.assign(static_cast<size_t>(M * k), -1.0f);
  r.ids.assign(static_cast<size_t>(M * k), -1);
  return run_moe_router(be, {f32_view(logits, {M, X}), f32_view(r.weights, {M, k}), i32_view(r.ids, {M, k}),
                             RouterKind::softmax_topk, renormalize});
}

}  // namespace

TEST_CASE("moe_router: softmax over all experts, then top-k descending (double reference)") {
  Rng rng = seeded(701);
  CpuBackend be;
  struct Case { int64_t M, X, k; };
  for (const Case& c : {Case{7, 8, 2}, Case{5, 5, 3}, Case{3, 16, 1}, Case{4, 6, 6}})
    for (bool renormalize : {false, true}) {
      CAPTURE(c.M);
      CAPTURE(c.X);
      CAPTURE(c.k);
      CAPTURE(renormalize);
      std::vector<float> logits = randn(rng, c.M * c.X, 2.0f);
      Routed r;
      require_ok(route(be, logits, c.M, c.X, c.k, renormalize, r));
      std::vector<float> w_want(r.weights.size());
      std::vector<int32_t> id_want(r.ids.size());
      for (int64_t m = 0; m < c.M; ++m) {
        std::vector<double> p(static_cast<size_t>(c.X));
        double mx = -1e300, sum = 0.0;
        for (int64_t e = 0; e < c.X; ++e) mx = std::max(mx, static_cast<double>(logits[m * c.X + e]));
        for (int64_t e = 0; e < c.X; ++e) sum += (p[e] = std::exp(logits[m * c.X + e] - mx));
        for (double& v : p) v /= sum;
        std::vector<int32_t> order(static_cast<size_t>(c.X));
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
        double picked = 0.0;
        for (int64_t i = 0; i < c.k; ++i) picked += p[order[i]];
        for (int64_t i = 0; i < c.k; ++i) {
          id_want[m * c.k + i] = order[i];
          w_want[m * c.k + i] = static_cast<float>(renormalize ? p[order[i]] / picked : p[order[i]]);
        }
      }
      CHECK(r.ids == id_want);
      check_close(r.weights, w_want, kRelL2F32, "router weights");
    }
}

TEST_CASE("moe_router: ties rank the lower expert first; all-equal logits; renormalize") {
  CpuBackend be;
  std::vector<float> logits = {1.0f, 3.0f, 3.0f, 0.0f, 3.0f,    // three-way tie at the top
                               2.0f, 2.0f, 2.0f, 2.0f, 2.0f};  // all equal
  Routed r;
  require_ok(route(be, logits, 2, 5, 3, false, r));
  CHECK(r.ids == std::vector<int32_t>{1, 2, 4, 0, 1, 2});
  CHECK(r.weights[0] == r.weights[1]);
  CHECK(r.weights[1] == r.weights[2]);
  for (int i = 3; i < 6; ++i) CHECK(r.weights[i] == doctest::Approx(0.2).epsilon(1e-6));
  require_ok(route(be, logits, 2, 5, 3, true, r));
  CHECK(r.ids == std::vector<int32_t>{1, 2, 4, 0, 1, 2});
  for (int i = 0; i < 6; ++i) CHECK(r.weights[i] == doctest::Approx(1.0 / 3.0).epsilon(1e-6));
  // Without renormalisation the top-k weights of the first row do not sum to one (Jamba).
  require_ok(route(be, logits, 2, 5, 2, false, r));
  CHECK(r.weights[0] + r.weights[1] < 0.99f);
}

namespace {

// out[m] = Σ_i weights[m, i] · down_e(silu(gate_e x) ⊙ up_e x), e = ids[m, i], in double.
std::vector<double> experts_ref(const std::vector<float>& x, const std::vector<float>& wg, const std::vector<float>& wu,
                                const std::vector<float>& wd, const std::vector<int32_t>& ids,
                                const std::vector<float>& weights, int64_t M, int64_t D, int64_t F, int64_t k) {
  std::vector<double> out(static_cast<size_t>(M * D), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t i = 0; i < k; ++i) {
      const int64_t e = ids[m * k + i];
      std::vector<double> h(static_cast<size_t>(F));
      for (int64_t f = 0; f < F; ++f) {
        double g = 0.0, u = 0.0;
        for (int64_t d = 0; d < D; ++d) {
          g += static_cast<double>(x[m * D + d]) * wg[(e * F + f) * D + d];
          u += static_cast<double>(x[m * D + d]) * wu[(e * F + f) * D + d];
        }
        h[f] = silu_ref(g) * u;
      }
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0.0;
        for (int64_t f = 0; f < F; ++f) acc += h[f] * wd[(e * D + d) * F + f];
        out[m * D + d] += weights[m * k + i] * acc;
      }
    }
  return out;
}

}  // namespace

TEST_CASE("moe_experts: weighted sum of routed SwiGLU experts (double reference)") {
  Rng rng = seeded(702);
  CpuBackend best;
  CpuBackend naive(CpuOptions{GemmImpl::naive});
  const int64_t M = 11, D = 12, F = 20, X = 5, k = 2;
  const std::vector<float> x = randn(rng, M * D);
  std::vector<float> wg = randn(rng, X * F * D, 0.3f), wu = randn(rng, X * F * D, 0.3f), wd = randn(rng, X * D * F, 0.2f);
  std::vector<int32_t> ids(static_cast<size_t>(M * k));
  for (auto& id : ids) id = static_cast<int32_t>(rng.below(X - 1));  // expert X−1 gets no token
  ids[2] = ids[3] = 1;                                                // token 1 routed twice to one expert
  std::vector<float> weights = uniform(rng, M * k, 0.05f, 0.9f);
  const std::vector<double> want = experts_ref(x, wg, wu, wd, ids, weights, M, D, F, k);
  for (CpuBackend* be : {&best, &naive}) {
    CAPTURE(gemm_impl_name(be->options().gemm));
    Embedded xs = embed_last(x, {M, D}, 2, 3);
    std::vector<float> out(static_cast<size_t>(M * D), std::numeric_limits<float>::quiet_NaN());  // overwritten
    require_ok(run_moe_experts(*be, {xs.view, f32_view(wg, {X, F, D}), f32_view(wu, {X, F, D}),
                                     f32_view(wd, {X, D, F}), i32_view(ids, {M, k}), f32_view(weights, {M, k}),
                                     f32_view(out, {M, D})}));
    check_close(out, to_float(want), kRelL2F32, "moe_experts");
  }
}

TEST_CASE("moe_experts refuses an expert id outside [0, X) and names it") {
  CpuBackend be;
  const int64_t M = 3, D = 4, F = 3, X = 4, k = 2;
  std::vector<float> x(M * D, 1.0f), wg(X * F * D), wu(X * F * D), wd(X * D * F), weights(M * k, 0.5f), out(M * D);
  std::vector<int32_t> ids = {0, 1, 2, 9, 3, 0};
  auto call = [&] {
    return run_moe_experts(be, {f32_view(x, {M, D}), f32_view(wg, {X, F, D}), f32_view(wu, {X, F, D}),
                                f32_view(wd, {X, D, F}), i32_view(ids, {M, k}), f32_view(weights, {M, k}),
                                f32_view(out, {M, D})});
  };
  Status s = call();
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "9"));
  CHECK(contains(s.message(), "[1, 1]"));
  ids[3] = -1;
  s = call();
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "-1"));
}
