// backends/cpu/fast/cpu_features.cpp — run-time CPU feature check of the fast paths.
#include "backends/cpu/fast/fast_paths.h"
#include "backends/cpu/fast/simd_avx2.h"

namespace braid::fast {

bool cpu_has_avx2() {
#ifdef BRAID_FAST_X86
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

}  // namespace braid::fast
