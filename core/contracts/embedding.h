// Token embedding lookup.
//   out[b, t, :] = table[ids[b, t], :]
// Source: torch.nn.Embedding (HF `embed_tokens` / `embeddings`); padding_idx has no forward effect.
// Backward (training issue): scatter-add of d_out rows into d_table.
#pragma once

#include "core/cost.h"
#include "core/tensor.h"

namespace braid {

struct EmbeddingArgs {
  TensorView ids;    // [B, T]     i32 or i64; every id in [0, V)
  TensorView table;  // [V, D]     float
  TensorView out;    // [B, T, D]  float
};

// Shapes and dtypes only. Id ranges are data and are checked by the backend, which returns
// invalid_argument naming the first offending id.
Status validate(const EmbeddingArgs& a);
Cost cost(const EmbeddingArgs& a);  // ids read, D values gathered per token, out written

}  // namespace braid
