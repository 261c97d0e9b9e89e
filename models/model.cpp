#include "models/model.h"

#include <filesystem>

#include "models/io/safetensors.h"
#include "models/layers/layer.h"

namespace braid {

HybridModel::HybridModel(Backend& be, ModelConfig cfg, DType dtype)
    : be_(&be), dtype_(dtype), cfg_(std::move(cfg)), params_(be, param_table(cfg_), dtype) {}

HybridModel HybridModel::load(Backend& be, const std::string& dir, DType dtype) {
  if (!std::filesystem::is_directory(dir)) fail(dir, ": not a directory (expected a checkpoint with config.json)");
  HybridModel m(be, ModelConfig::from_file(dir), dtype);
  const WeightStore ws = WeightStore::open(dir);
  m.params_.load(ws, dir);
  m.refresh_derived();
  return m;
}

void HybridModel::init_random(uint64_t seed, float initializer_range) {
  Rng rng(seed);
  params_.init_random(rng, initializer_range);
  refresh_derived();
}

void HybridModel::refresh_derived() {
  const ParamNames names = param_names(cfg_);
  derived_.clear();
  derived_.resize(cfg_.layers.size());
  for (size_t il = 0; il < cfg_.layers.size(); ++il) {
    const LayerSpec& spec = cfg_.layers[il];
    const MixerEntry& e = mixer_entry(spec.mixer);
    const std::string prefix = names.layer(static_cast<int64_t>(il)) +
                               (spec.mixer == MixerKind::attention ? names.attention : names.ssm);
    if (e.derive) e.derive(*be_, spec, params_, prefix, derived_[il]);
  }
}

HybridCache new_hybrid_cache(Backend& be, const ModelConfig& cfg, DType dtype, int64_t batch, int64_t capacity) {
  HybridCache c;
  c.batch = batch;
  c.capacity = capacity;
  c.seq_len.assign(static_cast<size_t>(batch), 0);
  c.seq_len_dev = Tensor(be, {batch}, DType::i32);
  c.layers.resize(cfg.layers.size());
  for (size_t il = 0; il < cfg.layers.size(); ++il)
    mixer_entry(cfg.layers[il].mixer).alloc_cache(be, cfg.layers[il], batch, capacity, dtype, c.layers[il]);
  return c;
}

HybridCache HybridModel::new_cache(int64_t batch, int64_t capacity) const {
  return new_hybrid_cache(*be_, cfg_, dtype_, batch, capacity);
}

namespace {

Tensor upload_i32(Backend& be, const std::vector<int32_t>& host, const Shape& shape) {
  Tensor t(be, shape, DType::i32);
  be.upload(t.view().data, host.data(), host.size() * sizeof(int32_t));
  return t;
}

}  // namespace

Tensor HybridModel::forward(const std::vector<int32_t>& ids, int64_t B, int64_t T, const std::vector<int32_t>& lengths,
                            HybridCache* cache, LogitsAt at) {
  const int64_t D = cfg_.hidden_size, V = cfg_.vocab_size;
  BRAID_CHECK(static_cast<int64_t>(ids.size()) == B * T, "ids has ", ids.size(), " entries, expected B·T = ", B * T);
  if (B < 1 || T < 1) fail("forward: empty input (B = ", B, ", T = ", T, ")");
  if (!lengths.empty() && static_cast<int64_t>(lengths.size()) != B) fail("forward: lengths has ", lengths.size(), " entries, expected B = ", B);
  for (int64_t b = 0; b < static_cast<int64_t>(lengths.size()); ++b)
    if (lengths[b] < 1 || lengths[b] > T) fail("forward: row ", b, " has length ", lengths[b], ", expected 1 … ", T);
  if (cache) {
    if (cache->batch != B) fail("forward: cache holds ", cache->batch, " rows, input has ", B);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = lengths.empty() ? T : lengths[b];
      if (cache->seq_len[b] + n > cache->capacity)
        fail("forward: row ", b, " needs ", cache->seq_len[b] + n, " tokens of context, the cache holds ", cache->capacity);
    }
  }

  // Absolute positions: row b's token t sits at seq_len[b] + t.
  std::vector<int32_t> pos(static_cast<size_t>(B * T));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) pos[b * T + t] = static_cast<int32_t>((cache ? cache->seq_len[b] : 0) + t);
  const Tensor ids_t = upload_i32(*be_, ids, {B, T});
  const Tensor pos_t = upload_i32(*be_, pos, {B, T});
  const Tensor len_t = lengths.empty() ? Tensor() : upload_i32(*be_, lengths, {B});
  if (cache) be_->upload(cache->seq_len_dev.view().data, cache->seq_len.data(), cache->seq_len.size() * sizeof(int32_t));

  const ParamNames names = param_names(cfg_);
  Tensor h(*be_, {B, T, D}, dtype_);
  run(run_embedding(*be_, EmbeddingArgs{ids_t, params_.view(names.embed), h}), names.embed);
  Tensor xn(*be_, {B, T, D}, dtype_), y(*be_, {B, T, D}, dtype_);

  auto norm = [&](const std::string& weight, const TensorView& in, const TensorView& out) {
    run(run_rmsnorm(*be_, RmsNormArgs{in, params_.view(weight), {}, out, cfg_.norm_eps, 0}), weight);
  };
  for (int64_t il = 0; il < cfg_.n_layers; ++il) {
    const LayerSpec& spec = cfg_.layers[static_cast<size_t>(il)];
    const std::string lp = names.layer(il);
    LayerCall call{*be_, cfg_, spec, params_, lp, xn, y, len_t.view(), pos_t, {}, nullptr, &derived_[il], dtype_};
    if (cache) {
      call.cache_len = cache->seq_len_dev;
      call.cache = &cache->layers[static_cast<size_t>(il)];
    }
    norm(lp + names.input_norm, h, xn);
    call.prefix = lp + (spec.mixer == MixerKind::attention ? names.attention : names.ssm);
    mixer_entry(spec.mixer).forward(call);
    run(run_add(*be_, AddArgs{h, y, h}), lp + "residual");
    if (spec.ffn.kind == FfnKind::none) continue;
    norm(lp + names.ffn_norm, h, xn);
    call.prefix = lp + names.ffn;
    ffn_entry(spec.ffn.kind).forward(call);
    run(run_add(*be_, AddArgs{h, y, h}), lp + "residual");
  }
  if (cache)
    for (int64_t b = 0; b < B; ++b) cache->seq_len[b] += static_cast<int32_t>(lengths.empty() ? T : lengths[b]);

  // Gather each row's last valid position when only those logits are wanted.
  TensorView final_in = h;
  Tensor last;
  int64_t Tout = T;
  if (at == LogitsAt::last) {
    last = Tensor(*be_, {B, 1, D}, dtype_);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t t = (lengths.empty() ? T : lengths[b]) - 1;
      run(run_copy(*be_, CopyArgs{h.view().select(0, b).narrow(0, t, 1), last.view().select(0, b)}), "gather");
    }
    final_in = last;
    Tout = 1;
  }
  Tensor hn(*be_, {B, Tout, D}, dtype_);
  norm(names.final_norm, final_in, hn);
  Tensor logits(*be_, {B, Tout, V}, dtype_);
  const TensorView head = params_.view(cfg_.tie_embeddings ? names.embed : names.lm_head);
  run(run_linear(*be_, LinearArgs{hn, head, {}, logits}), names.lm_head);
  return logits;
}

std::vector<float> to_host_f32(Backend& be, const TensorView& t) {
  BRAID_CHECK(t.is_contiguous() && is_floating(t.dtype), "to_host_f32 of ", t.describe());
  std::vector<uint8_t> raw(t.nbytes());
  be.download(raw.data(), t.data, raw.size());
  std::vector<float> out(static_cast<size_t>(t.numel()));
  convert_floats(raw.data(), t.dtype, out.data(), DType::f32, out.size());
  return out;
}

}  // namespace braid
