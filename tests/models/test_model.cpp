// Model-level consistency on random weights, for every mixer and FFN kind:
//  - prefill of T tokens equals T single decode steps, in logits and in every cached state;
//  - a prefill split in two chunks equals the one-shot prefill;
//  - a batch of prompts of different lengths equals each prompt run alone (padding never
//    reaches a state);
//  - the parameter table and memory model agree with what is allocated.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "backends/cpu/cpu_backend.h"
#include "models/generate.h"
#include "models/layers/layer.h"
#include "models/memory.h"
#include "models/model.h"
#include "tests/tolerance.h"

using namespace braid;
using nlohmann::json;

namespace {

// Small configs covering every mixer, FFN, positional encoding and norm variant.
std::vector<std::pair<std::string, json>> configs() {
  const json jamba = {{"model_type", "jamba"},      {"vocab_size", 61},       {"hidden_size", 32},
                      {"intermediate_size", 48},    {"num_hidden_layers", 4}, {"num_attention_heads", 4},
                      {"num_key_value_heads", 2},   {"attn_layer_period", 2}, {"attn_layer_offset", 1},
                      {"expert_layer_period", 2},   {"expert_layer_offset", 0}, {"num_experts", 3},
                      {"num_experts_per_tok", 2},   {"mamba_d_state", 6},     {"mamba_d_conv", 3},
                      {"mamba_expand", 2},          {"mamba_dt_rank", 5},     {"dtype", "float32"}};
  json braid_mix = jamba;
  braid_mix["model_type"] = "braid";
  braid_mix["layer_mixers"] = {"mamba", "attention", "mamba2", "mamba2", "attention"};
  braid_mix["layer_ffns"] = {"moe", "mlp", "none", "moe", "mlp"};
  braid_mix["num_hidden_layers"] = 5;
  braid_mix["position_embedding"] = "rope";
  braid_mix["mamba_n_heads"] = 4;
  braid_mix["mamba_n_groups"] = 2;
  braid_mix["mamba_chunk_size"] = 3;
  braid_mix["mamba_inner_layernorms"] = false;
  braid_mix["mamba2_norm_groups"] = "per_group";
  const json bamba = {{"model_type", "bamba"},   {"vocab_size", 53},       {"hidden_size", 32},
                      {"intermediate_size", 40}, {"num_hidden_layers", 3}, {"num_attention_heads", 4},
                      {"num_key_value_heads", 1}, {"attn_layer_indices", {1}}, {"mamba_n_heads", 8},
                      {"mamba_n_groups", 2},     {"mamba_d_state", 5},     {"mamba_d_conv", 4},
                      {"mamba_expand", 2},       {"mamba_chunk_size", 4},  {"dtype", "float32"}};
  const json mamba = {{"model_type", "mamba"}, {"vocab_size", 47}, {"hidden_size", 24}, {"num_hidden_layers", 2},
                      {"state_size", 7},       {"conv_kernel", 4}, {"expand", 2},       {"time_step_rank", 3},
                      {"use_bias", true},      {"dtype", "float32"}};
  const json mamba2 = {{"model_type", "mamba2"}, {"vocab_size", 47}, {"hidden_size", 24}, {"num_hidden_layers", 2},
                       {"num_heads", 6},         {"head_dim", 8},    {"n_groups", 3},     {"state_size", 5},
                       {"conv_kernel", 2},       {"expand", 2},      {"chunk_size", 2},   {"dtype", "float32"}};
  return {{"jamba", jamba}, {"braid_mix", braid_mix}, {"bamba", bamba}, {"mamba", mamba}, {"mamba2", mamba2}};
}

std::vector<float> download(Backend& be, const TensorView& t) {
  std::vector<float> host(static_cast<size_t>(t.numel()));
  be.download(host.data(), t.data, host.size() * sizeof(float));
  return host;
}

std::vector<int32_t> random_ids(Rng& rng, int64_t n, int64_t V) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& id : ids) id = static_cast<int32_t>(rng.below(static_cast<uint64_t>(V)));
  return ids;
}

// Every cached tensor of row b, concatenated (KV up to `tokens` positions).
std::vector<float> cache_row(Backend& be, const HybridCache& c, int64_t b, int64_t tokens) {
  std::vector<float> out;
  auto append = [&](const Tensor& t, int64_t keep) {
    if (!t.defined()) return;
    TensorView row = t.view().select(0, b);
    if (keep >= 0) row = row.narrow(0, 0, keep);
    std::vector<float> h(static_cast<size_t>(row.numel()));
    // rows are contiguous blocks of a contiguous tensor
    be.download(h.data(), row.data, h.size() * sizeof(float));
    out.insert(out.end(), h.begin(), h.end());
  };
  for (const LayerCache& l : c.layers) {
    append(l.k, tokens);
    append(l.v, tokens);
    append(l.conv, -1);
    append(l.ssm, -1);
  }
  return out;
}

}  // namespace

TEST_CASE("prefill of T tokens equals T decode steps, in logits and states") {
  for (const auto& [name, cfg_json] : configs()) {
    SUBCASE(name.c_str()) {
      CpuBackend be;
      HybridModel model(be, ModelConfig::from_json(cfg_json, name));
      model.init_random(7);
      const int64_t B = 2, T = 9, V = model.config().vocab_size;
      Rng rng(11);
      const auto ids = random_ids(rng, B * T, V);
      HybridCache full = model.new_cache(B, T);
      const auto prefill = download(be, model.forward(ids, B, T, {}, &full));
      HybridCache steps = model.new_cache(B, T);
      std::vector<float> stepped(static_cast<size_t>(B * T * V));
      for (int64_t t = 0; t < T; ++t) {
        std::vector<int32_t> col(static_cast<size_t>(B));
        for (int64_t b = 0; b < B; ++b) col[b] = ids[b * T + t];
        const auto lg = download(be, model.forward(col, B, 1, {}, &steps));
        for (int64_t b = 0; b < B; ++b)
          std::copy(lg.begin() + b * V, lg.begin() + (b + 1) * V, stepped.begin() + (b * T + t) * V);
      }
      test::check_close(stepped, prefill, test::kRelL2F32 * 10, name + " logits");
      for (int64_t b = 0; b < B; ++b)
        test::check_close(cache_row(be, steps, b, T), cache_row(be, full, b, T), test::kRelL2F32 * 10, name + " states");
      // A cache-free forward gives the same logits as the cached prefill.
      const auto nocache = download(be, model.forward(ids, B, T, {}, nullptr));
      test::check_close(nocache, prefill, test::kRelL2F32, name + " cache-free");
    }
  }
}

TEST_CASE("a prefill split into two chunks equals the one-shot prefill") {
  for (const auto& [name, cfg_json] : configs()) {
    SUBCASE(name.c_str()) {
      CpuBackend be;
      HybridModel model(be, ModelConfig::from_json(cfg_json, name));
      model.init_random(3);
      const int64_t T1 = 5, T2 = 6, T = T1 + T2, V = model.config().vocab_size;
      Rng rng(5);
      const auto ids = random_ids(rng, T, V);
      HybridCache one = model.new_cache(1, T);
      const auto whole = download(be, model.forward(ids, 1, T, {}, &one));
      HybridCache two = model.new_cache(1, T);
      auto a = download(be, model.forward({ids.begin(), ids.begin() + T1}, 1, T1, {}, &two));
      const auto b = download(be, model.forward({ids.begin() + T1, ids.end()}, 1, T2, {}, &two));
      a.insert(a.end(), b.begin(), b.end());
      test::check_close(a, whole, test::kRelL2F32 * 10, name + " chunked logits");
      test::check_close(cache_row(be, two, 0, T), cache_row(be, one, 0, T), test::kRelL2F32 * 10, name + " chunked states");
    }
  }
}

TEST_CASE("a batch of prompts of different lengths equals each prompt alone") {
  for (const auto& [name, cfg_json] : configs()) {
    SUBCASE(name.c_str()) {
      CpuBackend be;
      HybridModel model(be, ModelConfig::from_json(cfg_json, name));
      model.init_random(21);
      const int64_t V = model.config().vocab_size;
      Rng rng(8);
      const std::vector<std::vector<int32_t>> prompts = {random_ids(rng, 3, V), random_ids(rng, 8, V),
                                                         random_ids(rng, 1, V)};
      const auto batched = generate(model, prompts, 6, SamplingOptions{});
      for (size_t i = 0; i < prompts.size(); ++i) {
        const auto alone = generate(model, {prompts[i]}, 6, SamplingOptions{});
        CHECK(batched.tokens[i] == alone.tokens[0]);
      }
      // The states after a padded prefill equal the states of each row run alone.
      std::vector<int32_t> ids(3 * 8, 0);
      for (size_t i = 0; i < prompts.size(); ++i) std::copy(prompts[i].begin(), prompts[i].end(), ids.begin() + 8 * i);
      HybridCache padded = model.new_cache(3, 8);
      const auto last = download(be, model.forward(ids, 3, 8, {3, 8, 1}, &padded, LogitsAt::last));
      for (size_t i = 0; i < prompts.size(); ++i) {
        const int64_t n = static_cast<int64_t>(prompts[i].size());
        HybridCache single = model.new_cache(1, 8);
        const auto one = download(be, model.forward(prompts[i], 1, n, {}, &single, LogitsAt::last));
        test::check_close(std::vector<float>(last.begin() + i * V, last.begin() + (i + 1) * V), one, test::kRelL2F32 * 10,
                          name + " padded last logits");
        test::check_close(cache_row(be, padded, static_cast<int64_t>(i), n), cache_row(be, single, 0, n),
                          test::kRelL2F32 * 10, name + " padded states");
      }
    }
  }
}

TEST_CASE("the registry has an entry for every mixer and FFN kind") {
  for (MixerKind k : {MixerKind::attention, MixerKind::mamba, MixerKind::mamba2})
    CHECK(std::string(mixer_entry(k).name) == mixer_kind_name(k));
  for (FfnKind k : {FfnKind::none, FfnKind::mlp, FfnKind::moe}) CHECK(std::string(ffn_entry(k).name) == ffn_kind_name(k));
}

TEST_CASE("parameter count of the memory model equals the allocated parameters") {
  for (const auto& [name, cfg_json] : configs()) {
    CpuBackend be;
    HybridModel model(be, ModelConfig::from_json(cfg_json, name));
    int64_t n = 0;
    for (const ParamDecl& d : model.params().table()) n += model.params().view(d.name).numel();
    const MemoryModel mem = memory_model(model.config(), 16, 1);
    CHECK(mem.params_total == n);
    CHECK(mem.params_active <= mem.params_total);
  }
}

TEST_CASE("sampling: greedy takes the lowest id among ties; top-k 1 is greedy; seeds repeat") {
  const std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f};
  Rng rng(1);
  CHECK(sample_token(logits.data(), 4, SamplingOptions{}, rng) == 1);
  SamplingOptions k1{1.0f, 1, 1.0f, 0};
  for (int i = 0; i < 10; ++i) CHECK(sample_token(logits.data(), 4, k1, rng) == 1);
  SamplingOptions hot{1.5f, 0, 0.9f, 0};
  Rng a(42), b(42);
  for (int i = 0; i < 20; ++i) CHECK(sample_token(logits.data(), 4, hot, a) == sample_token(logits.data(), 4, hot, b));
  // top-p that only admits the two tied maxima never samples the others.
  SamplingOptions nucleus{1.0f, 0, 0.6f, 0};
  for (int i = 0; i < 50; ++i) {
    const int32_t t = sample_token(logits.data(), 4, nucleus, rng);
    CHECK((t == 1 || t == 2));
  }
}
