// backends/cpu/mamba2_ssd: the chunked SSD against a double sequential reference (G > 1,
// odd P and N, optional dt_bias/D/z/state, the Δ clamp, x/B/C/dt/z strided slices of the
// projections), chunked == sequential steps for Q ∈ {1, 3, 4, 16, 256} and T ∈ {1, 7, 33},
// chunked prefill == one shot, and varlen == each row alone.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

namespace {

struct Mamba2Problem {
  int64_t B, T, H, P, G, N;
  std::vector<float> x, dt, dt_bias, A, Bm, Cm, D, z, state, y;  // optional ones empty when absent
  std::vector<int32_t> lengths;
  float dt_min = 0.0f, dt_max = std::numeric_limits<float>::infinity();
  int64_t Q = 256;

  Mamba2Problem(Rng& rng, int64_t B_, int64_t T_, int64_t H_, int64_t P_, int64_t G_, int64_t N_, bool full = true,
                bool with_state = true)
      : B(B_), T(T_), H(H_), P(P_), G(G_), N(N_) {
    x = randn(rng, B * T * H * P);
    dt = randn(rng, B * T * H, 0.5f);
    A.resize(static_cast<size_t>(H));
    for (float& a : A) a = -std::exp(rng.uniform(0.0f, std::log(16.0f)));  // A = −exp(A_log), A_log ~ U(0, log 16)
    Bm = randn(rng, B * T * G * N);
    Cm = randn(rng, B * T * G * N);
    if (full) {
      dt_bias = uniform(rng, H, -4.0f, -1.0f);  // Δ ≈ 0.02 … 0.3
      D = uniform(rng, H, 0.5f, 1.5f);
      z = randn(rng, B * T * H * P);
    } else {
      for (float& v : dt) v -= 2.0f;  // keep Δ realistic without a bias
    }
    if (with_state) state = randn(rng, B * H * P * N, 0.5f);
    y.assign(static_cast<size_t>(B * T * H * P), -9.0f);
  }

  // x, B, C as the three parts of one conv output xBC [B, T, H·P + 2·G·N]; dt and z as slices of
  // an in_proj output. NaN fills everything outside the views.
  Status call(CpuBackend& be, bool step) {
    const int64_t Di = H * P, GN = G * N;
    Embedded xs = embed_last(x, {B, T, Di}, 0, 2 * GN);
    Embedded bs = embed_last(Bm, {B, T, GN}, Di, GN), cs = embed_last(Cm, {B, T, GN}, Di + GN, 0);
    Embedded dts = embed_last(dt, {B, T, H}, 2 * Di + 2 * GN, 0);
    Embedded zs = z.empty() ? Embedded() : embed_last(z, {B, T, Di}, 0, Di + 2 * GN + H);
    Mamba2SsdArgs a;
    a.x = xs.view.split_last(H, P);
    a.dt = dts.view;
    if (!dt_bias.empty()) a.dt_bias = f32_view(dt_bias, {H});
    a.A = f32_view(A, {H});
    a.Bm = bs.view.split_last(G, N);
    a.Cm = cs.view.split_last(G, N);
    if (!D.empty()) a.D = f32_view(D, {H});
    if (!z.empty()) a.z = zs.view.split_last(H, P);
    if (!state.empty()) a.state = f32_view(state, {B, H, P, N});
    if (!lengths.empty()) a.lengths = i32_view(lengths, {B});
    a.y = f32_view(y, {B, T, H, P});
    a.dt_min = dt_min;
    a.dt_max = dt_max;
    a.chunk_size = Q;
    return step ? run_mamba2_step(be, a) : run_mamba2_ssd(be, a);
  }

  std::vector<int64_t> n() const {
    std::vector<int64_t> r(static_cast<size_t>(B), T);
    for (size_t b = 0; b < lengths.size(); ++b) r[b] = lengths[b];
    return r;
  }

  // The sequential recurrence of the contract header, in double. Returns y; `state_out` gets S.
  std::vector<double> reference(const std::vector<float>& state0, std::vector<double>& state_out) const {
    std::vector<double> yr(static_cast<size_t>(B * T * H * P), 0.0);
    state_out.assign(static_cast<size_t>(B * H * P * N), 0.0);
    const auto nn = n();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / (H / G);
        std::vector<double> S(static_cast<size_t>(P * N), 0.0);
        if (!state0.empty())
          for (int64_t e = 0; e < P * N; ++e) S[e] = state0[(b * H + h) * P * N + e];
        for (int64_t t = 0; t < nn[b]; ++t) {
          double delta = softplus_ref(dt[(b * T + t) * H + h] + (dt_bias.empty() ? 0.0 : dt_bias[h]));
          delta = std::min(std::max(delta, static_cast<double>(dt_min)), static_cast<double>(dt_max));
          const double dA = std::exp(delta * A[h]);
          const float* Bt = &Bm[((b * T + t) * G + g) * N];
          const float* Ct = &Cm[((b * T + t) * G + g) * N];
          for (int64_t p = 0; p < P; ++p) {
            const int64_t i = ((b * T + t) * H + h) * P + p;
            double acc = 0.0;
            for (int64_t s = 0; s < N; ++s) {
              S[p * N + s] = dA * S[p * N + s] + delta * Bt[s] * x[i];
              acc += S[p * N + s] * Ct[s];
            }
            if (!D.empty()) acc += D[h] * static_cast<double>(x[i]);
            if (!z.empty()) acc *= silu_ref(z[i]);
            yr[i] = acc;
          }
        }
        for (int64_t e = 0; e < P * N; ++e) state_out[(b * H + h) * P * N + e] = S[e];
      }
    return yr;
  }

  // Tokens [t0, t0 + len) as a new problem sharing weights and the current state.
  Mamba2Problem tokens(int64_t t0, int64_t len) const {
    Mamba2Problem p = *this;
    p.T = len;
    auto cut = [&](const std::vector<float>& v, int64_t inner) {
      if (v.empty()) return v;
      std::vector<float> out(static_cast<size_t>(B * len * inner));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < len; ++t)
          for (int64_t e = 0; e < inner; ++e) out[(b * len + t) * inner + e] = v[(b * T + t0 + t) * inner + e];
      return out;
    };
    p.x = cut(x, H * P);
    p.z = cut(z, H * P);
    p.y = cut(y, H * P);
    p.dt = cut(dt, H);
    p.Bm = cut(Bm, G * N);
    p.Cm = cut(Cm, G * N);
    p.lengths.clear();
    return p;
  }
  // Row b as a batch of one.
  Mamba2Problem row(int64_t b) const {
    Mamba2Problem p = *this;
    p.B = 1;
    p.x = rows_slice(x, T * H * P, b, 1);
    if (!z.empty()) p.z = rows_slice(z, T * H * P, b, 1);
    p.y = rows_slice(y, T * H * P, b, 1);
    p.dt = rows_slice(dt, T * H, b, 1);
    p.Bm = rows_slice(Bm, T * G * N, b, 1);
    p.Cm = rows_slice(Cm, T * G * N, b, 1);
    if (!state.empty()) p.state = rows_slice(state, H * P * N, b, 1);
    p.lengths.clear();
    return p;
  }
  // T calls of mamba2_step from the current state; returns y [B, T, H, P] and leaves the state.
  std::vector<float> run_steps(CpuBackend& be) {
    std::vector<float> ys(static_cast<size_t>(B * T * H * P));
    for (int64_t t = 0; t < T; ++t) {
      Mamba2Problem one = tokens(t, 1);
      require_ok(one.call(be, true));
      state = one.state;
      for (int64_t b = 0; b < B; ++b)
        std::copy_n(one.y.begin() + b * H * P, H * P, ys.begin() + (b * T + t) * H * P);
    }
    return ys;
  }
};

}  // namespace

TEST_CASE("mamba2_ssd (chunked) matches the double sequential reference") {
  Rng rng = seeded(601);
  CpuBackend best;
  CpuBackend naive(CpuOptions{GemmImpl::naive});
  struct Case { int64_t B, T, H, P, G, N, Q; };
  const Case cases[] = {{2, 33, 4, 6, 2, 5, 16}, {1, 7, 3, 8, 1, 16, 4}, {2, 1, 2, 4, 2, 3, 256},
                        {1, 40, 6, 5, 3, 24, 8}, {3, 10, 2, 12, 1, 7, 3}};
  for (const Case& c : cases)
    for (bool full : {true, false})
      for (bool with_state : {true, false})
        for (bool clamp : {false, true}) {
          CAPTURE(c.B);
          CAPTURE(c.T);
          CAPTURE(c.H);
          CAPTURE(c.P);
          CAPTURE(c.G);
          CAPTURE(c.N);
          CAPTURE(c.Q);
          CAPTURE(full);
          CAPTURE(with_state);
          CAPTURE(clamp);
          Mamba2Problem pr(rng, c.B, c.T, c.H, c.P, c.G, c.N, full, with_state);
          pr.Q = c.Q;
          if (clamp) {
            pr.dt_min = 0.05f;
            pr.dt_max = 0.15f;
          }
          std::vector<double> state_want;
          const std::vector<double> y_want = pr.reference(pr.state, state_want);
          for (CpuBackend* be : {&best, &naive}) {
            CAPTURE(gemm_impl_name(be->options().gemm));
            Mamba2Problem run = pr;
            require_ok(run.call(*be, false));
            check_close(run.y, to_float(y_want), kRelL2F32, "mamba2 y");
            if (with_state) check_close(run.state, to_float(state_want), kRelL2F32, "mamba2 state");
          }
        }
}

TEST_CASE("mamba2: chunked form equals the sequential step form for every chunk size") {
  Rng rng = seeded(602);
  CpuBackend be;
  for (int64_t T : {1, 7, 33})
    for (int64_t Q : {1, 3, 4, 16, 256}) {
      CAPTURE(T);
      CAPTURE(Q);
      Mamba2Problem chunked(rng, 2, T, 4, 6, 2, 5, true, true);
      chunked.Q = Q;
      Mamba2Problem seq = chunked;
      require_ok(chunked.call(be, false));
      const std::vector<float> y_seq = seq.run_steps(be);
      check_close(chunked.y, y_seq, kRelL2F32, "chunked vs steps: y");
      check_close(chunked.state, seq.state, kRelL2F32, "chunked vs steps: state");
    }
}

TEST_CASE("mamba2 chunked prefill (T1 then T2 with the state carried) equals one shot") {
  Rng rng = seeded(603);
  CpuBackend be;
  for (int64_t T1 : {1, 5, 8, 20}) {
    CAPTURE(T1);
    Mamba2Problem full(rng, 2, 21, 4, 5, 2, 7, true, true);
    full.Q = 4;  // T1 falls inside and on chunk boundaries
    Mamba2Problem first = full.tokens(0, T1), second = full.tokens(T1, full.T - T1);
    require_ok(full.call(be, false));
    require_ok(first.call(be, false));
    second.state = first.state;
    require_ok(second.call(be, false));
    check_close(first.y, full.tokens(0, T1).y, kRelL2F32, "first chunk");
    check_close(second.y, full.tokens(T1, full.T - T1).y, kRelL2F32, "second chunk");
    check_close(second.state, full.state, kRelL2F32, "state");
  }
}

TEST_CASE("mamba2 varlen: each row equals the row alone; padding outputs are zero and never reach the state") {
  Rng rng = seeded(604);
  CpuBackend be;
  Mamba2Problem batch(rng, 4, 13, 4, 3, 2, 6, true, true);
  batch.Q = 4;
  batch.lengths = {13, 6, 0, 9};
  const Mamba2Problem before = batch;
  require_ok(batch.call(be, false));
  std::vector<double> state_want;
  const std::vector<double> y_want = before.reference(before.state, state_want);
  check_close(batch.y, to_float(y_want), kRelL2F32, "batch vs reference");
  check_close(batch.state, to_float(state_want), kRelL2F32, "batch state vs reference");
  const int64_t row_y = batch.H * batch.P, row_s = batch.H * batch.P * batch.N;
  for (int64_t b = 0; b < batch.B; ++b) {
    CAPTURE(b);
    const int64_t n = batch.lengths[b];
    for (int64_t e = n * row_y; e < batch.T * row_y; ++e) REQUIRE(batch.y[b * batch.T * row_y + e] == 0.0f);
    if (n == 0) {
      CHECK(rows_slice(batch.state, row_s, b, 1) == rows_slice(before.state, row_s, b, 1));
      continue;
    }
    Mamba2Problem alone = before.row(b).tokens(0, n);
    require_ok(alone.call(be, false));
    check_close(alone.y, batch.row(b).tokens(0, n).y, kRelL2F32, "row alone");
    check_close(alone.state, rows_slice(batch.state, row_s, b, 1), kRelL2F32, "row state");
  }
}

TEST_CASE("mamba2: an absent state equals a zero state") {
  Rng rng = seeded(605);
  CpuBackend be;
  Mamba2Problem none(rng, 2, 9, 2, 4, 1, 5, true, false);
  none.Q = 4;
  Mamba2Problem zero = none;
  zero.state.assign(static_cast<size_t>(2 * 2 * 4 * 5), 0.0f);
  require_ok(none.call(be, false));
  require_ok(zero.call(be, false));
  CHECK(none.y == zero.y);
}
