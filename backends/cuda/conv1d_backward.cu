// backends/cuda/conv1d_backward.cu — backward of the causal depthwise conv with SiLU
// (core/contracts/conv1d.h; reference: backends/cpu/conv1d_backward.cpp).
//
// One thread per (row b, channel c) walks the row backwards, t = T−1 … 0, then the K−1
// negative times, keeping the last K pre-activation gradients in registers:
//   s[t]  = bias + Σ_j w[j]·u[t−K+1+j]  (recomputed);  d_s[t] = d_y[t]·silu'(s[t]) (d_y without SiLU)
//   d_u[τ] = Σ_j d_s[τ+K−1−j]·w[j]:  τ ≥ 0 → d_x (0 at padding),  τ < 0 → d_state[K−1+τ]
//   partial_w[b, c, j] = Σ_t d_s[t]·u[t−K+1+j];  partial_bias[b, c] = Σ_t d_s[t]
// u is the input (x, the initial state at negative times, or 0). Consecutive threads take
// consecutive channels, so every load and store of a time step is coalesced. The per-row
// partials are added over rows in row order by launch_column_sum (deterministic).
#include <vector>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

constexpr int kMaxK = 8;
constexpr int kThreads = 128;

template <class T>
struct ConvBackParams {
  const T* x;
  int64_t xs0, xs1;
  const T* w;
  int64_t ws0, ws1;
  const T* bias;
  int64_t bs;
  const T* state;  // null: zeros
  const int32_t* lengths;
  int64_t ls;
  const T* dy;
  int64_t dys0, dys1;
  T* dx;
  int64_t dxs0, dxs1;
  float* d_state;  // null: not wanted
  float* part_w;   // [B, C, K] or null
  float* part_b;   // [B, C] or null
  int64_t B, T_, C, K;
  bool silu;
};

template <class T>
__global__ void conv1d_backward_kernel(const ConvBackParams<T> p) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x, b = blockIdx.y;
  if (c >= p.C) return;
  const int64_t K = p.K, n = row_length(p, b);
  auto u = [&](int64_t tau) -> float {
    if (tau >= 0) return to_f32(p.x[b * p.xs0 + tau * p.xs1 + c]);
    return p.state ? to_f32(p.state[(b * (K - 1) + (K - 1 + tau)) * p.C + c]) : 0.0f;
  };
  // taps, taps reversed (wr[i] = w[K−1−i]), their gradient, and d_s[τ … τ+K−1]: register arrays
  // indexed by unrolled constants only
  float w[kMaxK], wr[kMaxK], dw[kMaxK], win[kMaxK];
#pragma unroll
  for (int j = 0; j < kMaxK; ++j) {
    w[j] = j < K ? to_f32(p.w[c * p.ws0 + j * p.ws1]) : 0.0f;
    wr[j] = j < K ? to_f32(p.w[c * p.ws0 + (K - 1 - j) * p.ws1]) : 0.0f;
    dw[j] = 0.0f;
    win[j] = 0.0f;
  }
  const float bias = p.bias ? to_f32(p.bias[c * p.bs]) : 0.0f;
  float dbias = 0.0f;
  for (int64_t tau = p.T_ - 1; tau >= -(K - 1); --tau) {
    float ds = 0.0f;
    if (tau >= 0 && tau < n) {
      float s = bias;
#pragma unroll
      for (int j = 0; j < kMaxK; ++j)
        if (j < K) s += w[j] * u(tau - K + 1 + j);
      const float g = to_f32(p.dy[b * p.dys0 + tau * p.dys1 + c]);
      const float sig = 1.0f / (1.0f + expf(-s));
      ds = p.silu ? g * sig * (1.0f + s * (1.0f - sig)) : g;
      dbias += ds;
#pragma unroll
      for (int j = 0; j < kMaxK; ++j)
        if (j < K) dw[j] += ds * u(tau - K + 1 + j);
    }
#pragma unroll
    for (int j = kMaxK - 1; j > 0; --j) win[j] = win[j - 1];  // win[i] = d_s[τ + i]
    win[0] = ds;
    float acc = 0.0f;  // Σ_j d_s[τ+K−1−j]·w[j] = Σ_i d_s[τ+i]·w[K−1−i]
#pragma unroll
    for (int i = 0; i < kMaxK; ++i) acc += win[i] * wr[i];
    if (tau >= 0) p.dx[b * p.dxs0 + tau * p.dxs1 + c] = from_f32<T>(tau < n ? acc : 0.0f);
    else if (p.d_state) p.d_state[(b * (K - 1) + (K - 1 + tau)) * p.C + c] = acc;
  }
  if (p.part_b) p.part_b[b * p.C + c] = dbias;
  if (p.part_w)
#pragma unroll
    for (int j = 0; j < kMaxK; ++j)
      if (j < K) p.part_w[(b * p.C + c) * K + j] = dw[j];
}

}  // namespace

Status CudaBackend::conv1d_backward(const Conv1dBackwardArgs& a) {
  const Conv1dArgs& f = a.fwd;
  DType st, grad_st;
  BRAID_RETURN_IF_ERROR(storage_dtype("conv1d_backward", {{&f.x, "x"}, {&f.w, "w"}, {&f.bias, "bias"}, {&f.state, "state"},
                                                          {&a.d_y, "d_y"}, {&a.d_x, "d_x"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("conv1d_backward", {{&a.d_w, "d_w"}, {&a.d_bias, "d_bias"}, {&a.d_state, "d_state"}},
                                      grad_st));
  const int64_t B = f.x.dim(0), T = f.x.dim(1), C = f.x.dim(2), K = f.w.dim(1);
  if (B == 0 || C == 0) return Status::ok();
  if (K > kMaxK) return not_supported("cuda: conv1d_backward with kernel width ", K, " (at most ", kMaxK, ")");
  if (B > 65535) return not_supported("cuda: conv1d_backward with B = ", B, " exceeds the grid");
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  std::vector<int32_t> len;  // validated on the host (one small sync when lengths are given)
  BRAID_RETURN_IF_ERROR(read_lengths(ctx, f.lengths, B, T, len));
  WorkspaceLayout L;
  const size_t off_w = L.add(static_cast<size_t>(B * C * K) * sizeof(float));
  const size_t off_b = L.add(static_cast<size_t>(B * C) * sizeof(float));
  const size_t off_s = L.add(static_cast<size_t>(column_sum_scratch_floats(B, C * K)) * sizeof(float));
  void* ws = ctx.workspace_at_least(L.total());
  float *part_w = L.at<float>(ws, off_w), *part_b = L.at<float>(ws, off_b), *scratch = L.at<float>(ws, off_s);
  return dispatch_storage(st, "conv1d_backward", [&](auto tag) {
    using T_ = decltype(tag);
    ConvBackParams<T_> p{};
    p.x = f.x.ptr<const T_>(), p.xs0 = f.x.stride[0], p.xs1 = f.x.stride[1];
    p.w = f.w.ptr<const T_>(), p.ws0 = f.w.stride[0], p.ws1 = f.w.stride[1];
    p.bias = f.bias.defined() ? f.bias.ptr<const T_>() : nullptr, p.bs = f.bias.defined() ? f.bias.stride[0] : 0;
    p.state = f.state.defined() ? f.state.ptr<const T_>() : nullptr;
    p.lengths = f.lengths.defined() ? f.lengths.ptr<const int32_t>() : nullptr;
    p.ls = f.lengths.defined() ? f.lengths.stride[0] : 0;
    p.dy = a.d_y.ptr<const T_>(), p.dys0 = a.d_y.stride[0], p.dys1 = a.d_y.stride[1];
    p.dx = a.d_x.ptr<T_>(), p.dxs0 = a.d_x.stride[0], p.dxs1 = a.d_x.stride[1];
    p.d_state = a.d_state.defined() ? a.d_state.ptr<float>() : nullptr;
    p.part_w = a.d_w.defined() ? part_w : nullptr;
    p.part_b = a.d_bias.defined() ? part_b : nullptr;
    p.B = B, p.T_ = T, p.C = C, p.K = K, p.silu = f.silu;
    const dim3 grid(static_cast<unsigned>(ceil_div(C, kThreads)), static_cast<unsigned>(B));
    conv1d_backward_kernel<T_><<<grid, kThreads, 0, ctx.stream>>>(p);
    CUDA_CHECK_LAUNCH();
    if (p.part_w) launch_column_sum(ctx, part_w, DType::f32, B, C * K, C * K, a.d_w.ptr<float>(), scratch);
    if (p.part_b) launch_column_sum(ctx, part_b, DType::f32, B, C, C, a.d_bias.ptr<float>(), scratch);
    return Status::ok();
  });
}

}  // namespace braid
