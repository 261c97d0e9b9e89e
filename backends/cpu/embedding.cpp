// backends/cpu/embedding.cpp — token embedding lookup (core/contracts/embedding.h).
//
//   out[b, t, :] = table[ids[b, t], :]
//
// Source: torch.nn.Embedding forward (HF `embed_tokens`); padding_idx has no forward effect.
// Ids are data: all of them are checked before anything is written, and the first one outside
// [0, V) (row-major order) is named in the invalid_argument message.
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_common.h"

namespace braid {

Status CpuBackend::embedding(const EmbeddingArgs& a) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("embedding", {{&a.table, "table"}, {&a.out, "out"}}));
  const int64_t B = a.ids.dim(0), T = a.ids.dim(1);
  const int64_t V = a.table.dim(0), D = a.table.dim(1);
  // validate(): ids [B, T], table [V, D] and out [B, T, D] are contiguous.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t id = cpu::index_at(a.ids, b * T + t);
      if (id < 0 || id >= V)
        return invalid_argument("token id ", id, " at [", b, ", ", t, "] is outside the vocabulary [0, ", V, ")");
    }
#pragma omp parallel for if (B * T * D >= cpu::kOmpMinWork)
  for (int64_t m = 0; m < B * T; ++m) {  // m = b·T + t
    const float* row = a.table.ptr<float>() + cpu::index_at(a.ids, m) * D;  // [D]
    std::memcpy(a.out.ptr<float>() + m * D, row, static_cast<size_t>(D) * sizeof(float));
  }
  return Status::ok();
}

}  // namespace braid
