// models/train/optimizer.h — AdamW over a model's parameters with fp32 master weights.
//
// The optimizer owns three f32 ParamStores with the model's layout: the master weights, and
// AdamW's first and second moments. A step
//   1. measures the global gradient norm ‖g‖ = sqrt(Σ over every parameter of Σ g²)
//      (tensor_stats, accumulated in fp64 on the host),
//   2. scales the update by min(1, max_norm / ‖g‖) (clipping; max_norm ≤ 0 disables it),
//   3. applies the adamw contract to every backing tensor, with weight decay only on
//      matrices (parameters of rank ≥ 2: projections, embeddings, experts, conv weights), the
//      usual exclusion of norms, biases, D, A_log and dt biases,
//   4. copies the master weights into the model's parameters (rounding to bf16 when the model
//      stores bf16) and refreshes the model's derived tensors (Mamba A = −exp(A_log)).
// Gradient accumulation happens in the gradients themselves (parameter gradients accumulate).
#pragma once

#include <cstdint>
#include <string>

#include "models/model.h"

namespace braid {

struct AdamwOptions {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
  double max_grad_norm = 1.0;  // ≤ 0: no clipping
};

struct StepStats {
  double grad_norm = 0;  // before clipping
  double clip_scale = 1;
};

class AdamwOptimizer {
 public:
  // Master weights start as the model's current parameters (converted to f32).
  AdamwOptimizer(HybridModel& model, AdamwOptions opt);

  // One update with learning rate `lr` from `grads` (model.new_grads() layout). Increments step().
  StepStats step(const ParamStore& grads, double lr);

  int64_t steps_taken() const { return step_; }
  // State for exact resumption: master weights, moments, step count.
  const ParamStore& master() const { return master_; }
  const ParamStore& first_moment() const { return m_; }
  const ParamStore& second_moment() const { return v_; }
  // Restores a saved state (stores with the model's layout) and writes it into the model.
  void restore(const ParamStore& master, const ParamStore& m, const ParamStore& v, int64_t steps);
  // Writes the master weights into the model's parameters.
  void publish();

 private:
  HybridModel* model_;
  AdamwOptions opt_;
  ParamStore master_, m_, v_;
  int64_t step_ = 0;
};

// The global L2 norm of every tensor of a store (fp64 sum of fp32 per-tensor sums).
double global_norm(const ParamStore& store);
// Copies `src` into `dst` tensor by tensor (same layout; converts dtype).
void copy_store(const ParamStore& src, ParamStore& dst);

}  // namespace braid
