// backends/cuda/moe.cu — mixture-of-experts router and expert FFN (core/contracts/moe.h;
// reference: backends/cpu/moe.cpp; hf-models-spec §2.7, HF JambaSparseMoeBlock).
//
// moe_router (softmax_topk), one warp per token row m:
//   p = softmax(logits[m, :]) in fp32 (max-subtracted, then divided by the sum);
//   k passes of "the largest p not yet taken, ties → the lower expert index";
//   with `renormalize`, the k weights are divided by their sum taken in pass order.
// The row's p lives in shared memory so a pass can mark its pick as taken.
//
// moe_experts:
//   out[m] = Σ_{i<k} weights[m, i] · down_e( silu(gate_e x[m]) ⊙ (up_e x[m]) ),  e = ids[m, i]
// Stages:
//   1. route (one block): check every id, count tokens per expert, exclusive-scan the counts
//      into offsets, then give each (m, i) a slot: offset[e] + its rank among the pairs
//      routed to e in row-major (m, i) order. The ranking is a stable counting sort (warp
//      match + per-warp counts), so slots are the same on every run.
//   2. one synchronous read of the counts and the bad-id flag (X + 2 ints; the per-expert
//      GEMM sizes must be known on the host) — the one sync of this contract.
//   3. gather: xg[slot] = x[m], grouped by expert       [Mk, D]  storage dtype
//   4. per expert e with Me rows: gate/up GEMMs         [Me, F]  fp32
//      silu·mul over all slots                          [Mk, F]  storage dtype
//      per expert: down GEMM                            [Me, D]  fp32
//   5. combine: out[m] = Σ_{i=0}^{k−1} weights[m, i] · ye[slot(m, i)], summed in that fixed
//      order in fp32 (no atomics: deterministic). The reference sums in increasing expert
//      index instead; the two orders agree exactly for k ≤ 2 and to fp32 rounding beyond.
// A bad id returns invalid_argument after stage 2 with nothing written, as the reference.
#include <climits>
#include <vector>

#include "backends/cuda/moe_routing.cuh"

namespace braid {

namespace {

// ---------------------------------------------------------------------------------------
// Router.
// ---------------------------------------------------------------------------------------
constexpr int kRouterWarps = 4;  // token rows per block

template <class T>
__global__ void moe_router_kernel(const T* logits, int64_t ld, int64_t M, int X, int k, bool renormalize,
                                  float* weights, int32_t* ids) {
  extern __shared__ float p_all[];  // [kRouterWarps][X]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t m = blockIdx.x * static_cast<int64_t>(kRouterWarps) + warp;
  if (m >= M) return;  // warp-uniform; the kernel has no block-wide barrier
  float* p = p_all + static_cast<int64_t>(warp) * X;  // [X] this row's probabilities
  const T* l = logits + m * ld;                        // [X]

  warp_softmax_row(l, X, lane, p);  // p = softmax(l) in fp32

  // Top-k: pass i takes the largest remaining p, ties → lower index. Taken entries are set
  // to −1, below every probability, so they are never picked again (k ≤ X).
  float picked = 0.0f;  // Σ of the chosen weights, in pass order (as the reference)
  for (int i = 0; i < k; ++i) {
    float best = -2.0f;
    int best_e = INT_MAX;
    for (int e = lane; e < X; e += 32)  // increasing e: strict > keeps the lower index on ties
      if (p[e] > best) {
        best = p[e];
        best_e = e;
      }
    for (int o = 16; o > 0; o >>= 1) {  // warp argmax with the same tie rule
      const float ob = __shfl_xor_sync(0xffffffffu, best, o);
      const int oe = __shfl_xor_sync(0xffffffffu, best_e, o);
      if (ob > best || (ob == best && oe < best_e)) {
        best = ob;
        best_e = oe;
      }
    }
    if (lane == 0) {
      weights[m * k + i] = best;
      ids[m * k + i] = best_e;
      p[best_e] = -1.0f;
    }
    picked += best;
    __syncwarp();
  }
  if (renormalize && lane == 0)
    for (int i = 0; i < k; ++i) weights[m * k + i] /= picked;
}

// ---------------------------------------------------------------------------------------
// Experts: routing (one block), combine.
// ---------------------------------------------------------------------------------------
constexpr int kRouteThreads = 256;
constexpr int kRouteWarps = kRouteThreads / 32;

// header[0] = smallest bad flat index f = m·k + i (INT_MAX when none), header[1] = its id,
// header[2 + e] = tokens routed to expert e. slot_of[f] = the slot of pair f; row_of[s] = the
// token m gathered into slot s.
__global__ void moe_route_kernel(const int32_t* ids, int64_t ids_s0, int64_t ids_s1, int M, int k, int X,
                                 int32_t* header, int32_t* slot_of, int32_t* row_of) {
  extern __shared__ int32_t sm[];
  int32_t* base = sm;                 // [X] counts, then offsets, then running cursors
  int32_t* warp_count = sm + X;       // [kRouteWarps][X] per-warp counts of one chunk
  __shared__ int bad;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int Mk = M * k;
  auto id_at = [&](int f) { return ids[(f / k) * ids_s0 + (f % k) * ids_s1]; };

  // Pass 1: counts per expert (shared atomics: the result does not depend on their order)
  // and the first bad id.
  for (int e = tid; e < X; e += blockDim.x) base[e] = 0;
  if (tid == 0) bad = INT_MAX;
  __syncthreads();
  for (int f = tid; f < Mk; f += blockDim.x) {
    const int e = id_at(f);
    if (e < 0 || e >= X) atomicMin(&bad, f);
    else atomicAdd(&base[e], 1);
  }
  __syncthreads();
  for (int e = tid; e < X; e += blockDim.x) header[2 + e] = base[e];
  if (tid == 0) {
    header[0] = bad;
    header[1] = bad == INT_MAX ? 0 : id_at(bad);
    // Exclusive scan: counts → offsets (X is small; one thread).
    int run = 0;
    for (int e = 0; e < X; ++e) {
      const int c = base[e];
      base[e] = run;
      run += c;
    }
  }
  __syncthreads();
  if (bad != INT_MAX) return;  // block-uniform; the host reports the bad id

  // Pass 2: stable ranks, one chunk of kRouteThreads pairs at a time. Within a warp, lanes
  // holding the same expert find each other with __match_any_sync; the rank of a pair is
  // cursor[e] + (pairs of e in earlier warps of the chunk) + (lower lanes of e in its warp).
  for (int c0 = 0; c0 < Mk; c0 += kRouteThreads) {
    for (int q = tid; q < kRouteWarps * X; q += blockDim.x) warp_count[q] = 0;
    __syncthreads();
    const int f = c0 + tid;
    const int e = f < Mk ? id_at(f) : -1;  // −1: no pair (a group of its own, never stored)
    const unsigned peers = __match_any_sync(0xffffffffu, e);
    const int rank_in_warp = __popc(peers & ((1u << lane) - 1u));
    if (e >= 0 && rank_in_warp == 0) warp_count[warp * X + e] = __popc(peers);
    __syncthreads();
    if (e >= 0) {
      int slot = base[e] + rank_in_warp;
      for (int w = 0; w < warp; ++w) slot += warp_count[w * X + e];
      slot_of[f] = slot;
      row_of[slot] = f / k;
    }
    __syncthreads();
    for (int q = tid; q < X; q += blockDim.x)  // advance the cursors past this chunk
      for (int w = 0; w < kRouteWarps; ++w) base[q] += warp_count[w * X + q];
    __syncthreads();
  }
}

// out[m, d] = Σ_{i<k} weights[m, i] · ye[slot_of[m·k + i], d], i in increasing order (weight 1
// when weights is null).
template <class T>
__global__ void moe_combine_kernel(const float* ye, const int32_t* slot_of, const float* weights, int64_t w_s0,
                                   int64_t w_s1, int k, int64_t D, T* out) {
  const int64_t m = blockIdx.x;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.0f;
    for (int i = 0; i < k; ++i)
      acc += (weights ? weights[m * w_s0 + i * w_s1] : 1.0f) * ye[static_cast<int64_t>(slot_of[m * k + i]) * D + d];
    out[m * D + d] = from_f32<T>(acc);
  }
}

}  // namespace

Status route_to_experts(CudaContext& ctx, const TensorView& ids, int64_t X, const char* contract, int32_t* header,
                        int32_t* slot_of, int32_t* row_of, std::vector<int32_t>& counts) {
  const int64_t M = ids.dim(0), k = ids.dim(1);
  if (M * k >= INT_MAX) return not_supported("cuda: ", contract, " with M·k = ", M * k, " pairs exceeds 32-bit slots");
  const size_t smem = static_cast<size_t>(1 + kRouteWarps) * static_cast<size_t>(X) * sizeof(int32_t);
  if (smem > 48 * 1024) return not_supported("cuda: ", contract, " with X = ", X, " experts (at most 1365)");
  moe_route_kernel<<<1, kRouteThreads, smem, ctx.stream>>>(ids.ptr<const int32_t>(), ids.stride[0], ids.stride[1],
                                                           static_cast<int>(M), static_cast<int>(k),
                                                           static_cast<int>(X), header, slot_of, row_of);
  CUDA_CHECK_LAUNCH();
  std::vector<int32_t> hdr(static_cast<size_t>(2 + X));
  CUDA_CHECK(cudaMemcpyAsync(hdr.data(), header, hdr.size() * sizeof(int32_t), cudaMemcpyDeviceToHost, ctx.stream));
  CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  if (hdr[0] != INT_MAX)
    return invalid_argument(contract, ": expert id ", hdr[1], " at [", hdr[0] / k, ", ", hdr[0] % k,
                            "] is outside [0, X = ", X, ")");
  counts.assign(hdr.begin() + 2, hdr.end());
  return Status::ok();
}

Status launch_combine_slots(CudaContext& ctx, const float* ye, const int32_t* slot_of, const float* weights,
                            int64_t w_s0, int64_t w_s1, int64_t M, int64_t k, int64_t D, void* out, DType t) {
  const int threads = D >= 256 ? 256 : static_cast<int>((D + 31) / 32 * 32);
  return dispatch_storage(t, "moe combine", [&](auto tag) {
    using T = decltype(tag);
    moe_combine_kernel<T><<<static_cast<unsigned>(M), threads, 0, ctx.stream>>>(ye, slot_of, weights, w_s0, w_s1,
                                                                                static_cast<int>(k), D,
                                                                                static_cast<T*>(out));
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

Status CudaBackend::moe_router(const MoeRouterArgs& a) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype("moe_router", {{&a.logits, "logits"}}, st));
  const int64_t M = a.logits.dim(0), X = a.logits.dim(1), k = a.weights.dim(1);
  if (M == 0) return Status::ok();
  const size_t smem = static_cast<size_t>(kRouterWarps) * static_cast<size_t>(X) * sizeof(float);
  if (smem > 48 * 1024) return not_supported("cuda: moe_router with X = ", X, " experts (at most 3072)");
  ctx_->activate();
  const unsigned grid = static_cast<unsigned>(ceil_div(M, kRouterWarps));
  return dispatch_storage(st, "moe_router", [&](auto tag) {
    using T = decltype(tag);
    moe_router_kernel<T><<<grid, kRouterWarps * 32, smem, ctx_->stream>>>(
        a.logits.ptr<const T>(), a.logits.stride[0], M, static_cast<int>(X), static_cast<int>(k), a.renormalize,
        a.weights.ptr<float>(), a.ids.ptr<int32_t>());
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

Status CudaBackend::moe_experts(const MoeExpertsArgs& a) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype(
      "moe_experts", {{&a.x, "x"}, {&a.w_gate, "w_gate"}, {&a.w_up, "w_up"}, {&a.w_down, "w_down"}, {&a.out, "out"}},
      st));
  const int64_t M = a.x.dim(0), D = a.x.dim(1);
  const int64_t X = a.w_gate.dim(0), F = a.w_gate.dim(1), k = a.ids.dim(1);
  const int64_t Mk = M * k;  // (token, slot) pairs
  if (M == 0 || D == 0) return Status::ok();
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  const size_t es = dtype_size(st);

  // Workspace: header [2 + X], slot_of [Mk], row_of [Mk] (i32); xg [Mk, D] and h [Mk, F] in
  // storage dtype; gate, up [Mk, F] and ye [Mk, D] fp32.
  WorkspaceLayout L;
  const size_t off_header = L.add(static_cast<size_t>(2 + X) * sizeof(int32_t));
  const size_t off_slot = L.add(static_cast<size_t>(Mk) * sizeof(int32_t));
  const size_t off_row = L.add(static_cast<size_t>(Mk) * sizeof(int32_t));
  const size_t off_xg = L.add(static_cast<size_t>(Mk * D) * es);
  const size_t off_h = L.add(static_cast<size_t>(Mk * F) * es);
  const size_t off_gate = L.add(static_cast<size_t>(Mk * F) * sizeof(float));
  const size_t off_up = L.add(static_cast<size_t>(Mk * F) * sizeof(float));
  const size_t off_ye = L.add(static_cast<size_t>(Mk * D) * sizeof(float));
  void* ws = ctx.workspace_at_least(L.total());
  int32_t* header = L.at<int32_t>(ws, off_header);
  int32_t* slot_of = L.at<int32_t>(ws, off_slot);
  int32_t* row_of = L.at<int32_t>(ws, off_row);
  char* xg = L.at<char>(ws, off_xg);
  char* h = L.at<char>(ws, off_h);
  float* gate = L.at<float>(ws, off_gate);
  float* up = L.at<float>(ws, off_up);
  float* ye = L.at<float>(ws, off_ye);

  // Stages 1 and 2: route, then the synchronous read of the per-expert counts.
  std::vector<int32_t> counts;
  BRAID_RETURN_IF_ERROR(route_to_experts(ctx, a.ids, X, "moe_experts", header, slot_of, row_of, counts));

  // Stage 3: xg[s] = x[row_of[s]]   [Mk, D], grouped by expert.
  launch_gather_rows(ctx, a.x.data, a.x.stride[0] * static_cast<int64_t>(es), xg, D * static_cast<int64_t>(es),
                     D * static_cast<int64_t>(es), Mk, row_of, DType::i32, nullptr);

  // Stage 4: the expert FFN on each expert's rows [off, off + Me).
  const int64_t FD = F * D;  // elements of one expert's weight matrix
  int64_t off = 0;
  for (int64_t e = 0; e < X; ++e) {
    const int64_t Me = counts[static_cast<size_t>(e)];
    if (Me > 0) {
      const char* xe = xg + off * D * static_cast<int64_t>(es);  // [Me, D]
      const char* wg = static_cast<const char*>(a.w_gate.data) + e * FD * static_cast<int64_t>(es);  // [F, D]
      const char* wu = static_cast<const char*>(a.w_up.data) + e * FD * static_cast<int64_t>(es);    // [F, D]
      BRAID_RETURN_IF_ERROR(gemm_nt(ctx, st, DType::f32, Me, F, D, 1.0f, xe, D, wg, D, 0.0f, gate + off * F, F));
      BRAID_RETURN_IF_ERROR(gemm_nt(ctx, st, DType::f32, Me, F, D, 1.0f, xe, D, wu, D, 0.0f, up + off * F, F));
    }
    off += Me;
  }
  launch_silu_mul(ctx, gate, up, h, st, Mk * F);  // h = silu(gate) ⊙ up   [Mk, F]
  off = 0;
  for (int64_t e = 0; e < X; ++e) {
    const int64_t Me = counts[static_cast<size_t>(e)];
    if (Me > 0) {
      const char* wd = static_cast<const char*>(a.w_down.data) + e * FD * static_cast<int64_t>(es);  // [D, F]
      // ye = h · w_downᵀ   [Me, D] = [Me, F] · [D, F]ᵀ
      BRAID_RETURN_IF_ERROR(gemm_nt(ctx, st, DType::f32, Me, D, F, 1.0f, h + off * F * static_cast<int64_t>(es), F, wd,
                                    F, 0.0f, ye + off * D, D));
    }
    off += Me;
  }

  // Stage 5: weighted combine in fixed slot order.
  return launch_combine_slots(ctx, ye, slot_of, a.weights.ptr<const float>(), a.weights.stride[0], a.weights.stride[1],
                              M, k, D, a.out.data, st);
}

}  // namespace braid
