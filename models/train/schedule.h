// models/train/schedule.h — the learning-rate schedule: linear warmup, then cosine decay.
//   lr(s) = peak · (s + 1) / warmup                                   for s < warmup
//   lr(s) = min + (peak − min) · ½ · (1 + cos(π · (s − warmup) / (total − warmup)))   after
// where s is the 0-based optimizer step and total the run's step count (lr reaches `min` at
// the last step). warmup = 0 starts at the peak. Source: the usual LLM recipe (e.g.
// transformers' get_cosine_schedule_with_warmup, with a floor `min`).
#pragma once

#include <cstdint>

namespace braid {

struct LrSchedule {
  double peak = 1e-3;
  double min = 0.0;
  int64_t warmup = 0;
  int64_t total = 1;

  double at(int64_t step) const;
};

}  // namespace braid
