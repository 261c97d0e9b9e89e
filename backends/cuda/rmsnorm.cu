// backends/cuda/rmsnorm.cu — RMSNorm, plain and gated (core/contracts/rmsnorm.h; reference:
// backends/cpu/rmsnorm.cpp).
//
// Plain (hf-models-spec §1.1):  out[m, j] = w[j] · ( x[m, j] · rsqrt(mean_group x² + eps) )
// Gated (§1.2, gate BEFORE the norm):  v = x ⊙ silu(z);  out = w ⊙ v · rsqrt(mean_group v² + eps)
// Groups are consecutive runs of group_size channels (0 means all D).
//
// One block per (row m, group g): pass 1 sums v² over the group's channels in fp32 (block
// reduction), pass 2 writes w · (v · r) with r = 1 / sqrt(ss / gs + eps) — the reference's
// expression and multiplication order. All arithmetic is fp32; a bf16 output is rounded
// once at the store (HF instead casts v·r to the activation dtype before the weight multiply,
// §8; the difference is one extra bf16 rounding).
// out may alias x (and z): each thread re-reads and then writes only the channels it read in
// pass 1, and pass 2 starts after the reduction's barriers.
#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

template <class T, bool kGated>
__global__ void rmsnorm_kernel(const T* x, int64_t ldx, const T* z, int64_t ldz, const T* w, int64_t w_stride, T* out,
                               int64_t ldo, int64_t gs, float eps) {
  __shared__ float scratch[32];
  const int64_t m = blockIdx.x;       // row
  const int64_t j0 = blockIdx.y * gs;  // first channel of this group
  const T* xr = x + m * ldx;           // [D]
  const T* zr = kGated ? z + m * ldz : nullptr;
  T* orow = out + m * ldo;

  // The normalised quantity: x itself, or x gated by silu(z) (fp32).
  auto v = [&](int64_t j) {
    const float xv = to_f32(xr[j]);
    if constexpr (kGated) return xv * silu_f32(to_f32(zr[j]));
    else return xv;
  };

  // Pass 1: ss = Σ_{j in group} v[j]², fp32.
  float ss = 0.0f;
  for (int64_t j = j0 + threadIdx.x; j < j0 + gs; j += blockDim.x) {
    const float vj = v(j);
    ss += vj * vj;
  }
  ss = block_sum(ss, scratch);
  const float r = 1.0f / sqrtf(ss / static_cast<float>(gs) + eps);  // rsqrt(mean + eps), IEEE sqrt and divide

  // Pass 2: out = w · (v · r).
  for (int64_t j = j0 + threadIdx.x; j < j0 + gs; j += blockDim.x)
    orow[j] = from_f32<T>(to_f32(w[j * w_stride]) * (v(j) * r));
}

}  // namespace

Status CudaBackend::rmsnorm(const RmsNormArgs& a) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype("rmsnorm", {{&a.x, "x"}, {&a.w, "w"}, {&a.z, "z"}, {&a.out, "out"}}, st));
  const TensorView x = a.x.as_2d();                                  // [M, D]
  const TensorView out = a.out.as_2d();                              // [M, D]
  const TensorView z = a.z.defined() ? a.z.as_2d() : TensorView();  // [M, D] or absent
  const int64_t M = x.dim(0), D = x.dim(1);
  const int64_t gs = a.group_size == 0 ? D : a.group_size;  // channels per group
  if (M == 0 || D == 0) return Status::ok();
  const int64_t groups = D / gs;
  if (groups > 65535 || M > INT32_MAX)
    return not_supported("cuda: rmsnorm with ", M, " rows of ", groups, " groups exceeds the grid");
  ctx_->activate();
  // Threads: one per channel of the group up to 256 (a whole number of warps).
  const int threads = gs >= 256 ? 256 : static_cast<int>((gs + 31) / 32 * 32);
  const dim3 grid(static_cast<unsigned>(M), static_cast<unsigned>(groups));
  return dispatch_storage(st, "rmsnorm", [&](auto tag) {
    using T = decltype(tag);
    if (z.defined())
      rmsnorm_kernel<T, true><<<grid, threads, 0, ctx_->stream>>>(x.ptr<const T>(), x.stride[0], z.ptr<const T>(),
                                                                  z.stride[0], a.w.ptr<const T>(), a.w.stride[0],
                                                                  out.ptr<T>(), out.stride[0], gs, a.eps);
    else
      rmsnorm_kernel<T, false><<<grid, threads, 0, ctx_->stream>>>(x.ptr<const T>(), x.stride[0], nullptr, 0,
                                                                   a.w.ptr<const T>(), a.w.stride[0], out.ptr<T>(),
                                                                   out.stride[0], gs, a.eps);
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

}  // namespace braid
