// backends/cuda/embedding.cu — token embedding lookup (core/contracts/embedding.h; reference:
// backends/cpu/embedding.cpp), and the row-gather kernel the MoE experts reuse.
//
//   out[b, t, :] = table[ids[b, t], :]          (torch.nn.Embedding forward)
//
// Stages: (1) check kernel — every id outside [0, V) lowers a device flag to the smallest
// bad flat index m = b·T + t (atomicMin, so the flag names the first bad id in row-major
// order, as the CPU reference does); (2) gather kernel — one block per row copies D elements
// of the table row, and writes nothing when the flag is set; (3) one 8-byte synchronous read
// of the flag. Choice (documented in the contract's spirit, "ids are data"): the check runs
// on the device because ids are already there and may be many (prefill); the sync it costs
// is one small read per embedding call, i.e. once per forward step. On a bad id the
// offending value itself is read back (one more tiny copy, error path only) and nothing has
// been written to `out`, matching the reference.
#include <cstring>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

constexpr unsigned long long kNoBadIndex = ~0ull;  // the flag's value when every id is valid

// first_bad ← min(first_bad, the smallest m with ids[m] outside [lo, hi)).
template <class Id>
__global__ void index_check_kernel(const Id* ids, int64_t n, int64_t lo, int64_t hi, unsigned long long* first_bad) {
  for (int64_t m = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; m < n;
       m += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t id = static_cast<int64_t>(ids[m]);
    if (id < lo || id >= hi) atomicMin(first_bad, static_cast<unsigned long long>(m));
  }
}

void launch_index_check(CudaContext& ctx, const void* ids, DType dtype, int64_t n, int64_t lo, int64_t hi,
                        unsigned long long* first_bad) {
  CUDA_CHECK(cudaMemsetAsync(first_bad, 0xff, sizeof(unsigned long long), ctx.stream));  // = kNoBadIndex
  if (dtype == DType::i64)
    index_check_kernel<<<grid_for(ctx, n, 256), 256, 0, ctx.stream>>>(static_cast<const int64_t*>(ids), n, lo, hi,
                                                                      first_bad);
  else
    index_check_kernel<<<grid_for(ctx, n, 256), 256, 0, ctx.stream>>>(static_cast<const int32_t*>(ids), n, lo, hi,
                                                                      first_bad);
  CUDA_CHECK_LAUNCH();
}

// The flag and, when it is set, the offending value (two tiny blocking reads).
BadIndex read_bad_index(CudaContext& ctx, const unsigned long long* first_bad, const void* ids, DType dtype) {
  unsigned long long bad = kNoBadIndex;
  CUDA_CHECK(cudaMemcpyAsync(&bad, first_bad, sizeof bad, cudaMemcpyDeviceToHost, ctx.stream));
  CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  if (bad == kNoBadIndex) return {};
  const int64_t m = static_cast<int64_t>(bad);
  const size_t isz = dtype_size(dtype);
  int64_t id = 0;
  CUDA_CHECK(cudaMemcpyAsync(&id, static_cast<const char*>(ids) + m * static_cast<int64_t>(isz), isz,
                             cudaMemcpyDeviceToHost, ctx.stream));
  CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  if (dtype == DType::i32) {
    int32_t id32;
    std::memcpy(&id32, &id, sizeof id32);  // little-endian: the i32 sits in the low bytes
    id = id32;
  }
  return {m, id};
}

// dst row r = src row idx[r], moved in W-byte words (W = 16, 8, 4, 2 or 1, chosen on the
// host so that it divides the row length, both row strides and both base addresses).
// One block per row; threads stride over the row's words.
template <int W, class Id>
__global__ void gather_rows_kernel(const char* src, int64_t src_ld, char* dst, int64_t dst_ld, int64_t row_bytes,
                                   int64_t rows, const Id* idx, const unsigned long long* skip_if_set) {
  if (skip_if_set && *skip_if_set != kNoBadIndex) return;  // a preceding check found bad data
  struct alignas(W) Word {
    char b[W];
  };
  const int64_t words = row_bytes / W;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const Word* s = reinterpret_cast<const Word*>(src + static_cast<int64_t>(idx[r]) * src_ld);
    Word* d = reinterpret_cast<Word*>(dst + r * dst_ld);
    for (int64_t w = threadIdx.x; w < words; w += blockDim.x) d[w] = s[w];
  }
}

template <int W, class Id>
void launch_gather_w(CudaContext& ctx, const void* src, int64_t src_ld, void* dst, int64_t dst_ld, int64_t row_bytes,
                     int64_t rows, const Id* idx, const unsigned long long* skip) {
  const int64_t words = row_bytes / W;
  const int threads = words >= 256 ? 256 : static_cast<int>((words + 31) / 32 * 32);
  const unsigned grid = static_cast<unsigned>(rows < (1ll << 30) ? rows : (1ll << 30));
  gather_rows_kernel<W, Id><<<grid, threads, 0, ctx.stream>>>(static_cast<const char*>(src), src_ld,
                                                              static_cast<char*>(dst), dst_ld, row_bytes, rows, idx, skip);
  CUDA_CHECK_LAUNCH();
}

template <class Id>
void launch_gather(CudaContext& ctx, const void* src, int64_t src_ld, void* dst, int64_t dst_ld, int64_t row_bytes,
                   int64_t rows, const Id* idx, const unsigned long long* skip) {
  // The widest word that divides every byte quantity that a row address is built from.
  const uint64_t all = static_cast<uint64_t>(row_bytes) | static_cast<uint64_t>(src_ld) |
                       static_cast<uint64_t>(dst_ld) | reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst);
  if (all % 16 == 0) launch_gather_w<16>(ctx, src, src_ld, dst, dst_ld, row_bytes, rows, idx, skip);
  else if (all % 8 == 0) launch_gather_w<8>(ctx, src, src_ld, dst, dst_ld, row_bytes, rows, idx, skip);
  else if (all % 4 == 0) launch_gather_w<4>(ctx, src, src_ld, dst, dst_ld, row_bytes, rows, idx, skip);
  else if (all % 2 == 0) launch_gather_w<2>(ctx, src, src_ld, dst, dst_ld, row_bytes, rows, idx, skip);
  else launch_gather_w<1>(ctx, src, src_ld, dst, dst_ld, row_bytes, rows, idx, skip);
}

}  // namespace

void launch_gather_rows(CudaContext& ctx, const void* src, int64_t src_ld_bytes, void* dst, int64_t dst_ld_bytes,
                        int64_t row_bytes, int64_t rows, const void* idx, DType idx_dtype,
                        const unsigned long long* skip_if_set) {
  if (rows == 0 || row_bytes == 0) return;
  if (idx_dtype == DType::i64)
    launch_gather(ctx, src, src_ld_bytes, dst, dst_ld_bytes, row_bytes, rows, static_cast<const int64_t*>(idx), skip_if_set);
  else
    launch_gather(ctx, src, src_ld_bytes, dst, dst_ld_bytes, row_bytes, rows, static_cast<const int32_t*>(idx), skip_if_set);
}

Status CudaBackend::embedding(const EmbeddingArgs& a) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype("embedding", {{&a.table, "table"}, {&a.out, "out"}}, st));
  const int64_t B = a.ids.dim(0), T = a.ids.dim(1);  // validate(): ids, table, out contiguous
  const int64_t V = a.table.dim(0), D = a.table.dim(1);
  const int64_t n = B * T;
  if (n == 0) return Status::ok();
  ctx_->activate();
  CudaContext& ctx = *ctx_;

  // Stage 1: the bad-id flag lives in the workspace, reset to "none" on the stream.
  auto* first_bad = static_cast<unsigned long long*>(ctx.workspace_at_least(sizeof(unsigned long long)));
  launch_index_check(ctx, a.ids.data, a.ids.dtype, n, 0, V, first_bad);

  // Stage 2: out row m = table row ids[m]  ([D] elements, rows contiguous), skipped on a bad id.
  const int64_t row_bytes = D * static_cast<int64_t>(dtype_size(st));
  launch_gather_rows(ctx, a.table.data, row_bytes, a.out.data, row_bytes, row_bytes, n, a.ids.data, a.ids.dtype,
                     first_bad);

  // Stage 3: the synchronous read of the flag (see the file comment for why).
  const BadIndex bad = read_bad_index(ctx, first_bad, a.ids.data, a.ids.dtype);
  if (bad.at < 0) return Status::ok();
  return invalid_argument("token id ", bad.value, " at [", bad.at / T, ", ", bad.at % T, "] is outside the vocabulary [0, ", V,
                          ")");
}

BadIndex find_bad_index(CudaContext& ctx, const void* idx, DType idx_dtype, int64_t n, int64_t lo, int64_t hi) {
  if (n == 0) return {};
  auto* first_bad = static_cast<unsigned long long*>(ctx.workspace_at_least(sizeof(unsigned long long)));
  launch_index_check(ctx, idx, idx_dtype, n, lo, hi, first_bad);
  return read_bad_index(ctx, first_bad, idx, idx_dtype);
}

}  // namespace braid
