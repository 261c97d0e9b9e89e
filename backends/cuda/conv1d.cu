// backends/cuda/conv1d.cu — causal depthwise conv1d with optional SiLU, and its one-token step
// (core/contracts/conv1d.h; the executable specification is backends/cpu/conv1d.cpp).
//
//   y[b, t, c] = act( bias[c] + Σ_{j<K} w[c, j] · u[b, t − K + 1 + j, c] )      t < n_b
//
// u at times ≥ 0 is x; at times −(K−1) … −1 it is `state` (oldest first) or zero. Outputs at
// padding positions t ≥ n_b = lengths[b] are zero; the state afterwards holds the last K−1
// entries of (old state ++ x[b, 0 … n_b−1]).
//
// Kernels (channels innermost everywhere, so a warp of consecutive channels is coalesced):
//   conv1d_tile_kernel    thread per (b, c, tile of kConvTile tokens); the last K inputs in
//                         registers, right-aligned in KMAX slots (compile-time indices).
//   conv1d_state_kernel   thread per (b, c): the new state, after the tile kernel (stream
//                         order), because tile 0 still reads the old state.
//   conv1d_step_kernel    thread per (b, c): one token, window [state, x], then shift.
// Storage dtype T (f32 or bf16) for x, w, bias, state and y (one per call); fp32 arithmetic.
//
// Faster later (performance issue): 16-byte vector loads of 4/8 channels per thread; fuse the
// state update into the last tile by reading the old state into registers before a grid-wide
// ordering point; for decode, fuse conv1d_step with the following scan step.
#include <cstdint>

#include "backends/cuda/cuda_context.cuh"

namespace braid {
namespace {

// Tokens per thread in the tile kernel: long enough that the K−1 warm-up reads of a tile are
// a small share of its loads, short enough that B·C·T/kConvTile threads fill the GPU.
constexpr int kConvTile = 64;
// Threads per block: consecutive channels of one (b, tile).
constexpr int kConvThreads = 128;
// Widest window held in registers; wider kernels are refused with a reason (contract P6).
constexpr int kConvMaxK = 32;

// Pointers and strides (elements). x [B, T, C] may be a channel slice (strides xs0, xs1);
// w [C, K] has row stride ws0, bias [C] stride bs; state [B, K−1, C] and y are contiguous.
template <class T>
struct ConvParams {
  const T* x;
  int64_t xs0, xs1;
  const T* w;
  int64_t ws0;
  const T* bias;  // null when absent
  int64_t bs;
  T* state;  // null when absent
  const int32_t* lengths;  // null when absent (then n_b = T); host-checked to lie in [0, T]
  int64_t ls;
  T* y;
  int64_t B, T_, C, K;
  bool silu;
};

// Input u at time tau ∈ [−(K−1), n_b) of row b, channel c (see the file header).
template <class T>
__device__ __forceinline__ float conv_input(const ConvParams<T>& p, int64_t b, int64_t tau, int64_t c) {
  if (tau >= 0) return to_f32(p.x[b * p.xs0 + tau * p.xs1 + c]);
  if (!p.state) return 0.0f;
  return to_f32(p.state[(b * (p.K - 1) + (p.K - 1 + tau)) * p.C + c]);
}

// Stage 1: outputs of one time tile. Grid: blockIdx.x = (b · tiles + tile) · ctiles + ctile.
// The window win[KMAX] holds u[t − KMAX + 1 … t] right-aligned: win[KMAX − 1] is the current
// token, and the weights are right-aligned the same way (wr[KMAX − K + j] = w[c, j], zero
// below), so Σ_s wr[s]·win[s] is the contract's sum for any K ≤ KMAX. Summation order
// matches the CPU loop: bias first, then j = 0 … K−1.
template <class T, int KMAX>
__global__ void __launch_bounds__(kConvThreads) conv1d_tile_kernel(ConvParams<T> p, int64_t tiles, int64_t ctiles) {
  const int64_t ctile = blockIdx.x % ctiles;
  const int64_t tile = (blockIdx.x / ctiles) % tiles;
  const int64_t b = blockIdx.x / (ctiles * tiles);
  const int64_t c = ctile * kConvThreads + threadIdx.x;
  if (c >= p.C) return;
  const int64_t n = row_length(p, b);
  const int64_t t0 = tile * kConvTile, t1 = t0 + kConvTile < p.T_ ? t0 + kConvTile : p.T_;

  float wr[KMAX], win[KMAX];
  const int off = KMAX - static_cast<int>(p.K);  // first used slot
#pragma unroll
  for (int s = 0; s < KMAX; ++s) {
    wr[s] = s >= off ? to_f32(p.w[c * p.ws0 + (s - off)]) : 0.0f;
    // Warm-up, before the first shift: slot s holds u[t0 − KMAX + s]; the K−1 slots s > off
    // are the ones the first token's window uses after its shift.
    win[s] = (s > off && t0 < n) ? conv_input(p, b, t0 - KMAX + s, c) : 0.0f;
  }
  const float bias = p.bias ? to_f32(p.bias[c * p.bs]) : 0.0f;

  for (int64_t t = t0; t < t1; ++t) {
    T* yp = p.y + (b * p.T_ + t) * p.C + c;  // y [B, T, C], contiguous
    if (t >= n) {
      *yp = from_f32<T>(0.0f);  // padding output
      continue;
    }
#pragma unroll
    for (int s = 0; s + 1 < KMAX; ++s) win[s] = win[s + 1];  // shift the window left by one
    win[KMAX - 1] = to_f32(p.x[b * p.xs0 + t * p.xs1 + c]);
    float acc = bias;
#pragma unroll
    for (int s = 0; s < KMAX; ++s)
      if (s >= off) acc += wr[s] * win[s];
    *yp = from_f32<T>(p.silu ? silu_f32(acc) : acc);
  }
}

// Stage 2: the new state [K−1, C] of row b: entry i is element n_b + i of
// (old state [K−1] ++ valid x [n_b]). Ascending i reads only old entries ≥ i, none of them
// overwritten yet, so one thread per (b, c) updates in place. Worked example, K = 4
// (state s0 s1 s2):  n = 0: s0 s1 s2;  n = 1: s1 s2 x0;  n = 2: s2 x0 x1;  n = 5: x2 x3 x4.
template <class T>
__global__ void conv1d_state_kernel(ConvParams<T> p) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // (b, c)
  if (e >= p.B * p.C) return;
  const int64_t b = e / p.C, c = e % p.C, n = row_length(p, b);
  for (int64_t i = 0; i < p.K - 1; ++i) {
    const int64_t src = n + i;  // index into the concatenation
    p.state[(b * (p.K - 1) + i) * p.C + c] =
        src < p.K - 1 ? p.state[(b * (p.K - 1) + src) * p.C + c] : p.x[b * p.xs0 + (src - (p.K - 1)) * p.xs1 + c];
  }
}

// conv1d_step: one token per row, one thread per (b, c). Window = [state[b, 0 … K−2, c], x],
// dotted with w[c, :] in the CPU's order, then the window shifts left and appends x.
template <class T>
__global__ void conv1d_step_kernel(ConvParams<T> p) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // (b, c)
  if (e >= p.B * p.C) return;
  const int64_t b = e / p.C, c = e % p.C, K = p.K;
  T* st = p.state + b * (K - 1) * p.C + c;  // st[j · C] = state[b, j, c]
  const T xt = p.x[b * p.xs0 + c];
  float acc = p.bias ? to_f32(p.bias[c * p.bs]) : 0.0f;
  for (int64_t j = 0; j < K - 1; ++j) acc += to_f32(p.w[c * p.ws0 + j]) * to_f32(st[j * p.C]);
  acc += to_f32(p.w[c * p.ws0 + K - 1]) * to_f32(xt);
  p.y[b * p.C + c] = from_f32<T>(p.silu ? silu_f32(acc) : acc);
  for (int64_t j = 0; j + 1 < K - 1; ++j) st[j * p.C] = st[(j + 1) * p.C];
  if (K > 1) st[(K - 2) * p.C] = xt;
}

template <class T>
ConvParams<T> conv_params(const Conv1dArgs& a) {
  ConvParams<T> p{};
  p.x = static_cast<const T*>(a.x.data);
  p.xs0 = a.x.stride[0];
  p.xs1 = a.x.stride[1];
  p.w = static_cast<const T*>(a.w.data);
  p.ws0 = a.w.stride[0];
  p.bias = a.bias.defined() ? static_cast<const T*>(a.bias.data) : nullptr;
  p.bs = a.bias.defined() ? a.bias.stride[0] : 0;
  p.state = a.state.defined() ? static_cast<T*>(a.state.data) : nullptr;
  p.lengths = a.lengths.defined() ? static_cast<const int32_t*>(a.lengths.data) : nullptr;
  p.ls = a.lengths.defined() ? a.lengths.stride[0] : 0;
  p.y = static_cast<T*>(a.y.data);
  p.B = a.x.dim(0);
  p.T_ = a.x.dim(1);
  p.C = a.x.dim(2);
  p.K = a.w.dim(1);
  p.silu = a.silu;
  return p;
}

// The tile kernel for the smallest register window that holds K.
template <class T>
void launch_conv1d_tiles(CudaContext& ctx, const ConvParams<T>& p) {
  const int64_t tiles = ceil_div(p.T_, kConvTile), ctiles = ceil_div(p.C, kConvThreads);
  const int64_t blocks = p.B * tiles * ctiles;
  if (p.K <= 4) conv1d_tile_kernel<T, 4><<<blocks, kConvThreads, 0, ctx.stream>>>(p, tiles, ctiles);
  else if (p.K <= 8) conv1d_tile_kernel<T, 8><<<blocks, kConvThreads, 0, ctx.stream>>>(p, tiles, ctiles);
  else conv1d_tile_kernel<T, kConvMaxK><<<blocks, kConvThreads, 0, ctx.stream>>>(p, tiles, ctiles);
  CUDA_CHECK_LAUNCH();
}

// The storage dtype of a conv call: x, w, bias, state and y share it.
Status conv_dtype(const char* contract, const Conv1dArgs& a, DType& t) {
  return storage_dtype(contract, {{&a.x, "x"}, {&a.w, "w"}, {&a.bias, "bias"}, {&a.state, "state"}, {&a.y, "y"}}, t);
}

}  // namespace

Status CudaBackend::conv1d(const Conv1dArgs& a) {
  CudaContext& ctx = context();
  ctx.activate();
  DType t;
  BRAID_RETURN_IF_ERROR(conv_dtype("conv1d", a, t));
  const int64_t B = a.x.dim(0), T = a.x.dim(1), C = a.x.dim(2), K = a.w.dim(1);
  if (K > kConvMaxK)
    return not_supported("cuda: conv1d width K = ", K, " exceeds ", kConvMaxK, "; hint: run this layer on the cpu backend");
  // Lengths outside [0, T] are refused like the CPU reference does; checking them reads
  // [B] ints back (one small synchronisation, only when lengths are given).
  std::vector<int32_t> n;
  BRAID_RETURN_IF_ERROR(read_lengths(ctx, a.lengths, B, T, n));
  if (B == 0 || C == 0) return Status::ok();
  return dispatch_storage(t, "conv1d", [&](auto tag) -> Status {
    using S = decltype(tag);
    const ConvParams<S> p = conv_params<S>(a);
    if (T > 0) launch_conv1d_tiles(ctx, p);
    if (p.state && K > 1 && T > 0) {
      conv1d_state_kernel<S><<<ceil_div(B * C, 256), 256, 0, ctx.stream>>>(p);
      CUDA_CHECK_LAUNCH();
    }
    return Status::ok();
  });
}

Status CudaBackend::conv1d_step(const Conv1dArgs& a) {
  CudaContext& ctx = context();
  ctx.activate();
  DType t;
  BRAID_RETURN_IF_ERROR(conv_dtype("conv1d_step", a, t));
  const int64_t B = a.x.dim(0), C = a.x.dim(2);
  if (B == 0 || C == 0) return Status::ok();
  return dispatch_storage(t, "conv1d_step", [&](auto tag) -> Status {
    using S = decltype(tag);
    conv1d_step_kernel<S><<<ceil_div(B * C, 256), 256, 0, ctx.stream>>>(conv_params<S>(a));
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

}  // namespace braid
