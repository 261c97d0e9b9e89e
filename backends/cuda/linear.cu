// backends/cuda/linear.cu — the backend's one GEMM helper (gemm_nt, cuda_context.cuh) and the
// linear contract (core/contracts/linear.h; reference: backends/cpu/linear.cpp).
//
//   y[m, n] = Σ_k x[m, k] · w[n, k] + bias[n]          (torch.nn.functional.linear)
//
// Stages: (1) with a bias, y's rows are first filled with the bias; (2) one cuBLAS GEMM
// accumulates x·wᵀ into y with beta = 1 (beta = 0 without a bias). The bias thus enters the
// fp32 epilogue of the GEMM and bf16 outputs are rounded once.
#include <climits>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

// y[m, :] = bias (or 0 when bias is null) for an [M, N] row view with row stride ldy.
template <class T>
__global__ void fill_rows_kernel(T* y, int64_t ldy, const T* bias, int64_t bias_stride, int64_t M, int64_t N) {
  const int64_t n_items = M * N;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < n_items;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = q / N, n = q - m * N;
    y[m * ldy + n] = bias ? bias[n * bias_stride] : from_f32<T>(0.0f);
  }
}

// C[m, :] *= beta over an [M, N] row view (the K == 0 product: nothing to accumulate).
template <class T>
__global__ void scale_rows_kernel(T* c, int64_t ldc, float beta, int64_t M, int64_t N) {
  const int64_t n_items = M * N;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < n_items;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = q / N, n = q - m * N;
    c[m * ldc + n] = beta == 0.0f ? from_f32<T>(0.0f) : from_f32<T>(beta * to_f32(c[m * ldc + n]));
  }
}

bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

}  // namespace

// cuBLAS is column-major. A row-major [R, C] matrix with row stride ld is, to cuBLAS, a
// column-major [C, R] matrix with leading dimension ld. So the row-major product
//   C[M, N] = op(A)[M, K] · op(B)[K, N]
// is, column-major, Cᶜ[N, M] = op(B)ᶜ · op(A)ᶜ: cuBLAS m = N, n = M, k = K, with our B as its
// first operand and each operand transposed exactly when the row-major one is.
namespace {

struct GemmShape {
  cublasOperation_t op_a, op_b;
  int m, n, k, lda, ldb, ldc;
};

// Checks the sizes and fixes degenerate strides: a stored matrix with one row has no
// meaningful row stride, but cuBLAS still wants ld ≥ its row length.
Status gemm_shape(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc,
                  GemmShape& g) {
  const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
  const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
  if (a_rows == 1) lda = a_cols;
  if (b_rows == 1) ldb = b_cols;
  if (M == 1) ldc = N;
  if (!fits_int(M) || !fits_int(N) || !fits_int(K) || !fits_int(lda) || !fits_int(ldb) || !fits_int(ldc))
    return not_supported("cuda: GEMM [", M, ", ", N, ", ", K, "] with row strides ", lda, ", ", ldb, ", ", ldc,
                         " exceeds cuBLAS's 32-bit sizes");
  g = {trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(N),
       static_cast<int>(M), static_cast<int>(K), static_cast<int>(lda), static_cast<int>(ldb), static_cast<int>(ldc)};
  return Status::ok();
}

Status check_output_dtype(DType ab, DType c) {
  if (c != DType::f32 && c != ab)
    return not_supported("cuda: GEMM with ", dtype_name(ab), " operands cannot write ", dtype_name(c));
  return Status::ok();
}

}  // namespace

Status gemm(CudaContext& ctx, DType ab, DType c, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
            float alpha, const void* A, int64_t lda, const void* B, int64_t ldb, float beta, void* C, int64_t ldc) {
  if (M == 0 || N == 0) return Status::ok();
  GemmShape g;
  BRAID_RETURN_IF_ERROR(gemm_shape(trans_a, trans_b, M, N, K, lda, ldb, ldc, g));
  if (K == 0) {  // an empty sum: C = beta · C
    return dispatch_storage(c, "GEMM output", [&](auto tag) {
      using T = decltype(tag);
      scale_rows_kernel<T><<<grid_for(ctx, M * N, 256), 256, 0, ctx.stream>>>(static_cast<T*>(C), g.ldc, beta, M, N);
      CUDA_CHECK_LAUNCH();
      return Status::ok();
    });
  }
  BRAID_RETURN_IF_ERROR(check_output_dtype(ab, c));
  // CUBLAS_COMPUTE_32F: fp32 accumulation, and never TF32 (that would need the _FAST_TF32
  // compute type or the TF32 math mode, neither of which the backend sets).
  CUBLAS_CHECK(cublasGemmEx(ctx.cublas, g.op_b, g.op_a, g.m, g.n, g.k, &alpha, B, cuda_data_type(ab), g.ldb, A,
                            cuda_data_type(ab), g.lda, &beta, C, cuda_data_type(c), g.ldc, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
  return Status::ok();
}

Status gemm_nt(CudaContext& ctx, DType ab, DType c, int64_t M, int64_t N, int64_t K, float alpha, const void* A,
               int64_t lda, const void* B, int64_t ldb, float beta, void* C, int64_t ldc) {
  return gemm(ctx, ab, c, false, true, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

Status gemm_batched(CudaContext& ctx, DType ab, DType c, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                    float alpha, const void* const* A, int64_t lda, const void* const* B, int64_t ldb, float beta,
                    void* const* C, int64_t ldc, int64_t count) {
  if (M == 0 || N == 0 || count == 0) return Status::ok();
  if (K == 0) return not_supported("cuda: batched GEMM with K = 0");
  if (!fits_int(count)) return not_supported("cuda: batched GEMM of ", count, " products exceeds 32 bits");
  GemmShape g;
  BRAID_RETURN_IF_ERROR(gemm_shape(trans_a, trans_b, M, N, K, lda, ldb, ldc, g));
  BRAID_RETURN_IF_ERROR(check_output_dtype(ab, c));
  CUBLAS_CHECK(cublasGemmBatchedEx(ctx.cublas, g.op_b, g.op_a, g.m, g.n, g.k, &alpha, B, cuda_data_type(ab), g.ldb, A,
                                   cuda_data_type(ab), g.lda, &beta, C, cuda_data_type(c), g.ldc,
                                   static_cast<int>(count), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return Status::ok();
}

Status CudaBackend::linear(const LinearArgs& a) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype("linear", {{&a.x, "x"}, {&a.w, "w"}, {&a.bias, "bias"}, {&a.y, "y"}}, st));
  const TensorView x = a.x.as_2d();  // [M, K], row stride x.stride[0]
  const TensorView y = a.y.as_2d();  // [M, N], row stride y.stride[0]
  const int64_t M = x.dim(0), K = x.dim(1), N = a.w.dim(0);
  if (M == 0 || N == 0) return Status::ok();
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  float beta = 0.0f;
  if (a.bias.defined()) {
    // Stage 1: y rows = bias, so the GEMM's epilogue computes x·wᵀ + bias in fp32.
    BRAID_RETURN_IF_ERROR(dispatch_storage(st, "linear", [&](auto tag) {
      using T = decltype(tag);
      fill_rows_kernel<T><<<grid_for(ctx, M * N, 256), 256, 0, ctx.stream>>>(y.ptr<T>(), y.stride[0],
                                                                             a.bias.ptr<const T>(), a.bias.stride[0], M, N);
      CUDA_CHECK_LAUNCH();
      return Status::ok();
    }));
    beta = 1.0f;
  }
  // Stage 2: y = x · wᵀ + beta · y   [M, N] = [M, K] · [N, K]ᵀ   (w contiguous: ldb = K)
  return gemm_nt(ctx, st, st, M, N, K, 1.0f, x.data, x.stride[0], a.w.data, K, beta, y.data, y.stride[0]);
}

}  // namespace braid
