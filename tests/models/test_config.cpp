// config.json reading: the published configs resolve to the documented dimensions
// (hf-models-spec §2.9, §3.6, §4.4, §5.7), transformers 5.17 defaults apply when keys are
// missing (§7 item 9), the 4.x and 5.x serialisations both parse (§7 item 16), and every invalid
// input fails with a message naming the file, the key and the value.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <unistd.h>

#include <doctest/doctest.h>

#include "tests/models/config_testing.h"

using namespace braid;
using namespace braid::test;
namespace fs = std::filesystem;

namespace {

// Jamba-v0.1 (ai21labs/Jamba-v0.1) with the §2.9 values, serialised as transformers 5.17 writes
// it ("dtype" rather than the hub file's "torch_dtype").
const char* kJambaV01 = R"({
  "architectures": ["JambaForCausalLM"],
  "attention_dropout": 0.0,
  "attn_layer_offset": 4,
  "attn_layer_period": 8,
  "bos_token_id": 1,
  "dtype": "bfloat16",
  "eos_token_id": 2,
  "expert_layer_offset": 1,
  "expert_layer_period": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "mamba_conv_bias": true,
  "mamba_d_conv": 4,
  "mamba_d_state": 16,
  "mamba_dt_rank": 256,
  "mamba_expand": 2,
  "mamba_proj_bias": false,
  "max_position_embeddings": 262144,
  "model_type": "jamba",
  "num_attention_heads": 32,
  "num_experts": 16,
  "num_experts_per_tok": 2,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "num_logits_to_keep": 1,
  "output_router_logits": false,
  "pad_token_id": 0,
  "rms_norm_eps": 1e-06,
  "router_aux_loss_coef": 0.001,
  "sliding_window": null,
  "tie_word_embeddings": false,
  "transformers_version": "5.17.0",
  "use_cache": true,
  "use_mamba_kernels": true,
  "vocab_size": 65536
})";

// Bamba-9B (ibm-fms/Bamba-9B) as on the hub (§3.6): 4.x form, torch_dtype, no rope_theta.
const char* kBamba9B = R"({
  "architectures": ["BambaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "attn_layer_indices": [9, 18, 27],
  "attn_rotary_emb": 64,
  "bos_token_id": 128000,
  "eos_token_id": 128001,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "mamba_chunk_size": 256,
  "mamba_conv_bias": true,
  "mamba_d_conv": 4,
  "mamba_d_head": 64,
  "mamba_d_state": 128,
  "mamba_dt_rank": 256,
  "mamba_expand": 2,
  "mamba_n_groups": 1,
  "mamba_n_heads": 128,
  "mamba_proj_bias": false,
  "max_position_embeddings": 262144,
  "model_type": "bamba",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "pad_token_id": 0,
  "rms_norm_eps": 1e-05,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "use_cache": true,
  "use_mamba_kernels": true,
  "vocab_size": 128256
})";

// Mamba-130m (state-spaces/mamba-130m-hf, §4.4): no tie_word_embeddings key → tied.
const char* kMamba130m = R"({
  "architectures": ["MambaForCausalLM"],
  "bos_token_id": 0,
  "conv_kernel": 4,
  "eos_token_id": 0,
  "expand": 2,
  "hidden_act": "silu",
  "hidden_size": 768,
  "initializer_range": 0.1,
  "intermediate_size": 1536,
  "layer_norm_epsilon": 1e-05,
  "model_type": "mamba",
  "n_layer": 24,
  "num_hidden_layers": 24,
  "pad_token_id": 0,
  "rescale_prenorm_residual": false,
  "residual_in_fp32": true,
  "state_size": 16,
  "time_step_floor": 0.0001,
  "time_step_init_scheme": "random",
  "time_step_max": 0.1,
  "time_step_min": 0.001,
  "time_step_rank": 48,
  "time_step_scale": 1.0,
  "torch_dtype": "float32",
  "use_bias": false,
  "use_cache": true,
  "use_conv_bias": true,
  "vocab_size": 50280
})";

// Mamba2-2.7B as converted for transformers (§5.7), in 5.17's serialisation.
const char* kMamba2_2_7B = R"({
  "architectures": ["Mamba2ForCausalLM"],
  "bos_token_id": 0,
  "chunk_size": 256,
  "conv_kernel": 4,
  "dtype": "float32",
  "eos_token_id": 0,
  "expand": 2,
  "head_dim": 64,
  "hidden_act": "silu",
  "hidden_size": 2560,
  "initializer_range": 0.1,
  "layer_norm_epsilon": 1e-05,
  "model_type": "mamba2",
  "n_groups": 1,
  "norm_before_gate": false,
  "num_heads": 80,
  "num_hidden_layers": 64,
  "pad_token_id": 0,
  "rescale_prenorm_residual": false,
  "residual_in_fp32": true,
  "rms_norm": true,
  "state_size": 128,
  "tie_word_embeddings": true,
  "time_step_floor": 0.0001,
  "time_step_limit": [0.0, {"__float__": "Infinity"}],
  "time_step_max": 0.1,
  "time_step_min": 0.001,
  "time_step_rank": 160,
  "transformers_version": "5.17.0",
  "use_bias": false,
  "use_cache": true,
  "use_conv_bias": true,
  "vocab_size": 50288
})";

ModelConfig parse(const char* text, const std::string& source = "config.json") {
  return ModelConfig::from_json(parse_config_text(text, source), source);
}

// A directory under the system temp dir, removed on scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("braid-test-models-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

std::string file_error_of(const std::string& path) {
  try {
    (void)ModelConfig::from_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("Jamba-v0.1 resolves to the documented plan and dimensions") {
  const ModelConfig c = parse(kJambaV01);
  CHECK(c.family == Family::jamba);
  CHECK(c.model_type == "jamba");
  CHECK(c.vocab_size == 65536);
  CHECK(c.hidden_size == 4096);
  CHECK(c.n_layers == 32);
  CHECK(c.norm_eps == doctest::Approx(1e-6f));
  CHECK_FALSE(c.tie_embeddings);
  CHECK(c.dtype == DType::bf16);
  CHECK(c.pad_token_id == 0);
  CHECK(c.bos_token_id == 1);
  CHECK(c.eos_token_id == 2);
  CHECK(c.max_position_embeddings == 262144);
  REQUIRE(c.layers.size() == 32);
  for (int64_t il = 0; il < 32; ++il) {
    CAPTURE(il);
    const LayerSpec& l = c.layers[il];
    const bool attention = il == 4 || il == 12 || il == 20 || il == 28;
    CHECK((l.mixer == MixerKind::attention) == attention);
    if (attention) {
      CHECK(l.attn.n_heads == 32);
      CHECK(l.attn.n_kv_heads == 8);
      CHECK(l.attn.head_dim == 128);
      CHECK(l.attn.pos_emb == PosEmb::none);  // Jamba has no positional encoding
      CHECK(l.attn.rot_dim == 0);
      CHECK_FALSE(l.attn.bias);
    } else {
      CHECK(l.mixer == MixerKind::mamba);
      CHECK(l.mamba.d_inner == 8192);
      CHECK(l.mamba.dt_rank == 256);
      CHECK(l.mamba.d_state == 16);
      CHECK(l.mamba.d_conv == 4);
      CHECK(l.mamba.conv_bias);
      CHECK_FALSE(l.mamba.proj_bias);
      CHECK(l.mamba.inner_norms);  // Jamba's dt/B/C RMSNorms
    }
    CHECK(l.ffn.kind == (il % 2 == 1 ? FfnKind::moe : FfnKind::mlp));
    CHECK(l.ffn.d_ff == 14336);
    if (l.ffn.kind == FfnKind::moe) {
      CHECK(l.ffn.n_experts == 16);
      CHECK(l.ffn.top_k == 2);
    }
  }
  CHECK(c.layout_string().rfind("M- ME M- ME A- ME M- ME M- ME M- ME A- ME", 0) == 0);
}

TEST_CASE("Bamba-9B resolves to the documented plan and dimensions") {
  const ModelConfig c = parse(kBamba9B);
  CHECK(c.family == Family::bamba);
  CHECK(c.vocab_size == 128256);
  CHECK(c.n_layers == 32);
  CHECK(c.norm_eps == doctest::Approx(1e-5f));
  CHECK_FALSE(c.tie_embeddings);
  CHECK(c.dtype == DType::bf16);
  CHECK(c.bos_token_id == 128000);
  CHECK(c.eos_token_id == 128001);
  CHECK(c.pad_token_id == 0);
  for (int64_t il = 0; il < 32; ++il) {
    CAPTURE(il);
    const LayerSpec& l = c.layers[il];
    CHECK(l.ffn.kind == FfnKind::mlp);
    CHECK(l.ffn.d_ff == 14336);
    if (il == 9 || il == 18 || il == 27) {
      REQUIRE(l.mixer == MixerKind::attention);
      CHECK(l.attn.n_heads == 32);
      CHECK(l.attn.n_kv_heads == 8);
      CHECK(l.attn.head_dim == 128);
      CHECK(l.attn.pos_emb == PosEmb::partial_rope);
      CHECK(l.attn.rot_dim == 64);
      CHECK(l.attn.rope_theta == 10000.0f);
      CHECK_FALSE(l.attn.bias);
    } else {
      REQUIRE(l.mixer == MixerKind::mamba2);
      const Mamba2Spec& m = l.mamba2;
      CHECK(m.n_heads == 128);
      CHECK(m.head_dim == 64);
      CHECK(m.n_groups == 1);
      CHECK(m.d_state == 128);
      CHECK(m.d_conv == 4);
      CHECK(m.d_inner == 8192);
      CHECK(m.conv_dim() == 8448);
      CHECK(m.in_proj_dim() == 16768);
      CHECK(m.chunk_size == 256);
      CHECK(m.conv_bias);
      CHECK_FALSE(m.proj_bias);
      CHECK_FALSE(m.norm_per_group);
      CHECK(m.dt_min == 0.0f);
      CHECK(std::isinf(m.dt_max));
    }
  }
}

TEST_CASE("Mamba-130m resolves to the documented dimensions, tied by default") {
  const ModelConfig c = parse(kMamba130m);
  CHECK(c.family == Family::mamba);
  CHECK(c.vocab_size == 50280);
  CHECK(c.hidden_size == 768);
  CHECK(c.n_layers == 24);
  CHECK(c.norm_eps == doctest::Approx(1e-5f));
  CHECK(c.tie_embeddings);  // no tie_word_embeddings key → true
  CHECK(c.dtype == DType::f32);
  CHECK(c.bos_token_id == 0);
  CHECK(c.eos_token_id == 0);
  CHECK(c.pad_token_id == 0);
  for (const LayerSpec& l : c.layers) {
    REQUIRE(l.mixer == MixerKind::mamba);
    CHECK(l.mamba.d_inner == 1536);
    CHECK(l.mamba.d_state == 16);
    CHECK(l.mamba.d_conv == 4);
    CHECK(l.mamba.dt_rank == 48);
    CHECK(l.mamba.conv_bias);
    CHECK_FALSE(l.mamba.proj_bias);
    CHECK_FALSE(l.mamba.inner_norms);
    CHECK(l.ffn.kind == FfnKind::none);
  }
}

TEST_CASE("Mamba2-2.7B resolves to the documented dimensions") {
  const ModelConfig c = parse(kMamba2_2_7B);
  CHECK(c.family == Family::mamba2);
  CHECK(c.vocab_size == 50288);
  CHECK(c.hidden_size == 2560);
  CHECK(c.n_layers == 64);
  CHECK(c.tie_embeddings);
  CHECK(c.dtype == DType::f32);
  CHECK(c.norm_eps == doctest::Approx(1e-5f));
  for (const LayerSpec& l : c.layers) {
    REQUIRE(l.mixer == MixerKind::mamba2);
    const Mamba2Spec& m = l.mamba2;
    CHECK(m.n_heads == 80);
    CHECK(m.head_dim == 64);
    CHECK(m.n_groups == 1);
    CHECK(m.d_state == 128);
    CHECK(m.d_inner == 5120);
    CHECK(m.conv_dim() == 5376);
    CHECK(m.in_proj_dim() == 10576);
    CHECK(m.d_conv == 4);
    CHECK(m.conv_bias);
    CHECK_FALSE(m.proj_bias);
    CHECK(m.dt_min == 0.0f);
    CHECK(std::isinf(m.dt_max));
    CHECK(m.dt_max > 0);
    CHECK(l.ffn.kind == FfnKind::none);
  }
}

TEST_CASE("transformers 5.17 defaults apply when keys are missing") {
  SUBCASE("mamba: tie true, use_bias false, dt_rank auto") {
    const ModelConfig c = ModelConfig::from_json({{"model_type", "mamba"}}, "x");
    CHECK(c.tie_embeddings);
    CHECK(c.vocab_size == 50280);
    CHECK(c.hidden_size == 768);
    CHECK(c.n_layers == 32);
    CHECK(c.norm_eps == doctest::Approx(1e-5f));
    CHECK(c.layers[0].mamba.d_inner == 1536);
    CHECK(c.layers[0].mamba.dt_rank == 48);  // ceil(768 / 16)
    CHECK(c.layers[0].mamba.d_state == 16);
    CHECK_FALSE(c.layers[0].mamba.proj_bias);
    CHECK(c.layers[0].mamba.conv_bias);
    CHECK(c.pad_token_id == 0);
    CHECK_FALSE(c.max_position_embeddings.has_value());
  }
  SUBCASE("mamba2: n_groups 8, 128 heads of 64, tie false") {
    const ModelConfig c = ModelConfig::from_json({{"model_type", "mamba2"}}, "x");
    CHECK_FALSE(c.tie_embeddings);
    CHECK(c.vocab_size == 32768);
    CHECK(c.n_layers == 64);
    const Mamba2Spec& m = c.layers[0].mamba2;
    CHECK(m.n_groups == 8);
    CHECK(m.n_heads == 128);
    CHECK(m.head_dim == 64);
    CHECK(m.d_state == 128);
    CHECK(m.d_inner == 8192);
    CHECK(m.chunk_size == 256);
    CHECK(c.pad_token_id == 1);
    CHECK(c.bos_token_id == 0);
    CHECK(c.eos_token_id == 2);
  }
  SUBCASE("bamba: d_state 256, eps 1e-5, d_head auto, no attention") {
    const ModelConfig c = ModelConfig::from_json({{"model_type", "bamba"}}, "x");
    CHECK(c.vocab_size == 128000);
    CHECK(c.norm_eps == doctest::Approx(1e-5f));
    CHECK_FALSE(c.tie_embeddings);
    CHECK(mixers(c) == std::string(32, '2'));
    const Mamba2Spec& m = c.layers[0].mamba2;
    CHECK(m.d_state == 256);
    CHECK(m.n_heads == 128);
    CHECK(m.head_dim == 64);  // "auto": 2·4096 / 128
    CHECK(m.n_groups == 1);
  }
  SUBCASE("jamba: tie false, eps 1e-6, attention at 4 mod 8, MoE at odd layers") {
    const ModelConfig c = ModelConfig::from_json({{"model_type", "jamba"}}, "x");
    CHECK_FALSE(c.tie_embeddings);
    CHECK(c.norm_eps == doctest::Approx(1e-6f));
    CHECK(c.vocab_size == 65536);
    CHECK(c.dtype == DType::bf16);
    CHECK(c.layout_string() == parse(kJambaV01).layout_string());
    CHECK(c.layers[0].mamba.dt_rank == 256);  // auto: ceil(4096 / 16)
    CHECK(c.layers[4].attn.n_kv_heads == 8);
  }
  SUBCASE("jamba: num_key_value_heads null → num_attention_heads; dt_rank auto rounds up") {
    json j = tiny_jamba(8);
    j["num_key_value_heads"] = nullptr;
    j["hidden_size"] = 36;
    j["num_attention_heads"] = 6;
    j["mamba_dt_rank"] = "auto";
    const ModelConfig c = ModelConfig::from_json(j, "x");
    CHECK(c.layers[4].attn.n_kv_heads == 6);
    CHECK(c.layers[4].attn.head_dim == 6);
    CHECK(c.layers[0].mamba.dt_rank == 3);  // ceil(36 / 16)
  }
  SUBCASE("head_dim key overrides hidden_size / heads") {
    json j = tiny_jamba(8);
    j["head_dim"] = 16;
    CHECK(ModelConfig::from_json(j, "x").layers[4].attn.head_dim == 16);
  }
  SUBCASE("mamba2: expand may be fractional, Di = int(expand · D)") {
    json j = tiny_mamba2(1);
    j["expand"] = 1.5;
    j["num_heads"] = 6;
    j["head_dim"] = 8;  // 6 · 8 = int(1.5 · 32)
    CHECK(ModelConfig::from_json(j, "x").layers[0].mamba2.d_inner == 48);
  }
  SUBCASE("mamba: intermediate_size, when present, equals int(expand · D)") {
    json j = tiny_mamba(1);
    j["intermediate_size"] = 64;
    CHECK(ModelConfig::from_json(j, "x").layers[0].mamba.d_inner == 64);
    j["intermediate_size"] = 60;
    CHECK_HAS_ALL(error_of(j, "m.json"), "m.json: intermediate_size (60) != int(expand * hidden_size) (64)", "hint:");
  }
  SUBCASE("mamba: use_bias true (the v4 default) is honoured when written") {
    json j = tiny_mamba(1);
    j["use_bias"] = true;
    j["use_conv_bias"] = false;
    const ModelConfig c = ModelConfig::from_json(j, "x");
    CHECK(c.layers[0].mamba.proj_bias);
    CHECK_FALSE(c.layers[0].mamba.conv_bias);
  }
}

TEST_CASE("Mamba2 and Bamba head / group arithmetic is validated") {
  struct Case {
    json base;
    json patch;
    std::string needle;
  };
  const Case cases[] = {
      // Bamba: 7 heads over 2·28 = 56 channels, 2 groups
      {tiny_bamba(2), {{"hidden_size", 28}, {"num_attention_heads", 4}, {"mamba_n_heads", 7}, {"mamba_n_groups", 2}},
       "x.json: mamba_n_heads (7) must be divisible by mamba_n_groups (2)"},
      {tiny_bamba(2), {{"mamba_n_heads", 8}, {"mamba_d_head", 4}},
       "x.json: mamba_d_head * mamba_n_heads != mamba_expand * hidden_size (4 * 8 = 32, mamba_expand * hidden_size = 64)"},
      {tiny_bamba(2), {{"mamba_n_heads", 6}}, "mamba_n_heads (6) must divide mamba_expand * hidden_size (64)"},
      {tiny_bamba(2), {{"mamba_d_head", "big"}}, "mamba_d_head must be an integer or \"auto\", got \"big\""},
      {tiny_mamba2(2), {{"num_heads", 4}}, "x.json: num_heads * head_dim != expand * hidden_size (4 * 8 = 32, expand * hidden_size = 64)"},
      {tiny_mamba2(2), {{"n_groups", 3}}, "num_heads (8) must be divisible by n_groups (3)"},
      {tiny_mamba2(2), {{"n_groups", 0}}, "n_groups must be positive, got 0"},
      {tiny_mamba2(2), {{"chunk_size", 0}}, "chunk_size must be positive, got 0"},
      {tiny_mamba2(2), {{"time_step_limit", {0.5, 0.1}}}, "time_step_limit [0.5, 0.1] must satisfy 0 <= min <= max"},
      {tiny_mamba2(2), {{"time_step_limit", {0.5}}}, "time_step_limit must be a list [min, max], got [0.5]"},
      {tiny_mamba2(2), {{"time_step_limit", {0.0, "inf"}}}, "time_step_limit[1] must be a number, got \"inf\""},
      {tiny_mamba2(2), {{"expand", 0}}, "expand must be positive, got 0"},
  };
  for (const Case& c : cases) {
    json j = c.base;
    j.update(c.patch);
    CAPTURE(j.dump());
    CHECK_HAS_ALL(error_of(j, "x.json"), c.needle);
  }
}

TEST_CASE("5.x and 4.x serialisations") {
  SUBCASE("rope_parameters, legacy top-level rope_theta, and rope_parameters winning") {
    json j = tiny_bamba(2);
    j["attn_layer_indices"] = {1};
    j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
    CHECK(ModelConfig::from_json(j, "x").layers[1].attn.rope_theta == 500000.0f);
    j["rope_theta"] = 1000.0;
    CHECK(ModelConfig::from_json(j, "x").layers[1].attn.rope_theta == 500000.0f);
    j.erase("rope_parameters");
    CHECK(ModelConfig::from_json(j, "x").layers[1].attn.rope_theta == 1000.0f);
    j["rope_parameters"] = nullptr;
    CHECK(ModelConfig::from_json(j, "x").layers[1].attn.rope_theta == 1000.0f);
    j["rope_parameters"] = {{"rope_type", "yarn"}, {"rope_theta", 10000.0}, {"factor", 4.0}};
    CHECK_HAS_ALL(error_of(j, "x.json"), "x.json: rope_type 'yarn' is not supported; supported: default");
    j.erase("rope_parameters");
    j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
    CHECK_HAS_ALL(error_of(j, "x.json"), "rope_type 'linear' is not supported");
    j["rope_scaling"] = nullptr;
    CHECK(ModelConfig::from_json(j, "x").layers[1].attn.rope_theta == 1000.0f);
  }
  SUBCASE("Bamba forces partial_rotary_factor 0.5 unless position_embedding is given") {
    json j = tiny_bamba(2);  // head_dim 8
    j["attn_layer_indices"] = {0};
    j["partial_rotary_factor"] = 0.25;
    CHECK(ModelConfig::from_json(j, "x").layers[0].attn.rot_dim == 4);  // 0.5 · 8, as BambaConfig
    j["rope_parameters"] = {{"rope_theta", 10000.0}, {"partial_rotary_factor", 0.25}};
    CHECK(ModelConfig::from_json(j, "x").layers[0].attn.rot_dim == 4);
    j["position_embedding"] = "partial_rope";
    CHECK(ModelConfig::from_json(j, "x").layers[0].attn.rot_dim == 2);  // braid override honours 0.25
    j["position_embedding"] = "rope";
    CHECK(ModelConfig::from_json(j, "x").layers[0].attn.rot_dim == 8);
    j["position_embedding"] = "none";
    CHECK(ModelConfig::from_json(j, "x").layers[0].attn.pos_emb == PosEmb::none);
  }
  SUBCASE("position_embedding on a Jamba config") {
    json j = tiny_jamba(8);  // head_dim 8, attention at 4
    j["position_embedding"] = "partial_rope";
    CHECK(ModelConfig::from_json(j, "x").layers[4].attn.rot_dim == 4);  // default factor 0.5
    j["partial_rotary_factor"] = 0.75;
    CHECK(ModelConfig::from_json(j, "x").layers[4].attn.rot_dim == 6);
    j["partial_rotary_factor"] = 0.1;
    CHECK_HAS_ALL(error_of(j, "x.json"), "rotary dimension 0 (head_dim 8, partial_rope) must be positive and even");
    j["partial_rotary_factor"] = 1.5;
    CHECK_HAS_ALL(error_of(j), "partial_rotary_factor must be in (0, 1], got 1.5");
  }
  SUBCASE("{\"__float__\": ...} wrappers wherever a float is read") {
    json j = tiny_mamba2(1);
    j["time_step_limit"] = {0.001, {{"__float__", "Infinity"}}};
    Mamba2Spec m = ModelConfig::from_json(j, "x").layers[0].mamba2;
    CHECK(m.dt_min == doctest::Approx(0.001f));
    CHECK(m.dt_max == std::numeric_limits<float>::infinity());
    j["time_step_limit"] = {0.0, 0.1};
    CHECK(ModelConfig::from_json(j, "x").layers[0].mamba2.dt_max == doctest::Approx(0.1f));
    j["time_step_limit"] = nullptr;
    CHECK(std::isinf(ModelConfig::from_json(j, "x").layers[0].mamba2.dt_max));
    j["time_step_limit"] = {{{"__float__", "NaN"}}, 1.0};
    CHECK_HAS_ALL(error_of(j, "x.json"), "time_step_limit [nan, 1] must satisfy 0 <= min <= max");
    j["time_step_limit"] = {0.0, {{"__float__", "lots"}}};
    CHECK_HAS_ALL(error_of(j), "time_step_limit[1] must be a number, got {\"__float__\":\"lots\"}");
    j.erase("time_step_limit");
    j["layer_norm_epsilon"] = {{"__float__", "1e-05"}};
    CHECK(ModelConfig::from_json(j, "x").norm_eps == doctest::Approx(1e-5f));
    j["layer_norm_epsilon"] = {{"__float__", "Infinity"}};
    CHECK_HAS_ALL(error_of(j), "layer_norm_epsilon must be a positive number, got inf");
  }
  SUBCASE("bare Infinity / -Infinity / NaN in the text (4.x, non-standard JSON)") {
    const json j = parse_config_text(
        R"({"a": [0.0, Infinity], "b": -Infinity, "c": NaN, "s": "Infinity, NaN and -Infinity stay text",
            "e": "quote \" Infinity", "k": {"Infinity": 1}, "w": [Infinity,-Infinity]})",
        "x.json");
    CHECK(j["a"][1] == json({{"__float__", "Infinity"}}));
    CHECK(j["b"] == json({{"__float__", "-Infinity"}}));
    CHECK(j["c"] == json({{"__float__", "NaN"}}));
    CHECK(j["s"] == "Infinity, NaN and -Infinity stay text");
    CHECK(j["e"] == "quote \" Infinity");
    CHECK(j["k"]["Infinity"] == 1);
    CHECK(j["w"][0] == json({{"__float__", "Infinity"}}));
    CHECK(j["w"][1] == json({{"__float__", "-Infinity"}}));

    std::string text = kMamba2_2_7B;
    const std::string wrapped = R"({"__float__": "Infinity"})";
    text.replace(text.find(wrapped), wrapped.size(), "Infinity");
    REQUIRE(text.find("[0.0, Infinity]") != std::string::npos);
    const ModelConfig c = parse(text.c_str());
    CHECK(std::isinf(c.layers[0].mamba2.dt_max));
    // A word that merely contains the token is left alone (and is still not JSON).
    std::string msg = "(no error)";
    try {
      (void)parse_config_text(R"({"a": Infinityx})", "x.json");
    } catch (const Error& e) {
      msg = e.what();
    }
    CHECK_HAS_ALL(msg, "x.json: not valid JSON: ");
    // A number too large for a double (found by tests/fuzz/fuzz_config) is a clear error too.
    msg = "(no error)";
    try {
      (void)parse_config_text(R"({"layer_norm_epsilon": 1e605})", "big.json");
    } catch (const Error& e) {
      msg = e.what();
    }
    CHECK_HAS_ALL(msg, "big.json: not valid JSON: ", "number overflow");
  }
  SUBCASE("dtype (5.x) and torch_dtype (4.x)") {
    struct Case {
      json dtype, torch_dtype;  // null: key absent
      DType expect;
    };
    const Case cases[] = {
        {"float32", nullptr, DType::f32},   {"bfloat16", nullptr, DType::bf16}, {"float16", nullptr, DType::f16},
        {nullptr, "float32", DType::f32},   {nullptr, "float16", DType::f16},   {nullptr, nullptr, DType::bf16},
        {"float16", "float32", DType::f16},  // dtype wins
    };
    for (const Case& c : cases) {
      json j = tiny_mamba(1);
      if (!c.dtype.is_null()) j["dtype"] = c.dtype;
      if (!c.torch_dtype.is_null()) j["torch_dtype"] = c.torch_dtype;
      CAPTURE(j.dump());
      CHECK(ModelConfig::from_json(j, "x").dtype == c.expect);
    }
    json j = tiny_mamba(1);
    j["torch_dtype"] = "float64";
    CHECK_HAS_ALL(error_of(j, "x.json"), "x.json: torch_dtype 'float64' is not supported; supported: float32, bfloat16, float16");
    j["dtype"] = 16;
    CHECK_HAS_ALL(error_of(j, "x.json"), "x.json: dtype must be a string, got 16");
  }
  SUBCASE("token ids: null, lists, defaults") {
    json j = tiny_jamba(1);
    j["pad_token_id"] = nullptr;
    j["eos_token_id"] = {7, 9};
    const ModelConfig c = ModelConfig::from_json(j, "x");
    CHECK_FALSE(c.pad_token_id.has_value());
    CHECK(c.eos_token_id == 7);
    CHECK(c.bos_token_id == 1);
  }
}

TEST_CASE("from_file: a config.json path or a directory holding one") {
  TempDir tmp;
  const fs::path file = tmp.write("ckpt/config.json", kMamba130m);
  CHECK(ModelConfig::from_file(file.string()).n_layers == 24);
  CHECK(ModelConfig::from_file((tmp.path / "ckpt").string()).n_layers == 24);

  // Errors name the path, and missing things are not_found.
  const std::string missing = (tmp.path / "no-such-model").string();
  try {
    (void)ModelConfig::from_file(missing);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == StatusCode::not_found);
    CHECK_HAS_ALL(e.what(), missing + ": no such file or directory");
  }
  fs::create_directories(tmp.path / "empty");
  CHECK_HAS_ALL(file_error_of((tmp.path / "empty").string()), (tmp.path / "empty").string() + ": directory has no config.json");

  const fs::path bad = tmp.write("bad/config.json", "{\"model_type\": \"jamba\", ");
  CHECK_HAS_ALL(file_error_of((tmp.path / "bad").string()), bad.string() + ": not valid JSON: ", "parse error");
  const fs::path llama = tmp.write("llama/config.json", R"({"model_type": "llama", "hidden_size": 4096})");
  CHECK(file_error_of(llama.string()) ==
        llama.string() + ": unknown model_type 'llama'; supported: jamba, bamba, mamba, mamba2, braid");
  const fs::path type = tmp.write("type/config.json", R"({"model_type": "jamba", "hidden_size": "abc"})");
  CHECK(file_error_of(type.string()) == type.string() + ": hidden_size must be an integer, got \"abc\"");
  const fs::path inf = tmp.write("inf/config.json",
                                 R"({"model_type": "mamba2", "num_hidden_layers": 1, "time_step_limit": [0.0, Infinity]})");
  CHECK(std::isinf(ModelConfig::from_file(inf.string()).layers[0].mamba2.dt_max));
}

TEST_CASE("the bundled configs resolve") {
  const fs::path dir = fs::path(BRAID_SOURCE_ROOT) / "models/configs";
  struct Case {
    const char* file;
    const char* layout_prefix;
  };
  const Case cases[] = {
      {"jamba-v0.1.json", "M- ME M- ME A- ME"},
      {"bamba-9b.json", "2- 2- 2- 2- 2- 2- 2- 2- 2- A- 2-"},
      {"mamba-130m.json", "M. M."},
      {"mamba2-2.7b.json", "2. 2."},
      {"tiny-hybrid.json", "M- ME A- ME M- ME A- ME"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    if (!fs::exists(dir / c.file)) continue;  // owned elsewhere; the layouts are checked when present
    const ModelConfig cfg = ModelConfig::from_file((dir / c.file).string());
    CHECK(cfg.layout_string().rfind(c.layout_prefix, 0) == 0);
  }
}

TEST_CASE("invalid configs: each message names the file, key and value") {
  struct Case {
    json config;
    std::string expect;  // exact message, source "x.json"
  };
  const Case cases[] = {
      {{{"model_type", "llama"}}, "x.json: unknown model_type 'llama'; supported: jamba, bamba, mamba, mamba2, braid"},
      {{{"hidden_size", 64}}, "x.json: missing model_type; supported: jamba, bamba, mamba, mamba2, braid"},
      {{{"model_type", nullptr}}, "x.json: missing model_type; supported: jamba, bamba, mamba, mamba2, braid"},
      {{{"model_type", 42}}, "x.json: model_type must be a string, got 42"},
      {json::array({1, 2}), "x.json: config must be a JSON object, got [1,2]"},
      {{{"model_type", "jamba"}, {"hidden_size", "abc"}}, "x.json: hidden_size must be an integer, got \"abc\""},
      {{{"model_type", "jamba"}, {"hidden_size", nullptr}}, "x.json: hidden_size must be an integer, got null"},
      {{{"model_type", "jamba"}, {"hidden_size", true}}, "x.json: hidden_size must be an integer, got true"},
      {{{"model_type", "jamba"}, {"hidden_size", 0}}, "x.json: hidden_size must be positive, got 0"},
      {{{"model_type", "mamba"}, {"vocab_size", -5}}, "x.json: vocab_size must be positive, got -5"},
      {{{"model_type", "mamba2"}, {"num_hidden_layers", 0}}, "x.json: num_hidden_layers must be positive, got 0"},
      {{{"model_type", "mamba"}, {"state_size", 0}}, "x.json: state_size must be positive, got 0"},
      {{{"model_type", "jamba"}, {"mamba_d_conv", -1}}, "x.json: mamba_d_conv must be positive, got -1"},
      {{{"model_type", "jamba"}, {"intermediate_size", 0}}, "x.json: intermediate_size must be positive, got 0"},
      {{{"model_type", "jamba"}, {"mamba_dt_rank", "wide"}}, "x.json: mamba_dt_rank must be an integer or \"auto\", got \"wide\""},
      {{{"model_type", "jamba"}, {"tie_word_embeddings", "yes"}}, "x.json: tie_word_embeddings must be true or false, got \"yes\""},
      {{{"model_type", "jamba"}, {"rms_norm_eps", "small"}}, "x.json: rms_norm_eps must be a number, got \"small\""},
      {{{"model_type", "jamba"}, {"rms_norm_eps", 0}}, "x.json: rms_norm_eps must be a positive number, got 0"},
      {{{"model_type", "jamba"}, {"hidden_act", "gelu"}}, "x.json: hidden_act 'gelu' is not supported; supported: silu"},
      {{{"model_type", "jamba"}, {"hidden_size", 100}, {"num_attention_heads", 3}, {"num_key_value_heads", 1}},
       "x.json: hidden_size (100) must be divisible by num_attention_heads (3) — hint: change num_attention_heads, or set head_dim explicitly"},
      {{{"model_type", "jamba"}, {"num_key_value_heads", 5}},
       "x.json: num_attention_heads (32) must be divisible by num_key_value_heads (5) — hint: each key/value head serves "
       "num_attention_heads / num_key_value_heads query heads"},
      {{{"model_type", "jamba"}, {"num_key_value_heads", 0}}, "x.json: num_key_value_heads must be positive, got 0"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.config.dump());
    CHECK(error_of(c.config, "x.json") == c.expect);
  }

  // Attention layers put into an SSM-only family need their head counts spelled out.
  json m = tiny_mamba(2);
  m["layer_mixers"] = {"attention", "mamba"};
  CHECK_HAS_ALL(error_of(m, "x.json"), "x.json: num_attention_heads is required", "model_type 'mamba'", "hint:");
  json m2 = tiny_mamba2(2);
  m2["layer_ffns"] = {"mlp", "none"};
  CHECK_HAS_ALL(error_of(m2, "x.json"), "x.json: intermediate_size is required", "model_type 'mamba2'");
  json b = tiny_bamba(2);
  b["mlp_bias"] = true;
  CHECK_HAS_ALL(error_of(b, "x.json"), "x.json: mlp_bias true is not supported — hint:");
}
