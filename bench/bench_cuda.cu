// braid_bench_cuda — the contract, layer and block benchmarks on the CUDA backend (bf16
// storage, f32 states), plus raw cuBLAS bf16 GEMMs at the model's linear shapes.
//   braid_bench_cuda [--backend=cuda:N] [--shapes=gpu|tiny] [Google Benchmark flags]
// Timing: CUDA events on the backend's stream around each call; before each call (untimed) a
// 256 MiB buffer is overwritten so no input is left in the 50 MB L2 (cold-cache times).
#include <cuda_bf16.h>

#include <string>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_context.cuh"
#include "bench/harness.h"
#include "models/cli/backend_choice.h"

using namespace braid;
using namespace braid::bench;

namespace {

class CudaEventTimer final : public Timer {
 public:
  explicit CudaEventTimer(CudaContext& ctx) : ctx_(ctx) {
    CUDA_CHECK(cudaEventCreate(&start_));
    CUDA_CHECK(cudaEventCreate(&stop_));
    CUDA_CHECK(cudaMalloc(&flush_, kFlushBytes));
  }
  ~CudaEventTimer() override {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
    cudaFree(flush_);
  }
  void flush() override { CUDA_CHECK(cudaMemsetAsync(flush_, ++round_ & 0xff, kFlushBytes, ctx_.stream)); }
  void start() override { CUDA_CHECK(cudaEventRecord(start_, ctx_.stream)); }
  double stop() override {
    CUDA_CHECK(cudaEventRecord(stop_, ctx_.stream));
    CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms * 1e-3;
  }

 private:
  static constexpr size_t kFlushBytes = size_t{256} << 20;
  CudaContext& ctx_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  void* flush_ = nullptr;
  int round_ = 0;
};

// y = x·wᵀ straight through cublasGemmEx (bf16 operands, fp32 accumulation), the peer of the
// `linear` contract at the same shapes.
void raw_cublas(const Target& t, CudaContext& ctx, int64_t M, int64_t N, int64_t K) {
  const std::string shape = shape_name({{"M", M}, {"N", N}, {"K", K}});
  Target raw = t;
  raw.label = "cublas";
  add(raw, "gemm", shape, [=, &ctx](benchmark::State& st) {
    Backend& be = *t.be;
    Tensor x = random_tensor(be, {M, K}, DType::bf16, normal(0, 1), 71);
    Tensor w = random_tensor(be, {N, K}, DType::bf16, normal(0, 0.02f), 72);
    Tensor y(be, {M, N}, DType::bf16);
    LinearArgs same_shapes{x, w, {}, y};
    const float one = 1.0f, zero = 0.0f;
    measure(st, raw, cost_linear(same_shapes), [&] {
      CUBLAS_CHECK(cublasGemmEx(ctx.cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(M),
                                static_cast<int>(K), &one, w.view().data, CUDA_R_16BF, static_cast<int>(K),
                                x.view().data, CUDA_R_16BF, static_cast<int>(K), &zero, y.view().data, CUDA_R_16BF,
                                static_cast<int>(N), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    });
  });
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = take_options(argc, argv, {"cuda", "gpu", BRAID_SOURCE_ROOT "/models/configs/jamba-1b-bench.json"});
  if (const std::string why = cuda_unavailable_reason(); !why.empty()) {
    std::printf("braid_bench_cuda: skipped: %s\n", why.c_str());
    return 77;
  }
  const auto be = cli::make_backend(o.backend);
  CudaContext& ctx = dynamic_cast<CudaBackend&>(*be).context();
  CudaEventTimer timer(ctx);
  Target t;
  t.be = be.get(), t.label = "cuda", t.io = DType::bf16, t.hw = h100_sxm(), t.timer = &timer;
  t.min_runs = 20, t.max_runs = 200, t.min_seconds = 0.2;
  const Shapes shapes = shapes_from_name(o.shapes);
  if (shapes == Shapes::tiny) t.min_runs = 3, t.min_seconds = 0;  // a smoke run checks output, not speed
  register_scan_cases(t, shapes);
  register_layer_cases(t, shapes, o.model_config);
  if (shapes != Shapes::tiny) {
    const std::pair<int64_t, int64_t> nk[] = {{4096, 1024}, {96, 2048}, {2048, 64}, {1024, 2048}, {1024, 1024},
                                              {256, 1024}, {3584, 1024}, {1024, 3584}, {32000, 1024}};
    for (const auto& [N, K] : nk) raw_cublas(t, ctx, 2048, N, K);
  }
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, ctx.device));
  const std::string device = std::string(prop.name) + ", " + std::to_string(prop.multiProcessorCount) + " SMs";
  return run_main(argc, argv, device, BRAID_BUILD_FLAGS " nvcc " + std::to_string(__CUDACC_VER_MAJOR__) + "." +
                                          std::to_string(__CUDACC_VER_MINOR__) + " sm_90");
}
