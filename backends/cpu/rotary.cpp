// backends/cpu/rotary.cpp — rotary position embedding, in place (core/contracts/rotary.h).
//
// NeoX "rotate_half" convention on the first r dims of each head (hf-models-spec §1.6; HF
// `apply_rotary_pos_emb` with `rotate_half`, and Bamba's partial RoPE r = P/2):
//   inv_freq[j] = 1 / theta^(2j / r)               j < r/2, fp32 (HF computes it in fp32)
//   ang         = float(pos) · inv_freq[j]         fp32
//   x'[j]       = x[j]·cos(ang) − x[j + r/2]·sin(ang)
//   x'[j + r/2] = x[j + r/2]·cos(ang) + x[j]·sin(ang)
//   x'[r … P)   = x[r … P)                          (pass-through)
// Pairs are (j, j + r/2), not interleaved and not (j, j + P/2).
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

namespace {

// Rotates every head vector of a.x in place by sign · ang (sign −1: the inverse rotation,
// which is the transpose, so rotary_backward is the same loop).
void rotate(const RotaryArgs& a, float sign) {
  const TensorView& x = a.x;  // [B, T, Hx, P], inner-contiguous, outer dims may be strided
  const int64_t B = x.dim(0), T = x.dim(1), Hx = x.dim(2);
  const int64_t half = a.rot_dim / 2;  // r/2

  std::vector<float> inv_freq(static_cast<size_t>(half));  // [r/2]
  for (int64_t j = 0; j < half; ++j)
    inv_freq[j] = 1.0f / std::pow(a.theta, static_cast<float>(2 * j) / static_cast<float>(a.rot_dim));

#pragma omp parallel for collapse(2) if (B * T * Hx * a.rot_dim >= cpu::kOmpMinWork)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const float pos = static_cast<float>(cpu::index_at(a.positions, a.positions.offset({b, t})));
      for (int64_t h = 0; h < Hx; ++h) {
        float* v = cpu::at(x, {b, t, h, 0});  // [P] one head vector
        for (int64_t j = 0; j < half; ++j) {
          const float ang = pos * inv_freq[j];
          const float c = std::cos(ang), s = sign * std::sin(ang);
          const float lo = v[j], hi = v[j + half];
          v[j] = lo * c - hi * s;
          v[j + half] = hi * c + lo * s;
        }
      }
    }
}

}  // namespace

Status CpuBackend::rotary(const RotaryArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("rotary", {{&a.x, "x"}}));
  rotate(a, 1.0f);
  return Status::ok();
}

// d_x = Rᵀ(ang) · d_out = R(−ang) · d_out, in place.
Status CpuBackend::rotary_backward(const RotaryArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("rotary_backward", {{&a.x, "x"}}));
  rotate(a, -1.0f);
  return Status::ok();
}

}  // namespace braid
