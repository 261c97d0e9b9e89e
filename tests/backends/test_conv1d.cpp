// backends/cpu/conv1d: the causal depthwise conv against a double reference (K = 2, 3, 4,
// with/without bias, state and SiLU, x a strided channel slice), forward == T steps,
// chunked == one-shot with the state carried, and varlen == each row alone.
#include <vector>

#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

namespace {

struct ConvRef {
  std::vector<double> y;      // [B, T, C]
  std::vector<double> state;  // [B, K−1, C]
};

// u = (state0 or zeros) ++ x[b, 0 … n[b]); y[t] = act(bias + Σ_j w[c, j]·u[t + j]); state = last K−1 of u.
ConvRef conv1d_ref(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& bias,
                   const std::vector<float>& state0, const std::vector<int64_t>& n, int64_t B, int64_t T, int64_t C,
                   int64_t K, bool silu) {
  ConvRef r;
  r.y.assign(static_cast<size_t>(B * T * C), 0.0);
  r.state.assign(static_cast<size_t>(B * (K - 1) * C), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      std::vector<double> u;
      for (int64_t i = 0; i < K - 1; ++i) u.push_back(state0.empty() ? 0.0 : state0[(b * (K - 1) + i) * C + c]);
      for (int64_t t = 0; t < n[b]; ++t) u.push_back(x[(b * T + t) * C + c]);
      for (int64_t t = 0; t < n[b]; ++t) {
        double acc = bias.empty() ? 0.0 : bias[c];
        for (int64_t j = 0; j < K; ++j) acc += w[c * K + j] * u[t + j];
        r.y[(b * T + t) * C + c] = silu ? silu_ref(acc) : acc;
      }
      for (int64_t i = 0; i < K - 1; ++i) r.state[(b * (K - 1) + i) * C + c] = u[u.size() - (K - 1) + i];
    }
  return r;
}

struct ConvProblem {
  int64_t B, T, C, K;
  std::vector<float> x, w, bias, state, y;  // bias/state empty: absent
  std::vector<int32_t> lengths;             // empty: absent
  bool silu = true;

  ConvProblem(Rng& rng, int64_t B_, int64_t T_, int64_t C_, int64_t K_, bool with_bias, bool with_state)
      : B(B_), T(T_), C(C_), K(K_) {
    x = randn(rng, B * T * C);
    w = randn(rng, C * K, 0.5f);
    if (with_bias) bias = randn(rng, C, 0.3f);
    if (with_state) state = randn(rng, B * (K - 1) * C);
    y.assign(static_cast<size_t>(B * T * C), -9.0f);
  }
  // x is passed as channels [2, 2 + C) of a NaN-padded [B, T, C + 3] buffer.
  Conv1dArgs args(Embedded& xs) {
    xs = embed_last(x, {B, T, C}, 2, 1);
    Conv1dArgs a;
    a.x = xs.view;
    a.w = f32_view(w, {C, K});
    if (!bias.empty()) a.bias = f32_view(bias, {C});
    if (!state.empty()) a.state = f32_view(state, {B, K - 1, C});
    if (!lengths.empty()) a.lengths = i32_view(lengths, {B});
    a.y = f32_view(y, {B, T, C});
    a.silu = silu;
    return a;
  }
  Status run(CpuBackend& be) {
    Embedded xs;
    return run_conv1d(be, args(xs));
  }
  Status step(CpuBackend& be) {
    Embedded xs;
    return run_conv1d_step(be, args(xs));
  }
  std::vector<int64_t> n() const {
    std::vector<int64_t> r(static_cast<size_t>(B), T);
    for (size_t b = 0; b < lengths.size(); ++b) r[b] = lengths[b];
    return r;
  }
};

// Tokens [t0, t0 + len) of a [B, T, C] buffer.
std::vector<float> tokens(const std::vector<float>& v, int64_t B, int64_t T, int64_t C, int64_t t0, int64_t len) {
  std::vector<float> out(static_cast<size_t>(B * len * C));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < len; ++t)
      for (int64_t c = 0; c < C; ++c) out[(b * len + t) * C + c] = v[(b * T + t0 + t) * C + c];
  return out;
}

}  // namespace

TEST_CASE("conv1d matches the double reference for K = 2, 3, 4 with and without bias, state and SiLU") {
  Rng rng = seeded(401);
  CpuBackend be;
  for (int64_t K : {2, 3, 4})
    for (bool with_bias : {false, true})
      for (bool with_state : {false, true})
        for (bool silu : {true, false}) {
          CAPTURE(K);
          CAPTURE(with_bias);
          CAPTURE(with_state);
          CAPTURE(silu);
          ConvProblem pr(rng, 2, 9, 13, K, with_bias, with_state);
          pr.silu = silu;
          const std::vector<float> state0 = pr.state;
          require_ok(pr.run(be));
          const ConvRef want = conv1d_ref(pr.x, pr.w, pr.bias, state0, pr.n(), pr.B, pr.T, pr.C, K, silu);
          check_close(pr.y, to_float(want.y), kRelL2F32, "conv1d y");
          if (with_state) check_close(pr.state, to_float(want.state), kRelL2F32, "conv1d state");
        }
}

TEST_CASE("conv1d: T shorter than K−1 shifts the old state correctly") {
  Rng rng = seeded(402);
  CpuBackend be;
  for (int64_t T : {1, 2}) {
    ConvProblem pr(rng, 2, T, 5, 4, true, true);
    const std::vector<float> state0 = pr.state;
    require_ok(pr.run(be));
    const ConvRef want = conv1d_ref(pr.x, pr.w, pr.bias, state0, pr.n(), pr.B, pr.T, pr.C, pr.K, true);
    check_close(pr.y, to_float(want.y), kRelL2F32, "y");
    CHECK(pr.state == to_float(want.state));  // a pure data move: exact
  }
}

TEST_CASE("conv1d forward over T tokens equals T calls of conv1d_step (outputs and final state)") {
  Rng rng = seeded(403);
  CpuBackend be;
  for (int64_t K : {2, 3, 4}) {
    CAPTURE(K);
    const int64_t B = 3, T = 10, C = 7;
    ConvProblem full(rng, B, T, C, K, true, true);
    ConvProblem step(rng, B, 1, C, K, true, false);
    step.w = full.w;
    step.bias = full.bias;
    step.state = full.state;
    require_ok(full.run(be));
    std::vector<float> y_steps(full.y.size());
    for (int64_t t = 0; t < T; ++t) {
      step.x = tokens(full.x, B, T, C, t, 1);
      require_ok(step.step(be));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c) y_steps[(b * T + t) * C + c] = step.y[b * C + c];
    }
    check_close(y_steps, full.y, kRelL2F32, "steps vs forward");
    CHECK(step.state == full.state);
  }
}

TEST_CASE("conv1d chunked prefill (T1 then T2 with the state carried) equals one shot") {
  Rng rng = seeded(404);
  CpuBackend be;
  const int64_t B = 2, T = 12, C = 6, K = 4;
  for (int64_t T1 : {1, 2, 5, 11}) {
    CAPTURE(T1);
    ConvProblem full(rng, B, T, C, K, true, true);
    ConvProblem first(rng, B, T1, C, K, true, false), second(rng, B, T - T1, C, K, true, false);
    first.w = second.w = full.w;
    first.bias = second.bias = full.bias;
    first.state = full.state;
    first.x = tokens(full.x, B, T, C, 0, T1);
    second.x = tokens(full.x, B, T, C, T1, T - T1);
    require_ok(full.run(be));
    require_ok(first.run(be));
    second.state = first.state;
    require_ok(second.run(be));
    check_close(first.y, tokens(full.y, B, T, C, 0, T1), kRelL2F32, "first chunk");
    check_close(second.y, tokens(full.y, B, T, C, T1, T - T1), kRelL2F32, "second chunk");
    CHECK(second.state == full.state);
  }
}

TEST_CASE("conv1d varlen: each row equals the row alone; padding outputs are zero and never reach the state") {
  Rng rng = seeded(405);
  CpuBackend be;
  const int64_t B = 4, T = 7, C = 5, K = 3;
  ConvProblem batch(rng, B, T, C, K, true, true);
  batch.lengths = {7, 2, 0, 1};
  const std::vector<float> state0 = batch.state;
  require_ok(batch.run(be));
  const ConvRef want = conv1d_ref(batch.x, batch.w, batch.bias, state0, batch.n(), B, T, C, K, true);
  check_close(batch.y, to_float(want.y), kRelL2F32, "batch vs reference");
  for (int64_t b = 0; b < B; ++b) {
    CAPTURE(b);
    const int64_t n = batch.lengths[b];
    for (int64_t t = n; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) REQUIRE(batch.y[(b * T + t) * C + c] == 0.0f);
    const std::vector<float> row_state = rows_slice(batch.state, (K - 1) * C, b, 1);
    if (n == 0) {
      CHECK(row_state == rows_slice(state0, (K - 1) * C, b, 1));
      continue;
    }
    ConvProblem row(rng, 1, n, C, K, true, false);
    row.w = batch.w;
    row.bias = batch.bias;
    row.state = rows_slice(state0, (K - 1) * C, b, 1);
    row.x = tokens(rows_slice(batch.x, T * C, b, 1), 1, T, C, 0, n);
    require_ok(row.run(be));
    CHECK(row.y == tokens(rows_slice(batch.y, T * C, b, 1), 1, T, C, 0, n));
    CHECK(row.state == row_state);
  }
}

TEST_CASE("conv1d refuses lengths outside [0, T]") {
  Rng rng = seeded(406);
  CpuBackend be;
  ConvProblem pr(rng, 2, 4, 3, 3, false, true);
  pr.lengths = {4, 5};
  const Status s = pr.run(be);
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "lengths[1] = 5"));
}
