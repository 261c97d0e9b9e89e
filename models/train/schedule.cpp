#include "models/train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace braid {

double LrSchedule::at(int64_t step) const {
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t decay = std::max<int64_t>(total - warmup - 1, 1);
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(decay));
  return min + (peak - min) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace braid
