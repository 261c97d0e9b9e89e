// backends/cuda/cross_entropy.cu — softmax cross-entropy fused with its gradient
// (core/contracts/loss.h; reference: backends/cpu/cross_entropy.cpp).
//
// Stage 1 checks the targets (find_bad_index over [−2³¹, V): negative targets are ignored
// rows; one small synchronous read, before anything is written). Stage 2: one block per row m,
//   mx, best = max and first argmax of the row (block reduction; ties → lower index)
//   s        = Σ exp(l − mx);  log_sum = log s
//   losses[m]   = log_sum − (l[t] − mx)                 (0 when t < 0)
//   d_logits[m] = scale · exp(l − mx − log_sum), minus scale at t   (0 rows when t < 0)
// in fp32, the reference's expressions. d_logits may alias logits: the row's target logit is
// read before the barrier that precedes the first write, and every thread overwrites only the
// elements it reads itself.
#include <climits>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

constexpr int kThreads = 256;

template <class T>
__global__ void cross_entropy_kernel(const T* logits, int64_t ld, const int32_t* targets, int64_t V, float scale,
                                     float* losses, T* d_logits, int64_t ldd, int32_t* argmax, int64_t arg_stride) {
  __shared__ float s_val[32];
  __shared__ int64_t s_idx[32];
  __shared__ float scratch[32];
  const int64_t m = blockIdx.x;
  const T* row = logits + m * ld;
  const int32_t t = targets[m];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;

  // max and first argmax
  float mx = -INFINITY;
  int64_t best = INT64_MAX;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    const float x = to_f32(row[v]);
    if (x > mx || best == INT64_MAX) mx = x, best = v;  // increasing v: strict > keeps the first
  }
  auto better = [](float a, int64_t ia, float b, int64_t ib) { return b > a || (b == a && ib < ia); };
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, mx, o);
    const int64_t oi = __shfl_xor_sync(0xffffffffu, best, o);
    if (better(mx, best, ov, oi)) mx = ov, best = oi;
  }
  if (lane == 0) s_val[warp] = mx, s_idx[warp] = best;
  __syncthreads();
  mx = s_val[0], best = s_idx[0];
  for (int w = 1; w < warps; ++w)
    if (better(mx, best, s_val[w], s_idx[w])) mx = s_val[w], best = s_idx[w];

  float sum = 0.0f;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) sum += expf(to_f32(row[v]) - mx);
  sum = block_sum(sum, scratch);
  const float log_sum = logf(sum);
  const float target_logit = t >= 0 ? to_f32(row[t]) : 0.0f;
  if (threadIdx.x == 0) {
    losses[m] = t < 0 ? 0.0f : log_sum - (target_logit - mx);
    if (argmax) argmax[m * arg_stride] = static_cast<int32_t>(best);
  }
  if (!d_logits) return;
  __syncthreads();  // every read of the row (target logit included) precedes the first write
  T* d = d_logits + m * ldd;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    float g = t < 0 ? 0.0f : scale * expf(to_f32(row[v]) - mx - log_sum);
    if (v == t) g -= scale;
    d[v] = from_f32<T>(g);
  }
}

}  // namespace

Status CudaBackend::cross_entropy(const CrossEntropyArgs& a) {
  DType st, loss_st;
  BRAID_RETURN_IF_ERROR(storage_dtype("cross_entropy", {{&a.logits, "logits"}, {&a.d_logits, "d_logits"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("cross_entropy", {{&a.losses, "losses"}}, loss_st));
  const TensorView l = a.logits.as_2d();  // [M, V]
  const int64_t M = l.dim(0), V = l.dim(1);
  if (M == 0) return Status::ok();
  if (M > INT32_MAX) return not_supported("cuda: cross_entropy with ", M, " rows exceeds the grid");
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  const BadIndex bad = find_bad_index(ctx, a.targets.data, DType::i32, M, INT32_MIN, V);
  if (bad.at >= 0)
    return invalid_argument("cross_entropy: target ", bad.value, " at row ", bad.at, " is outside [0, V = ", V, ")");
  const TensorView d = a.d_logits.defined() ? a.d_logits.as_2d() : TensorView();
  return dispatch_storage(st, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_kernel<T><<<static_cast<unsigned>(M), kThreads, 0, ctx.stream>>>(
        l.ptr<const T>(), l.stride[0], a.targets.ptr<const int32_t>(), V, a.scale, a.losses.ptr<float>(),
        d.defined() ? d.ptr<T>() : nullptr, d.defined() ? d.stride[0] : 0,
        a.argmax.defined() ? a.argmax.ptr<int32_t>() : nullptr, a.argmax.defined() ? a.argmax.stride[0] : 0);
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

}  // namespace braid
