// braid_bench_cpu — the contract, layer and block benchmarks on the CPU backends, plus the
// raw GEMM baselines (oneDNN sgemm, Eigen) at the model's linear shapes.
//   braid_bench_cpu [--backend=cpu|cpu-ref] [--shapes=cpu|tiny] [Google Benchmark flags]
#include <fstream>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/cpu/gemm.h"
#include "bench/harness.h"
#include "models/cli/backend_choice.h"

using namespace braid;
using namespace braid::bench;

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

int threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// C = A·Bᵀ through one GEMM implementation directly, at the same shapes as the linear cases.
void raw_gemm(const Target& t, GemmImpl impl, int64_t M, int64_t N, int64_t K) {
  const std::string shape = shape_name({{"M", M}, {"N", N}, {"K", K}});
  Target raw = t;
  raw.label = gemm_impl_name(impl);
  add(raw, "gemm", shape, [=](benchmark::State& st) {
    Backend& be = *t.be;
    Tensor a = random_tensor(be, {M, K}, DType::f32, normal(0, 1), 61);
    Tensor b = random_tensor(be, {N, K}, DType::f32, normal(0, 0.02f), 62);
    Tensor c(be, {M, N}, DType::f32);
    LinearArgs same_shapes{a, b, {}, c};
    measure(st, raw, cost_linear(same_shapes), [&] {
      gemm_nt(impl, M, N, K, 1.0f, a.ptr<float>(), K, b.ptr<float>(), K, 0.0f, c.ptr<float>(), N);
    });
  });
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = take_options(argc, argv, {"cpu", "cpu", BRAID_SOURCE_ROOT "/models/configs/jamba-1b-bench.json"});
  const auto be = cli::make_backend(o.backend);
  const auto timer = host_timer(*be);
  Target t;
  t.be = be.get(), t.label = o.backend, t.io = DType::f32, t.hw = zen5_2core(), t.timer = timer.get();
  const Shapes shapes = shapes_from_name(o.shapes);
  if (shapes == Shapes::tiny) t.min_runs = 3, t.min_seconds = 0;  // a smoke run checks output, not speed
  register_scan_cases(t, shapes);
  register_layer_cases(t, shapes, o.model_config);
  if (shapes != Shapes::tiny) {
    const std::pair<int64_t, int64_t> nk[] = {{4096, 1024}, {1024, 2048}, {3584, 1024}, {1024, 3584}, {32000, 1024}};
    for (GemmImpl impl : {GemmImpl::onednn, GemmImpl::eigen})
      if (gemm_impl_available(impl))
        for (const auto& [N, K] : nk) raw_gemm(t, impl, 512, N, K);
  }
  const std::string device = cpu_model() + ", " + std::to_string(threads()) + " threads";
  return run_main(argc, argv, device, BRAID_BUILD_FLAGS);
}
