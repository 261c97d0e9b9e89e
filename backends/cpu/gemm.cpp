// backends/cpu/gemm.cpp — the CPU backend's one matrix product (gemm.h), in three twins:
//
//   C[m, n] = alpha · Σ_k op(A)[m, k] · op(B)[k, n] + beta · C[m, n]   (row-major, gemm.h)
//
// naive : the triple loop with fp32 accumulation; the reference the other two are tested against.
// eigen : Eigen::Map over the row-major operands (outer strides lda/ldb/ldc), A · Bᵀ.
// onednn: oneDNN's C API `dnnl_sgemm('N', 'T', ...)`, which is row-major (oneDNN 2.x dnnl.h).
//
// BLAS convention: beta == 0 means C is write-only (NaN or garbage in C never propagates).
// K == 0 is an empty sum: C ← beta · C. This is the only file that includes Eigen or oneDNN.
#include "backends/cpu/gemm.h"

#include <algorithm>

#include <Eigen/Core>

#include "backends/cpu/cpu_common.h"
#include "core/status.h"

#ifdef BRAID_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace braid {
namespace {

// C ← beta · C for the K == 0 case (beta == 0 writes zeros).
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
}

// Element (m, k) of op(A) and (k, n) of op(B) for the row-major storage described in gemm.h.
struct Operands {
  bool ta, tb;
  const float *A, *B;
  int64_t lda, ldb;
  float a(int64_t m, int64_t k) const { return ta ? A[k * lda + m] : A[m * lda + k]; }
  float b(int64_t k, int64_t n) const { return tb ? B[n * ldb + k] : B[k * ldb + n]; }
};

void gemm_naive(const Operands& op, int64_t M, int64_t N, int64_t K, float alpha, float beta, float* C, int64_t ldc) {
#pragma omp parallel for if (M * N * K >= cpu::kOmpMinWork)
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0.0f;  // fp32 accumulation in k order
      for (int64_t k = 0; k < K; ++k) acc += op.a(m, k) * op.b(k, n);
      float& c = C[m * ldc + n];
      c = beta == 0.0f ? alpha * acc : alpha * acc + beta * c;
    }
  }
}

void gemm_eigen(const Operands& op, int64_t M, int64_t N, int64_t K, float alpha, float beta, float* C, int64_t ldc) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using Map = Eigen::Map<const RowMajor, 0, Stride>;
  Eigen::Map<RowMajor, 0, Stride> c(C, M, N, Stride(ldc));  // [M, N]
  if (beta == 0.0f) c.setZero();
  else if (beta != 1.0f) c *= beta;
  const Map a = op.ta ? Map(op.A, K, M, Stride(op.lda)) : Map(op.A, M, K, Stride(op.lda));
  const Map b = op.tb ? Map(op.B, N, K, Stride(op.ldb)) : Map(op.B, K, N, Stride(op.ldb));
  if (!op.ta && op.tb) c.noalias() += alpha * (a * b.transpose());
  else if (!op.ta) c.noalias() += alpha * (a * b);
  else if (op.tb) c.noalias() += alpha * (a.transpose() * b.transpose());
  else c.noalias() += alpha * (a.transpose() * b);
}

#ifdef BRAID_HAVE_ONEDNN
void gemm_onednn(const Operands& op, int64_t M, int64_t N, int64_t K, float alpha, float beta, float* C, int64_t ldc) {
  // Row-major, like gemm.h: 'T' uses the stored matrix transposed.
  const int64_t lda = op.lda, ldb = op.ldb;
  const dnnl_status_t st =
      dnnl_sgemm(op.ta ? 'T' : 'N', op.tb ? 'T' : 'N', M, N, K, alpha, op.A, lda, op.B, ldb, beta, C, ldc);
  BRAID_CHECK(st == dnnl_success, "dnnl_sgemm failed with status ", static_cast<int>(st), " for M=", M, " N=", N,
              " K=", K, " lda=", lda, " ldb=", ldb, " ldc=", ldc);
}
#endif

}  // namespace

const char* gemm_impl_name(GemmImpl impl) {
  switch (impl) {
    case GemmImpl::best: return "best";
    case GemmImpl::onednn: return "onednn";
    case GemmImpl::eigen: return "eigen";
    case GemmImpl::naive: return "naive";
  }
  return "?";
}

bool gemm_impl_available(GemmImpl impl) {
#ifdef BRAID_HAVE_ONEDNN
  (void)impl;
  return true;
#else
  return impl != GemmImpl::onednn;
#endif
}

void gemm(GemmImpl impl, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  BRAID_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative size M=", M, " N=", N, " K=", K);
  // A single row's stride is never used; normalise it so callers may pass any view's stride.
  const int64_t a_cols = trans_a ? M : K, b_cols = trans_b ? K : N;
  if ((trans_a ? K : M) == 1) lda = std::max(lda, a_cols);
  if ((trans_b ? N : K) == 1) ldb = std::max(ldb, b_cols);
  if (M == 1) ldc = std::max(ldc, N);
  BRAID_CHECK(lda >= a_cols && ldb >= b_cols && ldc >= N, "gemm: leading dimensions lda=", lda, " ldb=", ldb,
              " ldc=", ldc, " too small for M=", M, " N=", N, " K=", K);
  // Degenerate sizes are settled here so no implementation has to agree on them.
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_c(M, N, beta, C, ldc);
  const Operands op{trans_a, trans_b, A, B, lda, ldb};
  // `best` is resolved at build time: oneDNN when compiled in, else Eigen. No runtime probing.
  switch (impl) {
    case GemmImpl::naive: return gemm_naive(op, M, N, K, alpha, beta, C, ldc);
    case GemmImpl::eigen: return gemm_eigen(op, M, N, K, alpha, beta, C, ldc);
    case GemmImpl::best:
    case GemmImpl::onednn:
#ifdef BRAID_HAVE_ONEDNN
      return gemm_onednn(op, M, N, K, alpha, beta, C, ldc);
#else
      return gemm_eigen(op, M, N, K, alpha, beta, C, ldc);  // documented fallback (gemm.h)
#endif
  }
}

void gemm_nt(GemmImpl impl, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
             const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm(impl, false, true, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace braid
