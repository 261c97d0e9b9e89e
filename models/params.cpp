// The parameter table of every family, and loading / random initialisation of its tensors.
// Names and shapes: hf-models-spec §2.4 (Jamba), §3.3 (Bamba), §4.2 (Mamba), §5.2 (Mamba2).
#include "models/params.h"

#include <cmath>
#include <set>

#include "models/io/safetensors.h"

namespace braid {

ParamNames param_names(const ModelConfig& cfg) {
  ParamNames n;
  if (cfg.family == Family::mamba || cfg.family == Family::mamba2) {
    n.embed = "backbone.embeddings.weight";
    n.final_norm = "backbone.norm_f.weight";
    n.layers = "backbone.layers.";
    n.input_norm = "norm.weight";
    n.ssm = "mixer.";
  } else {
    n.embed = "model.embed_tokens.weight";
    n.final_norm = "model.final_layernorm.weight";
    n.layers = "model.layers.";
    n.input_norm = "input_layernorm.weight";
    n.ssm = "mamba.";
  }
  return n;
}

namespace {

// Appends declarations with a shared name prefix.
struct TableBuilder {
  std::vector<ParamDecl>& out;
  float init_range;

  void add(const std::string& name, Shape shape, InitKind init, float scale = 0.0f) {
    out.push_back(ParamDecl{name, std::move(shape), init, scale, name, -1});
  }
  void linear(const std::string& name, int64_t n_out, int64_t n_in, bool bias) {
    add(name + ".weight", {n_out, n_in}, InitKind::normal, init_range);
    if (bias) add(name + ".bias", {n_out}, InitKind::zeros);
  }
  void norm(const std::string& name, int64_t d) { add(name, {d}, InitKind::ones); }
  void conv(const std::string& name, int64_t channels, int64_t K, bool bias) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(K));  // kaiming-uniform, fan_in = K
    add(name + ".weight", {channels, 1, K}, InitKind::uniform, bound);
    if (bias) add(name + ".bias", {channels}, InitKind::uniform, bound);
  }
};

void attention_params(TableBuilder& tb, const std::string& p, const AttentionSpec& a, int64_t D) {
  const int64_t q_dim = a.n_heads * a.head_dim, kv_dim = a.n_kv_heads * a.head_dim;
  tb.linear(p + "q_proj", q_dim, D, a.bias);
  tb.linear(p + "k_proj", kv_dim, D, a.bias);
  tb.linear(p + "v_proj", kv_dim, D, a.bias);
  tb.linear(p + "o_proj", D, q_dim, a.bias);
}

// Mamba1 mixer (§2.4 / §4.2): in_proj [2Di, D], conv1d [Di, 1, K], x_proj [R + 2N, Di],
// dt_proj [Di, R] + bias [Di], A_log [Di, N], D [Di], out_proj [D, Di], Jamba's inner norms.
void mamba_params(TableBuilder& tb, const std::string& p, const MambaSpec& m, int64_t D) {
  tb.linear(p + "in_proj", 2 * m.d_inner, D, m.proj_bias);
  tb.conv(p + "conv1d", m.d_inner, m.d_conv, m.conv_bias);
  tb.add(p + "x_proj.weight", {m.dt_rank + 2 * m.d_state, m.d_inner}, InitKind::normal, tb.init_range);
  tb.add(p + "dt_proj.weight", {m.d_inner, m.dt_rank}, InitKind::uniform, 1.0f / std::sqrt(static_cast<float>(m.dt_rank)));
  tb.add(p + "dt_proj.bias", {m.d_inner}, InitKind::dt_bias);
  tb.add(p + "A_log", {m.d_inner, m.d_state}, InitKind::a_log_mamba1);
  tb.add(p + "D", {m.d_inner}, InitKind::ones);
  tb.linear(p + "out_proj", D, m.d_inner, m.proj_bias);
  if (m.inner_norms) {
    tb.norm(p + "dt_layernorm.weight", m.dt_rank);
    tb.norm(p + "b_layernorm.weight", m.d_state);
    tb.norm(p + "c_layernorm.weight", m.d_state);
  }
}

// Mamba2 mixer (§3.3 / §5.2): in_proj [Di + conv_dim + H, D], conv1d [conv_dim, 1, K],
// dt_bias, A_log, D [H], gated-norm weight [Di], out_proj [D, Di].
void mamba2_params(TableBuilder& tb, const std::string& p, const Mamba2Spec& m, int64_t D) {
  tb.linear(p + "in_proj", m.in_proj_dim(), D, m.proj_bias);
  tb.conv(p + "conv1d", m.conv_dim(), m.d_conv, m.conv_bias);
  tb.add(p + "dt_bias", {m.n_heads}, InitKind::dt_bias);
  tb.add(p + "A_log", {m.n_heads}, InitKind::a_log_mamba2);
  tb.add(p + "D", {m.n_heads}, InitKind::ones);
  tb.norm(p + "norm.weight", m.d_inner);
  tb.linear(p + "out_proj", D, m.d_inner, m.proj_bias);
}

// SwiGLU MLP, or a router plus X experts declared per expert and stacked in storage.
void ffn_params(TableBuilder& tb, const std::string& p, const FfnSpec& f, int64_t D) {
  if (f.kind == FfnKind::mlp) {
    tb.linear(p + "gate_proj", f.d_ff, D, false);
    tb.linear(p + "up_proj", f.d_ff, D, false);
    tb.linear(p + "down_proj", D, f.d_ff, false);
    return;
  }
  if (f.kind != FfnKind::moe) return;
  tb.linear(p + "router", f.n_experts, D, false);
  for (int64_t e = 0; e < f.n_experts; ++e) {
    const std::string ep = p + "experts." + std::to_string(e) + ".";
    for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
      const bool down = std::string(proj) == "down_proj";
      Shape shape = down ? Shape{D, f.d_ff} : Shape{f.d_ff, D};
      tb.out.push_back(ParamDecl{ep + proj + ".weight", shape, InitKind::normal, tb.init_range,
                                 p + "experts." + proj, e});
    }
  }
}

}  // namespace

std::vector<ParamDecl> param_table(const ModelConfig& cfg) {
  std::vector<ParamDecl> out;
  TableBuilder tb{out, 0.02f};
  const ParamNames n = param_names(cfg);
  const int64_t D = cfg.hidden_size;
  tb.add(n.embed, {cfg.vocab_size, D}, InitKind::normal, tb.init_range);
  for (int64_t il = 0; il < cfg.n_layers; ++il) {
    const LayerSpec& l = cfg.layers[static_cast<size_t>(il)];
    const std::string p = n.layer(il);
    tb.norm(p + n.input_norm, D);
    switch (l.mixer) {
      case MixerKind::attention: attention_params(tb, p + n.attention, l.attn, D); break;
      case MixerKind::mamba: mamba_params(tb, p + n.ssm, l.mamba, D); break;
      case MixerKind::mamba2: mamba2_params(tb, p + n.ssm, l.mamba2, D); break;
    }
    if (l.ffn.kind != FfnKind::none) {
      tb.norm(p + n.ffn_norm, D);
      ffn_params(tb, p + n.ffn, l.ffn, D);
    }
  }
  tb.norm(n.final_norm, D);
  if (!cfg.tie_embeddings) tb.add(n.lm_head, {cfg.vocab_size, D}, InitKind::normal, tb.init_range);
  return out;
}

ParamStore::ParamStore(Backend& be, const std::vector<ParamDecl>& table, DType dtype)
    : be_(&be), dtype_(dtype), table_(table) {
  BRAID_CHECK(is_floating(dtype), "parameter dtype ", dtype_name(dtype));
  std::map<std::string, Shape> shapes;  // storage key -> backing shape
  for (const ParamDecl& d : table_) {
    decls_[d.name] = &d;
    if (d.slot < 0) {
      shapes[d.storage] = d.shape;
    } else {
      Shape& s = shapes[d.storage];
      if (s.dims.empty()) s.dims = [&] { auto v = d.shape.dims; v.insert(v.begin(), 1); return v; }();
      s.dims[0] = std::max(s.dims[0], d.slot + 1);
    }
  }
  for (const auto& [key, shape] : shapes) storage_.emplace(key, Tensor(be, shape, dtype_));
}

std::vector<std::string> ParamStore::storage_keys() const {
  std::vector<std::string> keys;
  for (const auto& [key, t] : storage_) keys.push_back(key);
  return keys;
}

TensorView ParamStore::storage(const std::string& key) const {
  auto it = storage_.find(key);
  BRAID_CHECK(it != storage_.end(), "no parameter storage '", key, "'");
  return it->second.view();
}

TensorView ParamStore::view(const std::string& name) const {
  auto it = decls_.find(name);
  BRAID_CHECK(it != decls_.end(), "no parameter '", name, "'");
  const ParamDecl& d = *it->second;
  const TensorView s = storage(d.storage);
  return d.slot < 0 ? s : s.select(0, d.slot);
}

std::vector<float> ParamStore::read_f32(const std::string& name) const {
  const TensorView v = view(name);
  std::vector<uint8_t> raw(v.nbytes());
  be_->download(raw.data(), v.data, raw.size());
  std::vector<float> out(static_cast<size_t>(v.numel()));
  convert_floats(raw.data(), dtype_, out.data(), DType::f32, out.size());
  return out;
}

void ParamStore::zero() {
  for (auto& [key, t] : storage_) be_->fill_zero(t);
}

void ParamStore::add_f32(const std::string& name, const std::vector<float>& values) {
  std::vector<float> sum = read_f32(name);
  BRAID_CHECK(sum.size() == values.size(), "add_f32 ", name, ": ", values.size(), " values");
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += values[i];
  write_f32(name, sum);
}

void ParamStore::write_f32(const std::string& name, const std::vector<float>& values) {
  const TensorView v = view(name);
  BRAID_CHECK(static_cast<int64_t>(values.size()) == v.numel(), "write_f32 ", name, ": ", values.size(), " values");
  std::vector<uint8_t> raw(v.nbytes());
  convert_floats(values.data(), DType::f32, raw.data(), dtype_, values.size());
  be_->upload(v.data, raw.data(), raw.size());
}

namespace {

// HF's Mamba/Mamba2 loaders rename the first "embedding." in a key to "embeddings."
// (hf-models-spec §4.2), so older checkpoints that say "backbone.embedding.weight" load too.
const SafetensorsTensor* find_with_aliases(const WeightStore& ws, const std::string& name) {
  if (const SafetensorsTensor* t = ws.find(name)) return t;
  const std::string from = "embeddings.";
  if (auto pos = name.find(from); pos != std::string::npos) {
    std::string alt = name;
    alt.replace(pos, from.size(), "embedding.");
    return ws.find(alt);
  }
  return nullptr;
}

}  // namespace

void ParamStore::load(const WeightStore& ws, const std::string& source) {
  std::set<std::string> used;
  for (const ParamDecl& d : table_) {
    const SafetensorsTensor* t = find_with_aliases(ws, d.name);
    if (!t)
      fail(source, ": tensor '", d.name, "' is missing from the checkpoint (the config implies shape ",
           d.shape.to_string(), ")");
    if (t->shape != d.shape)
      fail(t->file, ": tensor '", d.name, "' has shape ", t->shape.to_string(), " but the config implies ",
           d.shape.to_string());
    if (!is_floating(t->dtype))
      fail(t->file, ": tensor '", d.name, "' has dtype ", dtype_name(t->dtype), ", expected F32, BF16 or F16");
    // Convert straight from the file's dtype to the storage dtype (exact for equal dtypes).
    const TensorView dst = view(d.name);
    std::vector<uint8_t> raw(dst.nbytes());
    convert_floats(t->data, t->dtype, raw.data(), dtype_, static_cast<size_t>(d.numel()));
    be_->upload(dst.data, raw.data(), raw.size());
    used.insert(t->name);
  }
  // HF omits the tied lm_head from the file; one that is present anyway is ignored, as HF does.
  std::vector<std::string> unexpected;
  for (const std::string& name : ws.names())
    if (!used.count(name) && !(name == "lm_head.weight")) unexpected.push_back(name);
  if (!unexpected.empty())
    fail(source, ": checkpoint has ", unexpected.size(), " tensor(s) the config does not use, first '",
         unexpected.front(), "' (does the config match the weights?)");
}

namespace {

float inverse_softplus(float y) { return y + std::log(-std::expm1(-y)); }

float draw(InitKind kind, float scale, int64_t index_in_row, Rng& rng) {
  switch (kind) {
    case InitKind::normal: return scale * rng.normal();
    case InitKind::ones: return 1.0f;
    case InitKind::zeros: return 0.0f;
    case InitKind::uniform: return rng.uniform(-scale, scale);
    case InitKind::a_log_mamba1: return std::log(static_cast<float>(index_in_row + 1));
    case InitKind::a_log_mamba2: return std::log(rng.uniform(1.0f, 16.0f));
    case InitKind::dt_bias: {
      const float dt = std::exp(rng.uniform(std::log(1e-3f), std::log(1e-1f)));
      return inverse_softplus(std::max(dt, 1e-4f));
    }
  }
  return 0.0f;
}

}  // namespace

void ParamStore::init_random(Rng& rng, float initializer_range) {
  for (const ParamDecl& d : table_) {
    const float scale = d.init == InitKind::normal ? initializer_range : d.init_scale;
    const int64_t row = d.shape.ndim() ? d.shape[d.shape.ndim() - 1] : 1;
    std::vector<float> host(static_cast<size_t>(d.numel()));
    for (size_t i = 0; i < host.size(); ++i) host[i] = draw(d.init, scale, static_cast<int64_t>(i) % row, rng);
    write_f32(d.name, host);
  }
}

}  // namespace braid
