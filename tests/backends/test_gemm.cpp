// backends/cpu/gemm: the naive, Eigen and oneDNN twins agree with a double reference on odd
// shapes with padded leading dimensions, honour alpha/beta and the BLAS beta = 0 convention,
// and a backend forced onto the naive GEMM computes the same linear layer.
#include <limits>
#include <vector>

#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

namespace {

// C[m, n] = alpha · Σ_k A[m, k]·B[n, k] + beta · C[m, n], in double.
std::vector<double> gemm_ref(int64_t M, int64_t N, int64_t K, double alpha, const std::vector<float>& A, int64_t lda,
                             const std::vector<float>& B, int64_t ldb, double beta, const std::vector<float>& C,
                             int64_t ldc) {
  std::vector<double> out(static_cast<size_t>(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(A[m * lda + k]) * B[n * ldb + k];
      out[m * N + n] = alpha * acc + (beta == 0.0 ? 0.0 : beta * C[m * ldc + n]);
    }
  return out;
}

}  // namespace

TEST_CASE("gemm_nt: every implementation matches the double reference on odd shapes and strides") {
  Rng rng = seeded(101);
  const GemmImpl impls[] = {GemmImpl::naive, GemmImpl::eigen, GemmImpl::onednn, GemmImpl::best};
  struct Case { int64_t M, N, K; };
  const Case cases[] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 65}, {3, 130, 9}, {64, 1, 31}, {1, 50, 77}};
  for (const Case& c : cases)
    for (float beta : {0.0f, 1.0f, -0.6f}) {
      const int64_t lda = c.K + 3, ldb = c.K + 5, ldc = c.N + 2;  // padded rows
      const float alpha = 0.75f;
      const std::vector<float> A = randn(rng, c.M * lda), Bm = randn(rng, c.N * ldb);
      const std::vector<float> C0 = randn(rng, c.M * ldc);
      const std::vector<double> want = gemm_ref(c.M, c.N, c.K, alpha, A, lda, Bm, ldb, beta, C0, ldc);
      for (GemmImpl impl : impls) {
        CAPTURE(gemm_impl_name(impl));
        CAPTURE(c.M);
        CAPTURE(c.N);
        CAPTURE(c.K);
        CAPTURE(beta);
        std::vector<float> C = C0;
        const float sentinel = 1234.5f;  // the padding of each C row must stay untouched
        for (int64_t m = 0; m < c.M; ++m)
          for (int64_t n = c.N; n < ldc; ++n) C[m * ldc + n] = sentinel;
        if (beta == 0.0f)  // BLAS convention: beta = 0 never reads C, so NaN must not leak
          for (int64_t m = 0; m < c.M; ++m)
            for (int64_t n = 0; n < c.N; ++n) C[m * ldc + n] = std::numeric_limits<float>::quiet_NaN();
        gemm_nt(impl, c.M, c.N, c.K, alpha, A.data(), lda, Bm.data(), ldb, beta, C.data(), ldc);
        std::vector<float> got(static_cast<size_t>(c.M * c.N));
        for (int64_t m = 0; m < c.M; ++m)
          for (int64_t n = 0; n < c.N; ++n) got[m * c.N + n] = C[m * ldc + n];
        check_close(got, to_float(want), kRelL2F32, gemm_impl_name(impl));
        for (int64_t m = 0; m < c.M; ++m)
          for (int64_t n = c.N; n < ldc; ++n) CHECK(C[m * ldc + n] == sentinel);
      }
    }
}

TEST_CASE("gemm_nt: K = 0 is an empty sum and M = 0 or N = 0 touch nothing") {
  for (GemmImpl impl : {GemmImpl::naive, GemmImpl::eigen, GemmImpl::onednn}) {
    CAPTURE(gemm_impl_name(impl));
    std::vector<float> C = {1.0f, 2.0f, 3.0f, 4.0f};
    gemm_nt(impl, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 1, 0.5f, C.data(), 2);
    CHECK(C == std::vector<float>{0.5f, 1.0f, 1.5f, 2.0f});
    gemm_nt(impl, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 1, 0.0f, C.data(), 2);
    CHECK(C == std::vector<float>{0.0f, 0.0f, 0.0f, 0.0f});
    C = {7.0f};
    gemm_nt(impl, 0, 1, 3, 1.0f, nullptr, 3, nullptr, 3, 0.0f, C.data(), 1);
    CHECK(C[0] == 7.0f);
  }
}

TEST_CASE("gemm implementation names and availability") {
  CHECK(std::string(gemm_impl_name(GemmImpl::naive)) == "naive");
  CHECK(std::string(gemm_impl_name(GemmImpl::eigen)) == "eigen");
  CHECK(std::string(gemm_impl_name(GemmImpl::onednn)) == "onednn");
  CHECK(std::string(gemm_impl_name(GemmImpl::best)) == "best");
  CHECK(gemm_impl_available(GemmImpl::naive));
  CHECK(gemm_impl_available(GemmImpl::eigen));
  CHECK(gemm_impl_available(GemmImpl::best));
  MESSAGE("oneDNN sgemm available: " << gemm_impl_available(GemmImpl::onednn));
}

TEST_CASE("a backend forced onto the naive GEMM computes the same linear layer") {
  Rng rng = seeded(102);
  const int64_t M = 19, K = 37, N = 23;
  std::vector<float> x = randn(rng, M * K), w = randn(rng, N * K, 0.2f), bias = randn(rng, N);
  std::vector<float> y_naive(static_cast<size_t>(M * N)), y_best(static_cast<size_t>(M * N));
  CpuBackend naive(CpuOptions{GemmImpl::naive});
  CpuBackend best;
  CHECK(naive.options().gemm == GemmImpl::naive);
  CHECK(best.options().gemm == GemmImpl::best);
  require_ok(run_linear(naive, {f32_view(x, {M, K}), f32_view(w, {N, K}), f32_view(bias, {N}), f32_view(y_naive, {M, N})}));
  require_ok(run_linear(best, {f32_view(x, {M, K}), f32_view(w, {N, K}), f32_view(bias, {N}), f32_view(y_best, {M, N})}));
  check_close(y_best, y_naive, kRelL2F32, "linear best vs naive");
}

TEST_CASE("gemm: the transposed forms match the double reference in every implementation") {
  Rng rng = seeded(103);
  const GemmImpl impls[] = {GemmImpl::naive, GemmImpl::eigen, GemmImpl::onednn, GemmImpl::best};
  const int64_t M = 7, N = 11, K = 5;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      // Stored shapes: A [M, K] or [K, M]; B [K, N] or [N, K]; rows padded by 2.
      const int64_t lda = (ta ? M : K) + 2, ldb = (tb ? K : N) + 2, ldc = N + 1;
      const std::vector<float> A = randn(rng, (ta ? K : M) * lda), B = randn(rng, (tb ? N : K) * ldb);
      const std::vector<float> C0 = randn(rng, M * ldc);
      std::vector<double> want(static_cast<size_t>(M * N));
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k)
            acc += double(ta ? A[k * lda + m] : A[m * lda + k]) * (tb ? B[n * ldb + k] : B[k * ldb + n]);
          want[m * N + n] = 0.5 * acc - 0.25 * C0[m * ldc + n];
        }
      for (GemmImpl impl : impls) {
        std::vector<float> C = C0;
        gemm(impl, ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, -0.25f, C.data(), ldc);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            INFO(gemm_impl_name(impl) << " ta=" << ta << " tb=" << tb << " at " << m << "," << n);
            REQUIRE(C[m * ldc + n] == doctest::Approx(want[m * N + n]).epsilon(1e-5));
          }
      }
    }
}
