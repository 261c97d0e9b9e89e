// backends/cuda/mamba1_scan.cu — Mamba1 selective scan, chunked and parallel over the
// sequence, and its one-token step (core/contracts/mamba1_scan.h; the executable specification
// is backends/cpu/mamba1_scan.cpp; Gu & Dao 2023, Algorithm 2).
//
// For row b, channel d, state n, token t < n_b:
//   Δ        = softplus(dt[b,t,d] + dt_bias[d])             (no softplus when !dt_softplus)
//   h[n]    ← exp(Δ·A[d,n]) · h[n] + (Δ·B[b,t,n]) · x[b,t,d]
//   y[b,t,d] = (Σ_n h[n]·C[b,t,n] + D[d]·x[b,t,d]) · silu(z[b,t,d])
// Padding tokens t ≥ n_b act as Δ = 0, x = 0 (no decay, no input) and output zero.
//
// Why chunks: the recurrence is linear in h, so over a chunk of tokens it is an affine map
//   h_out = exp(A[d,n] · ΣΔ) ⊙ h_in + h_loc,
// where h_loc is the chunk's scan started from zero and exp(A·ΣΔ) = Π_t exp(Δ_t·A) is its
// cumulative decay (A is constant per (d, n), so one scalar ΣΔ per (b, d, chunk) carries it).
// Three launches, each a thread per (b, d) holding its N states in registers:
//   1. mamba1_chunk_kernel<summary>: per (b, d, chunk): h_loc [N] and ΣΔ into the workspace.
//   2. mamba1_carry_kernel: per (b, n, d), sequential over the chunks: composes the affine
//      maps from the initial state, replaces each h_loc by the state entering its chunk, and
//      writes the final state.
//   3. mamba1_chunk_kernel<output>: per (b, d, chunk): the chunk's recurrence again, from the
//      state entering it, writing y (the recomputation costs a second pass of exps but stores
//      no per-token state).
// When B·Di alone fills the GPU the sequence is one chunk and only launch 3 runs, reading
// the initial state and writing the final one itself.
//
// Faster later (performance issue): several channels per thread sharing B/C, exp2 with A
// pre-scaled by log2 e, 16-byte loads of x/dt/z, and fusing launch 1 into the conv epilogue.
// (Staging 16-token B/C tiles in shared memory with x/Δ/z loaded per tile and ex2.approx decays
// was measured slower on an H100: 15.9 ms against 9.4 ms at B8 L4096 Di8192 N16.)
#include <algorithm>
#include <cstdint>
#include <vector>

#include "backends/cuda/cuda_context.cuh"

namespace braid {
namespace {

// Threads per block: consecutive channels d of one (b, chunk) (coalesced x/dt/z/y).
constexpr int kScanThreads = 128;
// Shortest chunk worth a separate scan; shorter ones would make launch 2 the long pole.
constexpr int64_t kMinChunk = 32;
// Resident threads per SM on sm_90 (the chunk count aims to fill every SM).
constexpr int64_t kThreadsPerSm = 2048;
// Largest state size N kept in registers. N above it is refused with a reason (P6).
constexpr int64_t kMaxState = 64;

// Pointers and strides (elements) of one call. x, dt, z are [B, T, Di] and B, C are [B, T, N]
// with unit inner stride and any outer strides (channel slices of projections); dt_bias, D
// are [Di] with a stride; A [Di, N], state [B, Di, N] and y [B, T, Di] are contiguous.
template <class T>
struct ScanParams {
  const T* x;
  int64_t xs0, xs1;
  const T* dt;
  int64_t dts0, dts1;
  const T* dt_bias;  // null when absent
  int64_t dtbs;
  const float* A;
  const T* Bm;
  int64_t bs0, bs1;
  const T* Cm;
  int64_t cs0, cs1;
  const T* D;  // null when absent
  int64_t Ds;
  const T* z;  // null when absent
  int64_t zs0, zs1;
  float* state;            // null when absent
  const int32_t* lengths;  // null when absent; host-checked to lie in [0, T]
  int64_t ls;
  T* y;
  int64_t B, T_, Di, N;
  bool softplus;
};

// Δ of (b, t, d): bias, then softplus unless the caller already applied it.
template <class T>
__device__ __forceinline__ float delta_of(const ScanParams<T>& p, int64_t b, int64_t t, int64_t d, float bias) {
  const float v = to_f32(p.dt[b * p.dts0 + t * p.dts1 + d]) + bias;
  return p.softplus ? softplus_f32(v) : v;
}

// D skip and z gate on the state readout acc = Σ_n h·C (the CPU's order: + D·x, then · silu(z)).
template <class T>
__device__ __forceinline__ float output_of(const ScanParams<T>& p, int64_t b, int64_t t, int64_t d, float acc,
                                           float xv, float Dd) {
  acc += Dd * xv;
  if (p.z) acc *= silu_f32(to_f32(p.z[b * p.zs0 + t * p.zs1 + d]));
  return acc;
}

// Launches 1 and 3. Grid: blockIdx.x = (b · nc + chunk) · dtiles + dtile; chunk c covers
// tokens [c·Lc, min((c+1)·Lc, T)). carry [B, nc, N, Di] and dsum [B, nc, Di] (d innermost,
// so both are read and written coalesced). carry == null means a single chunk: the
// output pass then starts from `state` (or zero) and writes the final state itself.
// NMAX ≥ N is the register array length; slots n ≥ N stay unused.
template <class T, int NMAX, bool kOutput>
__global__ void __launch_bounds__(kScanThreads)
    mamba1_chunk_kernel(ScanParams<T> p, float* carry, float* dsum, int64_t nc, int64_t Lc, int64_t dtiles) {
  const int64_t dtile = blockIdx.x % dtiles;
  const int64_t c = (blockIdx.x / dtiles) % nc;
  const int64_t b = blockIdx.x / (dtiles * nc);
  const int64_t d = dtile * kScanThreads + threadIdx.x;
  if (d >= p.Di) return;
  const int64_t N = p.N, n_b = row_length(p, b);
  const int64_t t0 = c * Lc, t1 = t0 + Lc < p.T_ ? t0 + Lc : p.T_;  // this chunk's tokens
  const int64_t tv = t1 < n_b ? t1 : n_b;                              // end of its valid ones

  float a[NMAX], h[NMAX];  // A[d, :] and the state, [N] each
#pragma unroll
  for (int s = 0; s < NMAX; ++s) {
    a[s] = s < N ? p.A[d * N + s] : 0.0f;
    h[s] = 0.0f;  // the summary pass scans from zero
    if (kOutput && s < N) {
      if (carry) h[s] = carry[((b * nc + c) * N + s) * p.Di + d];  // state entering the chunk
      else if (p.state) h[s] = p.state[(b * p.Di + d) * N + s];    // single chunk: initial state
    }
  }
  const float bias = p.dt_bias ? to_f32(p.dt_bias[d * p.dtbs]) : 0.0f;
  const float Dd = p.D ? to_f32(p.D[d * p.Ds]) : 0.0f;

  float sum_delta = 0.0f;  // ΣΔ over the chunk's valid tokens (summary pass)
  for (int64_t t = t0; t < tv; ++t) {
    const float xv = to_f32(p.x[b * p.xs0 + t * p.xs1 + d]);
    const float delta = delta_of(p, b, t, d, bias);
    const T* Bt = p.Bm + b * p.bs0 + t * p.bs1;  // [N], the same row for every thread of the block
    const T* Ct = p.Cm + b * p.cs0 + t * p.cs1;  // [N]
    float acc = 0.0f;                            // Σ_n h[n]·C[n]
#pragma unroll
    for (int s = 0; s < NMAX; ++s) {
      if (s < N) {
        h[s] = expf(delta * a[s]) * h[s] + (delta * to_f32(Bt[s])) * xv;
        if (kOutput) acc += h[s] * to_f32(Ct[s]);
      }
    }
    if (kOutput) p.y[(b * p.T_ + t) * p.Di + d] = from_f32<T>(output_of(p, b, t, d, acc, xv, Dd));
    else sum_delta += delta;
  }

  if (kOutput) {
    for (int64_t t = tv > t0 ? tv : t0; t < t1; ++t) p.y[(b * p.T_ + t) * p.Di + d] = from_f32<T>(0.0f);  // padding
    if (!carry && p.state) {
#pragma unroll
      for (int s = 0; s < NMAX; ++s)
        if (s < N) p.state[(b * p.Di + d) * N + s] = h[s];
    }
  } else {
#pragma unroll
    for (int s = 0; s < NMAX; ++s)
      if (s < N) carry[((b * nc + c) * N + s) * p.Di + d] = h[s];
    dsum[(b * nc + c) * p.Di + d] = sum_delta;
  }
}

// Launch 2: one thread per (b, n, d) (d innermost). Walks the chunks in order composing
// h ← exp(A[d,n]·ΣΔ_c)·h + h_loc_c from the initial state; each h_loc_c is replaced in place
// by the h entering chunk c. Chunks past a row's length have h_loc = 0 and ΣΔ = 0, so they
// leave h unchanged and the final h is the state after the row's last valid token.
__global__ void mamba1_carry_kernel(const float* A, float* state, float* carry, const float* dsum, int64_t B,
                                    int64_t Di, int64_t N, int64_t nc) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= B * N * Di) return;
  const int64_t d = e % Di, s = (e / Di) % N, b = e / (Di * N);
  const float a = A[d * N + s];
  float h = state ? state[(b * Di + d) * N + s] : 0.0f;
  for (int64_t c = 0; c < nc; ++c) {
    float* slot = carry + ((b * nc + c) * N + s) * Di + d;
    const float loc = *slot;
    *slot = h;
    h = expf(a * dsum[(b * nc + c) * Di + d]) * h + loc;
  }
  if (state) state[(b * Di + d) * N + s] = h;
}

// mamba1_step: one token, one thread per (b, d) updating its N states in place, in the CPU
// step's order (decay, input, readout per state). With N a multiple of 4 (and the state
// 16-byte aligned, as every backend allocation is) the state moves as float4: a warp then
// reads its 32 × N contiguous floats in full 128-byte lines.
template <class T, bool kVec4>
__global__ void mamba1_step_kernel(ScanParams<T> p) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // (b, d)
  if (e >= p.B * p.Di) return;
  const int64_t b = e / p.Di, d = e % p.Di, N = p.N;
  float* h = p.state + (b * p.Di + d) * N;  // [N]
  const float xv = to_f32(p.x[b * p.xs0 + d]);
  const float delta = delta_of(p, b, 0, d, p.dt_bias ? to_f32(p.dt_bias[d * p.dtbs]) : 0.0f);
  const T* Bt = p.Bm + b * p.bs0;  // [N]
  const T* Ct = p.Cm + b * p.cs0;  // [N]
  const float* A = p.A + d * N;
  float acc = 0.0f;
  if (kVec4) {
    for (int64_t s = 0; s < N; s += 4) {
      float4 h4 = *reinterpret_cast<const float4*>(h + s);
      const float4 a4 = *reinterpret_cast<const float4*>(A + s);
      float* hv = &h4.x;
      const float* av = &a4.x;
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        hv[k] = expf(delta * av[k]) * hv[k] + (delta * to_f32(Bt[s + k])) * xv;
        acc += hv[k] * to_f32(Ct[s + k]);
      }
      *reinterpret_cast<float4*>(h + s) = h4;
    }
  } else {
    for (int64_t s = 0; s < N; ++s) {
      const float hs = expf(delta * A[s]) * h[s] + (delta * to_f32(Bt[s])) * xv;
      h[s] = hs;
      acc += hs * to_f32(Ct[s]);
    }
  }
  p.y[b * p.Di + d] = from_f32<T>(output_of(p, b, 0, d, acc, xv, p.D ? to_f32(p.D[d * p.Ds]) : 0.0f));
}

template <class T>
ScanParams<T> scan_params(const Mamba1ScanArgs& a) {
  ScanParams<T> p{};
  p.x = static_cast<const T*>(a.x.data);
  p.xs0 = a.x.stride[0];
  p.xs1 = a.x.stride[1];
  p.dt = static_cast<const T*>(a.dt.data);
  p.dts0 = a.dt.stride[0];
  p.dts1 = a.dt.stride[1];
  p.dt_bias = a.dt_bias.defined() ? static_cast<const T*>(a.dt_bias.data) : nullptr;
  p.dtbs = a.dt_bias.defined() ? a.dt_bias.stride[0] : 0;
  p.A = static_cast<const float*>(a.A.data);
  p.Bm = static_cast<const T*>(a.Bm.data);
  p.bs0 = a.Bm.stride[0];
  p.bs1 = a.Bm.stride[1];
  p.Cm = static_cast<const T*>(a.Cm.data);
  p.cs0 = a.Cm.stride[0];
  p.cs1 = a.Cm.stride[1];
  p.D = a.D.defined() ? static_cast<const T*>(a.D.data) : nullptr;
  p.Ds = a.D.defined() ? a.D.stride[0] : 0;
  p.z = a.z.defined() ? static_cast<const T*>(a.z.data) : nullptr;
  p.zs0 = a.z.defined() ? a.z.stride[0] : 0;
  p.zs1 = a.z.defined() ? a.z.stride[1] : 0;
  p.state = a.state.defined() ? static_cast<float*>(a.state.data) : nullptr;
  p.lengths = a.lengths.defined() ? static_cast<const int32_t*>(a.lengths.data) : nullptr;
  p.ls = a.lengths.defined() ? a.lengths.stride[0] : 0;
  p.y = static_cast<T*>(a.y.data);
  p.B = a.x.dim(0);
  p.T_ = a.x.dim(1);
  p.Di = a.x.dim(2);
  p.N = a.A.dim(1);
  p.softplus = a.dt_softplus;
  return p;
}

// Launch 1 or 3 with the smallest register array that holds N.
template <class T, bool kOutput>
void launch_chunks(CudaContext& ctx, const ScanParams<T>& p, float* carry, float* dsum, int64_t nc, int64_t Lc) {
  const int64_t dtiles = ceil_div(p.Di, kScanThreads), blocks = p.B * nc * dtiles;
  if (p.N <= 16)
    mamba1_chunk_kernel<T, 16, kOutput><<<blocks, kScanThreads, 0, ctx.stream>>>(p, carry, dsum, nc, Lc, dtiles);
  else if (p.N <= 32)
    mamba1_chunk_kernel<T, 32, kOutput><<<blocks, kScanThreads, 0, ctx.stream>>>(p, carry, dsum, nc, Lc, dtiles);
  else
    mamba1_chunk_kernel<T, kMaxState, kOutput><<<blocks, kScanThreads, 0, ctx.stream>>>(p, carry, dsum, nc, Lc, dtiles);
  CUDA_CHECK_LAUNCH();
}

// The storage dtype of a scan call: every float tensor but A and the state (f32) shares it.
Status scan_dtype(const char* contract, const Mamba1ScanArgs& a, DType& t) {
  return storage_dtype(contract,
                       {{&a.x, "x"}, {&a.dt, "dt"}, {&a.dt_bias, "dt_bias"}, {&a.Bm, "B"}, {&a.Cm, "C"}, {&a.D, "D"},
                        {&a.z, "z"}, {&a.y, "y"}},
                       t);
}

}  // namespace

Status CudaBackend::mamba1_scan(const Mamba1ScanArgs& a) {
  CudaContext& ctx = context();
  ctx.activate();
  DType t;
  BRAID_RETURN_IF_ERROR(scan_dtype("mamba1_scan", a, t));
  const int64_t B = a.x.dim(0), T = a.x.dim(1), Di = a.x.dim(2), N = a.A.dim(1);
  if (N > kMaxState)
    return not_supported("cuda: mamba1_scan state size N = ", N, " exceeds ", kMaxState,
                         "; hint: run this layer on the cpu backend");
  // Lengths outside [0, T] are refused like the CPU reference does (one small
  // synchronisation to read [B] ints, only when lengths are given).
  std::vector<int32_t> lens;
  BRAID_RETURN_IF_ERROR(read_lengths(ctx, a.lengths, B, T, lens));
  if (B == 0 || T == 0 || Di == 0) return Status::ok();

  // Chunks per row: enough (b, d, chunk) threads to fill every SM, no chunk shorter than
  // kMinChunk tokens. Example: B = 8, Di = 8192 fills an H100 alone (one chunk); B = 3,
  // Di = 96, T = 1000 gives 32 chunks of 32 tokens.
  const int64_t sms = ctx.sm_count > 0 ? ctx.sm_count : 132;
  int64_t nc = ceil_div(sms * kThreadsPerSm, B * Di);
  nc = std::max<int64_t>(1, std::min(nc, ceil_div(T, kMinChunk)));
  const int64_t Lc = ceil_div(T, nc);
  nc = ceil_div(T, Lc);

  return dispatch_storage(t, "mamba1_scan", [&](auto tag) -> Status {
    using S = decltype(tag);
    const ScanParams<S> p = scan_params<S>(a);
    if (nc == 1) {
      launch_chunks<S, true>(ctx, p, nullptr, nullptr, 1, Lc);
      return Status::ok();
    }
    WorkspaceLayout ws;
    const size_t carry_off = ws.add(sizeof(float) * static_cast<size_t>(B * nc * N * Di));  // [B, nc, N, Di]
    const size_t dsum_off = ws.add(sizeof(float) * static_cast<size_t>(B * nc * Di));       // [B, nc, Di]
    void* base = ctx.workspace_at_least(ws.total());
    float* carry = WorkspaceLayout::at<float>(base, carry_off);
    float* dsum = WorkspaceLayout::at<float>(base, dsum_off);
    launch_chunks<S, false>(ctx, p, carry, dsum, nc, Lc);
    mamba1_carry_kernel<<<ceil_div(B * N * Di, 256), 256, 0, ctx.stream>>>(p.A, p.state, carry, dsum, B, Di, N, nc);
    CUDA_CHECK_LAUNCH();
    launch_chunks<S, true>(ctx, p, carry, dsum, nc, Lc);
    return Status::ok();
  });
}

Status CudaBackend::mamba1_step(const Mamba1ScanArgs& a) {
  CudaContext& ctx = context();
  ctx.activate();
  DType t;
  BRAID_RETURN_IF_ERROR(scan_dtype("mamba1_step", a, t));
  const int64_t B = a.x.dim(0), Di = a.x.dim(2);
  if (B == 0 || Di == 0) return Status::ok();
  return dispatch_storage(t, "mamba1_step", [&](auto tag) -> Status {
    using S = decltype(tag);
    const ScanParams<S> p = scan_params<S>(a);
    const bool vec4 = p.N % 4 == 0 && reinterpret_cast<uintptr_t>(p.state) % 16 == 0 &&
                      reinterpret_cast<uintptr_t>(p.A) % 16 == 0;
    if (vec4)
      mamba1_step_kernel<S, true><<<ceil_div(B * Di, 256), 256, 0, ctx.stream>>>(p);
    else
      mamba1_step_kernel<S, false><<<ceil_div(B * Di, 256), 256, 0, ctx.stream>>>(p);
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

}  // namespace braid
