// Token embedding lookup.
//   out[b, t, :] = table[ids[b, t], :]
// Source: torch.nn.Embedding (HF `embed_tokens` / `embeddings`); padding_idx has no forward effect.
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

// Backward: d_table[ids[b, t], :] += d_out[b, t, :] (a scatter-add; repeated ids sum), except
// that the row `padding_idx` receives nothing (torch.nn.Embedding's padding_idx, which HF's
// Jamba and Bamba set to pad_token_id; Mamba and Mamba2 have none).
struct EmbeddingBackwardArgs {
  TensorView ids;      // [B, T]     i32 or i64, as in the forward call
  TensorView d_out;    // [B, T, D]  float
  TensorView d_table;  // [V, D]     f32, contiguous, ACCUMULATED
  int64_t padding_idx = -1;  // −1: none
};

Status validate(const EmbeddingBackwardArgs& a);
Cost cost(const EmbeddingBackwardArgs& a);  // d_out read, the touched rows of d_table read and written

}  // namespace braid
