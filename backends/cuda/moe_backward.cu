// backends/cuda/moe_backward.cu — backward of the router and of the expert FFN
// (core/contracts/moe.h; reference: backends/cpu/moe_backward.cpp).
//
// Router, one warp per row m: p = softmax(logits[m]) recomputed (the forward's expressions);
// d_p scatters d_weights into the chosen experts (through the renormalisation when set), plus
// the optional d_probs; d_logits = p ⊙ (d_p − Σ p·d_p).
//
// Experts, grouped by expert with the forward's routing (moe_routing.cuh), slot s holding pair
// f = m·k + i with weight w = weights[f], X_e = the gathered x rows, G = the gathered d_out rows:
//   a = X_e·gateᵀ, b = X_e·upᵀ, du₀ = G·down            (fp32 [Me, F], per expert)
//   d_weights[f] = Σ_F u·du₀ with u = silu(a)⊙b;  d_u = w·du₀   (one block per slot)
//   d_a, d_b, u                                         (launch_swiglu_backward, storage dtype)
//   d_down += (w·G)ᵀ·u;  d_gate += d_aᵀ·X_e;  d_up += d_bᵀ·X_e   (fp32 GEMM outputs)
//   dx_s = d_a·gate + d_b·up;  d_x[m] = Σ_i dx_{slot(m, i)} in increasing i (no atomics)
#include <algorithm>
#include <vector>

#include "backends/cuda/cuda_context.cuh"
#include "backends/cuda/moe_routing.cuh"
#include "backends/cuda/swiglu_backward.cuh"

namespace braid {

namespace {

constexpr int kRouterWarps = 4;

template <class T>
__global__ void moe_router_backward_kernel(const T* logits, int64_t ld, int64_t M, int X, int k, bool renormalize,
                                           const int32_t* ids, const float* d_w,
                                           const float* d_probs, int64_t dp_stride, T* d_logits, int64_t ldd) {
  extern __shared__ float sm[];  // [kRouterWarps][2][X]: p, d_p
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t m = blockIdx.x * static_cast<int64_t>(kRouterWarps) + warp;
  if (m >= M) return;  // warp-uniform; no block-wide barrier below
  float* p = sm + static_cast<int64_t>(warp) * 2 * X;
  float* dp = p + X;
  const T* l = logits + m * ld;
  warp_softmax_row(l, X, lane, p);  // the forward's p, recomputed
  for (int e = lane; e < X; e += 32) dp[e] = d_probs ? d_probs[e * dp_stride] : 0.0f;
  __syncwarp();
  if (lane == 0) {  // k entries: serial, in slot order (as the reference)
    const int32_t* id = ids + m * k;
    const float* g = d_w + m * k;
    if (renormalize) {  // w_i = p_i / S:  ∂/∂p_c = (d_w_c − Σ_i d_w_i·w_i) / S
      float S = 0.0f, dot = 0.0f;
      for (int i = 0; i < k; ++i) S += p[id[i]];
      for (int i = 0; i < k; ++i) dot += g[i] * p[id[i]] / S;
      for (int i = 0; i < k; ++i) dp[id[i]] += (g[i] - dot) / S;
    } else {
      for (int i = 0; i < k; ++i) dp[id[i]] += g[i];
    }
  }
  __syncwarp();
  float dot = 0.0f;
  for (int e = lane; e < X; e += 32) dot += p[e] * dp[e];
  dot = warp_sum(dot);
  T* d = d_logits + m * ldd;
  for (int e = lane; e < X; e += 32) d[e] = from_f32<T>(p[e] * (dp[e] - dot));
}

__global__ void pair_of_slot_kernel(const int32_t* slot_of, int64_t Mk, int32_t* pair_of) {
  for (int64_t f = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; f < Mk;
       f += static_cast<int64_t>(gridDim.x) * blockDim.x)
    pair_of[slot_of[f]] = static_cast<int32_t>(f);
}

// One block per slot s (pair f = pair_of[s], weight w): d_weights[f] = Σ_F silu(a)·b·du₀,
// then du₀ ← w·du₀ and gw[s] = w·G[s].
template <class T>
__global__ void moe_slot_weights_kernel(const float* a, const float* b, float* du, const T* G, T* gw,
                                        const int32_t* pair_of, const float* weights, int64_t F, int64_t D,
                                        float* d_weights) {
  __shared__ float scratch[32];
  const int64_t s = blockIdx.x;
  const int32_t f = pair_of[s];
  const float w = weights[f];
  float acc = 0.0f;
  for (int64_t c = threadIdx.x; c < F; c += blockDim.x) {
    const int64_t q = s * F + c;
    acc += silu_f32(a[q]) * b[q] * du[q];
  }
  acc = block_sum(acc, scratch);
  if (threadIdx.x == 0) d_weights[f] = acc;
  for (int64_t c = threadIdx.x; c < F; c += blockDim.x) du[s * F + c] *= w;
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) gw[s * D + d] = from_f32<T>(w * to_f32(G[s * D + d]));
}

}  // namespace

Status CudaBackend::moe_router_backward(const MoeRouterBackwardArgs& a) {
  const MoeRouterArgs& f = a.fwd;
  DType st, grad_st;
  BRAID_RETURN_IF_ERROR(storage_dtype("moe_router_backward", {{&f.logits, "logits"}, {&a.d_logits, "d_logits"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("moe_router_backward", {{&a.d_weights, "d_weights"}, {&a.d_probs, "d_probs"}}, grad_st));
  const int64_t M = f.logits.dim(0), X = f.logits.dim(1), k = f.weights.dim(1);
  if (M == 0) return Status::ok();
  const size_t smem = static_cast<size_t>(kRouterWarps) * 2 * static_cast<size_t>(X) * sizeof(float);
  if (smem > 48 * 1024) return not_supported("cuda: moe_router_backward with X = ", X, " experts (at most 1536)");
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  const BadIndex bad = find_bad_index(ctx, f.ids.data, DType::i32, M * k, 0, X);
  if (bad.at >= 0)
    return invalid_argument("moe_router_backward: expert id ", bad.value, " at ", bad.at, " is outside [0, X = ", X, ")");
  const unsigned grid = static_cast<unsigned>(ceil_div(M, kRouterWarps));
  return dispatch_storage(st, "moe_router_backward", [&](auto tag) {
    using T = decltype(tag);
    moe_router_backward_kernel<T><<<grid, kRouterWarps * 32, smem, ctx.stream>>>(
        f.logits.ptr<const T>(), f.logits.stride[0], M, static_cast<int>(X), static_cast<int>(k), f.renormalize,
        f.ids.ptr<const int32_t>(), a.d_weights.ptr<const float>(),
        a.d_probs.defined() ? a.d_probs.ptr<const float>() : nullptr, a.d_probs.defined() ? a.d_probs.stride[0] : 0,
        a.d_logits.ptr<T>(), a.d_logits.stride[0]);
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

Status CudaBackend::moe_experts_backward(const MoeExpertsBackwardArgs& a) {
  const MoeExpertsArgs& f = a.fwd;
  DType st, grad_st;
  BRAID_RETURN_IF_ERROR(storage_dtype("moe_experts_backward", {{&f.x, "x"}, {&f.w_gate, "w_gate"}, {&f.w_up, "w_up"},
                                                               {&f.w_down, "w_down"}, {&a.d_out, "d_out"}, {&a.d_x, "d_x"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("moe_experts_backward", {{&a.d_w_gate, "d_w_gate"}, {&a.d_w_up, "d_w_up"},
                                                               {&a.d_w_down, "d_w_down"}, {&a.d_weights, "d_weights"}}, grad_st));
  const int64_t M = f.x.dim(0), D = f.x.dim(1), X = f.w_gate.dim(0), F = f.w_gate.dim(1), k = f.ids.dim(1);
  const int64_t Mk = M * k;
  if (M == 0 || D == 0) return Status::ok();
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  const size_t es = dtype_size(st), MkD = static_cast<size_t>(Mk * D), MkF = static_cast<size_t>(Mk * F);

  WorkspaceLayout L;
  const size_t off_header = L.add(static_cast<size_t>(2 + X) * sizeof(int32_t));
  const size_t off_slot = L.add(static_cast<size_t>(Mk) * sizeof(int32_t));
  const size_t off_row = L.add(static_cast<size_t>(Mk) * sizeof(int32_t));
  const size_t off_pair = L.add(static_cast<size_t>(Mk) * sizeof(int32_t));
  const size_t off_xg = L.add(MkD * es), off_g = L.add(MkD * es), off_gw = L.add(MkD * es);
  const size_t off_a = L.add(MkF * sizeof(float)), off_b = L.add(MkF * sizeof(float)), off_du = L.add(MkF * sizeof(float));
  const size_t off_da = L.add(MkF * es), off_db = L.add(MkF * es), off_u = L.add(MkF * es);
  const size_t off_dx = L.add(MkD * sizeof(float));
  void* ws = ctx.workspace_at_least(L.total());
  int32_t *header = L.at<int32_t>(ws, off_header), *slot_of = L.at<int32_t>(ws, off_slot);
  int32_t *row_of = L.at<int32_t>(ws, off_row), *pair_of = L.at<int32_t>(ws, off_pair);
  char *xg = L.at<char>(ws, off_xg), *G = L.at<char>(ws, off_g), *gw = L.at<char>(ws, off_gw);
  float *ga = L.at<float>(ws, off_a), *ub = L.at<float>(ws, off_b), *du = L.at<float>(ws, off_du);
  char *da = L.at<char>(ws, off_da), *db = L.at<char>(ws, off_db), *u = L.at<char>(ws, off_u);
  float* dxe = L.at<float>(ws, off_dx);

  std::vector<int32_t> counts;
  BRAID_RETURN_IF_ERROR(route_to_experts(ctx, f.ids, X, "moe_experts_backward", header, slot_of, row_of, counts));
  pair_of_slot_kernel<<<grid_for(ctx, Mk, 256), 256, 0, ctx.stream>>>(slot_of, Mk, pair_of);
  CUDA_CHECK_LAUNCH();
  const int64_t row_bytes = D * static_cast<int64_t>(es);
  launch_gather_rows(ctx, f.x.data, f.x.stride[0] * static_cast<int64_t>(es), xg, row_bytes, row_bytes, Mk, row_of,
                     DType::i32, nullptr);
  launch_gather_rows(ctx, a.d_out.data, a.d_out.stride[0] * static_cast<int64_t>(es), G, row_bytes, row_bytes, Mk,
                     row_of, DType::i32, nullptr);

  const int64_t FD = F * D;
  auto weight = [&](const TensorView& w, int64_t e) { return static_cast<const char*>(w.data) + e * FD * static_cast<int64_t>(es); };
  auto grad_of = [&](const TensorView& g, int64_t e) { return g.ptr<float>() + e * FD; };
  int64_t off = 0;
  for (int64_t e = 0; e < X; ++e) {  // a, b, du₀ per expert
    const int64_t Me = counts[static_cast<size_t>(e)];
    if (Me > 0) {
      const char* xe = xg + off * D * static_cast<int64_t>(es);
      BRAID_RETURN_IF_ERROR(gemm_nt(ctx, st, DType::f32, Me, F, D, 1.0f, xe, D, weight(f.w_gate, e), D, 0.0f, ga + off * F, F));
      BRAID_RETURN_IF_ERROR(gemm_nt(ctx, st, DType::f32, Me, F, D, 1.0f, xe, D, weight(f.w_up, e), D, 0.0f, ub + off * F, F));
      BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, false, false, Me, F, D, 1.0f, G + off * D * static_cast<int64_t>(es),
                                 D, weight(f.w_down, e), F, 0.0f, du + off * F, F));
    }
    off += Me;
  }
  const int threads = std::max<int64_t>(F, D) >= 256 ? 256 : static_cast<int>((std::max<int64_t>(F, D) + 31) / 32 * 32);
  BRAID_RETURN_IF_ERROR(dispatch_storage(st, "moe_experts_backward", [&](auto tag) {
    using T = decltype(tag);
    moe_slot_weights_kernel<T><<<static_cast<unsigned>(Mk), threads, 0, ctx.stream>>>(
        ga, ub, du, reinterpret_cast<const T*>(G), reinterpret_cast<T*>(gw), pair_of, f.weights.ptr<const float>(), F, D,
        a.d_weights.ptr<float>());
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  }));
  launch_swiglu_backward(ctx, ga, ub, du, Mk * F, st, da, db, u);
  off = 0;
  for (int64_t e = 0; e < X; ++e) {
    const int64_t Me = counts[static_cast<size_t>(e)];
    if (Me > 0) {
      const char* xe = xg + off * D * static_cast<int64_t>(es);
      const char* dae = da + off * F * static_cast<int64_t>(es);
      const char* dbe = db + off * F * static_cast<int64_t>(es);
      BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, true, false, D, F, Me, 1.0f, gw + off * D * static_cast<int64_t>(es), D,
                                 u + off * F * static_cast<int64_t>(es), F, 1.0f, grad_of(a.d_w_down, e), F));
      BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, true, false, F, D, Me, 1.0f, dae, F, xe, D, 1.0f, grad_of(a.d_w_gate, e), D));
      BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, true, false, F, D, Me, 1.0f, dbe, F, xe, D, 1.0f, grad_of(a.d_w_up, e), D));
      BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, false, false, Me, D, F, 1.0f, dae, F, weight(f.w_gate, e), D, 0.0f,
                                 dxe + off * D, D));
      BRAID_RETURN_IF_ERROR(gemm(ctx, st, DType::f32, false, false, Me, D, F, 1.0f, dbe, F, weight(f.w_up, e), D, 1.0f,
                                 dxe + off * D, D));
    }
    off += Me;
  }
  return launch_combine_slots(ctx, dxe, slot_of, nullptr, 0, 0, M, k, D, a.d_x.data, st);
}

}  // namespace braid
