// backends/cpu/embedding_backward.cpp — d_table[ids[b, t]] += d_out[b, t] (core/contracts/embedding.h).
// The row padding_idx gets nothing. Serial over tokens: two tokens with the same id add into one row, in token order.
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::embedding_backward(const EmbeddingBackwardArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("embedding_backward", {{&a.d_out, "d_out"}}));
  const int64_t BT = a.ids.numel(), V = a.d_table.dim(0), D = a.d_table.dim(1);
  for (int64_t m = 0; m < BT; ++m) {
    const int64_t id = cpu::index_at(a.ids, m);
    if (id < 0 || id >= V)
      return invalid_argument("embedding_backward: token id ", id, " at position ", m, " is outside [0, ", V, ")");
  }
  for (int64_t m = 0; m < BT; ++m) {
    if (cpu::index_at(a.ids, m) == a.padding_idx) continue;  // frozen row (torch padding_idx)
    const float* g = a.d_out.ptr<float>() + m * D;  // [D] (contiguous, validate)
    float* row = a.d_table.ptr<float>() + cpu::index_at(a.ids, m) * D;
    for (int64_t d = 0; d < D; ++d) row[d] += g[d];
  }
  return Status::ok();
}

}  // namespace braid
