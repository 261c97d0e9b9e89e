// The CPU backend's one matrix-product helper. Everything that multiplies matrices on the CPU
// calls `gemm`; nothing else links Eigen or oneDNN (house style P2).
//
//   C[m, n] = alpha · Σ_k A[m, k] · B[n, k] + beta · C[m, n]      ("NT": both operands K-major)
//
// A is [M, K] with row stride lda, B is [N, K] with row stride ldb (PyTorch's weight layout),
// C is [M, N] with row stride ldc. All f32.
#pragma once

#include <cstdint>

namespace braid {

enum class GemmImpl {
  best,   // oneDNN when built with it, else Eigen
  onednn, // oneDNN sgemm (falls back to Eigen when oneDNN is not built; see gemm_impl_available)
  eigen,  // Eigen matrix product on mapped row-major matrices
  naive,  // plain triple loop with fp32 accumulation: the reference twin tests can force
};

const char* gemm_impl_name(GemmImpl impl);
bool gemm_impl_available(GemmImpl impl);

// The general form, row-major: op(A) is [M, K], stored as A [M, K] (row stride lda) or, with
// trans_a, as A [K, M]; op(B) is [K, N], stored as B [K, N] (row stride ldb) or, with trans_b,
// as B [N, K]. Backward passes need the transposed forms (d_x = d_y · w, d_w = d_yᵀ · x).
void gemm(GemmImpl impl, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// gemm(impl, false, true, …): both operands K-major, the forward linear layer's product.
void gemm_nt(GemmImpl impl, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
             const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace braid
