// backends/cuda/optim.cu — the AdamW update and tensor statistics (core/contracts/optim.h;
// reference: backends/cpu/optim.cpp).
//
// adamw: one thread per element, the reference's expression in fp32 with the bias corrections
// 1 − β^t computed on the host in double (bit-identical constants on both backends).
// tensor_stats: Σ x² and max |x| with fixed-order block sums (stage 1: kStatBlocks partial
// pairs, stage 2: one block adds them in block order), so the statistic is the same on every
// run; a NaN anywhere makes both NaN, as the reference.
#include <algorithm>
#include <cmath>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                             float beta2, float eps, float decay, float grad_scale, float bc1, float bc2) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float gi = g[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
  }
}

constexpr int kStatThreads = 256, kStatBlocks = 264;

// The NaN flag rides in the max: max_abs is NaN-propagating through `nan_or_max`.
__device__ __forceinline__ float nan_or_max(float a, float b) { return (isnan(a) || isnan(b)) ? NAN : fmaxf(a, b); }

__device__ __forceinline__ float block_max_nan(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v = nan_or_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float r = lane < warps ? scratch[lane] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) r = nan_or_max(r, __shfl_xor_sync(0xffffffffu, r, o));
  __syncthreads();
  return r;
}

template <class T>
__global__ void stats_partial_kernel(const T* x, int64_t n, float* partial) {
  __shared__ float scratch[32];
  float ss = 0.0f, mx = 0.0f;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = to_f32(x[i]);
    ss += v * v;
    mx = nan_or_max(mx, fabsf(v));
  }
  ss = block_sum(ss, scratch);
  mx = block_max_nan(mx, scratch);
  if (threadIdx.x == 0) {
    partial[2 * blockIdx.x] = ss;
    partial[2 * blockIdx.x + 1] = mx;
  }
}

__global__ void stats_finish_kernel(const float* partial, int blocks, float* out, int64_t out_stride) {
  __shared__ float scratch[32];
  float ss = 0.0f, mx = 0.0f;
  for (int b = threadIdx.x; b < blocks; b += blockDim.x) {
    ss += partial[2 * b];
    mx = nan_or_max(mx, partial[2 * b + 1]);
  }
  ss = block_sum(ss, scratch);
  mx = block_max_nan(mx, scratch);
  if (threadIdx.x == 0) {
    out[0] = isnan(mx) ? NAN : ss;
    out[out_stride] = mx;
  }
}

}  // namespace

Status CudaBackend::adamw(const AdamwArgs& a) {
  DType st;
  BRAID_RETURN_IF_ERROR(
      storage_dtype("adamw", {{&a.param, "param"}, {&a.grad, "grad"}, {&a.m, "m"}, {&a.v, "v"}}, st));
  const int64_t n = a.param.numel();
  if (n == 0) return Status::ok();
  ctx_->activate();
  const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(a.beta1), static_cast<double>(a.step)));
  const float bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(a.beta2), static_cast<double>(a.step)));
  adamw_kernel<<<grid_for(*ctx_, n, 256), 256, 0, ctx_->stream>>>(
      a.param.ptr<float>(), a.grad.ptr<const float>(), a.m.ptr<float>(), a.v.ptr<float>(), n, a.lr, a.beta1, a.beta2,
      a.eps, 1.0f - a.lr * a.weight_decay, a.grad_scale, bc1, bc2);
  CUDA_CHECK_LAUNCH();
  return Status::ok();
}

Status CudaBackend::tensor_stats(const TensorStatsArgs& a) {
  DType st, out_st;
  BRAID_RETURN_IF_ERROR(storage_dtype("tensor_stats", {{&a.x, "x"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("tensor_stats", {{&a.out, "out"}}, out_st));
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  const int64_t n = a.x.numel();
  const int blocks = static_cast<int>(std::min<int64_t>(kStatBlocks, ceil_div(n > 0 ? n : 1, kStatThreads)));
  float* partial = static_cast<float*>(ctx.workspace_at_least(2 * sizeof(float) * kStatBlocks));
  return dispatch_storage(st, "tensor_stats", [&](auto tag) {
    using T = decltype(tag);
    stats_partial_kernel<<<blocks, kStatThreads, 0, ctx.stream>>>(a.x.ptr<const T>(), n, partial);
    CUDA_CHECK_LAUNCH();
    stats_finish_kernel<<<1, kStatThreads, 0, ctx.stream>>>(partial, blocks, a.out.ptr<float>(), a.out.stride[0]);
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

}  // namespace braid
