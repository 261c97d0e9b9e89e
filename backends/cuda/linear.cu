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
//   C[M, N] = A[M, K] · B[N, K]ᵀ
// is, column-major, Cᶜ[N, M] = Bᶜ[K, N]ᵀ · Aᶜ[K, M]: cuBLAS op(B) = T, op(A) = N, m = N,
// n = M, k = K, with our B as cuBLAS's first operand.
Status gemm_nt(CudaContext& ctx, DType ab, DType c, int64_t M, int64_t N, int64_t K, float alpha, const void* A,
               int64_t lda, const void* B, int64_t ldb, float beta, void* C, int64_t ldc) {
  if (M == 0 || N == 0) return Status::ok();
  // A single row (or column) has no meaningful stride; cuBLAS still wants ld ≥ the row length.
  if (M == 1) {
    lda = K;
    ldc = N;
  }
  if (N == 1) ldb = K;
  if (!fits_int(M) || !fits_int(N) || !fits_int(K) || !fits_int(lda) || !fits_int(ldb) || !fits_int(ldc))
    return not_supported("cuda: GEMM [", M, ", ", N, ", ", K, "] with row strides ", lda, ", ", ldb, ", ", ldc,
                         " exceeds cuBLAS's 32-bit sizes");
  if (K == 0) {  // an empty sum: C = beta · C
    return dispatch_storage(c, "GEMM output", [&](auto tag) {
      using T = decltype(tag);
      scale_rows_kernel<T><<<grid_for(ctx, M * N, 256), 256, 0, ctx.stream>>>(static_cast<T*>(C), ldc, beta, M, N);
      CUDA_CHECK_LAUNCH();
      return Status::ok();
    });
  }
  if (c != DType::f32 && c != ab)
    return not_supported("cuda: GEMM with ", dtype_name(ab), " operands cannot write ", dtype_name(c));
  // CUBLAS_COMPUTE_32F: fp32 accumulation, and never TF32 (that would need the _FAST_TF32
  // compute type or the TF32 math mode, neither of which the backend sets).
  CUBLAS_CHECK(cublasGemmEx(ctx.cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                            static_cast<int>(K), &alpha, B, cuda_data_type(ab), static_cast<int>(ldb), A,
                            cuda_data_type(ab), static_cast<int>(lda), &beta, C, cuda_data_type(c),
                            static_cast<int>(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
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
