// backends/cpu/cpu_common.cpp — the shared checks declared in cpu_common.h.
//
// Both return a Status instead of aborting: a bf16 input is a capability gap the caller can fix
// by converting (not_supported), and a bad `lengths` entry is caller data (invalid_argument).
#include "backends/cpu/cpu_common.h"

namespace braid::cpu {

Status require_f32(const char* contract, std::initializer_list<NamedView> views) {
  for (const auto& [view, name] : views) {
    if (!view->defined() || view->dtype == DType::f32) continue;
    return not_supported("cpu: ", contract, ": ", name, " is ", dtype_name(view->dtype),
                         "; the CPU backend computes on f32 tensors only (convert with copy first)");
  }
  return Status::ok();
}

Status read_lengths(const TensorView& lengths, int64_t B, int64_t T, std::vector<int64_t>& out) {
  out.assign(static_cast<size_t>(B), T);
  if (!lengths.defined()) return Status::ok();
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = lengths.ptr<int32_t>()[b * lengths.stride[0]];  // validate(): i32 [B]
    if (n < 0 || n > T) return invalid_argument("lengths[", b, "] = ", n, " is outside [0, T = ", T, "]");
    out[static_cast<size_t>(b)] = n;
  }
  return Status::ok();
}

}  // namespace braid::cpu
