// backends/parity/thresholds.h — THE per-dtype threshold policy of the parity suite (house
// style P14: one policy, in one header; every override carries its reason).
//
// Two numbers per compared output, both computed against the CPU reference b (a = the backend
// under test, converted to f32):
//   nmse     = ‖a − b‖² / ‖b‖²          (‖a − b‖² when b is all zero)
//   max_abs  = max_i |a_i − b_i|, accepted when ≤ max_abs_rel · max_i |b_i|
// NMSE judges the tensor as a whole; the max-abs bound catches a single wrong element that a
// large tensor would dilute below the NMSE limit (one wrong value in 10⁶ moves NMSE by ~10⁻⁶).
// NaN anywhere the reference is finite fails; ±Inf must match the reference in place and sign.
//
// Relation to tests/tolerance.h (unit tests against fp64): its rel L2 ‖a−b‖/‖b‖ ≤ 1e-5 is the
// same bar as the f32 NMSE of 1e-10 below. Measured worst cases (seed 1234, every shape of
// cases.cpp including the large ones): f32 ≈ 5e-12 (cuBLAS and oneDNN GEMMs with K = 8192 against
// the naive loop), bf16 ≈ 6e-6 (SwiGLU and MoE, whose bf16 hidden activations add a rounding).
//
// bf16 inputs are rounded to bf16 *before* the reference sees them, so a bf16 comparison
// measures only what the backend adds: rounding of its bf16 output (NMSE ≈ 2⁻¹⁸/3 ≈ 1.3e-6
// by itself) and of any bf16 intermediate it keeps (attention probabilities, the SwiGLU hidden
// activations). fp32 accumulation and fp32 recurrent states are part of every contract, so a
// kernel that keeps a scan state in bf16 fails here, as it should.
#pragma once

#include <string_view>

#include "core/dtype.h"

namespace braid::parity {

struct Threshold {
  double max_nmse = 0.0;     // NMSE limit
  double max_abs_rel = 0.0;  // max |a − b| limit, as a fraction of max |b|
  bool exact = false;        // bit-exact after conversion to the output dtype (data movement)
};

// Defaults, one per storage dtype of the backend under test.
inline constexpr Threshold kThresholdF32{1e-10, 1e-4};
inline constexpr Threshold kThresholdBf16{5e-5, 2e-2};

// Contract overrides. Each entry says why the default does not fit.
struct ThresholdOverride {
  std::string_view contract;
  DType dtype;
  Threshold threshold;
};

inline constexpr ThresholdOverride kThresholdOverrides[] = {
    // embedding, copy: pure data movement. A gather or a dtype conversion (round to nearest
    // even, core/dtype.h) has exactly one right answer.
    {"embedding", DType::f32, {0.0, 0.0, true}},
    {"embedding", DType::bf16, {0.0, 0.0, true}},
    {"copy", DType::f32, {0.0, 0.0, true}},
    {"copy", DType::bf16, {0.0, 0.0, true}},
};

// The threshold for one contract (or decode check, "decode:<name>") and storage dtype.
constexpr Threshold threshold_for(std::string_view contract, DType dtype) {
  for (const ThresholdOverride& o : kThresholdOverrides)
    if (o.contract == contract && o.dtype == dtype) return o.threshold;
  return dtype == DType::bf16 ? kThresholdBf16 : kThresholdF32;
}

}  // namespace braid::parity
