// backends/cuda/embedding_backward.cu — d_table[ids[m]] += d_out[m] except at padding_idx
// (core/contracts/embedding.h; reference: backends/cpu/embedding_backward.cpp).
//
// Stage 1 checks every id (find_bad_index: one small synchronous read; the ids are data, and a
// bad one must be reported before anything is added). Stage 2 scatters with fp32 atomicAdd,
// one thread per (token, channel): tokens that share an id add into one row in an order that
// may change from run to run, so d_table is reproducible to fp32 rounding, not bit for bit.
#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

template <class T, class Id>
__global__ void embedding_scatter_kernel(const Id* ids, const T* d_out, int64_t n, int64_t D, int64_t padding_idx,
                                         float* d_table) {
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < n * D;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = q / D, d = q - m * D;
    const int64_t id = static_cast<int64_t>(ids[m]);
    if (id == padding_idx) continue;  // frozen row (torch padding_idx)
    atomicAdd(d_table + id * D + d, to_f32(d_out[q]));
  }
}

}  // namespace

Status CudaBackend::embedding_backward(const EmbeddingBackwardArgs& a) {
  DType st, grad_st;  // d_table is f32 by contract (validate)
  BRAID_RETURN_IF_ERROR(storage_dtype("embedding_backward", {{&a.d_out, "d_out"}}, st));
  BRAID_RETURN_IF_ERROR(storage_dtype("embedding_backward", {{&a.d_table, "d_table"}}, grad_st));
  const int64_t n = a.ids.numel(), V = a.d_table.dim(0), D = a.d_table.dim(1);
  if (n == 0 || D == 0) return Status::ok();
  ctx_->activate();
  CudaContext& ctx = *ctx_;
  const BadIndex bad = find_bad_index(ctx, a.ids.data, a.ids.dtype, n, 0, V);
  if (bad.at >= 0)
    return invalid_argument("embedding_backward: token id ", bad.value, " at position ", bad.at, " is outside [0, ", V, ")");
  return dispatch_storage(st, "embedding_backward", [&](auto tag) {
    using T = decltype(tag);
    const unsigned grid = grid_for(ctx, n * D, 256);
    if (a.ids.dtype == DType::i64)
      embedding_scatter_kernel<<<grid, 256, 0, ctx.stream>>>(a.ids.ptr<const int64_t>(), a.d_out.ptr<const T>(), n, D,
                                                             a.padding_idx, a.d_table.ptr<float>());
    else
      embedding_scatter_kernel<<<grid, 256, 0, ctx.stream>>>(a.ids.ptr<const int32_t>(), a.d_out.ptr<const T>(), n, D,
                                                             a.padding_idx, a.d_table.ptr<float>());
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

}  // namespace braid
