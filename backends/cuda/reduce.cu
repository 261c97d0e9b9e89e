// backends/cuda/reduce.cu — the deterministic column sum behind every parameter gradient that
// sums over tokens (biases, norm weights, conv taps, the scans' per-row partials).
//
//   dst[c] += Σ_{r<R} src[r·ld + c]
//
// Stage 1: the rows are cut into chunks of kChunkRows; block (chunk, column tile) sums its
// chunk with 8 row lanes per column and adds the 8 lanes in lane order → partial[chunk, c].
// Stage 2: one thread per column adds the partials in chunk order into dst. Every sum has a
// fixed order, so the result is the same on every run (no atomics).
#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

constexpr int kCols = 32, kLanes = 8;  // a block is 32 columns × 8 row lanes
constexpr int64_t kChunkRows = 256;

template <class T>
__global__ void column_partial_kernel(const T* src, int64_t R, int64_t C, int64_t ld, float* partial) {
  __shared__ float acc[kLanes][kCols];
  const int64_t c = blockIdx.y * static_cast<int64_t>(kCols) + threadIdx.x;
  const int64_t r0 = blockIdx.x * kChunkRows, r1 = r0 + kChunkRows < R ? r0 + kChunkRows : R;
  float s = 0.0f;
  if (c < C)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kLanes) s += to_f32(src[r * ld + c]);
  acc[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float total = 0.0f;
    for (int l = 0; l < kLanes; ++l) total += acc[l][threadIdx.x];
    partial[blockIdx.x * C + c] = total;
  }
}

__global__ void column_finish_kernel(const float* partial, int64_t chunks, int64_t C, float* dst) {
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < C;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float total = 0.0f;
    for (int64_t k = 0; k < chunks; ++k) total += partial[k * C + c];
    dst[c] += total;
  }
}

}  // namespace

int64_t column_sum_scratch_floats(int64_t R, int64_t C) { return ceil_div(R > 0 ? R : 1, kChunkRows) * C; }

void launch_column_sum(CudaContext& ctx, const void* src, DType t, int64_t R, int64_t C, int64_t ld, float* dst,
                       float* scratch) {
  if (R == 0 || C == 0) return;
  const int64_t chunks = ceil_div(R, kChunkRows);
  BRAID_CHECK(ceil_div(C, kCols) <= 65535, "launch_column_sum: ", C, " columns exceed the grid");
  const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(ceil_div(C, kCols))), block(kCols, kLanes);
  if (t == DType::bf16)
    column_partial_kernel<<<grid, block, 0, ctx.stream>>>(static_cast<const __nv_bfloat16*>(src), R, C, ld, scratch);
  else
    column_partial_kernel<<<grid, block, 0, ctx.stream>>>(static_cast<const float*>(src), R, C, ld, scratch);
  CUDA_CHECK_LAUNCH();
  column_finish_kernel<<<grid_for(ctx, C, 256), 256, 0, ctx.stream>>>(scratch, chunks, C, dst);
  CUDA_CHECK_LAUNCH();
}

}  // namespace braid
