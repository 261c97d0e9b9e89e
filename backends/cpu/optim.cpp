// backends/cpu/optim.cpp — the AdamW update and tensor statistics (core/contracts/optim.h).
// AdamW follows torch.optim.AdamW (decoupled decay, bias-corrected moments, eps outside the
// square root), evaluated in fp32 with the bias corrections in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::adamw(const AdamwArgs& a) {
  const int64_t n = a.param.numel();
  float* p = a.param.ptr<float>();
  const float* g = a.grad.ptr<float>();
  float* m = a.m.ptr<float>();
  float* v = a.v.ptr<float>();
  const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(a.beta1), static_cast<double>(a.step)));
  const float bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(a.beta2), static_cast<double>(a.step)));
  const float decay = 1.0f - a.lr * a.weight_decay;
#pragma omp parallel for if (n >= cpu::kOmpMinWork)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * a.grad_scale;
    m[i] = a.beta1 * m[i] + (1.0f - a.beta1) * gi;
    v[i] = a.beta2 * v[i] + (1.0f - a.beta2) * gi * gi;
    p[i] = p[i] * decay - a.lr * (m[i] / bc1) / (std::sqrt(v[i] / bc2) + a.eps);
  }
  return Status::ok();
}

// Serial on purpose: the sum's order is fixed, so the statistic is reproducible bit for bit.
Status CpuBackend::tensor_stats(const TensorStatsArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("tensor_stats", {{&a.x, "x"}}));
  const int64_t n = a.x.numel();
  const float* x = a.x.ptr<float>();
  float ss = 0.0f, mx = 0.0f;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    ss += x[i] * x[i];
    mx = std::max(mx, std::fabs(x[i]));
    nan |= std::isnan(x[i]);
  }
  float* out = a.out.ptr<float>();
  out[0] = nan ? std::numeric_limits<float>::quiet_NaN() : ss;
  out[1 * a.out.stride[0]] = nan ? std::numeric_limits<float>::quiet_NaN() : mx;
  return Status::ok();
}

}  // namespace braid
