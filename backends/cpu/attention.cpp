// backends/cpu/attention.cpp — causal grouped-query attention with an optional KV cache
// (core/contracts/attention.h; hf-models-spec §1.4; the semantics of flash-attn's
// `flash_attn_with_kvcache`, equal in fp32 to HF's eager/SDPA attention).
//
// For row b let past = cache_len[b] (0 without a cache) and n = lengths[b] (T without lengths).
//   1. With a cache, new keys/values t < n are written to cache positions past + t first; the
//      keys attended are then cache rows 0 … past+n−1. Without a cache they are k, v rows 0 … n−1.
//   2. For query head i (kv head j = i / (Hq/Hkv)) and query t < n at absolute position past + t:
//        s[t, τ] = scale · q[t]·k[τ]            for τ ≤ past + t (causal), masked otherwise
//        p[t, :] = softmax(s[t, :])             fp32, max-subtracted
//        o[t]    = Σ_τ p[t, τ] · v[τ]
//   3. o rows of padding queries (t ≥ n) are zero.
// Both products go through gemm_nt: S = Q·Kᵀ directly, and O = P·V as P·(Vᵀ)ᵀ with Vᵀ copied
// into scratch (gemm_nt wants both operands K-major). Deliberate difference from HF: no
// `finfo.min` additive mask — masked keys are skipped, which is the same softmax.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::attention(const AttentionArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("attention", {{&a.q, "q"},
                                                        {&a.k, "k"},
                                                        {&a.v, "v"},
                                                        {&a.k_cache, "k_cache"},
                                                        {&a.v_cache, "v_cache"},
                                                        {&a.o, "o"}}));
  const int64_t B = a.q.dim(0), T = a.q.dim(1), Hq = a.q.dim(2), P = a.q.dim(3);
  const int64_t Hkv = a.k.dim(2);
  const int64_t heads_per_kv = Hq / Hkv;  // GQA group size
  const bool cached = a.k_cache.defined();
  const int64_t S = cached ? a.k_cache.dim(1) : 0;
  const float scale = a.scale == 0.0f ? 1.0f / std::sqrt(static_cast<float>(P)) : a.scale;

  // Per-row token counts: n = new valid tokens, past = tokens already in the cache.
  std::vector<int64_t> n;
  BRAID_RETURN_IF_ERROR(cpu::read_lengths(a.lengths, B, T, n));
  std::vector<int64_t> past(static_cast<size_t>(B), 0);
  if (cached) {
    for (int64_t b = 0; b < B; ++b) {
      past[b] = a.cache_len.ptr<int32_t>()[b * a.cache_len.stride[0]];
      if (past[b] < 0) return invalid_argument("attention: cache_len[", b, "] = ", past[b], " is negative");
      if (past[b] + n[b] > S)
        return invalid_argument("attention: KV cache overflow in row ", b, ": cache_len ", past[b], " + ", n[b],
                                " new tokens = ", past[b] + n[b], " > capacity S = ", S);
    }
  }

  // 1. Append the new keys/values of each row to its cache (element loops: k may alias the cache).
  if (cached) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < n[b]; ++t)
        for (int64_t j = 0; j < Hkv; ++j) {
          const float* kr = cpu::at(a.k, {b, t, j, 0});                  // [P]
          const float* vr = cpu::at(a.v, {b, t, j, 0});                  // [P]
          float* kc = cpu::at(a.k_cache, {b, past[b] + t, j, 0});        // [P]
          float* vc = cpu::at(a.v_cache, {b, past[b] + t, j, 0});        // [P]
          for (int64_t p = 0; p < P; ++p) {
            kc[p] = kr[p];
            vc[p] = vr[p];
          }
        }
  }
  // The keys/values attended: the cache, or the new k/v themselves. Rows τ are strided by
  // stride[1]; the [τ, P] matrix of kv head j starts at offset {b, 0, j, 0}.
  const TensorView& keys = cached ? a.k_cache : a.k;    // [B, S or T, Hkv, P]
  const TensorView& values = cached ? a.v_cache : a.v;  // [B, S or T, Hkv, P]

  // One task per (row, query head): scores [nq, nk] and Vᵀ [P, nk] are its private scratch.
  // Query heads sharing a kv head redo the Vᵀ copy; the reference prefers that to coupling tasks.
#pragma omp parallel for collapse(2) if (B * Hq * T * (T + S) * P >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Hq; ++i) {
      const int64_t j = i / heads_per_kv;  // kv head of query head i
      const int64_t nq = n[b];             // valid queries
      const int64_t nk = past[b] + nq;     // keys visible to the last valid query
      // 3. Padding queries output zero.
      for (int64_t t = nq; t < T; ++t) std::fill_n(cpu::at(a.o, {b, t, i, 0}), P, 0.0f);
      if (nq == 0) continue;

      // 2a. Scores S = scale · Q·Kᵀ   [nq, nk] = [nq, P] · [nk, P]ᵀ
      std::vector<float> s(static_cast<size_t>(nq * nk));
      gemm_nt(options().gemm, nq, nk, P, scale, cpu::at(a.q, {b, 0, i, 0}), a.q.stride[1],
              cpu::at(keys, {b, 0, j, 0}), keys.stride[1], 0.0f, s.data(), nk);

      // 2b. Causal softmax per query row, fp32: query t sees keys τ ≤ past + t.
      for (int64_t t = 0; t < nq; ++t) {
        float* row = s.data() + t * nk;  // [nk]
        const int64_t visible = past[b] + t + 1;
        cpu::softmax_inplace(row, visible);
        for (int64_t tau = visible; tau < nk; ++tau) row[tau] = 0.0f;  // future keys
      }

      // 2c. O = P·V   [nq, P] = [nq, nk] · ([P, nk] = Vᵀ)ᵀ
      std::vector<float> vt(static_cast<size_t>(P * nk));  // Vᵀ [P, nk]
      for (int64_t tau = 0; tau < nk; ++tau) {
        const float* vr = cpu::at(values, {b, tau, j, 0});  // [P]
        for (int64_t p = 0; p < P; ++p) vt[p * nk + tau] = vr[p];
      }
      gemm_nt(options().gemm, nq, P, nk, 1.0f, s.data(), nk, vt.data(), nk, 0.0f, cpu::at(a.o, {b, 0, i, 0}),
              a.o.stride[1]);
    }
  return Status::ok();
}

}  // namespace braid
