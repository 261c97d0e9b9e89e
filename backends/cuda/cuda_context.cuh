// What CUDA kernels of the backend share: the context object (stream, cuBLAS handle, a
// growing workspace), checked-call macros, and dtype dispatch for f32 / bf16 storage.
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "backends/cuda/cuda_backend.h"
#include "core/status.h"

namespace braid {

struct CudaContext {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  void* workspace = nullptr;  // scratch owned by the backend, grown by workspace_at_least
  size_t workspace_bytes = 0;
  // Returns scratch of at least `bytes` on the backend's stream (contents undefined; valid
  // until the next call on this backend that asks for workspace).
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

// Storage element <-> fp32.
__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
template <class T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

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

}  // namespace braid
