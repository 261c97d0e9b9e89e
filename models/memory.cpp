#include "models/memory.h"

#include <algorithm>

#include "models/layers/layer.h"
#include "models/params.h"

namespace braid {

MemoryModel memory_model(const ModelConfig& cfg, int64_t context, int64_t batch) {
  MemoryModel m;
  m.context = context;
  m.batch = batch;
  m.elem_bytes = static_cast<int64_t>(dtype_size(cfg.dtype));
  // Expert parameters of layer il that a token does not use: (X − k) of its X experts.
  const ParamNames names = param_names(cfg);
  for (const ParamDecl& d : param_table(cfg)) {
    m.params_total += d.numel();
    if (d.slot < 0) {
      m.params_active += d.numel();
      continue;
    }
    // A stacked expert: layer index from the name, then k / X of its parameters are active.
    const std::string rest = d.name.substr(names.layers.size());
    const size_t il = std::stoul(rest.substr(0, rest.find('.')));
    const FfnSpec& f = cfg.layers[il].ffn;
    if (d.slot < f.top_k) m.params_active += d.numel();  // k experts' worth of parameters
  }
  m.weight_bytes = m.params_total * m.elem_bytes;
  for (const LayerSpec& spec : cfg.layers) {
    const MixerEntry& e = mixer_entry(spec.mixer);
    m.kv_cache_bytes += batch * e.kv_bytes(spec, context, m.elem_bytes);
    m.ssm_state_bytes += batch * e.state_bytes(spec, m.elem_bytes);
  }
  return m;
}

namespace {

// The largest transient of layer `l` over `M` tokens of width D, in bytes (`e` per stored
// element; the MoE router's f32 weights and i32 ids take 8 bytes per token and choice).
int64_t layer_transient_bytes(const LayerSpec& l, int64_t M, int64_t D, int64_t e) {
  int64_t mixer = 0;
  switch (l.mixer) {
    case MixerKind::attention:
      mixer = M * (2 * l.attn.n_heads + 2 * l.attn.n_kv_heads) * l.attn.head_dim * e;
      break;
    case MixerKind::mamba: {
      const MambaSpec& m = l.mamba;
      const int64_t dbc = m.dt_rank + 2 * m.d_state;
      mixer = M * (5 * m.d_inner + dbc * (m.inner_norms ? 2 : 1)) * e;
      break;
    }
    case MixerKind::mamba2: {
      const Mamba2Spec& m = l.mamba2;
      mixer = M * (m.in_proj_dim() + m.conv_dim() + 2 * m.d_inner) * e;
      break;
    }
  }
  int64_t ffn = 0;
  const FfnSpec& f = l.ffn;
  if (f.kind == FfnKind::mlp) ffn = 2 * M * f.d_ff * e;
  if (f.kind == FfnKind::moe)
    ffn = M * f.n_experts * e + M * f.top_k * 8 + f.top_k * M * (2 * f.d_ff + 2 * D) * e;
  return std::max(mixer, ffn);
}

int64_t peak_transient_bytes(const ModelConfig& cfg, int64_t tokens, int64_t elem) {
  int64_t peak = 0;
  for (const LayerSpec& l : cfg.layers) peak = std::max(peak, layer_transient_bytes(l, tokens, cfg.hidden_size, elem));
  return peak;
}

}  // namespace

int64_t forward_activation_bytes(const ModelConfig& cfg, int64_t tokens, int64_t logit_rows, int64_t elem) {
  const int64_t D = cfg.hidden_size, V = cfg.vocab_size;
  const int64_t peak_layer = peak_transient_bytes(cfg, tokens, elem);
  const int64_t stream = 3 * tokens * D * elem + 2 * tokens * 4;
  const int64_t head = logit_rows * (2 * D + V) * elem;
  return stream + peak_layer + head;
}

int64_t inference_memory_bytes(const ModelConfig& cfg, int64_t capacity, int64_t batch, int64_t tokens, int64_t elem) {
  const MemoryModel m = memory_model(cfg, capacity, batch);
  // memory_model sizes weights and KV in the config's dtype; Mamba SSM states and the derived
  // A are f32 whatever the storage dtype.
  const int64_t weights = m.params_total * elem;
  const int64_t cache = m.kv_cache_bytes / m.elem_bytes * elem + m.ssm_state_bytes;
  return weights + cache + forward_activation_bytes(cfg, tokens, batch, elem);
}

int64_t training_memory_bytes(const ModelConfig& cfg, int64_t B, int64_t T, int64_t elem) {
  const int64_t M = B * T, D = cfg.hidden_size, V = cfg.vocab_size;
  const MemoryModel mem = memory_model(cfg, 0, 1);
  int64_t sublayers = 0;
  for (const LayerSpec& l : cfg.layers) sublayers += 1 + (l.ffn.kind != FfnKind::none);
  const int64_t params = mem.params_total * (elem + 4 + 4 + 8);
  const int64_t saved = sublayers * M * D * elem;
  const int64_t backward = M * V * elem + 4 * M * D * elem + peak_transient_bytes(cfg, M, elem);
  return params + saved + forward_activation_bytes(cfg, M, M, elem) + backward;
}

}  // namespace braid
