// backends/cpu/fast/fast_paths.h — the named fast paths of the CPU backend (house style P2).
//
// The reference files (backends/cpu/*.cpp) are the specification; when CpuOptions::fast_paths
// is set they first offer the call to the function here. Each returns true when it computed
// the contract, false when the case lies outside what it handles (no AVX2+FMA on this CPU,
// a layout it does not take), and the reference then runs. Arguments are already validated
// and `lengths` already read (one count per row). Parity against the reference:
// `braid parity --backend cpu` (fast) vs the naive reference, and tests/backends/test_fast_paths.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "core/contracts/conv1d.h"
#include "core/contracts/mamba1_scan.h"
#include "core/contracts/mamba2_ssd.h"

namespace braid::fast {

// True when this CPU runs AVX2 and FMA (checked once, at run time).
bool cpu_has_avx2();

// Mamba1 selective scan (also its step: T == 1, lengths all 1).
bool mamba1_scan(const Mamba1ScanArgs& a, const std::vector<int64_t>& lengths);
// Mamba2 SSD (also its step): the sequential recurrence with a rescaled state, see mamba2_ssd.cpp.
bool mamba2_ssd(const Mamba2SsdArgs& a, const std::vector<int64_t>& lengths);
// Causal depthwise conv1d (prefill).
bool conv1d(const Conv1dArgs& a, const std::vector<int64_t>& lengths);

}  // namespace braid::fast
