// backends/cuda/mamba2_ssd.cu — Mamba2 state-space dual (SSD) scan in chunked form, and its
// one-token step (core/contracts/mamba2_ssd.h; the executable specification is
// backends/cpu/mamba2_ssd.cpp; Dao & Gu 2024, "Transformers are SSMs", §6 and Listing 1).
//
// Per row b, head h (group g = h / (H/G)), token t < n_b:
//   Δ_t = clamp(softplus(dt[t,h] + dt_bias[h]), dt_min, dt_max),   ã_t = Δ_t · A[h]
//   S[p,n] ← exp(ã_t)·S[p,n] + Δ_t·B_t[g,n]·x_t[h,p]
//   y_t[h,p] = (Σ_n S[p,n]·C_t[g,n] + D[h]·x_t[h,p]) · silu(z_t[h,p])
// Padding tokens t ≥ n_b act as Δ = 0, x = 0: chunks stop at the last valid token and padding
// outputs are zero.
//
// Chunks of Q tokens (the last may be shorter, L = its valid tokens). With
//   seg[i, j] = exp(Σ_{k=j+1..i} ã_k)  (j ≤ i),   in[i] = exp(Σ_{k=0..i} ã_k),
// and S the state entering the chunk (the paper's block decomposition):
//   Y[i]   = in[i]·(S · C_i)  +  Σ_{j≤i} (C_i · B_j)·seg[i, j]·Δ_j · x_j       (outputs)
//   S_out  = in[L−1]·S + S_loc,   S_loc = Σ_j seg[L−1, j]·Δ_j · x_j ⊗ B_j      (state passing)
// bf16 storage at the head sizes the tensor-core kernel is built for (padded P·N ≤ 64·128
// and the listed (P, N) tiles) takes ssd_tc_kernel (below, "Tensor-core path"): one block per
// (b, h) — or per (b, h, 32 columns of P) when the (b, h) chains are too few to fill the GPU —
// walks the row's chunks in order with the fp32 state in WMMA accumulators. Everything else
// (f32 storage, other head sizes) takes three fp32 launches:
//   1. ssd_chunk_state_kernel   block per (b, h, chunk): S_loc [P, N] and in[L−1] into the
//                               workspace; tokens staged in shared memory kJ at a time.
//   2. ssd_state_pass_kernel    thread per (b, h, p, n), sequential over chunks: replaces each
//                               S_loc by the state entering its chunk, writes the final state.
//   3. ssd_chunk_output_kernel  block per (b, h, chunk, R rows): the R×L decay-weighted C·Bᵀ
//                               tile in shared memory, then Y for R rows × P.
// Work is O(T·Q·(N + P)) per head, linear in T. In the fp32 launches segment sums are
// accumulated directly, in the CPU reference's order, never as differences of cumulative sums:
// a difference of two large fp32 cumsums (|Σã| reaches thousands in a chunk of 256) would lose
// ~1e-4 of relative precision in exactly the decays that matter most. Cumulative sums restart
// at every chunk, so long T loses nothing. All offsets are int64 (rows beyond 64K tokens).
//
// Measured timings and what is left: backends/cuda/dev/scan_notes.md ("Mamba2 SSD / decode").
#include <algorithm>
#include <cstdint>
#include <vector>

#include <mma.h>

#include "backends/cuda/cuda_context.cuh"

namespace braid {
namespace {

// Threads per block of launches 1 and 3.
constexpr int kSsdThreads = 256;
// Output rows per block of launch 3 (lowered for large Q·N so shared memory fits).
constexpr int kSsdRows = 16;
// B rows per shared-memory tile in launch 3's C·Bᵀ stage (one per lane of a warp).
constexpr int kSsdBTile = 32;
// Shared memory budget per block: the default 48 KB, so no opt-in is needed.
constexpr size_t kSsdSmemBytes = 48 * 1024;
// Largest chunk length served; larger chunk_size (with T > 2048) is refused with a reason.
constexpr int64_t kSsdMaxChunk = 2048;
// Warps per block of the step kernel (one warp per (b, h, p)).
constexpr int kStepWarps = 4;

// Pointers and strides (elements) of one call. x, z [B, T, H, P] and B, C [B, T, G, N] have
// unit inner stride and any outer strides (slices of the conv output and of in_proj's
// output); dt [B, T, H] likewise; dt_bias, A, D [H] have a stride; state [B, H, P, N] and
// y [B, T, H, P] are contiguous.
template <class T>
struct SsdParams {
  const T* x;
  int64_t xs0, xs1, xs2;
  const T* dt;
  int64_t dts0, dts1;
  const T* dt_bias;  // null when absent
  int64_t dtbs;
  const float* A;
  int64_t As;
  const T* Bm;
  int64_t bs0, bs1, bs2;
  const T* Cm;
  int64_t cs0, cs1, cs2;
  const T* D;  // null when absent
  int64_t Ds;
  const T* z;  // null when absent
  int64_t zs0, zs1, zs2;
  float* state;            // null when absent
  const int32_t* lengths;  // null when absent; host-checked to lie in [0, T]
  int64_t ls;
  T* y;
  int64_t B, T_, H, P, G, N;
  int64_t Q, nc;  // chunk length and chunks per row, ceil(T / Q)
  float dt_min, dt_max;
};

// Δ of head h at (b, t): bias, softplus, clamp to [dt_min, dt_max] (std::clamp's order).
template <class T>
__device__ __forceinline__ float delta_of(const SsdParams<T>& p, int64_t b, int64_t t, int64_t h) {
  const float bias = p.dt_bias ? to_f32(p.dt_bias[h * p.dtbs]) : 0.0f;
  const float v = softplus_f32(to_f32(p.dt[b * p.dts0 + t * p.dts1 + h]) + bias);
  return v < p.dt_min ? p.dt_min : (p.dt_max < v ? p.dt_max : v);
}

template <class T>
__device__ __forceinline__ float x_at(const SsdParams<T>& p, int64_t b, int64_t t, int64_t h, int64_t pp) {
  return to_f32(p.x[b * p.xs0 + t * p.xs1 + h * p.xs2 + pp]);
}

// D skip and z gate on one output (the CPU's order: + D·x, then · silu(z)).
template <class T>
__device__ __forceinline__ float output_of(const SsdParams<T>& p, int64_t b, int64_t t, int64_t h, int64_t pp,
                                           float acc, float xv) {
  if (p.D) acc += to_f32(p.D[h * p.Ds]) * xv;
  if (p.z) acc *= silu_f32(to_f32(p.z[b * p.zs0 + t * p.zs1 + h * p.zs2 + pp]));
  return acc;
}

// Launch 1. Grid: blockIdx.x = (b·H + h)·nc + c. Dynamic shared memory:
//   dw [Q]  Δ_j, then w_j = seg[L−1, j]·Δ_j        da [Q]  ã_j
//   xs [kJ, P]  w_j·x_j of one token tile           bs [kJ, N]  B_j of the tile
// Writes S_loc [P, N] to chunk_states[(b·H + h)·nc + c] and in[L−1] to decay[...]; a chunk
// past the row's length (L ≤ 0) gets S_loc = 0, decay = 1, which the state pass then skips.
template <class T>
__global__ void __launch_bounds__(kSsdThreads)
    ssd_chunk_state_kernel(SsdParams<T> p, float* chunk_states, float* decay, int64_t kJ) {
  extern __shared__ float smem[];
  const int64_t c = blockIdx.x % p.nc, bh = blockIdx.x / p.nc;
  const int64_t h = bh % p.H, b = bh / p.H, g = h / (p.H / p.G);
  const int64_t c0 = c * p.Q, L = std::min(p.Q, row_length(p, b) - c0);
  const int64_t P = p.P, N = p.N;
  float* dw = smem;
  float* da = dw + p.Q;
  float* xs = da + p.Q;
  float* bs = xs + kJ * P;
  const float A = p.A[h * p.As];

  // Stage 1: Δ_j and ã_j of the chunk's valid tokens.
  for (int64_t j = threadIdx.x; j < L; j += blockDim.x) {
    dw[j] = delta_of(p, b, c0 + j, h);
    da[j] = dw[j] * A;
  }
  __syncthreads();
  // Stage 2: w_j = seg[L−1, j]·Δ_j, the suffix sum taken from k = L−1 down to j+1 as the CPU
  // does; thread 0 also forms in[L−1] = exp(ã_0 + … + ã_{L−1}) in ascending order.
  for (int64_t j = threadIdx.x; j < L; j += blockDim.x) {
    float sum = 0.0f;
    for (int64_t k = L - 1; k > j; --k) sum += da[k];
    dw[j] = expf(sum) * dw[j];
  }
  if (threadIdx.x == 0) {
    float cum = 0.0f;
    for (int64_t k = 0; k < L; ++k) cum += da[k];
    decay[blockIdx.x] = expf(cum);  // exp(0) = 1 for an empty chunk
  }

  // Stage 3: S_loc[p, n] = Σ_j (w_j·x_j[p])·B_j[n], kJ tokens per shared-memory tile. Each
  // thread owns P·N / blockDim entries, n innermost (coalesced stores).
  const int64_t PN = P * N;
  constexpr int kMaxPer = 64;  // entries per thread held in registers (P·N ≤ 64·256)
  float acc[kMaxPer];
#pragma unroll
  for (int q = 0; q < kMaxPer; ++q) acc[q] = 0.0f;
  for (int64_t j0 = 0; j0 < L; j0 += kJ) {
    const int64_t jn = std::min(kJ, L - j0);
    __syncthreads();  // the previous tile is consumed (and stage 2 is done on the first pass)
    for (int64_t e = threadIdx.x; e < jn * P; e += blockDim.x) {
      const int64_t jj = e / P, pp = e % P;
      xs[e] = dw[j0 + jj] * x_at(p, b, c0 + j0 + jj, h, pp);
    }
    for (int64_t e = threadIdx.x; e < jn * N; e += blockDim.x) {
      const int64_t jj = e / N, n = e % N;
      bs[e] = to_f32(p.Bm[b * p.bs0 + (c0 + j0 + jj) * p.bs1 + g * p.bs2 + n]);
    }
    __syncthreads();
#pragma unroll
    for (int q = 0; q < kMaxPer; ++q) {
      const int64_t e = threadIdx.x + static_cast<int64_t>(q) * blockDim.x;
      if (e < PN) {
        const int64_t pp = e / N, n = e % N;
        float s = acc[q];
        for (int64_t jj = 0; jj < jn; ++jj) s += xs[jj * P + pp] * bs[jj * N + n];
        acc[q] = s;
      }
    }
  }
  float* out = chunk_states + static_cast<int64_t>(blockIdx.x) * PN;
#pragma unroll
  for (int q = 0; q < kMaxPer; ++q) {
    const int64_t e = threadIdx.x + static_cast<int64_t>(q) * blockDim.x;
    if (e < PN) out[e] = acc[q];
  }
}

// Launch 2: one thread per (b, h, p, n) — the index of the state [B, H, P, N] itself.
// S ← in[L−1]_c·S + S_loc_c over the chunks in order, from the initial state (or zero); each
// S_loc_c is replaced in place by the S entering chunk c.
__global__ void ssd_state_pass_kernel(float* state, float* chunk_states, const float* decay, int64_t BH, int64_t PN,
                                      int64_t nc) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= BH * PN) return;
  const int64_t bh = e / PN, pn = e % PN;
  float S = state ? state[e] : 0.0f;
  for (int64_t c = 0; c < nc; ++c) {
    float* slot = chunk_states + (bh * nc + c) * PN + pn;
    const float loc = *slot;
    *slot = S;
    S = decay[bh * nc + c] * S + loc;
  }
  if (state) state[e] = S;
}

// Launch 3. Grid: blockIdx.x = ((b·H + h)·nc + c)·rtiles + rt; the block owns chunk rows
// i ∈ [i0, i0 + R), i0 = rt·R (R ≤ kSsdRows). S_in (null: zero state) holds the state
// entering each chunk. Dynamic shared memory (floats, ldb = N | 1 is odd, so lanes reading
// consecutive rows of bt at one column hit 32 different banks):
//   dl [Q] Δ_j    da [Q] ã_j    W [R, Q] seg, then (C_i·B_j)·seg[i,j]·Δ_j    cr [R, N] C_i
//   inr [R] in[i]    yoff [R, P] in[i]·(C_i·S_in[p, :])    bt [kSsdBTile, ldb] a tile of B rows
template <class T>
__global__ void __launch_bounds__(kSsdThreads)
    ssd_chunk_output_kernel(SsdParams<T> p, const float* S_in, int64_t R, int64_t rtiles) {
  extern __shared__ float smem[];
  const int64_t rt = blockIdx.x % rtiles, bhc = blockIdx.x / rtiles;
  const int64_t c = bhc % p.nc, bh = bhc / p.nc;
  const int64_t h = bh % p.H, b = bh / p.H, g = h / (p.H / p.G);
  const int64_t c0 = c * p.Q, i0 = rt * R, P = p.P, N = p.N, Q = p.Q, ldb = N | 1;
  const int64_t L = std::min(Q, row_length(p, b) - c0);  // valid rows of the chunk (≤ 0: none)
  const int64_t rows = std::min(std::min(R, Q - i0), p.T_ - c0 - i0);  // rows of y this block writes
  if (rows <= 0) return;
  T* y = p.y + ((b * p.T_ + c0 + i0) * p.H + h) * P;  // y[b, c0 + i0, h, :], rows H·P apart
  const int64_t ldy = p.H * P;
  if (i0 >= L) {  // all padding
    for (int64_t e = threadIdx.x; e < rows * P; e += blockDim.x) y[(e / P) * ldy + e % P] = from_f32<T>(0.0f);
    return;
  }
  const int64_t jmax = std::min(L, i0 + R);  // tokens j the block's rows reach
  const int64_t vrows = std::min(rows, L - i0);  // valid rows (i < L) among them
  float* dl = smem;
  float* da = dl + Q;
  float* W = da + Q;
  float* cr = W + R * Q;
  float* inr = cr + R * N;
  float* yoff = inr + R;
  float* bt = yoff + R * P;
  const float A = p.A[h * p.As];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;

  // Stage 1: Δ_j, ã_j for j < jmax; the block's C rows.
  for (int64_t j = threadIdx.x; j < jmax; j += blockDim.x) {
    dl[j] = delta_of(p, b, c0 + j, h);
    da[j] = dl[j] * A;
  }
  for (int64_t e = threadIdx.x; e < R * N; e += blockDim.x) {
    const int64_t r = e / N, n = e % N, i = i0 + r;
    cr[e] = i < L ? to_f32(p.Cm[b * p.cs0 + (c0 + i) * p.cs1 + g * p.cs2 + n]) : 0.0f;
  }
  __syncthreads();
  // Stage 2: one thread per row walks j downwards from i accumulating the segment sum
  // ã_i + ã_{i−1} + … + ã_{j+1} (the CPU's order), then forms in[i] ascending.
  for (int64_t r = threadIdx.x; r < vrows; r += blockDim.x) {
    const int64_t i = i0 + r;
    float* Wr = W + r * Q;
    Wr[i] = 1.0f;
    float sum = 0.0f;
    for (int64_t j = i - 1; j >= 0; --j) {
      sum += da[j + 1];
      Wr[j] = expf(sum);
    }
    float cum = 0.0f;
    for (int64_t k = 0; k <= i; ++k) cum += da[k];
    inr[r] = expf(cum);
  }
  // Stage 3: W[r, j] = (C_i·B_j)·seg[i, j]·Δ_j for j ≤ i (the CPU's product order). B rows
  // go through shared memory kSsdBTile at a time (coalesced loads); lanes take consecutive
  // j, so the dot products read bt conflict-free and cr as a broadcast.
  for (int64_t j0 = 0; j0 < jmax; j0 += kSsdBTile) {
    const int64_t jn = std::min<int64_t>(kSsdBTile, jmax - j0);
    __syncthreads();  // stage 2 is done (first tile), the previous tile consumed (later ones)
    for (int64_t e = threadIdx.x; e < jn * N; e += blockDim.x) {
      const int64_t jj = e / N, n = e % N;
      bt[jj * ldb + n] = to_f32(p.Bm[b * p.bs0 + (c0 + j0 + jj) * p.bs1 + g * p.bs2 + n]);
    }
    __syncthreads();
    for (int64_t e = threadIdx.x; e < vrows * jn; e += blockDim.x) {
      const int64_t r = e / jn, jj = e % jn, i = i0 + r, j = j0 + jj;
      if (j > i) continue;
      const float* Ci = cr + r * N;
      const float* Bj = bt + jj * ldb;
      float cb = 0.0f;
      for (int64_t n = 0; n < N; ++n) cb += Ci[n] * Bj[n];
      W[r * Q + j] = cb * W[r * Q + j] * dl[j];
    }
  }
  // Stage 4a: the inter-chunk term yoff[r, p] = in[i]·Σ_n C_i[n]·S_in[p, n]: one warp per p,
  // lanes over n (S_in rows read coalesced), the R row sums reduced across the warp.
  const float* Sc = S_in ? S_in + bhc * P * N : nullptr;  // [P, N] entering this chunk
  if (Sc) {
    for (int64_t pp = warp; pp < P; pp += warps) {
      float part[kSsdRows];
#pragma unroll
      for (int r = 0; r < kSsdRows; ++r) part[r] = 0.0f;
      for (int64_t n = lane; n < N; n += 32) {
        const float sv = Sc[pp * N + n];
#pragma unroll
        for (int r = 0; r < kSsdRows; ++r)
          if (r < vrows) part[r] += cr[r * N + n] * sv;
      }
#pragma unroll
      for (int r = 0; r < kSsdRows; ++r)
        if (r < vrows) {  // warp-uniform
          const float v = warp_sum(part[r]);
          if (lane == 0) yoff[r * P + pp] = v * inr[r];
        }
    }
  }
  __syncthreads();
  // Stage 4b: y[i, p] = yoff[r, p] + Σ_{j≤i} W[r, j]·x_j[p], then D and z; padding rows
  // (i ≥ L) are zero. p innermost: x reads and y writes are coalesced, W is a broadcast.
  for (int64_t e = threadIdx.x; e < rows * P; e += blockDim.x) {
    const int64_t r = e / P, pp = e % P, i = i0 + r, t = c0 + i;
    if (i >= L) {
      y[r * ldy + pp] = from_f32<T>(0.0f);
      continue;
    }
    float diag = 0.0f;
    const float* Wr = W + r * Q;
    for (int64_t j = 0; j <= i; ++j) diag += Wr[j] * x_at(p, b, c0 + j, h, pp);
    const float off = Sc ? yoff[r * P + pp] : 0.0f;
    y[r * ldy + pp] = from_f32<T>(output_of(p, b, t, h, pp, off + diag, x_at(p, b, t, h, pp)));
  }
}

// mamba2_step: one warp per (b, h, p) row of the state, lanes over n (coalesced state
// traffic), a warp reduction for Σ_n S·C. Same per-element order as the CPU step.
template <class T>
__global__ void __launch_bounds__(kStepWarps * 32) mamba2_step_kernel(SsdParams<T> p) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kStepWarps + threadIdx.x / 32;  // (b, h, p)
  const int lane = threadIdx.x % 32;
  if (row >= p.B * p.H * p.P) return;  // warp-uniform
  const int64_t pp = row % p.P, h = (row / p.P) % p.H, b = row / (p.P * p.H), g = h / (p.H / p.G), N = p.N;
  const float delta = delta_of(p, b, 0, h);
  const float dA = expf(delta * p.A[h * p.As]);  // scalar decay of head h
  const float xv = x_at(p, b, 0, h, pp);
  const T* Bt = p.Bm + b * p.bs0 + g * p.bs2;  // [N]
  const T* Ct = p.Cm + b * p.cs0 + g * p.cs2;  // [N]
  float* S = p.state + row * N;                // [N] of [B, H, P, N]
  float acc = 0.0f;
  for (int64_t n = lane; n < N; n += 32) {
    const float s = dA * S[n] + (delta * to_f32(Bt[n])) * xv;
    S[n] = s;
    acc += s * to_f32(Ct[n]);
  }
  acc = warp_sum(acc);
  if (lane == 0) p.y[row] = from_f32<T>(output_of(p, b, 0, h, pp, acc, xv));  // y [B, 1, H, P]
}

template <class T>
SsdParams<T> ssd_params(const Mamba2SsdArgs& a) {
  SsdParams<T> p{};
  p.x = static_cast<const T*>(a.x.data);
  p.xs0 = a.x.stride[0];
  p.xs1 = a.x.stride[1];
  p.xs2 = a.x.stride[2];
  p.dt = static_cast<const T*>(a.dt.data);
  p.dts0 = a.dt.stride[0];
  p.dts1 = a.dt.stride[1];
  p.dt_bias = a.dt_bias.defined() ? static_cast<const T*>(a.dt_bias.data) : nullptr;
  p.dtbs = a.dt_bias.defined() ? a.dt_bias.stride[0] : 0;
  p.A = static_cast<const float*>(a.A.data);
  p.As = a.A.stride[0];
  p.Bm = static_cast<const T*>(a.Bm.data);
  p.bs0 = a.Bm.stride[0];
  p.bs1 = a.Bm.stride[1];
  p.bs2 = a.Bm.stride[2];
  p.Cm = static_cast<const T*>(a.Cm.data);
  p.cs0 = a.Cm.stride[0];
  p.cs1 = a.Cm.stride[1];
  p.cs2 = a.Cm.stride[2];
  p.D = a.D.defined() ? static_cast<const T*>(a.D.data) : nullptr;
  p.Ds = a.D.defined() ? a.D.stride[0] : 0;
  p.z = a.z.defined() ? static_cast<const T*>(a.z.data) : nullptr;
  p.zs0 = a.z.defined() ? a.z.stride[0] : 0;
  p.zs1 = a.z.defined() ? a.z.stride[1] : 0;
  p.zs2 = a.z.defined() ? a.z.stride[2] : 0;
  p.state = a.state.defined() ? static_cast<float*>(a.state.data) : nullptr;
  p.lengths = a.lengths.defined() ? static_cast<const int32_t*>(a.lengths.data) : nullptr;
  p.ls = a.lengths.defined() ? a.lengths.stride[0] : 0;
  p.y = static_cast<T*>(a.y.data);
  p.B = a.x.dim(0);
  p.T_ = a.x.dim(1);
  p.H = a.x.dim(2);
  p.P = a.x.dim(3);
  p.G = a.Bm.dim(2);
  p.N = a.Bm.dim(3);
  p.dt_min = a.dt_min;
  p.dt_max = a.dt_max;
  return p;
}

// The storage dtype of an SSD call: every float tensor but A and the state (f32) shares it.
Status ssd_dtype(const char* contract, const Mamba2SsdArgs& a, DType& t) {
  return storage_dtype(contract,
                       {{&a.x, "x"}, {&a.dt, "dt"}, {&a.dt_bias, "dt_bias"}, {&a.Bm, "B"}, {&a.Cm, "C"}, {&a.D, "D"},
                        {&a.z, "z"}, {&a.y, "y"}},
                       t);
}

// ---------------------------------------------------------------------------------------
// Tensor-core path (bf16 storage): one block per (b, h) walks the row's chunks in order with
// the fp32 state S [P, N] held in WMMA accumulator fragments (bf16 16×16×16, fp32
// accumulate), so no chunk state ever goes to device memory. Per chunk of kTcChunk tokens:
//   cum[i] = Σ_{k≤i} ã_k (restarted every chunk),  W[i, j] = (C_i·B_j)·exp(cum[i] − cum[j])·Δ_j
//   Y      = W·X + diag(exp(cum))·C·Sᵀ,   S ← exp(cum[last])·S + (X∘w)ᵀ·B,
//   w_j    = exp(cum[last] − cum[j])·Δ_j.
// The internal chunk is kTcChunk = 64 whatever the contract's chunk_size: every chunk size
// computes the same function, and 64 keeps one chunk's tiles in shared memory. The matrix
// operands are bf16 (x, B, C exactly; W, X∘w and the state copy used for C·Sᵀ rounded), so
// this path serves bf16 storage; f32 storage keeps the fp32 kernels above. In-chunk sums are
// at most 64 terms, so the cumsum differences lose < 1e-4 of relative precision in a decay.
// ---------------------------------------------------------------------------------------
constexpr int kTcChunk = 64;
constexpr int kTcWarps = 8;
constexpr int kTcThreads = kTcWarps * 32;
constexpr int kTcMaxSFrags = 4;  // state tiles per warp: padded P·N ≤ 8·4·256 = 8192
constexpr int kTcLdW = kTcChunk + 8;  // W [chunk, chunk] bf16 row stride
constexpr int kTcLdCB = kTcChunk + 4;  // C·Bᵀ [chunk, chunk] fp32 row stride

using bf16 = __nv_bfloat16;

// Shared-memory layout of the tensor-core kernel (byte offsets; every region 128-byte aligned
// so WMMA tile pointers are 32-byte aligned). P and N are padded to multiples of 16 (zeros).
struct TcLayout {
  int Pp, Np, ldx, ldn, ldf;
  size_t vec, xs, xw, bs, cc, sb, f, total;
};

__host__ __device__ inline size_t tc_align(size_t v) { return (v + 127) / 128 * 128; }

inline TcLayout tc_layout(int64_t P, int64_t N) {
  TcLayout l{};
  l.Pp = static_cast<int>((P + 15) / 16 * 16);
  l.Np = static_cast<int>((N + 15) / 16 * 16);
  l.ldx = l.Pp + 8;  // bf16 rows of x tiles (16-byte pad against bank conflicts)
  l.ldn = l.Np + 8;  // bf16 rows of B, C and the state copy
  l.ldf = l.Np + 4;  // fp32 rows of the state staging
  size_t off = 0;
  auto add = [&](size_t bytes) {
    const size_t at = off;
    off = tc_align(off + bytes);
    return at;
  };
  l.vec = add(4 * kTcChunk * sizeof(float));  // dl, cum, ex, wl
  l.xs = add(sizeof(bf16) * kTcChunk * l.ldx);
  l.xw = add(sizeof(bf16) * std::max(kTcChunk * l.ldx, kTcChunk * kTcLdW));  // X∘w, then W
  l.bs = add(sizeof(bf16) * kTcChunk * l.ldn);
  l.cc = add(sizeof(bf16) * kTcChunk * l.ldn);
  l.sb = add(sizeof(bf16) * static_cast<size_t>(l.Pp) * l.ldn);
  // fp32 scratch: the state staging [Pp, ldf], or C·Bᵀ [chunk, ldCB] then Y [chunk, Pp + 4].
  l.f = add(sizeof(float) * std::max<size_t>(static_cast<size_t>(l.Pp) * l.ldf,
                                             kTcChunk * kTcLdCB + kTcChunk * (l.Pp + 4)));
  l.total = off;
  return l;
}

// dst[r, c] = src[r·rs + c] for r < rows, c < cols, zero elsewhere in [kTcChunk, kCols].
// vec: 16-byte loads (cols and rs multiples of 8, src 16-byte aligned).
template <int kCols>
__device__ __forceinline__ void tc_load_tile(bool vec, bf16* dst, int ld, const bf16* src, int64_t rs, int64_t rows,
                                             int cols) {
  if (vec) {
    constexpr int vpr = kCols / 8;
    for (int e = threadIdx.x; e < kTcChunk * vpr; e += blockDim.x) {
      const int r = e / vpr, c = (e % vpr) * 8;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (r < rows && c < cols) v = *reinterpret_cast<const uint4*>(src + r * rs + c);
      *reinterpret_cast<uint4*>(dst + r * ld + c) = v;
    }
  } else {
    for (int e = threadIdx.x; e < kTcChunk * kCols; e += blockDim.x) {
      const int r = e / kCols, c = e % kCols;
      dst[r * ld + c] = (r < rows && c < cols) ? src[r * rs + c] : from_f32<bf16>(0.0f);
    }
  }
}

// Packed bf16 helpers for the element-wise stages (16-byte or 8-byte aligned pointers).
__device__ __forceinline__ void unpack_bf16x8(uint4 v, float* f) {
  const __nv_bfloat162* h2 = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const float2 t = __bfloat1622float2(h2[k]);
    f[2 * k] = t.x;
    f[2 * k + 1] = t.y;
  }
}
__device__ __forceinline__ uint4 pack_bf16x8(const float* f) {
  uint4 v;
  __nv_bfloat162* h2 = reinterpret_cast<__nv_bfloat162*>(&v);
#pragma unroll
  for (int k = 0; k < 4; ++k) h2[k] = __floats2bfloat162_rn(f[2 * k], f[2 * k + 1]);
  return v;
}
// dst[0..8) = bf16(src[0..8) · s).
__device__ __forceinline__ void bf16x8_scale(const bf16* src, bf16* dst, float s) {
  float f[8];
  unpack_bf16x8(*reinterpret_cast<const uint4*>(src), f);
#pragma unroll
  for (int k = 0; k < 8; ++k) f[k] *= s;
  *reinterpret_cast<uint4*>(dst) = pack_bf16x8(f);
}
__device__ __forceinline__ void store_bf16x4(bf16* dst, float a, float b, float c, float d) {
  uint2 v;
  __nv_bfloat162* h2 = reinterpret_cast<__nv_bfloat162*>(&v);
  h2[0] = __floats2bfloat162_rn(a, b);
  h2[1] = __floats2bfloat162_rn(c, d);
  *reinterpret_cast<uint2*>(dst) = v;
}

// As tc_load_tile's 16-byte path, through asynchronous copies (cp.async, zero-filled past
// rows / cols): the caller commits and waits (tc_async_wait) before a barrier.
template <int kCols>
__device__ __forceinline__ void tc_copy_tile_async(bf16* dst, int ld, const bf16* src, int64_t rs, int64_t rows,
                                                   int cols) {
  constexpr int vpr = kCols / 8;
  for (int e = threadIdx.x; e < kTcChunk * vpr; e += blockDim.x) {
    const int r = e / vpr, c = (e % vpr) * 8;
    const bool in = r < rows && c < cols;
    const bf16* g = in ? src + r * rs + c : src;
    const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst + r * ld + c));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(__cvta_generic_to_global(g)), "r"(in ? 16 : 0));
  }
  asm volatile("cp.async.commit_group;\n" ::);
}
__device__ __forceinline__ void tc_async_wait() { asm volatile("cp.async.wait_group 0;\n" ::); }

namespace wm = nvcuda::wmma;
using FragAcc = wm::fragment<wm::accumulator, 16, 16, 16, float>;
template <class Layout>
using FragA = wm::fragment<wm::matrix_a, 16, 16, 16, bf16, Layout>;
template <class Layout>
using FragB = wm::fragment<wm::matrix_b, 16, 16, 16, bf16, Layout>;

// Grid: blockIdx.x = b·H + h. The state stays in S[k] (tile s = warp + 8k: rows 16·(s / Nt),
// columns 16·(s % Nt) of the padded [Pp, Np] state).
template <int kPp, int kNp>
__global__ void __launch_bounds__(kTcThreads, 2) ssd_tc_kernel(SsdParams<bf16> p, TcLayout lay, bool vec, bool vec_out) {
  constexpr int kLdx = kPp + 8, kLdn = kNp + 8, kLdf = kNp + 4, ldy = kPp + 4;
  constexpr int Pt = kPp / 16, Nt = kNp / 16, nS = Pt * Nt;
  static_assert(nS <= kTcWarps * kTcMaxSFrags, "state tiles exceed the fragments");
  extern __shared__ __align__(128) unsigned char tc_smem[];
  float* dl = reinterpret_cast<float*>(tc_smem + lay.vec);  // Δ_j (0 past the row's length)
  float* cum = dl + kTcChunk;                            // in-chunk cumsum of ã
  float* ex = cum + kTcChunk;                            // exp(cum[i])
  float* wl = ex + kTcChunk;                             // exp(cum[last] − cum[j])·Δ_j
  bf16* xs = reinterpret_cast<bf16*>(tc_smem + lay.xs);
  bf16* xw = reinterpret_cast<bf16*>(tc_smem + lay.xw);
  bf16* W = xw;  // W replaces X∘w once the state update consumed it
  bf16* bs = reinterpret_cast<bf16*>(tc_smem + lay.bs);
  bf16* cc = reinterpret_cast<bf16*>(tc_smem + lay.cc);
  bf16* sb = reinterpret_cast<bf16*>(tc_smem + lay.sb);
  float* sf = reinterpret_cast<float*>(tc_smem + lay.f);
  float* cbf = sf;
  float* yf = sf + kTcChunk * kTcLdCB;

  const int64_t h = blockIdx.x % p.H, b = blockIdx.x / p.H, g = h / (p.H / p.G);
  const int64_t nb = row_length(p, b);
  // This block's columns [p_off, p_off + P) of the head (blockIdx.y: tiles of kPp columns).
  const int p_off = static_cast<int>(blockIdx.y) * kPp;
  const int P = std::min(kPp, static_cast<int>(p.P) - p_off), N = static_cast<int>(p.N);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float A = p.A[h * p.As];
  const float Dh = p.D ? to_f32(p.D[h * p.Ds]) : 0.0f;
  float* st = p.state ? p.state + ((b * p.H + h) * p.P + p_off) * N : nullptr;  // [P, N] rows of [p.P, N]

  // Initial state (or zero) into the fragments, through the fp32 staging.
  FragAcc S[kTcMaxSFrags];
  for (int e = threadIdx.x; e < kPp * kNp; e += blockDim.x) {
    const int r = e / kNp, c = e % kNp;
    sf[r * kLdf + c] = (st && r < P && c < N) ? st[r * N + c] : 0.0f;
  }
  __syncthreads();
#pragma unroll
  for (int k = 0; k < kTcMaxSFrags; ++k) {
    const int s = warp + kTcWarps * k;
    if (s < nS) wm::load_matrix_sync(S[k], sf + (s / Nt) * 16 * kLdf + (s % Nt) * 16, kLdf, wm::mem_row_major);
  }

  const int64_t nchunks = (p.T_ + kTcChunk - 1) / kTcChunk;
  for (int64_t c = 0; c < nchunks; ++c) {
    const int64_t c0 = c * kTcChunk;
    const int64_t rows = std::min<int64_t>(kTcChunk, p.T_ - c0);  // rows of y to write
    const int64_t L = std::min<int64_t>(kTcChunk, nb - c0);          // valid tokens (≤ 0: none)
    bf16* yrow = p.y + ((b * p.T_ + c0) * p.H + h) * p.P + p_off;  // y[b, c0, h, p_off]
    const int64_t ldyg = p.H * p.P;
    __syncthreads();  // the previous chunk's epilogue is done with xs and yf
    if (L <= 0) {     // padding only: zeros, the state is unchanged
      for (int e = threadIdx.x; e < kTcChunk * kPp; e += blockDim.x) {
        const int i = e / kPp, pp = e % kPp;
        if (i < rows && pp < P) yrow[i * ldyg + pp] = from_f32<bf16>(0.0f);
      }
      continue;
    }
    // 1. Δ and the chunk's x, B, C tiles (zero past L and in the padding columns).
    //    With 16-byte loads they are asynchronous copies, and B, C were already issued during
    //    the previous chunk (after its last read of bs and cc) unless this is the first.
    const bf16* xg = p.x + b * p.xs0 + c0 * p.xs1 + h * p.xs2 + p_off;
    if (vec) {
      tc_copy_tile_async<kPp>(xs, kLdx, xg, p.xs1, L, P);
      if (c == 0) {
        tc_copy_tile_async<kNp>(bs, kLdn, p.Bm + b * p.bs0 + c0 * p.bs1 + g * p.bs2, p.bs1, L, N);
        tc_copy_tile_async<kNp>(cc, kLdn, p.Cm + b * p.cs0 + c0 * p.cs1 + g * p.cs2, p.cs1, L, N);
      }
    } else {
      tc_load_tile<kPp>(false, xs, kLdx, xg, p.xs1, L, P);
      tc_load_tile<kNp>(false, bs, kLdn, p.Bm + b * p.bs0 + c0 * p.bs1 + g * p.bs2, p.bs1, L, N);
      tc_load_tile<kNp>(false, cc, kLdn, p.Cm + b * p.cs0 + c0 * p.cs1 + g * p.cs2, p.cs1, L, N);
    }
    for (int j = threadIdx.x; j < kTcChunk; j += blockDim.x) dl[j] = j < L ? delta_of(p, b, c0 + j, h) : 0.0f;
    if (vec) tc_async_wait();
    __syncthreads();
    // 2. In-chunk inclusive cumsum of ã = Δ·A (warp 0, two halves of 32).
    if (warp == 0) {
      float v0 = dl[lane] * A, v1 = dl[lane + 32] * A;
      for (int o = 1; o < 32; o <<= 1) {
        const float u0 = __shfl_up_sync(0xffffffffu, v0, o), u1 = __shfl_up_sync(0xffffffffu, v1, o);
        if (lane >= o) {
          v0 += u0;
          v1 += u1;
        }
      }
      v1 += __shfl_sync(0xffffffffu, v0, 31);
      cum[lane] = v0;
      cum[lane + 32] = v1;
    }
    __syncthreads();
    const float last = cum[kTcChunk - 1];
    for (int j = threadIdx.x; j < kTcChunk; j += blockDim.x) {
      ex[j] = expf(cum[j]);
      wl[j] = expf(last - cum[j]) * dl[j];
    }
    __syncthreads();
    // 3. X∘w; the state (entering this chunk) to the fp32 staging.
    for (int e = threadIdx.x; e < kTcChunk * kPp / 8; e += blockDim.x) {  // 8 columns per step
      const int j = e / (kPp / 8), c8 = e % (kPp / 8) * 8;
      bf16x8_scale(xs + j * kLdx + c8, xw + j * kLdx + c8, wl[j]);
    }
#pragma unroll
    for (int k = 0; k < kTcMaxSFrags; ++k) {
      const int s = warp + kTcWarps * k;
      if (s < nS) wm::store_matrix_sync(sf + (s / Nt) * 16 * kLdf + (s % Nt) * 16, S[k], kLdf, wm::mem_row_major);
    }
    __syncthreads();
    // 4. bf16 copy of the entering state; S ← exp(cum[last])·S + (X∘w)ᵀ·B.
    for (int e = threadIdx.x; e < kPp * kNp / 4; e += blockDim.x) {  // 4 columns per step
      const int r = e / (kNp / 4), c4 = e % (kNp / 4) * 4;
      const float4 v = *reinterpret_cast<const float4*>(sf + r * kLdf + c4);
      store_bf16x4(sb + r * kLdn + c4, v.x, v.y, v.z, v.w);
    }
    const float decay = expf(last);
#pragma unroll
    for (int k = 0; k < kTcMaxSFrags; ++k) {
      const int s = warp + kTcWarps * k;
      if (s < nS) {
        const int p0 = (s / Nt) * 16, n0 = (s % Nt) * 16;
        for (int q = 0; q < S[k].num_elements; ++q) S[k].x[q] *= decay;
        for (int j0 = 0; j0 < kTcChunk; j0 += 16) {
          FragA<wm::col_major> fa;
          FragB<wm::row_major> fb;
          wm::load_matrix_sync(fa, xw + j0 * kLdx + p0, kLdx);
          wm::load_matrix_sync(fb, bs + j0 * kLdn + n0, kLdn);
          wm::mma_sync(S[k], fa, fb, S[k]);
        }
      }
    }
    __syncthreads();  // sb ready; xw and the staging are free
    // 5. C·Bᵀ (tiles on or below the diagonal) and C·Sᵀ, both fp32 into the scratch.
    const int nCB = (kTcChunk / 16) * (kTcChunk / 16), nY = (kTcChunk / 16) * Pt;
    for (int t = warp; t < nCB + nY; t += kTcWarps) {
      FragAcc acc;
      wm::fill_fragment(acc, 0.0f);
      if (t < nCB) {
        const int it = t / (kTcChunk / 16), jt = t % (kTcChunk / 16);
        if (jt > it) continue;
        for (int k0 = 0; k0 < kNp; k0 += 16) {
          FragA<wm::row_major> fa;
          FragB<wm::col_major> fb;
          wm::load_matrix_sync(fa, cc + it * 16 * kLdn + k0, kLdn);
          wm::load_matrix_sync(fb, bs + jt * 16 * kLdn + k0, kLdn);
          wm::mma_sync(acc, fa, fb, acc);
        }
        wm::store_matrix_sync(cbf + it * 16 * kTcLdCB + jt * 16, acc, kTcLdCB, wm::mem_row_major);
      } else {
        const int it = (t - nCB) / Pt, pt = (t - nCB) % Pt;
        for (int k0 = 0; k0 < kNp; k0 += 16) {
          FragA<wm::row_major> fa;
          FragB<wm::col_major> fb;
          wm::load_matrix_sync(fa, cc + it * 16 * kLdn + k0, kLdn);
          wm::load_matrix_sync(fb, sb + pt * 16 * kLdn + k0, kLdn);
          wm::mma_sync(acc, fa, fb, acc);
        }
        wm::store_matrix_sync(yf + it * 16 * ldy + pt * 16, acc, ldy, wm::mem_row_major);
      }
    }
    __syncthreads();
    // bs and cc are free: start the next chunk's B and C copies (its x follows at its start).
    const int64_t c1 = c0 + kTcChunk, L1 = std::min<int64_t>(kTcChunk, nb - c1);
    if (vec && L1 > 0) {
      tc_copy_tile_async<kNp>(bs, kLdn, p.Bm + b * p.bs0 + c1 * p.bs1 + g * p.bs2, p.bs1, L1, N);
      tc_copy_tile_async<kNp>(cc, kLdn, p.Cm + b * p.cs0 + c1 * p.cs1 + g * p.cs2, p.cs1, L1, N);
    }
    // 6. W = (C·Bᵀ)∘exp(cum[i] − cum[j])∘Δ_j on j ≤ i (bf16); the inter-chunk term ·exp(cum[i]).
    for (int e = threadIdx.x; e < kTcChunk * kTcChunk / 4; e += blockDim.x) {  // 4 columns per step
      const int i = e / (kTcChunk / 4), j = e % (kTcChunk / 4) * 4;
      const float4 cb = *reinterpret_cast<const float4*>(cbf + i * kTcLdCB + j);
      const float ci = cum[i];
      auto w = [&](float v, int jj) { return jj <= i ? v * __expf(ci - cum[jj]) * dl[jj] : 0.0f; };
      store_bf16x4(W + i * kTcLdW + j, w(cb.x, j), w(cb.y, j + 1), w(cb.z, j + 2), w(cb.w, j + 3));
    }
    for (int e = threadIdx.x; e < kTcChunk * kPp / 4; e += blockDim.x) {
      const int i = e / (kPp / 4), c4 = e % (kPp / 4) * 4;
      float4* v = reinterpret_cast<float4*>(yf + i * ldy + c4);
      const float s = ex[i];
      *v = make_float4(v->x * s, v->y * s, v->z * s, v->w * s);
    }
    __syncthreads();
    // 7. Y += W·X over the causal tiles.
    for (int t = warp; t < nY; t += kTcWarps) {
      const int it = t / Pt, pt = t % Pt;
      FragAcc acc;
      wm::load_matrix_sync(acc, yf + it * 16 * ldy + pt * 16, ldy, wm::mem_row_major);
      for (int jt = 0; jt <= it; ++jt) {
        FragA<wm::row_major> fa;
        FragB<wm::row_major> fb;
        wm::load_matrix_sync(fa, W + it * 16 * kTcLdW + jt * 16, kTcLdW);
        wm::load_matrix_sync(fb, xs + jt * 16 * kLdx + pt * 16, kLdx);
        wm::mma_sync(acc, fa, fb, acc);
      }
      wm::store_matrix_sync(yf + it * 16 * ldy + pt * 16, acc, ldy, wm::mem_row_major);
    }
    __syncthreads();
    // 8. y = (Y + D·x)·silu(z) on valid rows, zero on padding rows.
    if (vec_out) {  // 8 columns per step: 16-byte z loads and y stores
      for (int e = threadIdx.x; e < kTcChunk * kPp / 8; e += blockDim.x) {
        const int i = e / (kPp / 8), c8 = e % (kPp / 8) * 8;
        if (i >= rows || c8 >= P) continue;
        uint4 out = make_uint4(0, 0, 0, 0);
        if (i < L) {
          float v[8], xv[8], zv[8];
          unpack_bf16x8(*reinterpret_cast<const uint4*>(xs + i * kLdx + c8), xv);
          if (p.z) unpack_bf16x8(*reinterpret_cast<const uint4*>(p.z + b * p.zs0 + (c0 + i) * p.zs1 + h * p.zs2 + p_off + c8), zv);
#pragma unroll
          for (int k = 0; k < 8; ++k) {
            v[k] = yf[i * ldy + c8 + k];
            if (p.D) v[k] += Dh * xv[k];
            if (p.z) v[k] *= silu_f32(zv[k]);
          }
          out = pack_bf16x8(v);
        }
        *reinterpret_cast<uint4*>(yrow + i * ldyg + c8) = out;
      }
      continue;
    }
    for (int e = threadIdx.x; e < kTcChunk * kPp; e += blockDim.x) {
      const int i = e / kPp, pp = e % kPp;
      if (i >= rows || pp >= P) continue;
      float v = 0.0f;
      if (i < L) {
        const float xv = to_f32(xs[i * kLdx + pp]);
        v = yf[i * ldy + pp];
        if (p.D) v += Dh * xv;
        if (p.z) v *= silu_f32(to_f32(p.z[b * p.zs0 + (c0 + i) * p.zs1 + h * p.zs2 + p_off + pp]));
      }
      yrow[i * ldyg + pp] = from_f32<bf16>(v);
    }
  }
  // Final state.
  if (st) {
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTcMaxSFrags; ++k) {
      const int s = warp + kTcWarps * k;
      if (s < nS) wm::store_matrix_sync(sf + (s / Nt) * 16 * kLdf + (s % Nt) * 16, S[k], kLdf, wm::mem_row_major);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < kPp * kNp; e += blockDim.x) {
      const int r = e / kNp, c2 = e % kNp;
      if (r < P && c2 < N) st[r * N + c2] = sf[r * kLdf + c2];
    }
  }
}

// Whether the tensor-core kernel serves this call, and whether its 16-byte loads apply.
// The tensor-core kernel built for padded head sizes (Pp, Np), or null: other sizes take the
// fp32 kernels. Mamba2-2.7B, Bamba and Codestral heads are (64, 128).
using TcKernel = void (*)(SsdParams<bf16>, TcLayout, bool, bool);
TcKernel tc_kernel_for(int Pp, int Np) {
  if (Pp == 64 && Np == 128) return ssd_tc_kernel<64, 128>;
  if (Pp == 64 && Np == 64) return ssd_tc_kernel<64, 64>;
  if (Pp == 32 && Np == 128) return ssd_tc_kernel<32, 128>;
  if (Pp == 32 && Np == 64) return ssd_tc_kernel<32, 64>;
  if (Pp == 128 && Np == 64) return ssd_tc_kernel<128, 64>;
  if (Pp == 48 && Np == 16) return ssd_tc_kernel<48, 16>;
  return nullptr;
}
bool tc_vec_ok(const SsdParams<bf16>& p) {
  auto al = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; };
  auto m8 = [](int64_t v) { return v % 8 == 0; };
  return al(p.x) && al(p.Bm) && al(p.Cm) && m8(p.P) && m8(p.N) && m8(p.xs0) && m8(p.xs1) && m8(p.xs2) &&
         m8(p.bs0) && m8(p.bs1) && m8(p.bs2) && m8(p.cs0) && m8(p.cs1) && m8(p.cs2);
}
// Whether the epilogue's 16-byte z loads and y stores apply.
bool tc_vec_out_ok(const SsdParams<bf16>& p) {
  auto al = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % 16 == 0; };
  auto m8 = [](int64_t v) { return v % 8 == 0; };
  const bool z_ok = !p.z || (al(p.z) && m8(p.zs0) && m8(p.zs1) && m8(p.zs2));
  return al(p.y) && m8(p.P) && z_ok;
}

// mamba2_step with 16-byte state traffic: one warp per kStepRows consecutive p rows of one
// (b, h); lanes over n in float4 groups, the B/C values loaded once per warp; all rows' state
// loads issued before the first use. Needs N % 4 == 0, P % kStepRows == 0, a 16-byte aligned
// state. Same per-element order as the CPU step.
constexpr int kStepRows = 4;
constexpr int kStepVecWarps = 8;
template <class T>
__global__ void __launch_bounds__(kStepVecWarps * 32) mamba2_step_vec_kernel(SsdParams<T> p) {
  const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * kStepVecWarps + threadIdx.x / 32) * kStepRows;
  const int lane = threadIdx.x % 32;
  if (row0 >= p.B * p.H * p.P) return;  // warp-uniform
  const int64_t pp0 = row0 % p.P, h = (row0 / p.P) % p.H, b = row0 / (p.P * p.H), g = h / (p.H / p.G), N = p.N;
  const float delta = delta_of(p, b, 0, h);
  const float dA = expf(delta * p.A[h * p.As]);
  float xv[kStepRows];
#pragma unroll
  for (int r = 0; r < kStepRows; ++r) xv[r] = x_at(p, b, 0, h, pp0 + r);
  const T* Bt = p.Bm + b * p.bs0 + g * p.bs2;
  const T* Ct = p.Cm + b * p.cs0 + g * p.cs2;
  float4* S = reinterpret_cast<float4*>(p.state + row0 * N);  // kStepRows rows of N / 4
  const int64_t n4 = N / 4;
  float acc[kStepRows] = {};
  for (int64_t q = lane; q < n4; q += 32) {
    float4 s[kStepRows];
#pragma unroll
    for (int r = 0; r < kStepRows; ++r) s[r] = S[r * n4 + q];
    float bv[4], cv[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      bv[k] = delta * to_f32(Bt[4 * q + k]);
      cv[k] = to_f32(Ct[4 * q + k]);
    }
#pragma unroll
    for (int r = 0; r < kStepRows; ++r) {
      float* e = &s[r].x;
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        e[k] = dA * e[k] + bv[k] * xv[r];
        acc[r] += e[k] * cv[k];
      }
      S[r * n4 + q] = s[r];
    }
  }
#pragma unroll
  for (int r = 0; r < kStepRows; ++r) {
    const float v = warp_sum(acc[r]);
    if (lane == r) p.y[row0 + r] = from_f32<T>(output_of(p, b, 0, h, pp0 + r, v, xv[r]));
  }
}

}  // namespace

Status CudaBackend::mamba2_ssd(const Mamba2SsdArgs& a) {
  CudaContext& ctx = context();
  ctx.activate();
  DType t;
  BRAID_RETURN_IF_ERROR(ssd_dtype("mamba2_ssd", a, t));
  const int64_t B = a.x.dim(0), T = a.x.dim(1), H = a.x.dim(2), P = a.x.dim(3), N = a.Bm.dim(3);
  // Lengths outside [0, T] are refused like the CPU reference does (one small
  // synchronisation to read [B] ints, only when lengths are given).
  std::vector<int32_t> lens;
  BRAID_RETURN_IF_ERROR(read_lengths(ctx, a.lengths, B, T, lens));
  if (B == 0 || T == 0 || H == 0 || P == 0) return Status::ok();

  if (t == DType::bf16) {  // the tensor-core path when the head state fits its fragments
    const SsdParams<bf16> p = ssd_params<bf16>(a);
    // Too few (b, h) chains to fill the GPU twice over: each block takes 32 columns of P.
    const int64_t Pp = (P + 15) / 16 * 16;
    const int64_t tile = (B * H < 2 * ctx.sm_count && Pp % 32 == 0) ? 32 : Pp;
    const TcLayout lay = tc_layout(tile, N);
    int optin = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, ctx.device));
    const TcKernel kernel = tc_kernel_for(lay.Pp, lay.Np);
    if (kernel && lay.total <= static_cast<size_t>(optin)) {
      CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(lay.total)));
      const dim3 grid(static_cast<unsigned>(B * H), static_cast<unsigned>(Pp / tile));
      kernel<<<grid, kTcThreads, lay.total, ctx.stream>>>(p, lay, tc_vec_ok(p), tc_vec_out_ok(p));
      CUDA_CHECK_LAUNCH();
      return Status::ok();
    }
  }

  // A chunk longer than T is the single chunk [0, n_b) either way, so Q shrinks to T.
  const int64_t Q = std::min(a.chunk_size, T), nc = ceil_div(T, Q);
  if (Q > kSsdMaxChunk)
    return not_supported("cuda: mamba2_ssd chunk_size ", a.chunk_size, " exceeds ", kSsdMaxChunk,
                         " (with T = ", T, "); hint: use chunk_size <= ", kSsdMaxChunk,
                         ", which computes the same function");
  if (P * N > 64 * kSsdThreads)
    return not_supported("cuda: mamba2_ssd head state P·N = ", P * N, " exceeds ", 64 * kSsdThreads);
  // Launch 1 tiles tokens kJ at a time; launch 3 takes R rows per block: both as large as the
  // shared-memory budget allows (floats: 2Q + kJ·(P + N), and
  // 2Q + R·(Q + N + 1 + P) + kSsdBTile·(N | 1)).
  const int64_t budget = static_cast<int64_t>(kSsdSmemBytes / sizeof(float));
  const int64_t kJ = std::min<int64_t>(32, (budget - 2 * Q) / (P + N));
  const int64_t R = std::min<int64_t>(kSsdRows, (budget - 2 * Q - kSsdBTile * (N | 1)) / (Q + N + 1 + P));
  if (kJ < 1 || R < 1)
    return not_supported("cuda: mamba2_ssd chunk_size ", Q, " with P = ", P, ", N = ", N,
                         " does not fit the kernels' shared memory; hint: a smaller chunk_size");
  const size_t smem1 = sizeof(float) * static_cast<size_t>(2 * Q + kJ * (P + N));
  const size_t smem3 = sizeof(float) * static_cast<size_t>(2 * Q + R * (Q + N + 1 + P) + kSsdBTile * (N | 1));
  const int64_t rtiles = ceil_div(Q, R);

  return dispatch_storage(t, "mamba2_ssd", [&](auto tag) -> Status {
    using S = decltype(tag);
    SsdParams<S> p = ssd_params<S>(a);
    p.Q = Q;
    p.nc = nc;
    const float* S_in = nullptr;  // states entering each chunk; none needed for one chunk from zero
    if (nc > 1 || p.state) {
      WorkspaceLayout ws;
      const size_t st_off = ws.add(sizeof(float) * static_cast<size_t>(B * H * nc * P * N));  // [B, H, nc, P, N]
      const size_t dec_off = ws.add(sizeof(float) * static_cast<size_t>(B * H * nc));         // [B, H, nc]
      void* base = ctx.workspace_at_least(ws.total());
      float* chunk_states = WorkspaceLayout::at<float>(base, st_off);
      float* decay = WorkspaceLayout::at<float>(base, dec_off);
      ssd_chunk_state_kernel<S><<<B * H * nc, kSsdThreads, smem1, ctx.stream>>>(p, chunk_states, decay, kJ);
      CUDA_CHECK_LAUNCH();
      ssd_state_pass_kernel<<<ceil_div(B * H * P * N, 256), 256, 0, ctx.stream>>>(p.state, chunk_states, decay, B * H,
                                                                                  P * N, nc);
      CUDA_CHECK_LAUNCH();
      S_in = chunk_states;
    }
    ssd_chunk_output_kernel<S><<<B * H * nc * rtiles, kSsdThreads, smem3, ctx.stream>>>(p, S_in, R, rtiles);
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

Status CudaBackend::mamba2_step(const Mamba2SsdArgs& a) {
  CudaContext& ctx = context();
  ctx.activate();
  DType t;
  BRAID_RETURN_IF_ERROR(ssd_dtype("mamba2_step", a, t));
  const int64_t rows = a.x.dim(0) * a.x.dim(2) * a.x.dim(3);  // B·H·P
  if (rows == 0) return Status::ok();
  return dispatch_storage(t, "mamba2_step", [&](auto tag) -> Status {
    using S = decltype(tag);
    const SsdParams<S> p = ssd_params<S>(a);
    if (p.N % 4 == 0 && p.P % kStepRows == 0 && reinterpret_cast<uintptr_t>(p.state) % 16 == 0) {
      const int64_t per_block = kStepVecWarps * kStepRows;
      mamba2_step_vec_kernel<S><<<ceil_div(rows, per_block), kStepVecWarps * 32, 0, ctx.stream>>>(p);
    } else {
      mamba2_step_kernel<S><<<ceil_div(rows, kStepWarps), kStepWarps * 32, 0, ctx.stream>>>(p);
    }
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

}  // namespace braid
