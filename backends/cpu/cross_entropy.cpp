// backends/cpu/cross_entropy.cpp — softmax cross-entropy with its gradient (core/contracts/loss.h).
//   p = softmax(logits[m]) (fp32, max-subtracted);  losses[m] = log Σ exp(l − max) − (l[t] − max)
//   d_logits[m] = scale · (p − onehot(t));  argmax[m] = first index of the largest logit
// Ignored rows (t < 0) get loss 0 and a zero gradient row. d_logits may alias logits: each row
// is read completely (max, sum, target logit) before any of it is written.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::cross_entropy(const CrossEntropyArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("cross_entropy", {{&a.logits, "logits"}, {&a.d_logits, "d_logits"}}));
  const TensorView l = a.logits.as_2d();  // [M, V]
  const int64_t M = l.dim(0), V = l.dim(1);
  const int32_t* targets = a.targets.ptr<int32_t>();
  for (int64_t m = 0; m < M; ++m)
    if (targets[m] >= V)
      return invalid_argument("cross_entropy: target ", targets[m], " at row ", m, " is outside [0, V = ", V, ")");
  float* losses = a.losses.ptr<float>();

#pragma omp parallel for if (M * V >= cpu::kOmpMinWork)
  for (int64_t m = 0; m < M; ++m) {
    const float* row = l.ptr<float>() + m * l.stride[0];  // [V]
    const int32_t t = targets[m];
    float mx = row[0];
    int64_t best = 0;
    for (int64_t v = 1; v < V; ++v)
      if (row[v] > mx) mx = row[v], best = v;
    float sum = 0.0f;
    for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
    const float log_sum = std::log(sum);
    losses[m] = t < 0 ? 0.0f : log_sum - (row[t] - mx);
    if (a.argmax.defined()) a.argmax.ptr<int32_t>()[m * a.argmax.stride[0]] = static_cast<int32_t>(best);
    if (!a.d_logits.defined()) continue;
    float* d = a.d_logits.ptr<float>() + m * a.d_logits.stride[0];  // [V], may be `row` itself
    if (t < 0) {
      for (int64_t v = 0; v < V; ++v) d[v] = 0.0f;
      continue;
    }
    for (int64_t v = 0; v < V; ++v) d[v] = a.scale * std::exp(row[v] - mx - log_sum);
    d[t] -= a.scale;
  }
  return Status::ok();
}

}  // namespace braid
