#include "models/memory.h"

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

}  // namespace braid
