// backends/cpu/attention: causal GQA against a double reference (with and without a KV cache,
// strided q/k/v slices of one fused projection), prefill == T decode steps, chunked prefill ==
// one-shot, varlen == each row alone, and the data checks (cache overflow, bad lengths).
#include <algorithm>
#include <cmath>
#include <vector>

#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

namespace {

struct AttnShape {
  int64_t B, T, Hq, Hkv, P;
};

// o[b, t, i] for t < n[b]: softmax over τ ≤ past[b] + t of scale·q·keys[b, τ, j], in double.
// keys/values are [B, Sk, Hkv, P] and already hold the new tokens at past[b] … past[b]+n[b]−1.
std::vector<double> attention_ref(const AttnShape& s, int64_t Sk, const std::vector<float>& q, const std::vector<float>& keys,
                                  const std::vector<float>& values, const std::vector<int64_t>& past,
                                  const std::vector<int64_t>& n, double scale) {
  const int64_t group = s.Hq / s.Hkv;
  std::vector<double> o(static_cast<size_t>(s.B * s.T * s.Hq * s.P), 0.0);
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t t = 0; t < n[b]; ++t)
      for (int64_t i = 0; i < s.Hq; ++i) {
        const int64_t j = i / group, visible = past[b] + t + 1;
        std::vector<double> sc(static_cast<size_t>(visible));
        double mx = -1e300;
        for (int64_t tau = 0; tau < visible; ++tau) {
          double dot = 0.0;
          for (int64_t p = 0; p < s.P; ++p)
            dot += static_cast<double>(q[((b * s.T + t) * s.Hq + i) * s.P + p]) * keys[((b * Sk + tau) * s.Hkv + j) * s.P + p];
          sc[tau] = dot * scale;
          mx = std::max(mx, sc[tau]);
        }
        double sum = 0.0;
        for (double& e : sc) sum += (e = std::exp(e - mx));
        for (int64_t p = 0; p < s.P; ++p) {
          double acc = 0.0;
          for (int64_t tau = 0; tau < visible; ++tau) acc += sc[tau] / sum * values[((b * Sk + tau) * s.Hkv + j) * s.P + p];
          o[((b * s.T + t) * s.Hq + i) * s.P + p] = acc;
        }
      }
  return o;
}

// Tokens [t0, t0 + len) of every row of a contiguous [B, T, inner] buffer, as [B, len, inner].
std::vector<float> slice_tokens(const std::vector<float>& v, int64_t B, int64_t T, int64_t inner, int64_t t0, int64_t len) {
  std::vector<float> out(static_cast<size_t>(B * len * inner));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < len; ++t)
      for (int64_t e = 0; e < inner; ++e) out[(b * len + t) * inner + e] = v[(b * T + t0 + t) * inner + e];
  return out;
}

// One attention problem in contiguous host storage, with an optional cache.
struct AttnProblem {
  AttnShape s;
  int64_t S = 0;  // cache capacity (0: no cache)
  std::vector<float> q, k, v, k_cache, v_cache, o;
  std::vector<int32_t> cache_len, lengths;  // empty: absent
  float scale = 0.0f;

  AttnProblem(Rng& rng, AttnShape shape, int64_t S_) : s(shape), S(S_) {
    q = randn(rng, s.B * s.T * s.Hq * s.P);
    k = randn(rng, s.B * s.T * s.Hkv * s.P);
    v = randn(rng, s.B * s.T * s.Hkv * s.P);
    o.assign(q.size(), -9.0f);
    if (S) {
      k_cache = randn(rng, s.B * S * s.Hkv * s.P);
      v_cache = randn(rng, s.B * S * s.Hkv * s.P);
      cache_len.assign(static_cast<size_t>(s.B), 0);
    }
  }
  Status run(CpuBackend& be) {
    AttentionArgs a;
    a.q = f32_view(q, {s.B, s.T, s.Hq, s.P});
    a.k = f32_view(k, {s.B, s.T, s.Hkv, s.P});
    a.v = f32_view(v, {s.B, s.T, s.Hkv, s.P});
    if (S) {
      a.k_cache = f32_view(k_cache, {s.B, S, s.Hkv, s.P});
      a.v_cache = f32_view(v_cache, {s.B, S, s.Hkv, s.P});
      a.cache_len = i32_view(cache_len, {s.B});
    }
    if (!lengths.empty()) a.lengths = i32_view(lengths, {s.B});
    a.o = f32_view(o, {s.B, s.T, s.Hq, s.P});
    a.scale = scale;
    return run_attention(be, a);
  }
  std::vector<int64_t> n() const {
    std::vector<int64_t> r(static_cast<size_t>(s.B), s.T);
    for (size_t b = 0; b < lengths.size(); ++b) r[b] = lengths[b];
    return r;
  }
  std::vector<int64_t> past() const {
    std::vector<int64_t> r(static_cast<size_t>(s.B), 0);
    for (size_t b = 0; b < cache_len.size(); ++b) r[b] = cache_len[b];
    return r;
  }
  // The cache as the contract says it must look after the call: new rows t < n written at past + t.
  void expected_caches(std::vector<float>& kc, std::vector<float>& vc) const {
    kc = k_cache;
    vc = v_cache;
    const int64_t row = s.Hkv * s.P;
    const auto nn = n(), pp = past();
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t t = 0; t < nn[b]; ++t)
        for (int64_t e = 0; e < row; ++e) {
          kc[(b * S + pp[b] + t) * row + e] = k[(b * s.T + t) * row + e];
          vc[(b * S + pp[b] + t) * row + e] = v[(b * s.T + t) * row + e];
        }
  }
};

void check_padding_zero(const std::vector<float>& o, const AttnShape& s, const std::vector<int64_t>& n) {
  const int64_t row = s.Hq * s.P;
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t t = n[b]; t < s.T; ++t)
      for (int64_t e = 0; e < row; ++e) REQUIRE(o[(b * s.T + t) * row + e] == 0.0f);
}

}  // namespace

TEST_CASE("attention without a cache: GQA, odd head dims, strided q/k/v from one fused projection") {
  Rng rng = seeded(301);
  CpuBackend be;
  const AttnShape shapes[] = {{2, 9, 4, 2, 24}, {1, 5, 3, 1, 5}, {2, 1, 2, 2, 16}, {3, 13, 6, 3, 40}, {1, 7, 4, 4, 12}};
  for (const AttnShape& s : shapes)
    for (bool varlen : {false, true})
      for (float scale : {0.0f, 0.3f}) {
        CAPTURE(s.B);
        CAPTURE(s.T);
        CAPTURE(s.Hq);
        CAPTURE(s.Hkv);
        CAPTURE(s.P);
        CAPTURE(varlen);
        CAPTURE(scale);
        // One fused [B, T, (Hq + 2·Hkv)·P] projection with NaN guard channels; q, k, v are slices.
        const int64_t W = (s.Hq + 2 * s.Hkv) * s.P;
        const std::vector<float> qkv = randn(rng, s.B * s.T * W);
        Embedded fused = embed_last(qkv, {s.B, s.T, W}, 1, 2);
        TensorView q = fused.view.narrow_last(0, s.Hq * s.P).split_last(s.Hq, s.P);
        TensorView k = fused.view.narrow_last(s.Hq * s.P, s.Hkv * s.P).split_last(s.Hkv, s.P);
        TensorView v = fused.view.narrow_last((s.Hq + s.Hkv) * s.P, s.Hkv * s.P).split_last(s.Hkv, s.P);
        std::vector<float> qr(static_cast<size_t>(s.B * s.T * s.Hq * s.P)), kr(static_cast<size_t>(s.B * s.T * s.Hkv * s.P)), vr(kr.size());
        for (int64_t m = 0; m < s.B * s.T; ++m) {
          for (int64_t e = 0; e < s.Hq * s.P; ++e) qr[m * s.Hq * s.P + e] = qkv[m * W + e];
          for (int64_t e = 0; e < s.Hkv * s.P; ++e) {
            kr[m * s.Hkv * s.P + e] = qkv[m * W + s.Hq * s.P + e];
            vr[m * s.Hkv * s.P + e] = qkv[m * W + (s.Hq + s.Hkv) * s.P + e];
          }
        }
        std::vector<int32_t> lengths(static_cast<size_t>(s.B));
        std::vector<int64_t> n(static_cast<size_t>(s.B), s.T);
        if (varlen)
          for (int64_t b = 0; b < s.B; ++b) n[b] = lengths[b] = static_cast<int32_t>(b == 0 ? s.T : rng.below(s.T + 1));
        std::vector<float> o(qr.size(), -9.0f);
        AttentionArgs a;
        a.q = q;
        a.k = k;
        a.v = v;
        a.lengths = varlen ? i32_view(lengths, {s.B}) : TensorView();
        a.o = f32_view(o, {s.B, s.T, s.Hq, s.P});
        a.scale = scale;
        require_ok(run_attention(be, a));
        const double sc = scale == 0.0f ? 1.0 / std::sqrt(static_cast<double>(s.P)) : scale;
        const std::vector<double> want =
            attention_ref(s, s.T, qr, kr, vr, std::vector<int64_t>(static_cast<size_t>(s.B), 0), n, sc);
        check_close(o, to_float(want), kRelL2F32, "attention");
        check_padding_zero(o, s, n);
      }
}

TEST_CASE("attention with a cache writes the new rows first and leaves the rest untouched") {
  Rng rng = seeded(302);
  CpuBackend be;
  const AttnShape s{3, 6, 6, 2, 20};
  AttnProblem pr(rng, s, 16);
  pr.cache_len = {0, 5, 10};
  pr.lengths = {6, 3, 0};
  std::vector<float> kc_want, vc_want;
  pr.expected_caches(kc_want, vc_want);
  require_ok(pr.run(be));
  CHECK(pr.k_cache == kc_want);
  CHECK(pr.v_cache == vc_want);
  const std::vector<double> want = attention_ref(s, pr.S, pr.q, kc_want, vc_want, pr.past(), pr.n(), 1.0 / std::sqrt(20.0));
  check_close(pr.o, to_float(want), kRelL2F32, "attention with cache");
  check_padding_zero(pr.o, s, pr.n());
}

TEST_CASE("attention: prefill of T tokens equals T one-token decode calls (outputs and cache)") {
  Rng rng = seeded(303);
  CpuBackend be;
  for (const AttnShape& s : {AttnShape{2, 7, 4, 2, 12}, AttnShape{1, 5, 3, 3, 7}}) {
    const int64_t S = 14;
    AttnProblem full(rng, s, S);
    full.cache_len = {0, 3};
    full.cache_len.resize(static_cast<size_t>(s.B));
    AttnProblem steps = AttnProblem(rng, {s.B, 1, s.Hq, s.Hkv, s.P}, S);
    steps.k_cache = full.k_cache;  // same starting cache
    steps.v_cache = full.v_cache;
    steps.cache_len = full.cache_len;
    require_ok(full.run(be));
    std::vector<float> o_steps(full.o.size());
    for (int64_t t = 0; t < s.T; ++t) {
      steps.q = slice_tokens(full.q, s.B, s.T, s.Hq * s.P, t, 1);
      steps.k = slice_tokens(full.k, s.B, s.T, s.Hkv * s.P, t, 1);
      steps.v = slice_tokens(full.v, s.B, s.T, s.Hkv * s.P, t, 1);
      require_ok(steps.run(be));
      for (int64_t b = 0; b < s.B; ++b) {
        std::copy_n(steps.o.begin() + b * s.Hq * s.P, s.Hq * s.P, o_steps.begin() + (b * s.T + t) * s.Hq * s.P);
        steps.cache_len[b] += 1;  // the caller advances the cache
      }
    }
    check_close(o_steps, full.o, kRelL2F32, "decode steps vs prefill");
    CHECK(steps.k_cache == full.k_cache);
    CHECK(steps.v_cache == full.v_cache);
  }
}

TEST_CASE("attention: chunked prefill (T1 then T2 tokens through the cache) equals one shot") {
  Rng rng = seeded(304);
  CpuBackend be;
  const AttnShape s{2, 11, 4, 1, 16};
  const int64_t S = 20;
  for (int64_t T1 : {int64_t{1}, int64_t{4}, int64_t{10}}) {
    CAPTURE(T1);
    const int64_t T2 = s.T - T1;
    AttnProblem full(rng, s, S);
    full.cache_len = {2, 0};
    AttnProblem a(rng, {s.B, T1, s.Hq, s.Hkv, s.P}, S), b(rng, {s.B, T2, s.Hq, s.Hkv, s.P}, S);
    a.k_cache = full.k_cache;
    a.v_cache = full.v_cache;
    a.cache_len = full.cache_len;
    a.q = slice_tokens(full.q, s.B, s.T, s.Hq * s.P, 0, T1);
    a.k = slice_tokens(full.k, s.B, s.T, s.Hkv * s.P, 0, T1);
    a.v = slice_tokens(full.v, s.B, s.T, s.Hkv * s.P, 0, T1);
    require_ok(a.run(be));
    b.k_cache = a.k_cache;
    b.v_cache = a.v_cache;
    b.cache_len = {static_cast<int32_t>(a.cache_len[0] + T1), static_cast<int32_t>(a.cache_len[1] + T1)};
    b.q = slice_tokens(full.q, s.B, s.T, s.Hq * s.P, T1, T2);
    b.k = slice_tokens(full.k, s.B, s.T, s.Hkv * s.P, T1, T2);
    b.v = slice_tokens(full.v, s.B, s.T, s.Hkv * s.P, T1, T2);
    require_ok(b.run(be));
    require_ok(full.run(be));
    check_close(a.o, slice_tokens(full.o, s.B, s.T, s.Hq * s.P, 0, T1), kRelL2F32, "first chunk");
    check_close(b.o, slice_tokens(full.o, s.B, s.T, s.Hq * s.P, T1, T2), kRelL2F32, "second chunk");
    CHECK(b.k_cache == full.k_cache);
    CHECK(b.v_cache == full.v_cache);
  }
}

TEST_CASE("attention varlen: each row of a padded batch equals that row run alone") {
  Rng rng = seeded(305);
  CpuBackend be;
  const AttnShape s{4, 8, 4, 2, 12};
  const int64_t S = 16;
  AttnProblem batch(rng, s, S);
  batch.cache_len = {0, 4, 1, 7};
  batch.lengths = {8, 3, 0, 5};
  const std::vector<float> kc0 = batch.k_cache, vc0 = batch.v_cache;
  require_ok(batch.run(be));
  check_padding_zero(batch.o, s, batch.n());
  for (int64_t b = 0; b < s.B; ++b) {
    CAPTURE(b);
    const int64_t n = batch.lengths[b];
    const int64_t cache_row = S * s.Hkv * s.P;
    if (n == 0) {  // nothing to run alone: the row's cache must be untouched
      CHECK(rows_slice(batch.k_cache, cache_row, b, 1) == rows_slice(kc0, cache_row, b, 1));
      continue;
    }
    AttnProblem row(rng, {1, n, s.Hq, s.Hkv, s.P}, S);
    row.q = slice_tokens(rows_slice(batch.q, s.T * s.Hq * s.P, b, 1), 1, s.T, s.Hq * s.P, 0, n);
    row.k = slice_tokens(rows_slice(batch.k, s.T * s.Hkv * s.P, b, 1), 1, s.T, s.Hkv * s.P, 0, n);
    row.v = slice_tokens(rows_slice(batch.v, s.T * s.Hkv * s.P, b, 1), 1, s.T, s.Hkv * s.P, 0, n);
    row.k_cache = rows_slice(kc0, cache_row, b, 1);
    row.v_cache = rows_slice(vc0, cache_row, b, 1);
    row.cache_len = {batch.cache_len[b]};
    require_ok(row.run(be));
    check_close(row.o, slice_tokens(rows_slice(batch.o, s.T * s.Hq * s.P, b, 1), 1, s.T, s.Hq * s.P, 0, n), kRelL2F32,
                "row alone");
    CHECK(row.k_cache == rows_slice(batch.k_cache, cache_row, b, 1));
    CHECK(row.v_cache == rows_slice(batch.v_cache, cache_row, b, 1));
  }
}

TEST_CASE("attention data checks: cache overflow, lengths outside [0, T], negative cache_len") {
  Rng rng = seeded(306);
  CpuBackend be;
  AttnProblem pr(rng, {2, 4, 2, 1, 8}, 6);
  pr.cache_len = {1, 3};  // 3 + 4 = 7 > 6
  Status s = pr.run(be);
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "row 1"));
  CHECK(contains(s.message(), "7"));
  pr.lengths = {4, 2};  // 3 + 2 fits now
  require_ok(pr.run(be));
  pr.lengths = {5, 2};
  s = pr.run(be);
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "lengths[0] = 5"));
  pr.lengths = {4, -1};
  s = pr.run(be);
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "-1"));
  pr.lengths = {1, 1};
  pr.cache_len = {-2, 0};
  s = pr.run(be);
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "-2"));
}
