// backends/cuda/attention_backward.cu — backward of cache-free causal GQA attention
// (core/contracts/attention.h; reference: backends/cpu/attention_backward.cpp).
//
// Per row b and query head i (kv head j = i / (Hq/Hkv)), over all T positions with the causal
// and padding masks (rows t ≥ n = lengths[b] are zero):
//   S  = scale · Q·Kᵀ,  dP = dO·Vᵀ                        (batched cuBLAS, fp32 [T, T] each)
//   P  = causal_softmax(S);  dS = P ⊙ (dP − rowsum(P ⊙ dP))   (one fused row kernel)
//   dQ = scale · dS·K                                      (batched over (b, i))
//   dK = scale · Σ_{i of j} dSᵀ·Q;  dV = Σ_{i of j} Pᵀ·dO    (batched over (b, j), one call per
//                                                           head of the group with beta 1 after
//                                                           the first: no two products share a C)
// P and dS are GEMM operands, so with bf16 storage they are rounded to bf16 (as flash-attention
// does); with f32 everything stays fp32. The score matrices are materialised, so the rows b are
// processed in chunks that keep them under kScoreBudget bytes. Gradients at padding keys are 0
// because P and dS vanish there.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

constexpr size_t kScoreBudget = size_t{1} << 30;  // bytes of score matrices per chunk
constexpr int kThreads = 256;

// One block per (head pair q, query row t). S holds scale·q·k on entry and P on exit (f32);
// dP holds dO·vᵀ on entry and dS on exit (f32); Pt, dSt receive them in storage dtype when
// they are distinct buffers (bf16 storage).
template <class T>
__global__ void softmax_grad_kernel(float* S, float* dP, T* Pt, T* dSt, int64_t Tn, int Hq, int64_t b0,
                                    const int32_t* lengths, int64_t ls) {
  __shared__ float scratch[32];
  const int64_t q = blockIdx.y, t = blockIdx.x;
  const int64_t b = b0 + q / Hq;
  const int64_t n = lengths ? static_cast<int64_t>(lengths[b * ls]) : Tn;
  float* s = S + (q * Tn + t) * Tn;
  float* dp = dP + (q * Tn + t) * Tn;
  T* pt = Pt + (q * Tn + t) * Tn;
  T* dst = dSt + (q * Tn + t) * Tn;
  const bool live = t < n;
  const int64_t last = live ? t : -1;  // keys 0 … last are visible
  float m_local = -INFINITY;
  for (int64_t u = threadIdx.x; u <= last; u += blockDim.x) m_local = fmaxf(m_local, s[u]);
  m_local = warp_max(m_local);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = m_local;
  __syncthreads();
  float row_max = -INFINITY;
  for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) row_max = fmaxf(row_max, scratch[w]);
  __syncthreads();
  float sum = 0.0f;
  for (int64_t u = threadIdx.x; u <= last; u += blockDim.x) sum += expf(s[u] - row_max);
  sum = block_sum(sum, scratch);
  float dot = 0.0f;
  for (int64_t u = threadIdx.x; u < Tn; u += blockDim.x) {
    const float p = u <= last ? expf(s[u] - row_max) / sum : 0.0f;
    s[u] = p;
    dot += p * dp[u];
  }
  dot = block_sum(dot, scratch);
  for (int64_t u = threadIdx.x; u < Tn; u += blockDim.x) {
    const float p = s[u];
    const float ds = p * (dp[u] - dot);
    dp[u] = ds;
    if (static_cast<void*>(pt) != static_cast<void*>(s)) pt[u] = from_f32<T>(p);
    if (static_cast<void*>(dst) != static_cast<void*>(dp)) dst[u] = from_f32<T>(ds);
  }
}

}  // namespace

Status CudaBackend::attention_backward(const AttentionBackwardArgs& a) {
  const AttentionArgs& f = a.fwd;
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype("attention_backward", {{&f.q, "q"}, {&f.k, "k"}, {&f.v, "v"}, {&a.d_o, "d_o"},
                                                             {&a.d_q, "d_q"}, {&a.d_k, "d_k"}, {&a.d_v, "d_v"}}, st));
  const int64_t B = f.q.dim(0), T = f.q.dim(1), Hq = f.q.dim(2), P = f.q.dim(3), Hkv = f.k.dim(2);
  if (B == 0 || T == 0 || Hq == 0) return Status::ok();
  const int64_t group = Hq / Hkv;
  const float scale = f.scale == 0.0f ? 1.0f / std::sqrt(static_cast<float>(P)) : f.scale;
  if (T > 65535 || Hq > 65535) return not_supported("cuda: attention_backward with T = ", T, " exceeds the grid");
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  std::vector<int32_t> len;
  BRAID_RETURN_IF_ERROR(read_lengths(ctx, f.lengths, B, T, len));

  const size_t es = dtype_size(st), TT = static_cast<size_t>(T * T);
  const bool separate = st != DType::f32;  // storage-dtype copies of P and dS
  const size_t per_head = TT * (2 * sizeof(float) + (separate ? 2 * es : 0));
  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(B, static_cast<int64_t>(kScoreBudget / (per_head * Hq))));
  const int64_t cap = rows * Hq;  // head pairs per chunk

  // Pointer arrays per chunk: 8 of `cap` entries for the (b, i) products, 6 of `rows·Hkv` per
  // group member r for the (b, j) products.
  enum { kQ, kK, kV, kO, kS, kP, kDQ, kDS, kPerHead };
  const int64_t kv = rows * Hkv;
  const int64_t n_ptr = kPerHead * cap + 6 * kv * group;
  WorkspaceLayout L;
  const size_t off_s = L.add(cap * TT * sizeof(float)), off_dp = L.add(cap * TT * sizeof(float));
  const size_t off_pt = separate ? L.add(cap * TT * es) : 0, off_dst = separate ? L.add(cap * TT * es) : 0;
  const size_t off_ptr = L.add(static_cast<size_t>(n_ptr) * sizeof(void*));
  void* ws = ctx.workspace_at_least(L.total());
  float* S = L.at<float>(ws, off_s);
  float* dP = L.at<float>(ws, off_dp);
  char* Pt = separate ? L.at<char>(ws, off_pt) : reinterpret_cast<char*>(S);
  char* dSt = separate ? L.at<char>(ws, off_dst) : reinterpret_cast<char*>(dP);
  void** dev_ptr = L.at<void*>(ws, off_ptr);

  auto elem = [&](const TensorView& t, int64_t b, int64_t h) {
    return static_cast<void*>(static_cast<char*>(t.data) + (b * t.stride[0] + h * t.stride[2]) * static_cast<int64_t>(es));
  };
  const int64_t ldq = f.q.stride[1], ldk = f.k.stride[1], ldv = f.v.stride[1], ldo = a.d_o.stride[1];
  const int64_t lddq = a.d_q.stride[1], lddk = a.d_k.stride[1], lddv = a.d_v.stride[1];
  std::vector<void*> host(static_cast<size_t>(n_ptr));
  for (int64_t b0 = 0; b0 < B; b0 += rows) {
    const int64_t nb = std::min(rows, B - b0), cnt = nb * Hq, ckv = nb * Hkv;
    auto slot = [&](int kind, int64_t q) -> void*& { return host[static_cast<size_t>(kind * cap + q)]; };
    for (int64_t bb = 0; bb < nb; ++bb)
      for (int64_t i = 0; i < Hq; ++i) {
        const int64_t q = bb * Hq + i, b = b0 + bb, j = i / group;
        slot(kQ, q) = elem(f.q, b, i), slot(kK, q) = elem(f.k, b, j), slot(kV, q) = elem(f.v, b, j);
        slot(kO, q) = elem(a.d_o, b, i), slot(kS, q) = S + q * TT, slot(kP, q) = dP + q * TT;
        slot(kDQ, q) = elem(a.d_q, b, i), slot(kDS, q) = dSt + q * TT * es;
      }
    // Per group member r, the (b, j) products of head i = j·group + r: dS, Q, P, dO, dK, dV.
    auto kv_slot = [&](int64_t r, int kind, int64_t e) -> void*& {
      return host[static_cast<size_t>(kPerHead * cap + (r * 6 + kind) * kv + e)];
    };
    for (int64_t r = 0; r < group; ++r)
      for (int64_t bb = 0; bb < nb; ++bb)
        for (int64_t j = 0; j < Hkv; ++j) {
          const int64_t e = bb * Hkv + j, i = j * group + r, q = bb * Hq + i, b = b0 + bb;
          kv_slot(r, 0, e) = dSt + q * TT * es, kv_slot(r, 1, e) = elem(f.q, b, i);
          kv_slot(r, 2, e) = Pt + q * TT * es, kv_slot(r, 3, e) = elem(a.d_o, b, i);
          kv_slot(r, 4, e) = elem(a.d_k, b, j), kv_slot(r, 5, e) = elem(a.d_v, b, j);
        }
    upload(dev_ptr, host.data(), host.size() * sizeof(void*));  // stream-ordered after the last chunk's GEMMs
    auto dev = [&](int kind) { return dev_ptr + kind * cap; };
    auto dev_kv = [&](int64_t r, int kind) { return dev_ptr + kPerHead * cap + (r * 6 + kind) * kv; };
    BRAID_RETURN_IF_ERROR(gemm_batched(ctx, st, DType::f32, false, true, T, T, P, scale, dev(kQ), ldq, dev(kK), ldk, 0.0f,
                                       dev(kS), T, cnt));  // S = scale·Q·Kᵀ
    BRAID_RETURN_IF_ERROR(gemm_batched(ctx, st, DType::f32, false, true, T, T, P, 1.0f, dev(kO), ldo, dev(kV), ldv, 0.0f,
                                       dev(kP), T, cnt));  // dP = dO·Vᵀ
    BRAID_RETURN_IF_ERROR(dispatch_storage(st, "attention_backward", [&](auto tag) {
      using T_ = decltype(tag);
      softmax_grad_kernel<T_><<<dim3(static_cast<unsigned>(T), static_cast<unsigned>(cnt)), kThreads, 0, ctx.stream>>>(
          S, dP, reinterpret_cast<T_*>(Pt), reinterpret_cast<T_*>(dSt), T, static_cast<int>(Hq), b0,
          f.lengths.defined() ? f.lengths.ptr<const int32_t>() : nullptr, f.lengths.defined() ? f.lengths.stride[0] : 0);
      CUDA_CHECK_LAUNCH();
      return Status::ok();
    }));
    BRAID_RETURN_IF_ERROR(gemm_batched(ctx, st, st, false, false, T, P, T, scale, dev(kDS), T, dev(kK), ldk, 0.0f,
                                       dev(kDQ), lddq, cnt));  // dQ = scale·dS·K
    for (int64_t r = 0; r < group; ++r) {
      const float beta = r == 0 ? 0.0f : 1.0f;
      BRAID_RETURN_IF_ERROR(gemm_batched(ctx, st, st, true, false, T, P, T, scale, dev_kv(r, 0), T, dev_kv(r, 1), ldq,
                                         beta, dev_kv(r, 4), lddk, ckv));  // dK (+)= scale·dSᵀ·Q
      BRAID_RETURN_IF_ERROR(gemm_batched(ctx, st, st, true, false, T, P, T, 1.0f, dev_kv(r, 2), T, dev_kv(r, 3), ldo,
                                         beta, dev_kv(r, 5), lddv, ckv));  // dV (+)= Pᵀ·dO
    }
  }
  return Status::ok();
}

}  // namespace braid
