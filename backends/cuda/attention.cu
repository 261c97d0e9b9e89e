// backends/cuda/attention.cu — causal grouped-query attention with an optional KV cache
// (core/contracts/attention.h; reference: backends/cpu/attention.cpp; hf-models-spec §1.4;
// the semantics of flash-attn's `flash_attn_with_kvcache`).
//
// For row b let past = cache_len[b] (0 without a cache) and n = lengths[b] (T without lengths).
// Query t < n of head i (kv head j = i / (Hq/Hkv)) sits at absolute position past + t:
//   s[τ] = scale · q·k_τ  for τ ≤ past + t;   p = softmax(s) (fp32);   o = Σ_τ p[τ] · v_τ
// and o = 0 at padding queries t ≥ n.
//
// Stages:
//   0. host checks: cache_len and lengths ([B] i32) are downloaded — one small synchronous
//      read per call, acceptable because the contract makes cache overflow
//      (cache_len + lengths > S) an invalid_argument Status, which must be known before any
//      write; without a cache and without lengths nothing is read back.
//   1. append (with a cache): k/v rows t < n of row b are copied to cache rows past + t.
//   2. attention over the keys (the cache, or the new k/v themselves), fp32 online softmax
//      (running max m, running sum l, output rescaled by e^(m_old − m_new) when m grows):
//      - prefill (T > 1): one CTA per (query tile of 16, head i, row b); K/V tiles of 32 keys
//        pass through shared memory; each warp owns 4 queries; lane τ scores key τ of the tile,
//        then every lane accumulates its slice of the head dim over the tile's 32 keys.
//      - decode (T == 1): split-K over the key axis. One CTA per (split, group of up to 4
//        query heads sharing a kv head, row b); each warp walks its keys with the head dim
//        spread over lanes (coalesced loads, shuffle-reduced scores) and keeps (m, l, o) per
//        head; warps merge in shared memory, splits merge in a second small kernel.
// Every accumulation is fp32; bf16 inputs are widened on load and o is rounded once.
#include <algorithm>
#include <climits>
#include <cmath>
#include <type_traits>
#include <vector>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

// Strides (elements) of a [B, rows, H, P] tensor view; the last dim is contiguous.
struct Strides4 {
  int64_t b, t, h;
};
Strides4 strides_of(const TensorView& v) { return {v.stride[0], v.stride[1], v.stride[2]}; }

// Everything a kernel needs to know about one call.
struct AttnParams {
  const void* q;
  Strides4 qs;
  const void* keys;  // [B, S or T, Hkv, P]: the cache or the new k
  Strides4 ks;
  const void* values;  // [B, S or T, Hkv, P]
  Strides4 vs;
  void* o;
  Strides4 os;
  const int32_t* cache_len;  // [B] or null (past = 0)
  int64_t cache_len_stride;
  const int32_t* lengths;  // [B] or null (n = T)
  int64_t lengths_stride;
  int64_t T, Hq, P;
  int64_t group;  // Hq / Hkv: query heads per kv head
  float scale;
};

__device__ __forceinline__ int64_t past_of(const AttnParams& p, int64_t b) {
  return p.cache_len ? p.cache_len[b * p.cache_len_stride] : 0;
}
__device__ __forceinline__ int64_t n_of(const AttnParams& p, int64_t b) {
  return p.lengths ? p.lengths[b * p.lengths_stride] : p.T;
}

// ---------------------------------------------------------------------------------------
// Stage 1: cache append. One block per (t, b); threads over the Hkv·P values of the token.
// ---------------------------------------------------------------------------------------
template <class T>
__global__ void cache_append_kernel(const T* k, Strides4 ks, const T* v, Strides4 vs, T* k_cache, Strides4 kcs,
                                    T* v_cache, Strides4 vcs, const int32_t* cache_len, int64_t cl_stride,
                                    const int32_t* lengths, int64_t len_stride, int64_t T_, int64_t Hkv, int64_t P) {
  const int64_t t = blockIdx.x, b = blockIdx.y;
  const int64_t n = lengths ? lengths[b * len_stride] : T_;
  if (t >= n) return;  // padding never reaches the cache
  const int64_t dst_t = cache_len[b * cl_stride] + t;
  for (int64_t q = threadIdx.x; q < Hkv * P; q += blockDim.x) {
    const int64_t j = q / P, e = q - j * P;
    // Read then write by the same thread: k may alias the cache at the same position.
    const T kv = k[b * ks.b + t * ks.t + j * ks.h + e];
    const T vv = v[b * vs.b + t * vs.t + j * vs.h + e];
    k_cache[b * kcs.b + dst_t * kcs.t + j * kcs.h + e] = kv;
    v_cache[b * vcs.b + dst_t * vcs.t + j * vcs.h + e] = vv;
  }
}

// ---------------------------------------------------------------------------------------
// Stage 2, prefill: tiled online softmax.
// ---------------------------------------------------------------------------------------
constexpr int kPfWarps = 4;
constexpr int kPfQPerWarp = 4;                     // queries a warp carries together
constexpr int kPfBr = kPfWarps * kPfQPerWarp;      // 16 queries per CTA
constexpr int kPfBc = 32;                          // keys per tile: one per lane

size_t prefill_smem_bytes(int64_t P) {
  // q [Br][P], K [Bc][P + 1] (padded: lane τ reads row τ, so rows must start in different
  // banks), V [Bc][P], all fp32.
  return sizeof(float) * static_cast<size_t>(kPfBr * P + kPfBc * (P + 1) + kPfBc * P);
}

// kChunks: ceil(P / 32) rounded up to 1, 2, 4 or 8; lane l owns head-dim elements l + 32c.
template <class T, int kChunks>
__global__ void __launch_bounds__(kPfWarps * 32) attention_prefill_kernel(AttnParams p) {
  extern __shared__ float smem[];
  const int64_t P = p.P;
  float* qs = smem;                   // [Br][P]   queries of the tile (zero for padding)
  float* ks = qs + kPfBr * P;         // [Bc][P+1] key tile
  float* vs = ks + kPfBc * (P + 1);   // [Bc][P]   value tile
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kPfBr, i = blockIdx.y, b = blockIdx.z;
  const int64_t j = i / p.group;  // kv head
  const int64_t n = n_of(p, b), past = past_of(p, b);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const T* q = static_cast<const T*>(p.q);
  const T* kg = static_cast<const T*>(p.keys);
  const T* vg = static_cast<const T*>(p.values);
  T* o = static_cast<T*>(p.o);

  // Padding queries of the tile output zero.
  const int64_t t_end = min(t0 + kPfBr, p.T);
  for (int64_t idx = tid; idx < (t_end - max(t0, n)) * P; idx += blockDim.x) {
    const int64_t t = max(t0, n) + idx / P, e = idx % P;
    o[b * p.os.b + t * p.os.t + i * p.os.h + e] = from_f32<T>(0.0f);
  }
  if (t0 >= n) return;  // block-uniform: the whole tile is padding

  // Queries of the tile → shared memory (fp32).
  for (int64_t idx = tid; idx < kPfBr * P; idx += blockDim.x) {
    const int64_t r = idx / P, e = idx - r * P, t = t0 + r;
    qs[idx] = t < n ? to_f32(q[b * p.qs.b + t * p.qs.t + i * p.qs.h + e]) : 0.0f;
  }

  // Running state of this warp's queries: max, sum, and the lane's slice of the output.
  float m_run[kPfQPerWarp], l_run[kPfQPerWarp], acc[kPfQPerWarp][kChunks];
#pragma unroll
  for (int qq = 0; qq < kPfQPerWarp; ++qq) {
    m_run[qq] = -INFINITY;
    l_run[qq] = 0.0f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) acc[qq][c] = 0.0f;
  }

  // Keys needed by the last valid query of the tile: 0 … past + min(t0 + Br, n) − 1.
  const int64_t nk = past + min(t0 + kPfBr, n);
  for (int64_t k0 = 0; k0 < nk; k0 += kPfBc) {
    __syncthreads();  // the previous tile is consumed (and, first time, qs is written)
    for (int64_t idx = tid; idx < kPfBc * P; idx += blockDim.x) {
      const int64_t r = idx / P, e = idx - r * P, tau = k0 + r;
      float kv = 0.0f, vv = 0.0f;
      if (tau < nk) {
        kv = to_f32(kg[b * p.ks.b + tau * p.ks.t + j * p.ks.h + e]);
        vv = to_f32(vg[b * p.vs.b + tau * p.vs.t + j * p.vs.h + e]);
      }
      ks[r * (P + 1) + e] = kv;
      vs[idx] = vv;
    }
    __syncthreads();

    // Scores: lane τ computes q·k_τ for the warp's queries (q reads are broadcasts).
    const int64_t tau = k0 + lane;
    float s[kPfQPerWarp];
#pragma unroll
    for (int qq = 0; qq < kPfQPerWarp; ++qq) s[qq] = 0.0f;
    const float* krow = ks + lane * (P + 1);
    const float* qrow = qs + static_cast<int64_t>(warp) * kPfQPerWarp * P;
    for (int64_t e = 0; e < P; ++e) {
      const float kv = krow[e];
#pragma unroll
      for (int qq = 0; qq < kPfQPerWarp; ++qq) s[qq] += qrow[qq * P + e] * kv;
    }

    // Online softmax update per query; p_lane[qq] = e^(s − m_new) of key τ (0 when masked).
    float p_lane[kPfQPerWarp];
#pragma unroll
    for (int qq = 0; qq < kPfQPerWarp; ++qq) {
      const int64_t t = t0 + warp * kPfQPerWarp + qq;
      const bool visible = t < n && tau <= past + t;  // causal: τ ≤ past + t (and τ < nk follows)
      const float sv = visible ? s[qq] * p.scale : -INFINITY;
      const float m_new = fmaxf(m_run[qq], warp_max(sv));
      // m_new == −∞ only for a padding query (key 0 is visible to every valid query).
      const float corr = m_new == -INFINITY ? 1.0f : expf(m_run[qq] - m_new);
      p_lane[qq] = visible ? expf(sv - m_new) : 0.0f;
      l_run[qq] = l_run[qq] * corr + warp_sum(p_lane[qq]);
      m_run[qq] = m_new;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) acc[qq][c] *= corr;
    }

    // o += Σ_τ p[τ] · v_τ over the tile; lane l owns elements l + 32c.
    for (int r = 0; r < kPfBc; ++r) {
      float pr[kPfQPerWarp];
#pragma unroll
      for (int qq = 0; qq < kPfQPerWarp; ++qq) pr[qq] = __shfl_sync(0xffffffffu, p_lane[qq], r);
      const float* vrow = vs + r * P;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) {
        const int64_t e = lane + 32 * c;
        if (e < P) {
          const float vv = vrow[e];
#pragma unroll
          for (int qq = 0; qq < kPfQPerWarp; ++qq) acc[qq][c] += pr[qq] * vv;
        }
      }
    }
  }

  // o = acc / l for the warp's valid queries.
#pragma unroll
  for (int qq = 0; qq < kPfQPerWarp; ++qq) {
    const int64_t t = t0 + warp * kPfQPerWarp + qq;
    if (t >= n) continue;
    const float inv_l = 1.0f / l_run[qq];
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int64_t e = lane + 32 * c;
      if (e < P) o[b * p.os.b + t * p.os.t + i * p.os.h + e] = from_f32<T>(acc[qq][c] * inv_l);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Stage 2, decode (T == 1): split-K partials, then a merge across splits.
// ---------------------------------------------------------------------------------------
constexpr int kDcWarps = 4;
constexpr int kDcHeads = 4;  // query heads of one kv group per CTA (they share K/V loads)

// Partial results of split s for (b, query head i): m, l and the unnormalised o [P].
struct DecodePartials {
  float* m;  // [B, Hq, splits]
  float* l;  // [B, Hq, splits]
  float* o;  // [B, Hq, splits, P]
  int64_t splits;
  int64_t keys_per_split;
};

template <class T, int kChunks>
__global__ void __launch_bounds__(kDcWarps * 32) attention_decode_kernel(AttnParams p, DecodePartials part) {
  __shared__ float sm_m[kDcWarps][kDcHeads], sm_l[kDcWarps][kDcHeads];
  extern __shared__ float sm_o[];  // [kDcWarps][kDcHeads][P]
  const int64_t split = blockIdx.x, b = blockIdx.z;
  const int64_t hg_per_kv = (p.group + kDcHeads - 1) / kDcHeads;
  const int64_t j = blockIdx.y / hg_per_kv;                               // kv head
  const int64_t h0 = (blockIdx.y % hg_per_kv) * kDcHeads;                 // first head within the group
  const int64_t nh = min(static_cast<int64_t>(kDcHeads), p.group - h0);  // heads of this CTA
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t P = p.P;
  const int64_t n = n_of(p, b);
  if (n == 0) return;  // padding query: the merge writes zero
  const int64_t nk = past_of(p, b) + 1;  // the one query sees every cached key and itself
  const int64_t s0 = split * part.keys_per_split, s1 = min(s0 + part.keys_per_split, nk);
  const T* q = static_cast<const T*>(p.q);
  const T* kg = static_cast<const T*>(p.keys);
  const T* vg = static_cast<const T*>(p.values);

  // This lane's slice of each query head (t = 0).
  float qv[kDcHeads][kChunks];
#pragma unroll
  for (int hh = 0; hh < kDcHeads; ++hh)
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int64_t e = lane + 32 * c, i = j * p.group + h0 + hh;
      qv[hh][c] = (hh < nh && e < P) ? to_f32(q[b * p.qs.b + i * p.qs.h + e]) : 0.0f;
    }

  float m_run[kDcHeads], l_run[kDcHeads], acc[kDcHeads][kChunks];
#pragma unroll
  for (int hh = 0; hh < kDcHeads; ++hh) {
    m_run[hh] = -INFINITY;
    l_run[hh] = 0.0f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) acc[hh][c] = 0.0f;
  }

  // Warp w takes keys s0 + w, s0 + w + kDcWarps, …; all lanes of a warp walk the same key.
  for (int64_t tau = s0 + warp; tau < s1; tau += kDcWarps) {
    float kr[kChunks], vr[kChunks];
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int64_t e = lane + 32 * c;
      kr[c] = e < P ? to_f32(kg[b * p.ks.b + tau * p.ks.t + j * p.ks.h + e]) : 0.0f;
      vr[c] = e < P ? to_f32(vg[b * p.vs.b + tau * p.vs.t + j * p.vs.h + e]) : 0.0f;
    }
#pragma unroll
    for (int hh = 0; hh < kDcHeads; ++hh) {
      float part_dot = 0.0f;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) part_dot += qv[hh][c] * kr[c];
      const float s = warp_sum(part_dot) * p.scale;
      const float m_new = fmaxf(m_run[hh], s);
      const float corr = expf(m_run[hh] - m_new);  // 0 on the first key (m_run = −∞)
      const float pe = expf(s - m_new);
      l_run[hh] = l_run[hh] * corr + pe;
      m_run[hh] = m_new;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) acc[hh][c] = acc[hh][c] * corr + pe * vr[c];
    }
  }

  // Merge the warps: M = max_w m_w, L = Σ_w l_w·e^(m_w − M), O = Σ_w o_w·e^(m_w − M).
  float* my_o = sm_o + static_cast<int64_t>(warp) * kDcHeads * P;
#pragma unroll
  for (int hh = 0; hh < kDcHeads; ++hh) {
    if (lane == 0) {
      sm_m[warp][hh] = m_run[hh];
      sm_l[warp][hh] = l_run[hh];
    }
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int64_t e = lane + 32 * c;
      if (e < P) my_o[hh * P + e] = acc[hh][c];
    }
  }
  __syncthreads();
  for (int64_t hh = 0; hh < nh; ++hh) {
    float M = -INFINITY;
    for (int w = 0; w < kDcWarps; ++w) M = fmaxf(M, sm_m[w][hh]);
    const int64_t i = j * p.group + h0 + hh;
    const int64_t row = (b * p.Hq + i) * part.splits + split;  // partial index
    float wsc[kDcWarps];
    float L = 0.0f;
    for (int w = 0; w < kDcWarps; ++w) {
      wsc[w] = M == -INFINITY ? 0.0f : expf(sm_m[w][hh] - M);  // a warp without keys weighs 0
      L += sm_l[w][hh] * wsc[w];
    }
    if (threadIdx.x == 0) {
      part.m[row] = M;
      part.l[row] = L;
    }
    for (int64_t e = threadIdx.x; e < P; e += blockDim.x) {
      float acc_e = 0.0f;
      for (int w = 0; w < kDcWarps; ++w) acc_e += sm_o[(static_cast<int64_t>(w) * kDcHeads + hh) * P + e] * wsc[w];
      part.o[row * P + e] = acc_e;
    }
  }
}

// o[b, 0, i, :] = Σ_s o_s·e^(m_s − M) / Σ_s l_s·e^(m_s − M); zero for a padding query.
template <class T>
__global__ void attention_decode_merge_kernel(AttnParams p, DecodePartials part) {
  const int64_t i = blockIdx.x, b = blockIdx.y;
  T* o = static_cast<T*>(p.o) + b * p.os.b + i * p.os.h;  // [P] (t = 0)
  if (n_of(p, b) == 0) {
    for (int64_t e = threadIdx.x; e < p.P; e += blockDim.x) o[e] = from_f32<T>(0.0f);
    return;
  }
  const int64_t row0 = (b * p.Hq + i) * part.splits;
  // Splits past this row's last key were never written: only the first ceil(nk / L) count.
  const int64_t nk = past_of(p, b) + 1;
  const int64_t used = (nk + part.keys_per_split - 1) / part.keys_per_split;
  float M = -INFINITY;
  for (int64_t s = 0; s < used; ++s) M = fmaxf(M, part.m[row0 + s]);
  float L = 0.0f;
  for (int64_t s = 0; s < used; ++s) L += part.l[row0 + s] * expf(part.m[row0 + s] - M);
  const float inv_l = 1.0f / L;
  for (int64_t e = threadIdx.x; e < p.P; e += blockDim.x) {
    float acc = 0.0f;
    for (int64_t s = 0; s < used; ++s) acc += part.o[(row0 + s) * p.P + e] * expf(part.m[row0 + s] - M);
    o[e] = from_f32<T>(acc * inv_l);
  }
}

// Calls fn(std::integral_constant<int, C>) with C = ceil(P / 32) rounded up to 1, 2, 4, 8.
template <class Fn>
Status dispatch_chunks(int64_t P, Fn&& fn) {
  if (P <= 32) return fn(std::integral_constant<int, 1>{});
  if (P <= 64) return fn(std::integral_constant<int, 2>{});
  if (P <= 128) return fn(std::integral_constant<int, 4>{});
  if (P <= 256) return fn(std::integral_constant<int, 8>{});
  return not_supported("cuda: attention head dim P = ", P, " exceeds 256");
}

}  // namespace

Status CudaBackend::attention(const AttentionArgs& a) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype("attention", {{&a.q, "q"},
                                                    {&a.k, "k"},
                                                    {&a.v, "v"},
                                                    {&a.k_cache, "k_cache"},
                                                    {&a.v_cache, "v_cache"},
                                                    {&a.o, "o"}},
                                      st));
  const int64_t B = a.q.dim(0), T = a.q.dim(1), Hq = a.q.dim(2), P = a.q.dim(3);
  const int64_t Hkv = a.k.dim(2);
  const bool cached = a.k_cache.defined();
  const int64_t S = cached ? a.k_cache.dim(1) : 0;
  if (B == 0 || T == 0 || Hq == 0) return Status::ok();
  if (P == 0 || P > 256) return not_supported("cuda: attention head dim P = ", P, " (supported: 1 … 256)");
  if (B > 65535 || Hq > 65535 || T > INT32_MAX)
    return not_supported("cuda: attention with B = ", B, ", T = ", T, ", Hq = ", Hq, " exceeds the grid");
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  const float scale = a.scale == 0.0f ? 1.0f / std::sqrt(static_cast<float>(P)) : a.scale;  // as the reference

  // Stage 0: the data checks of the reference (see the file comment for the sync).
  std::vector<int32_t> n;
  BRAID_RETURN_IF_ERROR(read_lengths(ctx, a.lengths, B, T, n));
  std::vector<int32_t> past(static_cast<size_t>(B), 0);
  if (cached) {
    past = download_i32(ctx, a.cache_len);
    for (int64_t b = 0; b < B; ++b) {
      if (past[b] < 0) return invalid_argument("attention: cache_len[", b, "] = ", past[b], " is negative");
      if (past[b] + static_cast<int64_t>(n[b]) > S)
        return invalid_argument("attention: KV cache overflow in row ", b, ": cache_len ", past[b], " + ", n[b],
                                " new tokens = ", past[b] + static_cast<int64_t>(n[b]), " > capacity S = ", S);
    }
  }
  int64_t max_nk = 0;  // keys seen by the last valid query of the longest row
  for (int64_t b = 0; b < B; ++b) max_nk = std::max<int64_t>(max_nk, past[b] + n[b]);

  AttnParams p{};
  p.q = a.q.data;
  p.qs = strides_of(a.q);
  p.keys = cached ? a.k_cache.data : a.k.data;
  p.ks = strides_of(cached ? a.k_cache : a.k);
  p.values = cached ? a.v_cache.data : a.v.data;
  p.vs = strides_of(cached ? a.v_cache : a.v);
  p.o = a.o.data;
  p.os = strides_of(a.o);
  p.cache_len = cached ? a.cache_len.ptr<const int32_t>() : nullptr;
  p.cache_len_stride = cached ? a.cache_len.stride[0] : 0;
  p.lengths = a.lengths.defined() ? a.lengths.ptr<const int32_t>() : nullptr;
  p.lengths_stride = a.lengths.defined() ? a.lengths.stride[0] : 0;
  p.T = T;
  p.Hq = Hq;
  p.P = P;
  p.group = Hq / Hkv;
  p.scale = scale;

  return dispatch_storage(st, "attention", [&](auto tag) -> Status {
    using Tst = decltype(tag);
    // Stage 1: append the new keys/values to the cache.
    if (cached) {
      const int64_t work = Hkv * P;
      const int threads = work >= 256 ? 256 : static_cast<int>((work + 31) / 32 * 32);
      cache_append_kernel<Tst><<<dim3(static_cast<unsigned>(T), static_cast<unsigned>(B)), threads, 0, ctx.stream>>>(
          a.k.ptr<const Tst>(), strides_of(a.k), a.v.ptr<const Tst>(), strides_of(a.v), a.k_cache.ptr<Tst>(),
          strides_of(a.k_cache), a.v_cache.ptr<Tst>(), strides_of(a.v_cache), a.cache_len.ptr<const int32_t>(),
          a.cache_len.stride[0], p.lengths, p.lengths_stride, T, Hkv, P);
      CUDA_CHECK_LAUNCH();
    }

    return dispatch_chunks(P, [&](auto chunks) -> Status {
      constexpr int kChunks = decltype(chunks)::value;
      if (T > 1) {
        // Stage 2, prefill.
        const size_t smem = prefill_smem_bytes(P);
        if (smem > ctx.smem_optin)
          return not_supported("cuda: attention P = ", P, " needs ", smem, " bytes of shared memory");
        auto kernel = attention_prefill_kernel<Tst, kChunks>;
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
        const dim3 grid(static_cast<unsigned>(ceil_div(T, kPfBr)), static_cast<unsigned>(Hq), static_cast<unsigned>(B));
        kernel<<<grid, kPfWarps * 32, smem, ctx.stream>>>(p);
        CUDA_CHECK_LAUNCH();
        return Status::ok();
      }
      // Stage 2, decode: enough splits to fill the device twice over, at least 32 keys each.
      const int64_t head_groups = Hkv * ceil_div(p.group, kDcHeads);
      const int64_t base_ctas = B * head_groups;
      int64_t splits = std::max<int64_t>(1, ceil_div(2 * static_cast<int64_t>(ctx.sm_count), base_ctas));
      splits = std::clamp<int64_t>(splits, 1, std::max<int64_t>(1, ceil_div(max_nk, 32)));
      const int64_t per_split = std::max<int64_t>(1, ceil_div(std::max<int64_t>(max_nk, 1), splits));
      splits = std::max<int64_t>(1, ceil_div(std::max<int64_t>(max_nk, 1), per_split));
      if (head_groups > 65535) return not_supported("cuda: attention decode with ", head_groups, " head groups");
      WorkspaceLayout L;
      const size_t off_m = L.add(static_cast<size_t>(B * Hq * splits) * sizeof(float));
      const size_t off_l = L.add(static_cast<size_t>(B * Hq * splits) * sizeof(float));
      const size_t off_o = L.add(static_cast<size_t>(B * Hq * splits * P) * sizeof(float));
      void* ws = ctx.workspace_at_least(L.total());
      DecodePartials part{L.at<float>(ws, off_m), L.at<float>(ws, off_l), L.at<float>(ws, off_o), splits, per_split};
      const size_t smem = sizeof(float) * static_cast<size_t>(kDcWarps * kDcHeads * P);
      auto kernel = attention_decode_kernel<Tst, kChunks>;
      CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
      const dim3 grid(static_cast<unsigned>(splits), static_cast<unsigned>(head_groups), static_cast<unsigned>(B));
      kernel<<<grid, kDcWarps * 32, smem, ctx.stream>>>(p, part);
      CUDA_CHECK_LAUNCH();
      const int threads = P >= 128 ? 128 : static_cast<int>((P + 31) / 32 * 32);
      attention_decode_merge_kernel<Tst>
          <<<dim3(static_cast<unsigned>(Hq), static_cast<unsigned>(B)), threads, 0, ctx.stream>>>(p, part);
      CUDA_CHECK_LAUNCH();
      return Status::ok();
    });
  });
}

}  // namespace braid
