// backends/cpu: memory, embedding, rmsnorm (plain, gated, grouped), linear, rotary, swiglu_mlp,
// add and copy, each against a naive double reference written here, on strided views where
// the contract allows them.
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

TEST_CASE("cpu memory: aligned allocation, upload/download, fill_zero, owning tensors") {
  CpuBackend be;
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{1000}}) {
    void* p = be.raw_alloc(bytes);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    be.raw_free(p);
  }
  Tensor t(be, {3, 5}, DType::f32);
  CHECK(t.backend() == &be);
  std::vector<float> host(15), back(15, -1.0f);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(i) + 0.5f;
  be.upload(t.ptr<float>(), host.data(), 15 * sizeof(float));
  be.download(back.data(), t.ptr<float>(), 15 * sizeof(float));
  CHECK(back == host);
  be.fill_zero(t);
  be.download(back.data(), t.ptr<float>(), 15 * sizeof(float));
  CHECK(back == std::vector<float>(15, 0.0f));
}

TEST_CASE("embedding gathers table rows for i32 and i64 ids") {
  Rng rng = seeded(201);
  CpuBackend be;
  const int64_t B = 2, T = 5, V = 11, D = 7;
  std::vector<float> table = randn(rng, V * D), out(static_cast<size_t>(B * T * D));
  std::vector<int32_t> ids32(static_cast<size_t>(B * T));
  std::vector<int64_t> ids64(static_cast<size_t>(B * T));
  for (size_t i = 0; i < ids32.size(); ++i) ids64[i] = ids32[i] = static_cast<int32_t>(rng.below(V));
  ids32[3] = 0;
  ids32[4] = V - 1;
  ids64[3] = 0;
  ids64[4] = V - 1;
  std::vector<float> want(out.size());
  for (int64_t m = 0; m < B * T; ++m)
    for (int64_t d = 0; d < D; ++d) want[m * D + d] = table[ids32[m] * D + d];

  require_ok(run_embedding(be, {i32_view(ids32, {B, T}), f32_view(table, {V, D}), f32_view(out, {B, T, D})}));
  CHECK(out == want);
  std::fill(out.begin(), out.end(), 0.0f);
  require_ok(run_embedding(be, {TensorView(ids64.data(), DType::i64, {B, T}), f32_view(table, {V, D}),
                                f32_view(out, {B, T, D})}));
  CHECK(out == want);
}

TEST_CASE("embedding refuses an id outside the vocabulary and names it") {
  CpuBackend be;
  const int64_t V = 65536, D = 2;
  std::vector<float> table(static_cast<size_t>(V * D)), out(2 * 4 * D);
  std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6, 7, 70000};
  Status s = run_embedding(be, {i32_view(ids, {2, 4}), f32_view(table, {V, D}), f32_view(out, {2, 4, D})});
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "70000"));
  CHECK(contains(s.message(), "[1, 3]"));
  CHECK(contains(s.message(), "65536"));
  ids = {1, -3, 3, 4, 5, 6, 7, 8};
  s = run_embedding(be, {i32_view(ids, {2, 4}), f32_view(table, {V, D}), f32_view(out, {2, 4, D})});
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "-3"));
}

namespace {

// RMSNorm in double: v = x (⊙ silu(z)), out = w ⊙ v · rsqrt(mean_group(v²) + eps).
std::vector<double> rmsnorm_ref(const std::vector<float>& x, const std::vector<float>* z, const std::vector<float>& w,
                                int64_t M, int64_t D, int64_t gs, double eps) {
  std::vector<double> out(static_cast<size_t>(M * D));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t g0 = 0; g0 < D; g0 += gs) {
      std::vector<double> v(static_cast<size_t>(gs));
      double ss = 0.0;
      for (int64_t j = 0; j < gs; ++j) {
        v[j] = x[m * D + g0 + j] * (z ? silu_ref((*z)[m * D + g0 + j]) : 1.0);
        ss += v[j] * v[j];
      }
      const double r = 1.0 / std::sqrt(ss / static_cast<double>(gs) + eps);
      for (int64_t j = 0; j < gs; ++j) out[m * D + g0 + j] = w[g0 + j] * v[j] * r;
    }
  return out;
}

}  // namespace

TEST_CASE("rmsnorm: plain, gated, per-group, strided input and in-place output") {
  Rng rng = seeded(202);
  CpuBackend be;
  const int64_t B = 3, T = 5, D = 24;  // M = 15 rows
  const int64_t M = B * T;
  const std::vector<float> x = randn(rng, M * D, 2.0f), z = randn(rng, M * D), w = uniform(rng, D, 0.5f, 1.5f);
  for (int64_t gs : {int64_t{0}, int64_t{8}, int64_t{6}})
    for (bool gated : {false, true}) {
      CAPTURE(gs);
      CAPTURE(gated);
      const std::vector<double> want = rmsnorm_ref(x, gated ? &z : nullptr, w, M, D, gs == 0 ? D : gs, 1e-5);
      std::vector<float> wv = w, out(static_cast<size_t>(M * D));
      Embedded xs = embed_last(x, {B, T, D}, 3, 2);   // x a channel slice of a wider buffer
      Embedded zs = embed_last(z, {B, T, D}, 0, 5);   // z likewise
      RmsNormArgs a{xs.view, f32_view(wv, {D}), gated ? zs.view : TensorView(), f32_view(out, {B, T, D}), 1e-5f, gs};
      require_ok(run_rmsnorm(be, a));
      check_close(out, to_float(want), kRelL2F32, "rmsnorm");

      std::vector<float> inplace = x;  // out aliasing x
      a.x = f32_view(inplace, {B, T, D});
      a.out = a.x;
      require_ok(run_rmsnorm(be, a));
      check_close(inplace, to_float(want), kRelL2F32, "rmsnorm in place");
    }
}

TEST_CASE("linear: y = x·wᵀ + bias on strided row views, with and without bias") {
  Rng rng = seeded(203);
  CpuBackend be;
  const int64_t B = 2, T = 7, K = 29, N = 13;
  const int64_t M = B * T;
  const std::vector<float> x = randn(rng, M * K), w = randn(rng, N * K, 0.3f), bias = randn(rng, N);
  for (bool with_bias : {false, true}) {
    CAPTURE(with_bias);
    std::vector<double> want(static_cast<size_t>(M * N));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = with_bias ? bias[n] : 0.0;
        for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(x[m * K + k]) * w[n * K + k];
        want[m * N + n] = acc;
      }
    std::vector<float> wv = w, bv = bias;
    Embedded xs = embed_last(x, {B, T, K}, 4, 1);
    // y is a channel slice too: columns [2, 2 + N) of a [B, T, N + 5] buffer.
    std::vector<float> ybuf(static_cast<size_t>(M * (N + 5)), -7.0f);
    TensorView y = TensorView(ybuf.data(), DType::f32, {B, T, N + 5}).narrow_last(2, N);
    require_ok(run_linear(be, {xs.view, f32_view(wv, {N, K}), with_bias ? f32_view(bv, {N}) : TensorView(), y}));
    std::vector<float> got(static_cast<size_t>(M * N));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N + 5; ++n) {
        if (n >= 2 && n < 2 + N) got[m * N + n - 2] = ybuf[m * (N + 5) + n];
        else CHECK(ybuf[m * (N + 5) + n] == -7.0f);  // outside the view: untouched
      }
    check_close(got, to_float(want), kRelL2F32, "linear");
  }
}

TEST_CASE("rotary: NeoX rotate_half on the first r dims, full and partial, i32 and i64 positions") {
  Rng rng = seeded(204);
  CpuBackend be;
  struct Case { int64_t P, r; float theta; };
  const Case cases[] = {{8, 8, 10000.0f}, {12, 6, 10000.0f}, {10, 4, 500000.0f}, {6, 2, 10000.0f}};
  const int64_t B = 2, T = 5, Hx = 3;
  for (const Case& c : cases)
    for (bool i64 : {false, true}) {
      CAPTURE(c.P);
      CAPTURE(c.r);
      CAPTURE(i64);
      const std::vector<float> x = randn(rng, B * T * Hx * c.P);
      std::vector<int64_t> pos64(static_cast<size_t>(B * T));
      std::vector<int32_t> pos32(pos64.size());
      for (size_t i = 0; i < pos64.size(); ++i) pos64[i] = pos32[i] = static_cast<int32_t>(rng.below(5000));
      pos64[0] = pos32[0] = 0;
      // Reference: the angle in fp32 like HF (inv_freq and pos·inv_freq are fp32), rotation in double.
      std::vector<double> want(x.begin(), x.end());
      const int64_t half = c.r / 2;
      for (int64_t bt = 0; bt < B * T; ++bt)
        for (int64_t h = 0; h < Hx; ++h)
          for (int64_t j = 0; j < half; ++j) {
            const float inv = 1.0f / std::pow(c.theta, static_cast<float>(2 * j) / static_cast<float>(c.r));
            const double ang = static_cast<float>(pos64[bt]) * inv;
            const int64_t base = (bt * Hx + h) * c.P;
            const double lo = x[base + j], hi = x[base + j + half];
            want[base + j] = lo * std::cos(ang) - hi * std::sin(ang);
            want[base + j + half] = hi * std::cos(ang) + lo * std::sin(ang);
          }
      Embedded xs = embed_last(x, {B, T, Hx * c.P}, 2, 3);  // q as a slice of a fused projection
      RotaryArgs a{xs.view.split_last(Hx, c.P),
                   i64 ? TensorView(pos64.data(), DType::i64, {B, T}) : i32_view(pos32, {B, T}), c.r, c.theta};
      require_ok(run_rotary(be, a));
      std::vector<float> got(x.size());
      for (int64_t bt = 0; bt < B * T; ++bt)
        for (int64_t e = 0; e < Hx * c.P; ++e) got[bt * Hx * c.P + e] = xs.buf[bt * (Hx * c.P + 5) + 2 + e];
      check_close(got, to_float(want), kRelL2F32, "rotary");
      for (int64_t bt = 0; bt < B * T; ++bt)  // pass-through dims are bit-exact
        for (int64_t h = 0; h < Hx; ++h)
          for (int64_t e = c.r; e < c.P; ++e) CHECK(got[(bt * Hx + h) * c.P + e] == x[(bt * Hx + h) * c.P + e]);
    }
}

TEST_CASE("swiglu_mlp: down(silu(gate x) ⊙ up x)") {
  Rng rng = seeded(205);
  CpuBackend be;
  const int64_t M = 9, D = 20, F = 44;
  const std::vector<float> x = randn(rng, M * D);
  std::vector<float> wg = randn(rng, F * D, 0.3f), wu = randn(rng, F * D, 0.3f), wd = randn(rng, D * F, 0.2f);
  std::vector<double> want(static_cast<size_t>(M * D), 0.0);
  for (int64_t m = 0; m < M; ++m) {
    std::vector<double> h(static_cast<size_t>(F));
    for (int64_t f = 0; f < F; ++f) {
      double g = 0.0, u = 0.0;
      for (int64_t d = 0; d < D; ++d) {
        g += static_cast<double>(x[m * D + d]) * wg[f * D + d];
        u += static_cast<double>(x[m * D + d]) * wu[f * D + d];
      }
      h[f] = silu_ref(g) * u;
    }
    for (int64_t d = 0; d < D; ++d)
      for (int64_t f = 0; f < F; ++f) want[m * D + d] += h[f] * wd[d * F + f];
  }
  Embedded xs = embed_last(x, {M, D}, 1, 1);
  std::vector<float> out(static_cast<size_t>(M * D));
  require_ok(run_swiglu_mlp(be, {xs.view, f32_view(wg, {F, D}), f32_view(wu, {F, D}), f32_view(wd, {D, F}),
                                 f32_view(out, {M, D})}));
  check_close(out, to_float(want), kRelL2F32, "swiglu_mlp");
}

TEST_CASE("add: out = a + b, also in place") {
  Rng rng = seeded(206);
  CpuBackend be;
  std::vector<float> a = randn(rng, 6 * 7), b = randn(rng, 6 * 7), out(6 * 7);
  std::vector<float> want(a.size());
  for (size_t i = 0; i < a.size(); ++i) want[i] = a[i] + b[i];
  Embedded as = embed_last(a, {2, 3, 7}, 1, 0);
  require_ok(run_add(be, {as.view, f32_view(b, {2, 3, 7}), f32_view(out, {2, 3, 7})}));
  CHECK(out == want);
  require_ok(run_add(be, {f32_view(a, {2, 3, 7}), f32_view(b, {2, 3, 7}), f32_view(a, {2, 3, 7})}));  // residual in place
  CHECK(a == want);
}

TEST_CASE("copy converts dtypes for contiguous and strided views") {
  Rng rng = seeded(207);
  CpuBackend be;
  const std::vector<float> src = randn(rng, 4 * 6);
  std::vector<uint16_t> bf(src.size()), h(src.size());
  std::vector<float> back(src.size());
  require_ok(run_copy(be, {TensorView(const_cast<float*>(src.data()), DType::f32, {4, 6}),
                           TensorView(bf.data(), DType::bf16, {4, 6})}));
  for (size_t i = 0; i < src.size(); ++i) CHECK(bf[i] == f32_to_bf16(src[i]));
  require_ok(run_copy(be, {TensorView(bf.data(), DType::bf16, {4, 6}), f32_view(back, {4, 6})}));
  for (size_t i = 0; i < src.size(); ++i) CHECK(back[i] == bf16_to_f32(bf[i]));
  require_ok(run_copy(be, {TensorView(const_cast<float*>(src.data()), DType::f32, {4, 6}),
                           TensorView(h.data(), DType::f16, {4, 6})}));
  for (size_t i = 0; i < src.size(); ++i) CHECK(h[i] == f32_to_f16(src[i]));

  // Strided: columns [1, 4) of src into columns [2, 5) of a wider f32 destination, and a
  // transposed (non inner-contiguous) source view.
  std::vector<float> dst(4 * 8, -1.0f);
  TensorView s = TensorView(const_cast<float*>(src.data()), DType::f32, {4, 6}).narrow_last(1, 3);
  TensorView d = TensorView(dst.data(), DType::f32, {4, 8}).narrow_last(2, 3);
  require_ok(run_copy(be, {s, d}));
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 8; ++c) CHECK(dst[r * 8 + c] == (c >= 2 && c < 5 ? src[r * 6 + c - 1] : -1.0f));
  TensorView tr(const_cast<float*>(src.data()), DType::f32, {6, 4});  // src viewed as its transpose
  tr.stride = {1, 6};
  std::vector<uint16_t> tbf(24);
  require_ok(run_copy(be, {tr, TensorView(tbf.data(), DType::bf16, {6, 4})}));
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 4; ++j) CHECK(tbf[i * 4 + j] == f32_to_bf16(src[j * 6 + i]));
}

TEST_CASE("compute contracts refuse non-f32 floats with not_supported naming the tensor") {
  CpuBackend be;
  std::vector<uint16_t> xb(4 * 8);
  std::vector<float> w(8, 1.0f), out(4 * 8);
  const Status s = run_rmsnorm(be, {TensorView(xb.data(), DType::bf16, {4, 8}), f32_view(w, {8}), {}, f32_view(out, {4, 8})});
  CHECK(s.code() == StatusCode::not_supported);
  CHECK(contains(s.message(), "x is bf16"));
  std::vector<float> x(4 * 8), y(4 * 3);
  std::vector<uint16_t> wh(3 * 8);
  const Status s2 = run_linear(be, {f32_view(x, {4, 8}), TensorView(wh.data(), DType::f16, {3, 8}), {}, f32_view(y, {4, 3})});
  CHECK(s2.code() == StatusCode::not_supported);
  CHECK(contains(s2.message(), "w is f16"));
}
