// backends/cuda/scan_backward.cu — backward of the Mamba1 selective scan and of the Mamba2 SSD
// by the adjoint recurrence, chunk by chunk with recomputation (core/contracts/mamba1_scan.h,
// mamba2_ssd.h; references: backends/cpu/mamba1_scan_backward.cpp, mamba2_ssd_backward.cpp).
//
// Both are one recurrence per channel c of head h (Mamba1: a head per channel, P = 1, A per
// (h, n); Mamba2: P channels per head, A per head), state h[n], e = exp(Δ[t,h]·A[h,n]):
//   forward  h[t] = e·h[t−1] + Δ·B[t]·x[t];  ŷ = Σ_n C[t]·h[t] + D·x;  y = ŷ·silu(z)
//   adjoint  g = d_y·silu(z);  d_z = d_y·ŷ·silu'(z);  λ += C[t]·g
//            d_x = Δ·Σ_n λ·B + D·g;  d_B[t] += Δ·x·λ;  d_C[t] += g·h[t]
//            d_Δ = Σ_n λ·(A·e·h[t−1] + B·x);  d_A += λ·Δ·e·h[t−1];  d_D += g·x;  λ ← e·λ
//            d_dt = d_Δ·σ(v) (1 above 20 or without softplus; 0 where Δ's clamp is active)
// Generic kernel: one thread per (row b, channel c); Mamba1 with N ∈ {4, 8, 16, 32} takes the
// fast kernel below (one thread per (b, c, n), states in registers). Memory of the generic one: the forward pass keeps h only every kChunk tokens
// (checkpoints), and each chunk's states are recomputed into a per-thread scratch just before
// its adjoint sweep: O(B·C·N·(T/kChunk + kChunk)) floats, never O(T·B·C·N). Scratch is laid
// out lane-innermost so a warp's accesses coalesce.
// Reductions, all in fixed order (no atomics): d_B and d_C sum over the block's channels per
// (t, n) by warp shuffles and a per-warp shared array, giving one partial per (b, t, block),
// which a second kernel adds over the blocks of each group; Mamba2's d_Δ (and its d_A, d_D) sum
// over the P channels of the head, which is the whole block; per-row parameter partials are
// added over rows by launch_column_sum.
#include <cmath>
#include <vector>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

constexpr int kMaxN = 256;
constexpr int64_t kChunk = 64;       // tokens between checkpoints
constexpr int kMamba1Channels = 128;  // channels (= heads) per block for Mamba1

template <class T>
struct ScanBack {
  const T* x;
  int64_t xs0, xs1, xsh;  // channel (h, p) at h·xsh + p
  const T* dt;
  int64_t dts0, dts1, dtsh;
  const T* dt_bias;
  int64_t dtbs;
  const float* A;
  int64_t Ash, Asn;  // A[h, n] at h·Ash + n·Asn (Asn = 0: one rate per head)
  const T* Bm;
  int64_t bs0, bs1, bsg;
  const T* Cm;
  int64_t cs0, cs1, csg;
  const T* D;
  int64_t Ds;
  const T* z;
  int64_t zs0, zs1, zsh;
  const float* state;
  int64_t sts0, stsh, stsp;
  const int32_t* lengths;
  int64_t ls;
  const T* dy;
  int64_t dys0, dys1, dysh;
  T* dx;
  int64_t dxs0, dxs1, dxsh;
  T* ddt;
  int64_t ddts0, ddts1, ddtsh;
  T* dz;
  int64_t dzs0, dzs1, dzsh;
  float* d_state;
  int64_t dss0, dssh, dssp;
  float *ckpt, *hs;          // scratch: [chunks][N][lanes], [kChunk + 1][N][lanes]
  float *part_B, *part_C;    // [B, T, blocks_per_row, N]
  float *part_A, *part_D, *part_bias;  // [B, H·NA], [B, H], [B, H]
  int64_t B, T_, H, P, N, hpg, lanes, cpb, blocks_per_row;
  bool softplus, head_block;  // head_block: the block is one head (Mamba2)
  float dt_min, dt_max;
};

__device__ __forceinline__ float sigmoid_f32(float v) { return 1.0f / (1.0f + expf(-v)); }

template <class T>
__global__ void scan_backward_kernel(const ScanBack<T> p) {
  __shared__ float sB[32][33], sC[32][33];  // [warp][n of the current 32-wide slice]
  __shared__ float scratch[32];
  const int64_t b = blockIdx.y, blk = blockIdx.x;
  const int64_t c = blk * p.cpb + threadIdx.x;
  const bool active = threadIdx.x < p.cpb && c < p.H * p.P;
  const int64_t cc = active ? c : blk * p.cpb;  // inactive lanes shadow a real channel, contribute 0
  const int64_t h = cc / p.P, pp = cc - h * p.P, g = h / p.hpg, N = p.N;
  const int64_t lane = (b * p.blocks_per_row + blk) * blockDim.x + threadIdx.x;  // scratch column of this thread
  const int warp = threadIdx.x >> 5, lane32 = threadIdx.x & 31, warps = blockDim.x >> 5;
  const int64_t n_b = row_length(p, b);
  const float bias = p.dt_bias ? to_f32(p.dt_bias[h * p.dtbs]) : 0.0f;
  const float Dh = p.D ? to_f32(p.D[h * p.Ds]) : 0.0f;
  const float* A = p.A + h * p.Ash;
  auto v_of = [&](int64_t t) { return to_f32(p.dt[b * p.dts0 + t * p.dts1 + h * p.dtsh]) + bias; };
  auto delta = [&](int64_t t) {
    const float v = v_of(t), s = p.softplus ? softplus_f32(v) : v;
    return fminf(fmaxf(s, p.dt_min), p.dt_max);
  };
  auto xval = [&](int64_t t) { return to_f32(p.x[b * p.xs0 + t * p.xs1 + h * p.xsh + pp]); };
  auto Bv = [&](int64_t t, int64_t n) { return to_f32(p.Bm[b * p.bs0 + t * p.bs1 + g * p.bsg + n]); };
  auto Cv = [&](int64_t t, int64_t n) { return to_f32(p.Cm[b * p.cs0 + t * p.cs1 + g * p.csg + n]); };
  auto ck = [&](int64_t i, int64_t n) -> float& { return p.ckpt[(i * N + n) * p.lanes + lane]; };
  auto hsr = [&](int64_t i, int64_t n) -> float& { return p.hs[(i * N + n) * p.lanes + lane]; };

  // Forward: checkpoints only.
  float hst[kMaxN];
  for (int64_t n = 0; n < N; ++n) hst[n] = p.state ? p.state[b * p.sts0 + h * p.stsh + pp * p.stsp + n] : 0.0f;
  const int64_t chunks = (n_b + kChunk - 1) / kChunk;
  for (int64_t ci = 0; ci < chunks; ++ci) {
    for (int64_t n = 0; n < N; ++n) ck(ci, n) = hst[n];
    for (int64_t t = ci * kChunk; t < min(n_b, (ci + 1) * kChunk); ++t) {
      const float dl = delta(t), xv = xval(t);
      for (int64_t n = 0; n < N; ++n) hst[n] = expf(dl * A[n * p.Asn]) * hst[n] + dl * Bv(t, n) * xv;
    }
  }
  // Padding positions: zero gradients.
  for (int64_t t = n_b; t < p.T_ && active; ++t) {
    p.dx[b * p.dxs0 + t * p.dxs1 + h * p.dxsh + pp] = from_f32<T>(0.0f);
    if (p.dz) p.dz[b * p.dzs0 + t * p.dzs1 + h * p.dzsh + pp] = from_f32<T>(0.0f);
    if (pp == 0) p.ddt[b * p.ddts0 + t * p.ddts1 + h * p.ddtsh] = from_f32<T>(0.0f);
  }

  float lam[kMaxN], dA_n[kMaxN];
  for (int64_t n = 0; n < N; ++n) lam[n] = 0.0f, dA_n[n] = 0.0f;
  float pD = 0.0f, pbias = 0.0f;
  for (int64_t ci = chunks - 1; ci >= 0; --ci) {
    const int64_t t0 = ci * kChunk, L = min(n_b, t0 + kChunk) - t0;
    for (int64_t n = 0; n < N; ++n) hsr(0, n) = ck(ci, n);  // hs row i holds h[t0 + i − 1]
    for (int64_t i = 0; i < L; ++i) {
      const float dl = delta(t0 + i), xv = xval(t0 + i);
      for (int64_t n = 0; n < N; ++n)
        hsr(i + 1, n) = expf(dl * A[n * p.Asn]) * hsr(i, n) + dl * Bv(t0 + i, n) * xv;
    }
    for (int64_t i = L - 1; i >= 0; --i) {
      const int64_t t = t0 + i;
      const float dl = delta(t), xv = xval(t);
      const float dyv = active ? to_f32(p.dy[b * p.dys0 + t * p.dys1 + h * p.dysh + pp]) : 0.0f;
      float gv = dyv;
      if (p.z) {
        float yhat = Dh * xv;
        for (int64_t n = 0; n < N; ++n) yhat += Cv(t, n) * hsr(i + 1, n);
        const float zv = to_f32(p.z[b * p.zs0 + t * p.zs1 + h * p.zsh + pp]), sz = sigmoid_f32(zv);
        gv = dyv * zv * sz;
        if (active) p.dz[b * p.dzs0 + t * p.dzs1 + h * p.dzsh + pp] = from_f32<T>(dyv * yhat * sz * (1.0f + zv * (1.0f - sz)));
      }
      float dxv = Dh * gv, ddelta = 0.0f;
      for (int64_t n0 = 0; n0 < N; n0 += 32) {  // 32-wide slices of n: the shared arrays' width
        for (int64_t n = n0; n < min(N, n0 + 32); ++n) {
          const float An = A[n * p.Asn], e = expf(dl * An), Bn = Bv(t, n), hp = hsr(i, n), ht = hsr(i + 1, n);
          lam[n] += Cv(t, n) * gv;
          dxv += lam[n] * dl * Bn;
          const float dBn = warp_sum(lam[n] * dl * xv), dCn = warp_sum(gv * ht);
          if (lane32 == 0) sB[warp][n - n0] = dBn, sC[warp][n - n0] = dCn;
          ddelta += lam[n] * (An * e * hp + Bn * xv);
          dA_n[n] += lam[n] * dl * e * hp;
          lam[n] *= e;
        }
        __syncthreads();
        for (int64_t k = threadIdx.x; k < min(N, n0 + 32) - n0; k += blockDim.x) {
          float sb = 0.0f, sc = 0.0f;
          for (int w = 0; w < warps; ++w) sb += sB[w][k], sc += sC[w][k];
          const int64_t o = ((b * p.T_ + t) * p.blocks_per_row + blk) * N + n0 + k;
          p.part_B[o] = sb;
          p.part_C[o] = sc;
        }
        __syncthreads();
      }
      pD += gv * xv;
      if (active) p.dx[b * p.dxs0 + t * p.dxs1 + h * p.dxsh + pp] = from_f32<T>(dxv);
      if (p.head_block) ddelta = block_sum(active ? ddelta : 0.0f, scratch);
      const float v = v_of(t), sp = p.softplus ? softplus_f32(v) : v;
      const bool clamped = sp < p.dt_min || sp > p.dt_max;
      const float ddt = clamped ? 0.0f : (!p.softplus || v > 20.0f ? ddelta : ddelta * sigmoid_f32(v));
      if (active && pp == 0) {
        p.ddt[b * p.ddts0 + t * p.ddts1 + h * p.ddtsh] = from_f32<T>(ddt);
        pbias += ddt;
      }
    }
  }
  if (active && p.d_state)
    for (int64_t n = 0; n < N; ++n) p.d_state[b * p.dss0 + h * p.dssh + pp * p.dssp + n] = lam[n];
  if (p.head_block) {  // Mamba2: one A, D per head, summed over the block's channels
    float dA = 0.0f;
    for (int64_t n = 0; n < N; ++n) dA += dA_n[n];
    dA = block_sum(active ? dA : 0.0f, scratch);
    pD = block_sum(active ? pD : 0.0f, scratch);
    if (threadIdx.x == 0) p.part_A[b * p.H + h] = dA, p.part_D[b * p.H + h] = pD, p.part_bias[b * p.H + h] = pbias;
  } else if (active) {
    for (int64_t n = 0; n < N; ++n) p.part_A[(b * p.H + h) * N + n] = dA_n[n];
    p.part_D[b * p.H + h] = pD;
    p.part_bias[b * p.H + h] = pbias;
  }
}

// Mamba1 with a small state (N ∈ {4, 8, 16, 32}): one thread per (row b, channel d, state n),
// so a thread's state, adjoint and one chunk of recomputed states live in registers (no
// scratch but the checkpoints, one float per thread every kFastChunk tokens). The N lanes of a
// channel are adjacent in a warp: sums over n (d_x, d_Δ, ŷ) are xor-shuffles within the lane
// group; d_B and d_C sum over channels by the remaining shuffle steps, then over the block's
// warps through shared memory, as in the generic kernel. Same recurrence, same fixed orders.
constexpr int kFastThreads = 256;
constexpr int kFastChunk = 16;

template <int kN>
__device__ __forceinline__ float sum_over_states(float v) {
#pragma unroll
  for (int o = kN / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <class T, int kN>
__global__ void __launch_bounds__(kFastThreads) mamba1_backward_fast_kernel(const ScanBack<T> p) {
  constexpr int kCpb = kFastThreads / kN;  // channels per block
  __shared__ float sB[kFastThreads / 32][kN], sC[kFastThreads / 32][kN];
  const int64_t b = blockIdx.y, blk = blockIdx.x;
  const int n = threadIdx.x % kN, warp = threadIdx.x >> 5, lane32 = threadIdx.x & 31;
  const int64_t d_raw = blk * kCpb + threadIdx.x / kN;
  const bool active = d_raw < p.H;
  const int64_t d = active ? d_raw : p.H - 1;  // inactive lanes shadow a real channel, contribute 0
  const int64_t lane = (b * p.blocks_per_row + blk) * kFastThreads + threadIdx.x;
  const int64_t n_b = row_length(p, b);
  const float bias = p.dt_bias ? to_f32(p.dt_bias[d * p.dtbs]) : 0.0f;
  const float Dd = p.D ? to_f32(p.D[d * p.Ds]) : 0.0f;
  const float An = p.A[d * p.Ash + n * p.Asn];
  auto v_of = [&](int64_t t) { return to_f32(p.dt[b * p.dts0 + t * p.dts1 + d]) + bias; };
  auto delta = [&](int64_t t) { return p.softplus ? softplus_f32(v_of(t)) : v_of(t); };
  auto xval = [&](int64_t t) { return to_f32(p.x[b * p.xs0 + t * p.xs1 + d]); };
  auto Bv = [&](int64_t t) { return to_f32(p.Bm[b * p.bs0 + t * p.bs1 + n]); };
  auto Cv = [&](int64_t t) { return to_f32(p.Cm[b * p.cs0 + t * p.cs1 + n]); };

  float h = p.state ? p.state[b * p.sts0 + d * p.stsh + n] : 0.0f;
  const int64_t chunks = (n_b + kFastChunk - 1) / kFastChunk;
  for (int64_t ci = 0; ci < chunks; ++ci) {
    p.ckpt[ci * p.lanes + lane] = h;
    for (int64_t t = ci * kFastChunk; t < min(n_b, (ci + 1) * kFastChunk); ++t) {
      const float dl = delta(t);
      h = expf(dl * An) * h + dl * Bv(t) * xval(t);
    }
  }
  if (active && n == 0)
    for (int64_t t = n_b; t < p.T_; ++t) {
      p.dx[b * p.dxs0 + t * p.dxs1 + d] = from_f32<T>(0.0f);
      if (p.dz) p.dz[b * p.dzs0 + t * p.dzs1 + d] = from_f32<T>(0.0f);
      p.ddt[b * p.ddts0 + t * p.ddts1 + d] = from_f32<T>(0.0f);
    }

  float lam = 0.0f, dA = 0.0f, pD = 0.0f, pbias = 0.0f;
  for (int64_t ci = chunks - 1; ci >= 0; --ci) {
    const int64_t t0 = ci * kFastChunk, L = min(n_b, t0 + kFastChunk) - t0;
    float hs[kFastChunk + 1];  // hs[i] = h[t0 + i − 1]
    hs[0] = p.ckpt[ci * p.lanes + lane];
#pragma unroll
    for (int i = 0; i < kFastChunk; ++i) {
      if (i < L) {
        const float dl = delta(t0 + i);
        hs[i + 1] = expf(dl * An) * hs[i] + dl * Bv(t0 + i) * xval(t0 + i);
      } else {
        hs[i + 1] = 0.0f;
      }
    }
#pragma unroll
    for (int i = kFastChunk - 1; i >= 0; --i) {
      if (i >= L) continue;  // uniform over the block: every thread has the same row b
      const int64_t t = t0 + i;
      const float dl = delta(t), xv = xval(t), e = expf(dl * An), Bn = Bv(t), Cn = Cv(t);
      const float dyv = active ? to_f32(p.dy[b * p.dys0 + t * p.dys1 + d]) : 0.0f;
      float g = dyv;
      if (p.z) {
        const float yhat = Dd * xv + sum_over_states<kN>(Cn * hs[i + 1]);
        const float zv = to_f32(p.z[b * p.zs0 + t * p.zs1 + d]), sz = sigmoid_f32(zv);
        g = dyv * zv * sz;
        if (active && n == 0) p.dz[b * p.dzs0 + t * p.dzs1 + d] = from_f32<T>(dyv * yhat * sz * (1.0f + zv * (1.0f - sz)));
      }
      lam += Cn * g;
      const float dxv = Dd * g + sum_over_states<kN>(lam * dl * Bn);
      const float ddelta = sum_over_states<kN>(lam * (An * e * hs[i] + Bn * xv));
      float dBc = lam * dl * xv, dCc = g * hs[i + 1];
#pragma unroll
      for (int o = kN; o < 32; o <<= 1) {  // over the warp's channels
        dBc += __shfl_xor_sync(0xffffffffu, dBc, o);
        dCc += __shfl_xor_sync(0xffffffffu, dCc, o);
      }
      if (lane32 < kN) sB[warp][n] = dBc, sC[warp][n] = dCc;
      dA += lam * dl * e * hs[i];
      lam *= e;
      if (active && n == 0) {
        const float v = v_of(t);
        const float ddt = !p.softplus || v > 20.0f ? ddelta : ddelta * sigmoid_f32(v);
        p.dx[b * p.dxs0 + t * p.dxs1 + d] = from_f32<T>(dxv);
        p.ddt[b * p.ddts0 + t * p.ddts1 + d] = from_f32<T>(ddt);
        pbias += ddt;
        pD += g * xv;
      }
      __syncthreads();
      if (threadIdx.x < kN) {
        float sb = 0.0f, sc = 0.0f;
#pragma unroll
        for (int w = 0; w < kFastThreads / 32; ++w) sb += sB[w][threadIdx.x], sc += sC[w][threadIdx.x];
        const int64_t o = ((b * p.T_ + t) * p.blocks_per_row + blk) * kN + threadIdx.x;
        p.part_B[o] = sb;
        p.part_C[o] = sc;
      }
      __syncthreads();
    }
  }
  if (!active) return;
  if (p.d_state) p.d_state[b * p.dss0 + d * p.dssh + n] = lam;
  p.part_A[(b * p.H + d) * kN + n] = dA;
  if (n == 0) p.part_D[b * p.H + d] = pD, p.part_bias[b * p.H + d] = pbias;
}

// d_B[b, t, g, n] = Σ_{blocks k of group g} part[b, t, k, n] in block order (0 at padding).
template <class T>
__global__ void group_sum_kernel(const float* part, int64_t B, int64_t Tn, int64_t blocks_per_row, int64_t G,
                                 int64_t N, const int32_t* lengths, int64_t ls, T* out, int64_t os0, int64_t os1,
                                 int64_t osg) {
  const int64_t total = B * Tn * G * N, bpg = blocks_per_row / G;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < total;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t n = q % N, g = (q / N) % G, t = (q / (N * G)) % Tn, b = q / (N * G * Tn);
    const int64_t len = lengths ? static_cast<int64_t>(lengths[b * ls]) : Tn;
    float s = 0.0f;
    if (t < len)
      for (int64_t k = g * bpg; k < (g + 1) * bpg; ++k) s += part[((b * Tn + t) * blocks_per_row + k) * N + n];
    out[b * os0 + t * os1 + g * osg + n] = from_f32<T>(s);
  }
}

// What the host side of both contracts fills in besides the kernel parameters.
struct ScanOutputs {
  TensorView d_Bm, d_Cm;                // [B, T, G, N] (Mamba1: G = 1, viewed from [B, T, N])
  TensorView d_A, d_D, d_dt_bias;       // f32, accumulated
  TensorView lengths;
  int64_t G = 1;
  int threads = 0;                      // block size (a multiple of 32)
};

template <class T>
Status launch_scan_backward(CudaContext& ctx, const char* what, ScanBack<T> p, const ScanOutputs& o) {
  if (p.B == 0 || p.T_ == 0 || p.H == 0) return Status::ok();
  if (p.N > kMaxN) return not_supported("cuda: ", what, " with N = ", p.N, " (at most ", kMaxN, ")");
  if (p.B > 65535) return not_supported("cuda: ", what, " with B = ", p.B, " exceeds the grid");
  std::vector<int32_t> len;  // validated on the host (one small sync when lengths are given)
  BRAID_RETURN_IF_ERROR(read_lengths(ctx, o.lengths, p.B, p.T_, len));
  // The fast Mamba1 kernel takes small power-of-two states; everything else runs the generic one.
  const bool fast = !p.head_block && (p.N == 4 || p.N == 8 || p.N == 16 || p.N == 32);
  const int threads = fast ? kFastThreads : o.threads;
  if (fast) p.cpb = kFastThreads / p.N, p.blocks_per_row = ceil_div(p.H, p.cpb);
  const int64_t NA = p.head_block ? 1 : p.N;
  const int64_t ck_floats = fast ? ceil_div(p.T_, kFastChunk) : ceil_div(p.T_, kChunk) * p.N;  // per thread
  const int64_t hs_floats = fast ? 0 : (kChunk + 1) * p.N;
  p.lanes = p.B * p.blocks_per_row * threads;
  p.lengths = o.lengths.defined() ? o.lengths.ptr<const int32_t>() : nullptr;
  p.ls = o.lengths.defined() ? o.lengths.stride[0] : 0;
  const size_t f4 = sizeof(float), part = static_cast<size_t>(p.B * p.T_ * p.blocks_per_row * p.N);
  WorkspaceLayout L;
  const size_t off_ck = L.add(static_cast<size_t>(ck_floats * p.lanes) * f4);
  const size_t off_hs = L.add(static_cast<size_t>(hs_floats * p.lanes) * f4);
  const size_t off_pb = L.add(part * f4), off_pc = L.add(part * f4);
  const size_t off_pa = L.add(static_cast<size_t>(p.B * p.H * NA) * f4);
  const size_t off_pd = L.add(static_cast<size_t>(p.B * p.H) * f4), off_pbias = L.add(static_cast<size_t>(p.B * p.H) * f4);
  const size_t off_sum = L.add(static_cast<size_t>(column_sum_scratch_floats(p.B, p.H * NA)) * f4);
  void* ws = ctx.workspace_at_least(L.total());
  p.ckpt = L.at<float>(ws, off_ck), p.hs = L.at<float>(ws, off_hs);
  p.part_B = L.at<float>(ws, off_pb), p.part_C = L.at<float>(ws, off_pc);
  p.part_A = L.at<float>(ws, off_pa), p.part_D = L.at<float>(ws, off_pd), p.part_bias = L.at<float>(ws, off_pbias);
  float* sum_scratch = L.at<float>(ws, off_sum);
  // Padding rows never reach the partials; zero them so the group sums read defined values.
  CUDA_CHECK(cudaMemsetAsync(p.part_B, 0, part * f4, ctx.stream));
  CUDA_CHECK(cudaMemsetAsync(p.part_C, 0, part * f4, ctx.stream));

  const dim3 grid(static_cast<unsigned>(p.blocks_per_row), static_cast<unsigned>(p.B));
  switch (fast ? p.N : 0) {
    case 4: mamba1_backward_fast_kernel<T, 4><<<grid, threads, 0, ctx.stream>>>(p); break;
    case 8: mamba1_backward_fast_kernel<T, 8><<<grid, threads, 0, ctx.stream>>>(p); break;
    case 16: mamba1_backward_fast_kernel<T, 16><<<grid, threads, 0, ctx.stream>>>(p); break;
    case 32: mamba1_backward_fast_kernel<T, 32><<<grid, threads, 0, ctx.stream>>>(p); break;
    default: scan_backward_kernel<T><<<grid, threads, 0, ctx.stream>>>(p);
  }
  CUDA_CHECK_LAUNCH();
  const int64_t total = p.B * p.T_ * o.G * p.N;
  auto group_sum = [&](const float* src, const TensorView& d) {
    group_sum_kernel<T><<<grid_for(ctx, total, 256), 256, 0, ctx.stream>>>(
        src, p.B, p.T_, p.blocks_per_row, o.G, p.N, p.lengths, p.ls, d.ptr<T>(), d.stride[0], d.stride[1],
        o.G > 1 ? d.stride[2] : 0);
    CUDA_CHECK_LAUNCH();
  };
  group_sum(p.part_B, o.d_Bm);
  group_sum(p.part_C, o.d_Cm);
  if (o.d_A.defined()) launch_column_sum(ctx, p.part_A, DType::f32, p.B, p.H * NA, p.H * NA, o.d_A.ptr<float>(), sum_scratch);
  if (o.d_D.defined()) launch_column_sum(ctx, p.part_D, DType::f32, p.B, p.H, p.H, o.d_D.ptr<float>(), sum_scratch);
  if (o.d_dt_bias.defined())
    launch_column_sum(ctx, p.part_bias, DType::f32, p.B, p.H, p.H, o.d_dt_bias.ptr<float>(), sum_scratch);
  return Status::ok();
}

// The pointers and strides both contracts share the names of (Mamba1ScanArgs / Mamba2SsdArgs
// and their backward args); `hd` is the dimension of x that indexes heads (Mamba1: channels).
template <class T, class Fwd, class Grad>
ScanBack<T> bind_common(const Fwd& f, const Grad& a, int hd) {
  ScanBack<T> p{};
  auto st = [](const TensorView& v, int d) { return v.defined() && d < v.ndim ? v.stride[d] : int64_t{0}; };
  p.x = f.x.template ptr<const T>(), p.xs0 = st(f.x, 0), p.xs1 = st(f.x, 1), p.xsh = st(f.x, hd);
  p.dt = f.dt.template ptr<const T>(), p.dts0 = st(f.dt, 0), p.dts1 = st(f.dt, 1), p.dtsh = st(f.dt, 2);
  p.dt_bias = f.dt_bias.defined() ? f.dt_bias.template ptr<const T>() : nullptr, p.dtbs = st(f.dt_bias, 0);
  p.A = f.A.template ptr<const float>();
  p.Bm = f.Bm.template ptr<const T>(), p.bs0 = st(f.Bm, 0), p.bs1 = st(f.Bm, 1);
  p.Cm = f.Cm.template ptr<const T>(), p.cs0 = st(f.Cm, 0), p.cs1 = st(f.Cm, 1);
  p.D = f.D.defined() ? f.D.template ptr<const T>() : nullptr, p.Ds = st(f.D, 0);
  p.z = f.z.defined() ? f.z.template ptr<const T>() : nullptr, p.zs0 = st(f.z, 0), p.zs1 = st(f.z, 1), p.zsh = st(f.z, hd);
  p.state = f.state.defined() ? f.state.template ptr<const float>() : nullptr, p.sts0 = st(f.state, 0);
  p.dy = a.d_y.template ptr<const T>(), p.dys0 = st(a.d_y, 0), p.dys1 = st(a.d_y, 1), p.dysh = st(a.d_y, hd);
  p.dx = a.d_x.template ptr<T>(), p.dxs0 = st(a.d_x, 0), p.dxs1 = st(a.d_x, 1), p.dxsh = st(a.d_x, hd);
  p.ddt = a.d_dt.template ptr<T>(), p.ddts0 = st(a.d_dt, 0), p.ddts1 = st(a.d_dt, 1), p.ddtsh = st(a.d_dt, 2);
  p.dz = a.d_z.defined() ? a.d_z.template ptr<T>() : nullptr, p.dzs0 = st(a.d_z, 0), p.dzs1 = st(a.d_z, 1), p.dzsh = st(a.d_z, hd);
  p.d_state = a.d_state.defined() ? a.d_state.template ptr<float>() : nullptr, p.dss0 = st(a.d_state, 0);
  p.B = f.x.dim(0), p.T_ = f.x.dim(1);
  return p;
}

template <class Fwd, class Grad>
Status storage_of_scan(const char* what, const Fwd& f, const Grad& a, DType& st) {
  DType grad_st;
  BRAID_RETURN_IF_ERROR(storage_dtype(what, {{&f.x, "x"}, {&f.dt, "dt"}, {&f.dt_bias, "dt_bias"}, {&f.Bm, "B"}, {&f.Cm, "C"},
                                             {&f.D, "D"}, {&f.z, "z"}, {&a.d_y, "d_y"}, {&a.d_x, "d_x"}, {&a.d_dt, "d_dt"},
                                             {&a.d_Bm, "d_Bm"}, {&a.d_Cm, "d_Cm"}, {&a.d_z, "d_z"}}, st));
  return storage_dtype(what, {{&f.A, "A"}, {&f.state, "state"}, {&a.d_A, "d_A"}, {&a.d_D, "d_D"},
                              {&a.d_dt_bias, "d_dt_bias"}, {&a.d_state, "d_state"}}, grad_st);
}

}  // namespace

Status CudaBackend::mamba1_scan_backward(const Mamba1ScanBackwardArgs& a) {
  const Mamba1ScanArgs& f = a.fwd;
  DType st;
  BRAID_RETURN_IF_ERROR(storage_of_scan("mamba1_scan_backward", f, a, st));
  ctx_->activate();
  return dispatch_storage(st, "mamba1_scan_backward", [&](auto tag) {
    using T = decltype(tag);
    ScanBack<T> p = bind_common<T>(f, a, 2);  // heads are channels: x [B, T, Di]
    p.xsh = 1, p.dtsh = 1, p.zsh = 1, p.dysh = 1, p.dxsh = 1, p.ddtsh = 1;  // inner-contiguous channel dims
    p.Ash = f.A.stride[0], p.Asn = f.A.stride[1];
    p.bsg = 0, p.csg = 0;
    p.stsh = f.state.defined() ? f.state.stride[1] : 0, p.stsp = 0;
    p.dssh = a.d_state.defined() ? a.d_state.stride[1] : 0, p.dssp = 0;
    p.H = f.x.dim(2), p.P = 1, p.N = f.A.dim(1), p.hpg = p.H;
    p.cpb = kMamba1Channels, p.blocks_per_row = ceil_div(p.H, kMamba1Channels);
    p.softplus = f.dt_softplus, p.head_block = false;
    p.dt_min = -INFINITY, p.dt_max = INFINITY;
    ScanOutputs o{a.d_Bm, a.d_Cm, a.d_A, a.d_D, a.d_dt_bias, f.lengths, 1, kMamba1Channels};
    return launch_scan_backward<T>(*ctx_, "mamba1_scan_backward", p, o);
  });
}

Status CudaBackend::mamba2_ssd_backward(const Mamba2SsdBackwardArgs& a) {
  const Mamba2SsdArgs& f = a.fwd;
  DType st;
  BRAID_RETURN_IF_ERROR(storage_of_scan("mamba2_ssd_backward", f, a, st));
  const int64_t P = f.x.dim(3);
  if (P > 1024) return not_supported("cuda: mamba2_ssd_backward with head dim ", P, " (at most 1024)");
  ctx_->activate();
  return dispatch_storage(st, "mamba2_ssd_backward", [&](auto tag) {
    using T = decltype(tag);
    ScanBack<T> p = bind_common<T>(f, a, 2);  // x [B, T, H, P]
    p.Ash = f.A.stride[0], p.Asn = 0;
    p.bsg = f.Bm.stride[2], p.csg = f.Cm.stride[2];
    p.stsh = f.state.defined() ? f.state.stride[1] : 0, p.stsp = f.state.defined() ? f.state.stride[2] : 0;
    p.dssh = a.d_state.defined() ? a.d_state.stride[1] : 0, p.dssp = a.d_state.defined() ? a.d_state.stride[2] : 0;
    p.H = f.x.dim(2), p.P = P, p.N = f.Bm.dim(3), p.hpg = p.H / f.Bm.dim(2);
    p.cpb = P, p.blocks_per_row = p.H;
    p.softplus = true, p.head_block = true;
    p.dt_min = f.dt_min, p.dt_max = f.dt_max;
    ScanOutputs o{a.d_Bm, a.d_Cm, a.d_A, a.d_D, a.d_dt_bias, f.lengths, f.Bm.dim(2), static_cast<int>((P + 31) / 32 * 32)};
    return launch_scan_backward<T>(*ctx_, "mamba2_ssd_backward", p, o);
  });
}

}  // namespace braid
