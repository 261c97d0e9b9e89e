#include "core/cost.h"

namespace braid {

Hardware h100_sxm() { return {"H100 SXM 80GB", 3.0e12, 55.4e12, 798e12, 4.12e12}; }

// 330 GFLOP/s is 1.65e11 FMA lanes/s; a vector exp costs ≈12 lane-ops (kernels.md §9.3).
Hardware zen5_2core() { return {"2-core Zen 5", 41e9, 330e9, 330e9, 1.65e11 / 12}; }

Floor floor_of(const Cost& c, const Hardware& hw) {
  const struct { const char* name; double seconds; } terms[] = {
      {"memory", c.bytes / hw.bytes_per_s},
      {"simt", c.flops / hw.flops_per_s},
      {"mma", c.mma_flops / hw.mma_flops_per_s},
      {"exp", c.exps / hw.exps_per_s},
  };
  Floor f;
  for (const auto& t : terms)
    if (t.seconds > f.seconds) f = {t.seconds, t.name};
  return f;
}

}  // namespace braid
