// backends/cuda/rmsnorm_backward.cu — backward of plain and gated RMSNorm
// (core/contracts/rmsnorm.h; reference: backends/cpu/rmsnorm_backward.cpp).
//
// Per row and group of gs channels, v = x (plain) or x ⊙ silu(z) (gated), r = rsqrt(mean(v²) + eps),
// g = d_out:
//   d_v[j] = r · w[j]·g[j] − v[j] · r³ · (1/gs) · Σ_i w[i]·g[i]·v[i]
//   d_x = d_v (plain) or d_v ⊙ silu(z);  d_z = d_v ⊙ x ⊙ silu'(z)
//   d_w[j] += Σ_rows g[j] · v[j] · r
// Stage 1: one block per (row, group) reduces Σ v² and Σ w·g·v, writes d_x and d_z, and stores
// the row's d_w terms g·v·r in an fp32 [M, D] workspace. Stage 2: launch_column_sum adds them
// over rows in a fixed order into d_w.
#include <type_traits>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

template <class T, bool kGated>
__global__ void rmsnorm_backward_kernel(const T* x, int64_t ldx, const T* z, int64_t ldz, const T* w, int64_t w_stride,
                                        const T* g, int64_t ldg, T* dx, int64_t lddx, T* dz, int64_t lddz, float* wterm,
                                        int64_t D, int64_t gs, float eps) {
  __shared__ float scratch[32];
  const int64_t m = blockIdx.x, j0 = blockIdx.y * gs;
  const T* xr = x + m * ldx;
  const T* gr = g + m * ldg;
  auto v_of = [&](int64_t j) {
    const float xv = to_f32(xr[j]);
    if constexpr (kGated) return xv * silu_f32(to_f32(z[m * ldz + j]));
    else return xv;
  };
  auto w_of = [&](int64_t j) { return w ? to_f32(w[j * w_stride]) : 1.0f; };
  float ss = 0.0f, dot = 0.0f;
  for (int64_t j = j0 + threadIdx.x; j < j0 + gs; j += blockDim.x) {
    const float v = v_of(j);
    ss += v * v;
    dot += w_of(j) * to_f32(gr[j]) * v;
  }
  ss = block_sum(ss, scratch);
  dot = block_sum(dot, scratch);
  const float r = 1.0f / sqrtf(ss / static_cast<float>(gs) + eps);
  const float coef = r * r * r * dot / static_cast<float>(gs);
  for (int64_t j = j0 + threadIdx.x; j < j0 + gs; j += blockDim.x) {
    const float v = v_of(j), gj = to_f32(gr[j]);
    const float dv = r * w_of(j) * gj - v * coef;
    if (wterm) wterm[m * D + j] = gj * v * r;
    if constexpr (kGated) {
      const float zv = to_f32(z[m * ldz + j]), xv = to_f32(xr[j]), sig = 1.0f / (1.0f + expf(-zv));
      if (dx) dx[m * lddx + j] = from_f32<T>(dv * zv * sig);
      if (dz) dz[m * lddz + j] = from_f32<T>(dv * xv * sig * (1.0f + zv * (1.0f - sig)));
    } else {
      if (dx) dx[m * lddx + j] = from_f32<T>(dv);
    }
  }
}

}  // namespace

Status CudaBackend::rmsnorm_backward(const RmsNormBackwardArgs& a) {
  const RmsNormArgs& f = a.fwd;
  DType st, grad_st;
  BRAID_RETURN_IF_ERROR(storage_dtype("rmsnorm_backward", {{&f.x, "x"}, {&f.w, "w"}, {&f.z, "z"}, {&a.d_out, "d_out"},
                                                           {&a.d_x, "d_x"}, {&a.d_z, "d_z"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("rmsnorm_backward", {{&a.d_w, "d_w"}}, grad_st));
  const TensorView x = f.x.as_2d(), g = a.d_out.as_2d();  // [M, D]
  const TensorView z = f.z.defined() ? f.z.as_2d() : TensorView();
  const TensorView dx = a.d_x.defined() ? a.d_x.as_2d() : TensorView();
  const TensorView dz = a.d_z.defined() ? a.d_z.as_2d() : TensorView();
  const int64_t M = x.dim(0), D = x.dim(1), gs = f.group_size == 0 ? D : f.group_size, groups = D / gs;
  if (M == 0 || D == 0) return Status::ok();
  if (groups > 65535 || M > INT32_MAX)
    return not_supported("cuda: rmsnorm_backward with ", M, " rows of ", groups, " groups exceeds the grid");
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  float* wterm = nullptr;
  float* scratch = nullptr;
  if (a.d_w.defined()) {
    WorkspaceLayout L;
    const size_t off_w = L.add(static_cast<size_t>(M * D) * sizeof(float));
    const size_t off_s = L.add(static_cast<size_t>(column_sum_scratch_floats(M, D)) * sizeof(float));
    void* ws = ctx.workspace_at_least(L.total());
    wterm = L.at<float>(ws, off_w);
    scratch = L.at<float>(ws, off_s);
  }
  const int threads = gs >= 256 ? 256 : static_cast<int>((gs + 31) / 32 * 32);
  const dim3 grid(static_cast<unsigned>(M), static_cast<unsigned>(groups));
  return dispatch_storage(st, "rmsnorm_backward", [&](auto tag) {
    using T = decltype(tag);
    auto launch = [&](auto gated) {
      rmsnorm_backward_kernel<T, decltype(gated)::value><<<grid, threads, 0, ctx.stream>>>(
          x.ptr<const T>(), x.stride[0], z.defined() ? z.ptr<const T>() : nullptr, z.defined() ? z.stride[0] : 0,
          f.w.defined() ? f.w.ptr<const T>() : nullptr, f.w.defined() ? f.w.stride[0] : 0, g.ptr<const T>(),
          g.stride[0], dx.defined() ? dx.ptr<T>() : nullptr, dx.defined() ? dx.stride[0] : 0,
          dz.defined() ? dz.ptr<T>() : nullptr, dz.defined() ? dz.stride[0] : 0, wterm, D, gs, f.eps);
      CUDA_CHECK_LAUNCH();
    };
    if (z.defined()) launch(std::true_type{});
    else launch(std::false_type{});
    if (wterm) launch_column_sum(ctx, wterm, DType::f32, M, D, D, a.d_w.ptr<float>(), scratch);
    return Status::ok();
  });
}

}  // namespace braid
