// backends/cpu/mamba1_scan: the selective scan against a double reference (optional dt_bias,
// D, z, state; softplus on/off and across PyTorch's threshold 20; x, z, B, C strided slices),
// scan == T steps, chunked == one-shot with the state carried, varlen == each row alone.
#include <vector>

#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

namespace {

struct ScanRef {
  std::vector<double> y;      // [B, T, Di]
  std::vector<double> state;  // [B, Di, N]
};

struct Mamba1Problem {
  int64_t B, T, Di, N;
  std::vector<float> x, dt, dt_bias, A, Bm, Cm, D, z, state, y;  // optional ones empty when absent
  std::vector<int32_t> lengths;
  bool dt_softplus = true;

  Mamba1Problem(Rng& rng, int64_t B_, int64_t T_, int64_t Di_, int64_t N_, bool full = true, bool with_state = true)
      : B(B_), T(T_), Di(Di_), N(N_) {
    x = randn(rng, B * T * Di);
    dt = randn(rng, B * T * Di, 0.5f);
    A.resize(static_cast<size_t>(Di * N));
    for (int64_t d = 0; d < Di; ++d)  // S4D-real init −(n + 1), jittered
      for (int64_t n = 0; n < N; ++n) A[d * N + n] = -static_cast<float>(n + 1) * rng.uniform(0.8f, 1.2f);
    Bm = randn(rng, B * T * N);
    Cm = randn(rng, B * T * N);
    if (full) {
      dt_bias = uniform(rng, Di, -4.0f, -1.0f);  // Δ ≈ softplus(−4 … −1) ≈ 0.02 … 0.3
      D = uniform(rng, Di, 0.5f, 1.5f);
      z = randn(rng, B * T * Di);
    }
    if (with_state) state = randn(rng, B * Di * N, 0.5f);
    y.assign(static_cast<size_t>(B * T * Di), -9.0f);
  }

  // x and z as the two halves of an in_proj output [B, T, 2·Di]; B and C as slices of an
  // x_proj output [B, T, R + 2N] with R = 3; NaN everywhere outside the views.
  Status call(CpuBackend& be, bool step) {
    Embedded xs = embed_last(x, {B, T, Di}, 0, Di), dts = embed_last(dt, {B, T, Di}, 1, 0);
    Embedded bs = embed_last(Bm, {B, T, N}, 3, N), cs = embed_last(Cm, {B, T, N}, 3 + N, 0);
    Embedded zs = z.empty() ? Embedded() : embed_last(z, {B, T, Di}, Di, 0);
    Mamba1ScanArgs a;
    a.x = xs.view;
    a.dt = dts.view;
    if (!dt_bias.empty()) a.dt_bias = f32_view(dt_bias, {Di});
    a.A = f32_view(A, {Di, N});
    a.Bm = bs.view;
    a.Cm = cs.view;
    if (!D.empty()) a.D = f32_view(D, {Di});
    if (!z.empty()) a.z = zs.view;
    if (!state.empty()) a.state = f32_view(state, {B, Di, N});
    if (!lengths.empty()) a.lengths = i32_view(lengths, {B});
    a.y = f32_view(y, {B, T, Di});
    a.dt_softplus = dt_softplus;
    return step ? run_mamba1_step(be, a) : run_mamba1_scan(be, a);
  }

  std::vector<int64_t> n() const {
    std::vector<int64_t> r(static_cast<size_t>(B), T);
    for (size_t b = 0; b < lengths.size(); ++b) r[b] = lengths[b];
    return r;
  }

  // The recurrence of the contract header, in double, from `state0` (empty: zero).
  ScanRef reference(const std::vector<float>& state0) const {
    ScanRef r;
    r.y.assign(static_cast<size_t>(B * T * Di), 0.0);
    r.state.assign(static_cast<size_t>(B * Di * N), 0.0);
    const auto nn = n();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < Di; ++d) {
        std::vector<double> h(static_cast<size_t>(N), 0.0);
        if (!state0.empty())
          for (int64_t s = 0; s < N; ++s) h[s] = state0[(b * Di + d) * N + s];
        for (int64_t t = 0; t < nn[b]; ++t) {
          const int64_t i = (b * T + t) * Di + d;
          double delta = dt[i] + (dt_bias.empty() ? 0.0 : dt_bias[d]);
          if (dt_softplus) delta = softplus_ref(delta);
          double acc = 0.0;
          for (int64_t s = 0; s < N; ++s) {
            h[s] = std::exp(delta * A[d * N + s]) * h[s] + delta * Bm[(b * T + t) * N + s] * x[i];
            acc += h[s] * Cm[(b * T + t) * N + s];
          }
          if (!D.empty()) acc += D[d] * static_cast<double>(x[i]);
          if (!z.empty()) acc *= silu_ref(z[i]);
          r.y[i] = acc;
        }
        for (int64_t s = 0; s < N; ++s) r.state[(b * Di + d) * N + s] = h[s];
      }
    return r;
  }

  // Tokens [t0, t0 + len) of this problem as a new problem sharing weights and the state.
  Mamba1Problem tokens(int64_t t0, int64_t len) const {
    Mamba1Problem p = *this;
    p.T = len;
    auto cut = [&](const std::vector<float>& v, int64_t inner) {
      if (v.empty()) return v;
      std::vector<float> out(static_cast<size_t>(B * len * inner));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < len; ++t)
          for (int64_t e = 0; e < inner; ++e) out[(b * len + t) * inner + e] = v[(b * T + t0 + t) * inner + e];
      return out;
    };
    p.x = cut(x, Di);
    p.dt = cut(dt, Di);
    p.z = cut(z, Di);
    p.Bm = cut(Bm, N);
    p.Cm = cut(Cm, N);
    p.y = cut(y, Di);
    p.lengths.clear();
    return p;
  }
  // Row b as a batch of one.
  Mamba1Problem row(int64_t b) const {
    Mamba1Problem p = *this;
    p.B = 1;
    p.x = rows_slice(x, T * Di, b, 1);
    p.dt = rows_slice(dt, T * Di, b, 1);
    if (!z.empty()) p.z = rows_slice(z, T * Di, b, 1);
    p.Bm = rows_slice(Bm, T * N, b, 1);
    p.Cm = rows_slice(Cm, T * N, b, 1);
    if (!state.empty()) p.state = rows_slice(state, Di * N, b, 1);
    p.y = rows_slice(y, T * Di, b, 1);
    p.lengths.clear();
    return p;
  }
};

}  // namespace

TEST_CASE("mamba1_scan matches the double reference (optional inputs, initial state, odd sizes)") {
  Rng rng = seeded(501);
  CpuBackend be;
  struct Case { int64_t B, T, Di, N; };
  for (const Case& c : {Case{2, 9, 12, 16}, Case{1, 1, 5, 7}, Case{3, 17, 8, 3}, Case{1, 40, 6, 16}})
    for (bool full : {true, false})
      for (bool with_state : {true, false})
        for (bool dt_softplus : {true, false}) {
          CAPTURE(c.B);
          CAPTURE(c.T);
          CAPTURE(c.Di);
          CAPTURE(c.N);
          CAPTURE(full);
          CAPTURE(with_state);
          CAPTURE(dt_softplus);
          Mamba1Problem pr(rng, c.B, c.T, c.Di, c.N, full, with_state);
          pr.dt_softplus = dt_softplus;
          if (!dt_softplus) {  // the caller applied softplus already: Δ = dt + dt_bias must be positive
            for (float& v : pr.dt) v = 0.01f + 0.2f * std::fabs(v);
            for (float& v : pr.dt_bias) v = 0.05f * std::fabs(v);
          }
          const std::vector<float> state0 = pr.state;
          require_ok(pr.call(be, false));
          const ScanRef want = pr.reference(state0);
          check_close(pr.y, to_float(want.y), kRelL2F32, "mamba1 y");
          if (with_state) check_close(pr.state, to_float(want.state), kRelL2F32, "mamba1 state");
        }
}

TEST_CASE("mamba1_scan: softplus passes through above PyTorch's threshold 20") {
  Rng rng = seeded(502);
  CpuBackend be;
  Mamba1Problem pr(rng, 2, 6, 4, 5, true, true);
  pr.dt_bias.assign(pr.dt_bias.size(), 0.0f);
  pr.dt = uniform(rng, static_cast<int64_t>(pr.dt.size()), 18.0f, 22.0f);  // both sides of 20
  const std::vector<float> state0 = pr.state;
  require_ok(pr.call(be, false));
  const ScanRef want = pr.reference(state0);
  check_close(pr.y, to_float(want.y), kRelL2F32, "mamba1 y, large dt");
}

TEST_CASE("mamba1: an absent state equals a zero state, and a nonzero state changes the output") {
  Rng rng = seeded(503);
  CpuBackend be;
  Mamba1Problem none(rng, 2, 5, 6, 4, true, false);
  Mamba1Problem zero = none, warm = none;
  zero.state.assign(static_cast<size_t>(2 * 6 * 4), 0.0f);
  warm.state = randn(rng, 2 * 6 * 4);
  require_ok(none.call(be, false));
  require_ok(zero.call(be, false));
  require_ok(warm.call(be, false));
  CHECK(none.y == zero.y);
  CHECK(compare(warm.y.data(), zero.y.data(), static_cast<int64_t>(warm.y.size())).rel_l2 > 1e-3);
}

TEST_CASE("mamba1_scan over T tokens equals T calls of mamba1_step (outputs and final state)") {
  Rng rng = seeded(504);
  CpuBackend be;
  for (bool full : {true, false}) {
    CAPTURE(full);
    Mamba1Problem scan(rng, 3, 11, 10, 16, full, true);
    Mamba1Problem steps = scan;
    require_ok(scan.call(be, false));
    std::vector<float> y_steps(scan.y.size());
    for (int64_t t = 0; t < scan.T; ++t) {
      Mamba1Problem one = steps.tokens(t, 1);
      require_ok(one.call(be, true));
      steps.state = one.state;
      for (int64_t b = 0; b < scan.B; ++b)
        for (int64_t d = 0; d < scan.Di; ++d) y_steps[(b * scan.T + t) * scan.Di + d] = one.y[b * scan.Di + d];
    }
    check_close(y_steps, scan.y, kRelL2F32, "steps vs scan");
    check_close(steps.state, scan.state, kRelL2F32, "state");
  }
}

TEST_CASE("mamba1 chunked prefill (T1 then T2 with the state carried) equals one shot") {
  Rng rng = seeded(505);
  CpuBackend be;
  for (int64_t T1 : {1, 6, 12}) {
    CAPTURE(T1);
    Mamba1Problem full(rng, 2, 13, 7, 9, true, true);
    Mamba1Problem first = full.tokens(0, T1), second = full.tokens(T1, full.T - T1);
    require_ok(full.call(be, false));
    require_ok(first.call(be, false));
    second.state = first.state;
    require_ok(second.call(be, false));
    check_close(first.y, full.tokens(0, T1).y, kRelL2F32, "first chunk");
    check_close(second.y, full.tokens(T1, full.T - T1).y, kRelL2F32, "second chunk");
    check_close(second.state, full.state, kRelL2F32, "state");
  }
}

TEST_CASE("mamba1 varlen: each row equals the row alone; padding outputs are zero and never reach the state") {
  Rng rng = seeded(506);
  CpuBackend be;
  Mamba1Problem batch(rng, 4, 9, 6, 5, true, true);
  batch.lengths = {9, 4, 0, 1};
  const Mamba1Problem before = batch;
  require_ok(batch.call(be, false));
  for (int64_t b = 0; b < batch.B; ++b) {
    CAPTURE(b);
    const int64_t n = batch.lengths[b];
    for (int64_t t = n; t < batch.T; ++t)
      for (int64_t d = 0; d < batch.Di; ++d) REQUIRE(batch.y[(b * batch.T + t) * batch.Di + d] == 0.0f);
    const std::vector<float> row_state = rows_slice(batch.state, batch.Di * batch.N, b, 1);
    if (n == 0) {
      CHECK(row_state == rows_slice(before.state, batch.Di * batch.N, b, 1));
      continue;
    }
    Mamba1Problem alone = before.row(b).tokens(0, n);
    require_ok(alone.call(be, false));
    check_close(alone.y, batch.row(b).tokens(0, n).y, kRelL2F32, "row alone");
    check_close(alone.state, row_state, kRelL2F32, "row state");
  }
}
