// What CUDA kernels of the backend share: the context object (stream, cuBLAS handle, a
// growing workspace), checked-call macros, dtype dispatch for f32 / bf16 storage, the one GEMM
// helper, small host helpers (storage-dtype check, reading `lengths`) and device helpers
// (fp32 conversions, warp/block reductions, silu).
//
// Everything here is internal to backends/cuda; host code includes cuda_backend.h only.
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "core/status.h"

namespace braid {

struct CudaContext {
  int device = 0;
  int sm_count = 0;         // multiprocessors of the device (grid sizing)
  size_t smem_optin = 0;    // largest dynamic shared memory per block after opt-in, bytes
  cudaStream_t stream = nullptr;
  cudaMemPool_t pool = nullptr;  // raw_alloc / raw_free: stream-ordered on `stream`
  cublasHandle_t cublas = nullptr;
  void* workspace = nullptr;  // scratch owned by the backend, grown by workspace_at_least
  size_t workspace_bytes = 0;
  MemoryTracker* memory = nullptr;  // the backend's tracker; workspace growth is counted there

  CudaContext() = default;
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;
  // Frees the workspace and destroys the handle and the stream; never throws (errors at
  // teardown are ignored: there is nobody left to report them to).
  ~CudaContext();

  // Makes this context's device current. Every contract calls it first, so two backends on
  // different devices can coexist in one process (house style P5).
  void activate() const;
  // Returns scratch of at least `bytes` on the backend's stream (contents undefined; valid
  // until the next call on this backend that asks for workspace). Growing synchronises the
  // stream first, because queued kernels may still use the old buffer.
  void* workspace_at_least(size_t bytes);
};

[[noreturn]] void cuda_fail(const char* file, int line, const char* expr, const char* what);

}  // namespace braid

#define CUDA_CHECK(expr)                                                                          \
  do {                                                                                            \
    const cudaError_t braid_e_ = (expr);                                                          \
    if (braid_e_ != cudaSuccess) ::braid::cuda_fail(__FILE__, __LINE__, #expr, cudaGetErrorString(braid_e_)); \
  } while (0)

#define CUBLAS_CHECK(expr)                                                                         \
  do {                                                                                             \
    const cublasStatus_t braid_s_ = (expr);                                                        \
    if (braid_s_ != CUBLAS_STATUS_SUCCESS) ::braid::cuda_fail(__FILE__, __LINE__, #expr, cublasGetStatusString(braid_s_)); \
  } while (0)

// After every launch: surfaces launch-configuration errors at the call site (asynchronous
// faults surface at the next synchronising call).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace braid {

// ---------------------------------------------------------------------------------------
// Storage element <-> fp32.
// ---------------------------------------------------------------------------------------
__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
template <class T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16(v); }  // RNE
template <>
__device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half(v); }  // RNE

// Calls fn(T{}) with T = float or __nv_bfloat16 for a storage dtype; other dtypes return
// not_supported naming `what`.
template <class Fn>
Status dispatch_storage(DType t, const char* what, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::bf16: return fn(__nv_bfloat16{});
    default: return not_supported("cuda: ", what, " has dtype ", dtype_name(t), "; supported: f32, bf16");
  }
}

// The cuBLAS / CUDA library name of a float storage dtype.
cudaDataType_t cuda_data_type(DType t);

// ---------------------------------------------------------------------------------------
// Host helpers shared by the contract files.
// ---------------------------------------------------------------------------------------
struct NamedView {
  const TensorView* view;
  const char* name;
};

// The storage dtype of one call. The defined float tensors listed must all live on the CUDA
// device and share one dtype, f32 or bf16; the first defined one sets it. Otherwise returns
// not_supported (another dtype, or mixed dtypes) or invalid_argument (a host tensor), naming
// the tensor. Absent optional tensors are skipped.
Status storage_dtype(const char* contract, std::initializer_list<NamedView> floats, DType& out);

// Reads an i32 [n] device vector of any stride into host memory. Blocking: it synchronises
// the backend's stream (callers say why that small sync is acceptable).
std::vector<int32_t> download_i32(CudaContext& ctx, const TensorView& v);

// The optional `lengths` [B] (i32) as host counts, T per row when absent (no sync then).
// Returns invalid_argument naming the row when a length lies outside [0, T], with the CPU
// reference's message (backends/cpu/cpu_common.cpp read_lengths).
Status read_lengths(CudaContext& ctx, const TensorView& lengths, int64_t B, int64_t T, std::vector<int32_t>& out);

// Sub-allocation of one workspace request: `add` each piece (256-byte aligned offsets), ask
// the context for `total()` bytes once, then `at<T>(base, offset)`.
class WorkspaceLayout {
 public:
  size_t add(size_t bytes) {
    const size_t off = total_;
    total_ += (bytes + 255) / 256 * 256;
    return off;
  }
  size_t total() const { return total_ == 0 ? 256 : total_; }
  template <class T>
  static T* at(void* base, size_t off) { return reinterpret_cast<T*>(static_cast<char*>(base) + off); }

 private:
  size_t total_ = 0;
};

// The one matrix product of the backend (linear, swiglu_mlp and the MoE experts use it):
//   C[m, n] = alpha · Σ_k A[m, k] · B[n, k] + beta · C[m, n]      ("NT", both K-major)
// A [M, K] and B [N, K] have storage dtype `ab` (f32 or bf16) and row strides lda, ldb;
// C [M, N] has dtype `c` (f32, or `ab`) and row stride ldc. cuBLAS with CUBLAS_COMPUTE_32F
// (no TF32: fp32 parity). Returns not_supported when a size exceeds cuBLAS's int range.
// Asynchronous on the context's stream. Defined in linear.cu.
Status gemm_nt(CudaContext& ctx, DType ab, DType c, int64_t M, int64_t N, int64_t K, float alpha, const void* A,
               int64_t lda, const void* B, int64_t ldb, float beta, void* C, int64_t ldc);

// The general form, row-major, as backends/cpu/gemm.h: C[M, N] = alpha · op(A)·op(B) + beta · C
// with op(A) [M, K] stored as A [M, K] (row stride lda) or, with trans_a, as A [K, M]; op(B)
// [K, N] stored as B [K, N] or, with trans_b, as B [N, K]. gemm_nt is (false, true). The
// backward passes use the transposed forms (d_x = d_y · w, d_w += d_yᵀ · x). Defined in linear.cu.
Status gemm(CudaContext& ctx, DType ab, DType c, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
            float alpha, const void* A, int64_t lda, const void* B, int64_t ldb, float beta, void* C, int64_t ldc);

// `count` independent products of the general form, operand i at A[i], B[i], C[i] (device
// arrays of device pointers, e.g. in the workspace). Every product has the same sizes and
// strides; no two C[i] may overlap. Defined in linear.cu.
Status gemm_batched(CudaContext& ctx, DType ab, DType c, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                    float alpha, const void* const* A, int64_t lda, const void* const* B, int64_t ldb, float beta,
                    void* const* C, int64_t ldc, int64_t count);

// dst[c] += Σ_{r<R} src[r·ld + c] for c < C, src of storage dtype `t` (f32 or bf16), dst f32.
// Deterministic: fixed partial sums over row blocks, then a fixed-order sum of the partials
// (no atomics), so parameter gradients do not change from run to run. Uses `scratch`, which
// must hold column_sum_scratch_floats(R, C) floats. Defined in reduce.cu.
void launch_column_sum(CudaContext& ctx, const void* src, DType t, int64_t R, int64_t C, int64_t ld, float* dst,
                       float* scratch);
int64_t column_sum_scratch_floats(int64_t R, int64_t C);

// The first flat index m < n whose index value idx[m] (i32 or i64, contiguous) lies outside
// [lo, hi), as a host pair (m, value); m = −1 when every value is inside. Blocking: one small
// synchronous read (callers say why). It uses the first bytes of the workspace, so call it
// before laying out a workspace of one's own. Defined in embedding.cu.
struct BadIndex {
  int64_t at = -1;
  int64_t value = 0;
};
BadIndex find_bad_index(CudaContext& ctx, const void* idx, DType idx_dtype, int64_t n, int64_t lo, int64_t hi);

// hidden[q] = silu(gate[q]) · up[q] for q < n, fp32 inputs, hidden in storage dtype `t`
// (the SwiGLU middle; defined in swiglu_mlp.cu, used by the MoE experts too).
void launch_silu_mul(CudaContext& ctx, const float* gate, const float* up, void* hidden, DType t, int64_t n);

// dst row r = src row idx[r] for r < rows (raw bytes: no dtype conversion). Row strides are
// in bytes; idx is i32 or i64 (`idx_dtype`) on the device. When `skip_if_set` is non-null and
// *skip_if_set != ~0ull on the device, nothing is written (a preceding check found bad data).
// Defined in embedding.cu, used by the MoE experts' gather too.
void launch_gather_rows(CudaContext& ctx, const void* src, int64_t src_ld_bytes, void* dst, int64_t dst_ld_bytes,
                        int64_t row_bytes, int64_t rows, const void* idx, DType idx_dtype,
                        const unsigned long long* skip_if_set);

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks for a grid-stride loop over n items: enough to fill the device, never more than the
// items need.
inline unsigned grid_for(const CudaContext& ctx, int64_t n, int threads) {
  const int64_t need = ceil_div(n > 0 ? n : 1, threads);
  const int64_t cap = static_cast<int64_t>(ctx.sm_count > 0 ? ctx.sm_count : 32) * 32;
  return static_cast<unsigned>(need < cap ? need : cap);
}

// ---------------------------------------------------------------------------------------
// Device helpers.
// ---------------------------------------------------------------------------------------

// silu(v) = v · σ(v) = v / (1 + e^−v), as backends/cpu/cpu_common.h.
__device__ __forceinline__ float silu_f32(float v) { return v / (1.0f + expf(-v)); }

// softplus(v) = log(1 + e^v), v itself above PyTorch's threshold 20 (backends/cpu/cpu_common.h).
__device__ __forceinline__ float softplus_f32(float v) { return v > 20.0f ? v : log1pf(expf(v)); }

// Valid tokens of row b for a kernel parameter block with `lengths` ([B] i32, stride `ls`, or
// null) and `T_` tokens per row.
template <class Params>
__device__ __forceinline__ int64_t row_length(const Params& p, int64_t b) {
  return p.lengths ? static_cast<int64_t>(p.lengths[b * p.ls]) : p.T_;
}

// Butterfly reductions: every lane of the warp receives the result.
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread receives the
// result. `scratch` is 32 floats of shared memory; the call starts and ends with a barrier
// so consecutive calls may reuse it.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = lane < warps ? scratch[lane] : 0.0f;
  total = warp_sum(total);  // every warp reduces the per-warp partials itself
  __syncthreads();
  return total;
}

}  // namespace braid
