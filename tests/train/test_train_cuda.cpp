// models/train on CUDA: the same tiny hybrid, initialisation and batches trained for 20 steps
// on the CPU reference and on CUDA (f32 and bf16 storage) give the same loss curve.
//
// Tolerances, per step, relative to the CPU loss (stated before measuring):
//  * f32: 1e-3. Both backends compute the same f32 math in a different summation order
//    (≈1e-6 relative per loss); AdamW's normalised updates carry that into the weights, and
//    20 steps at lr 1e-2 amplify it by at most a few hundred unless the run is chaotic.
//  * bf16: 3e-2. Activations and the published weights are rounded to bf16 (2^−9 ≈ 2e-3
//    relative each) while the f32 masters are the same math; errors of a few 2^−9 per
//    sublayer across 3 layers and the head land near 1e-2.
// Without a CUDA device only the CPU curve runs (it must fall by 20%); the case prints why the
// CUDA runs are skipped.
#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_backend.h"
#include "tests/temp_dir.h"
#include "tests/train/tiny_training.h"

using namespace braid;
using namespace braid::test;

namespace {

constexpr int64_t kSteps = 20;

// Two fixed steps' batches in turn (2 micro-batches each): the loss falls far enough in 20
// steps to tell curves apart (checked on the CPU curve, with or without a device).
BatchFn cycling_batches() {
  const BatchFn pool = random_batches(31, 4, 48, /*same_every_step=*/false);
  return [pool](int64_t step, int64_t micro) { return pool(step % 2, micro); };
}

std::vector<double> train_losses(Backend& be, DType dtype, const std::string& out) {
  const nlohmann::json cfg = tiny_config(64);
  HybridModel model(be, ModelConfig::from_json(cfg, "tiny"), dtype);
  model.init_random(5);
  TrainOptions o = tiny_options(out, kSteps, cfg);
  o.accum = 2;
  return train(model, cycling_batches(), {}, o).losses;
}

}  // namespace

TEST_CASE("CPU and CUDA training runs agree on the first 20 losses") {
  TempDir dir;
  CpuBackend cpu;
  const std::vector<double> ref = train_losses(cpu, DType::f32, dir / "cpu");
  REQUIRE(ref.size() == kSteps);
  CHECK(ref.back() < 0.8 * ref.front());  // the curve moves, so agreement means something
  MESSAGE("cpu: first loss " << ref.front() << ", last " << ref.back());
  if (cuda_device_count() == 0) {
    MESSAGE("no CUDA device, the CUDA runs are skipped: " << cuda_unavailable_reason());
    return;
  }
  CudaBackend gpu;
  for (DType dtype : {DType::f32, DType::bf16}) {
    const double tol = dtype == DType::f32 ? 1e-3 : 3e-2;
    const std::vector<double> got = train_losses(gpu, dtype, dir / ("cuda-" + std::string(dtype_name(dtype))));
    REQUIRE(got.size() == kSteps);
    double worst = 0;
    for (int64_t i = 0; i < kSteps; ++i) {
      const double rel = std::abs(got[i] - ref[i]) / std::abs(ref[i]);
      worst = std::max(worst, rel);
      CHECK_MESSAGE(rel <= tol, dtype_name(dtype) << " step " << i + 1 << ": cpu " << ref[i] << " cuda " << got[i]);
    }
    MESSAGE(dtype_name(dtype) << ": first loss " << ref.front() << ", last " << ref.back() << " (cpu) vs " << got.back()
                              << " (cuda); worst relative difference over " << kSteps << " steps " << worst);
  }
}
