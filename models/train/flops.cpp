#include "models/train/flops.h"

#include <algorithm>

#include "models/params.h"

namespace braid {

FlopCount flops_per_token(const ModelConfig& cfg, int64_t seq_len) {
  double matrix_params = 0;
  for (const ParamDecl& d : param_table(cfg)) {
    if (d.shape.ndim() < 2 || d.name.find("conv1d") != std::string::npos) continue;
    if (d.name == param_names(cfg).embed && !cfg.tie_embeddings) continue;  // a lookup, not a product
    matrix_params += static_cast<double>(d.numel());
  }
  double fwd = 0;
  for (const LayerSpec& l : cfg.layers) {
    if (l.ffn.kind == FfnKind::moe)  // only k of X experts run per token
      matrix_params -= static_cast<double>(l.ffn.n_experts - l.ffn.top_k) * 3.0 * l.ffn.d_ff * cfg.hidden_size;
    if (l.mixer == MixerKind::attention)
      fwd += 2.0 * 2.0 * (seq_len + 1) / 2.0 * l.attn.n_heads * l.attn.head_dim;
    else if (l.mixer == MixerKind::mamba)
      fwd += 9.0 * l.mamba.d_inner * l.mamba.d_state;
    else {
      const Mamba2Spec& m = l.mamba2;
      const double Q = static_cast<double>(std::min(m.chunk_size, seq_len));
      fwd += 2.0 * (Q * m.n_groups * m.d_state + 0.5 * Q * m.n_heads * m.head_dim + 2.0 * m.n_heads * m.head_dim * m.d_state);
    }
  }
  fwd += 2.0 * matrix_params;
  return {fwd, 3.0 * fwd};
}

}  // namespace braid
