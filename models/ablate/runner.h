// models/ablate/runner.h — `braid ablate`: every arm × seed of a grid (models/ablate/grid.h),
// one JSONL row per run in OUT/results.jsonl, resumable.
//
// Runs are keyed by run_id, a hash of everything that defines them (the arm's config, its
// recipe with the seed, the grid's evals and probes, the scale; for memory and decode rows
// the measured point). A run whose row is already in results.jsonl is skipped; a training
// run interrupted after a checkpoint (OUT/runs/<run_id>/checkpoint, written every
// save_every steps) resumes from it. A run whose loss becomes NaN/Inf gets status
// "diverged"; one whose predicted memory exceeds the device gets "does_not_fit" and never
// allocates.
//
// Every row: grid, task, scale, arm, axes, seed, run_id, config_hash, layout, params_total,
// params_active, backend, dtype, device, commit, timestamp, status. Task rows add:
//   train   steps, tokens, final_loss, loss_curve [[step, loss], ...] (≤ 100 points), eval
//           {set: {loss, accuracy, bits_per_byte}} (the data's own sets, then the grid's evals
//           as "<name>/<set>"), probes, tokens_per_s, train_flops_per_token, achieved_tflops,
//           mfu_h100_bf16, memory {predicted_bytes, measured_peak_bytes}, spikes (steps whose
//           loss exceeds 1.5 × the median of the previous 50, after step 10), max_abs_final
//           and max_abs_peak per sublayer, wall_s
//   memory  context, batch, kv_cache_bytes, ssm_state_bytes, weight_bytes (the analytic
//           model at each of the grid's contexts, 16-bit unless the config says otherwise), and
//           the cache allocated on the backend at measure_context: measured_cache_bytes
//           beside predicted_cache_bytes
//   decode  context, batch, n_gen, tokens_per_s (mean of reps), samples_ts,
//           memory {predicted_bytes, measured_peak_bytes}: n_gen one-token steps after a
//           cache holding `context` tokens (zero-filled, not prefilled: decode work does not
//           depend on the cache's values)
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/backend.h"
#include "models/ablate/grid.h"

namespace braid {

struct AblateContext {
  std::string out;
  int64_t seeds = 0;              // 0: the grid's
  bool keep_checkpoints = false;  // keep OUT/runs/<id>/checkpoint after a finished run
  std::string commit, device;     // provenance
  int64_t device_bytes = 0;       // memory the device has (0: unknown, nothing refused)
  std::function<DType(const std::string&)> dtype_of;  // "f32" / "bf16" → storage dtype, checked for the backend
};

struct AblateSummary {
  int64_t runs = 0, skipped = 0, diverged = 0, not_fitting = 0;
};

AblateSummary run_grid(Backend& be, const Grid& grid, const AblateContext& ctx);

// The plan of a grid, one line per arm: index, label, layout string, parameters.
std::string describe_grid(const Grid& grid);

}  // namespace braid
