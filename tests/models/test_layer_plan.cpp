// The resolved layer plan (house style P7): Jamba's period/offset rule, Bamba's index lists, the
// all-SSM families, HF's explicit per-layer lists and braid's layer_mixers / layer_ffns, with one
// test per inconsistent input. Table-driven; every error case checks the message names the key
// and the values at fault.
#include <doctest/doctest.h>

#include "tests/models/config_testing.h"

using namespace braid;
using namespace braid::test;

TEST_CASE("jamba attention period/offset → mixer per layer") {
  struct Case {
    int64_t layers, period, offset;
    const char* expect;
  };
  // il:                                  0123456789...
  const Case cases[] = {
      {8, 8, 4, "MMMMAMMM"},                       // Jamba's default pattern
      {16, 8, 4, "MMMMAMMMMMMMAMMM"},              // repeats every period
      {8, 8, 0, "AMMMMMMM"},                       // offset 0
      {8, 8, 7, "MMMMMMMA"},                       // offset = period - 1
      {16, 8, 7, "MMMMMMMAMMMMMMMA"},              //
      {5, 1, 0, "AAAAA"},                          // period 1: every layer attention
      {6, 2, 1, "MAMAMA"},                         //
      {6, 10, 7, "MMMMMM"},                        // period > L, offset >= L: no attention at all
      {6, 10, 3, "MMMAMM"},                        // period > L, offset < L: exactly one
      {1, 8, 4, "M"},                              // a single layer
      {1, 1, 0, "A"},                              //
      {1, 3, 0, "A"},                              //
  };
  for (const Case& c : cases) {
    CAPTURE(c.layers);
    CAPTURE(c.period);
    CAPTURE(c.offset);
    json j = tiny_jamba(c.layers);
    j["attn_layer_period"] = c.period;
    j["attn_layer_offset"] = c.offset;
    const ModelConfig cfg = ModelConfig::from_json(j, "t.json");
    CHECK(mixers(cfg) == c.expect);
    CHECK(cfg.layers.size() == static_cast<size_t>(c.layers));
  }
}

TEST_CASE("jamba expert period/offset → FFN per layer") {
  struct Case {
    int64_t layers, period, offset, experts;
    const char* expect;
  };
  const Case cases[] = {
      {8, 2, 1, 4, "-E-E-E-E"},   // Jamba's default: odd layers
      {8, 2, 0, 4, "E-E-E-E-"},   // offset 0
      {8, 3, 2, 4, "--E--E--"},   // offset = period - 1
      {4, 1, 0, 4, "EEEE"},       // period 1: every layer MoE
      {5, 9, 6, 4, "-----"},      // period > L, offset >= L: no MoE
      {5, 9, 4, 4, "----E"},      //
      {1, 2, 0, 4, "E"},          // a single layer
      {8, 2, 1, 1, "--------"},   // num_experts 1: every layer dense
      {8, 2, 1, 0, "--------"},   // num_experts 0: every layer dense
  };
  for (const Case& c : cases) {
    CAPTURE(c.layers);
    CAPTURE(c.period);
    CAPTURE(c.offset);
    CAPTURE(c.experts);
    json j = tiny_jamba(c.layers);
    j["expert_layer_period"] = c.period;
    j["expert_layer_offset"] = c.offset;
    j["num_experts"] = c.experts;
    j["num_experts_per_tok"] = 1;
    const ModelConfig cfg = ModelConfig::from_json(j, "t.json");
    CHECK(ffns(cfg) == c.expect);
    for (const LayerSpec& l : cfg.layers) {
      CHECK(l.ffn.d_ff == 48);
      if (l.ffn.kind == FfnKind::moe) {
        CHECK(l.ffn.n_experts == c.experts);
        CHECK(l.ffn.top_k == 1);
      }
    }
  }
}

TEST_CASE("jamba: the mixer and expert patterns are independent") {
  json j = tiny_jamba(8);
  j["attn_layer_period"] = 4;
  j["attn_layer_offset"] = 1;
  j["expert_layer_period"] = 2;
  j["expert_layer_offset"] = 1;
  const ModelConfig cfg = ModelConfig::from_json(j, "t.json");
  CHECK(cfg.layout_string() == "M- AE M- ME M- AE M- ME");
}

TEST_CASE("jamba period/offset errors carry HF's rule and a hint") {
  struct Case {
    const char* prefix;  // attn | expert
    json period, offset;
    std::vector<std::string> needles;
  };
  const Case cases[] = {
      {"attn", 8, 8, {"t.json: attn_layer_offset (8) must be < attn_layer_period (8) — hint: HF requires offset < period"}},
      {"attn", 4, 9, {"attn_layer_offset (9) must be < attn_layer_period (4)", "hint:"}},
      {"attn", 1, 1, {"attn_layer_offset (1) must be < attn_layer_period (1)"}},
      {"attn", 0, 0, {"attn_layer_period must be positive, got 0"}},
      {"attn", 8, -1, {"attn_layer_offset must be non-negative, got -1"}},
      {"attn", "8", 4, {"attn_layer_period must be an integer, got \"8\""}},
      {"expert", 2, 2, {"t.json: expert_layer_offset (2) must be < expert_layer_period (2) — hint: HF requires offset < period"}},
      {"expert", 2, 5, {"expert_layer_offset (5) must be < expert_layer_period (2)"}},
      {"expert", -2, 0, {"expert_layer_period must be positive, got -2"}},
      {"expert", 2, 0.5, {"expert_layer_offset must be an integer, got 0.5"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.prefix);
    json j = tiny_jamba(8);
    j[std::string(c.prefix) + "_layer_period"] = c.period;
    j[std::string(c.prefix) + "_layer_offset"] = c.offset;
    const std::string msg = error_of(j, "t.json");
    for (const std::string& n : c.needles) CHECK_HAS_ALL(msg, n);
  }
  // The same rule for model_type braid, which keeps Jamba's keys.
  json b = tiny_braid(4);
  b["attn_layer_period"] = 3;
  b["attn_layer_offset"] = 3;
  CHECK_HAS_ALL(error_of(b), "attn_layer_offset (3) must be < attn_layer_period (3)");
}

TEST_CASE("bamba attn_layer_indices") {
  struct Case {
    json indices;  // discarded when "absent"
    bool absent;
    const char* expect;
  };
  const Case cases[] = {
      {json::array(), false, "222222"},       // empty: all mamba2
      {nullptr, false, "222222"},             // null (HF default): all mamba2
      {nullptr, true, "222222"},              // absent
      {{0}, false, "A22222"},                 // first layer
      {{5}, false, "22222A"},                 // last layer
      {{4, 1}, false, "2A22A2"},              // order does not matter
      {{0, 1, 2, 3, 4, 5}, false, "AAAAAA"},  // all attention
  };
  for (const Case& c : cases) {
    CAPTURE(c.indices.dump());
    json j = tiny_bamba(6);
    if (c.absent) j.erase("attn_layer_indices");
    else j["attn_layer_indices"] = c.indices;
    const ModelConfig cfg = ModelConfig::from_json(j, "b.json");
    CHECK(mixers(cfg) == c.expect);
    CHECK(ffns(cfg) == "------");  // every Bamba layer has the dense MLP
  }
}

TEST_CASE("bamba attn_layer_indices errors") {
  struct Case {
    json indices;
    std::string needle;
  };
  const Case cases[] = {
      {{6}, "b.json: attn_layer_indices[0] = 6 is out of range [0, 6)"},
      {{1, 40}, "attn_layer_indices[1] = 40 is out of range [0, 6)"},
      {{-1}, "attn_layer_indices[0] = -1 is out of range [0, 6)"},
      {{2, 3, 2}, "b.json: attn_layer_indices lists layer 2 twice"},
      {{1, "x"}, "attn_layer_indices[1] must be an integer, got \"x\""},
      {3, "attn_layer_indices must be a list of layer indices or null, got 3"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.indices.dump());
    json j = tiny_bamba(6);
    j["attn_layer_indices"] = c.indices;
    CHECK_HAS_ALL(error_of(j, "b.json"), c.needle);
  }
}

TEST_CASE("mamba and mamba2: every layer the family's mixer, no FFN") {
  const ModelConfig m = ModelConfig::from_json(tiny_mamba(3), "m.json");
  CHECK(m.layout_string() == "M. M. M.");
  const ModelConfig m2 = ModelConfig::from_json(tiny_mamba2(2), "m2.json");
  CHECK(m2.layout_string() == "2. 2.");
  for (const LayerSpec& l : m2.layers) CHECK(l.ffn.d_ff == 0);
}

TEST_CASE("braid: mamba_version selects the SSM of non-attention layers") {
  json j = tiny_braid(4);
  j["attn_layer_period"] = 2;
  j["attn_layer_offset"] = 1;
  j["num_experts"] = 1;
  CHECK(ModelConfig::from_json(j, "x").layout_string() == "M- A- M- A-");  // default: Mamba1
  j["mamba_version"] = 2;
  j["mamba_n_heads"] = 4;
  const ModelConfig cfg = ModelConfig::from_json(j, "x");
  CHECK(cfg.layout_string() == "2- A- 2- A-");
  CHECK(cfg.layers[0].mamba2.n_heads == 4);
  CHECK(cfg.layers[0].mamba2.head_dim == 16);  // 2·32 / 4

  j["mamba_version"] = 3;
  CHECK_HAS_ALL(error_of(j, "x.json"), "x.json: mamba_version must be 1 or 2, got 3");
  json jamba = tiny_jamba(4);
  jamba["mamba_version"] = 2;
  CHECK_HAS_ALL(error_of(jamba, "x.json"), "mamba_version applies to model_type 'braid' only", "hint: use layer_mixers");
}

TEST_CASE("braid layer_mixers / layer_ffns override the family pattern on every model_type") {
  struct Case {
    json base;
    json mixers_list, ffns_list;  // null: key not set
    const char* expect;           // layout_string
  };
  json mamba_with_attn = tiny_mamba(3);
  mamba_with_attn["num_attention_heads"] = 4;
  mamba_with_attn["intermediate_size"] = 64;  // = int(expand · D), Mamba's own width
  json mamba2_with_mlp = tiny_mamba2(2);
  mamba2_with_mlp["intermediate_size"] = 40;
  const Case cases[] = {
      {tiny_braid(3), {"attention", "mamba", "mamba2"}, {"mlp", "moe", "none"}, "A- ME 2."},
      {tiny_braid(3), nullptr, {"none", "none", "moe"}, "M. M. ME"},
      {tiny_jamba(4), {"mamba2", "mamba2", "attention", "mamba"}, nullptr, "2- 2E A- ME"},
      {tiny_bamba(3), {"mamba", "attention", "mamba2"}, {"none", "mlp", "none"}, "M. A- 2."},
      {mamba_with_attn, {"mamba", "attention", "mamba"}, {"none", "mlp", "none"}, "M. A- M."},
      {mamba2_with_mlp, nullptr, {"mlp", "none"}, "2- 2."},
  };
  for (const Case& c : cases) {
    json j = c.base;
    if (!c.mixers_list.is_null()) j["layer_mixers"] = c.mixers_list;
    if (!c.ffns_list.is_null()) j["layer_ffns"] = c.ffns_list;
    CAPTURE(j.dump());
    const ModelConfig cfg = ModelConfig::from_json(j, "x.json");
    CHECK(cfg.layout_string() == c.expect);
    // Every layer's own spec is filled.
    for (const LayerSpec& l : cfg.layers) {
      if (l.mixer == MixerKind::attention) {
        CHECK(l.attn.n_heads == 4);
        CHECK(l.attn.head_dim == 8);
        CHECK(l.attn.n_kv_heads > 0);
      } else if (l.mixer == MixerKind::mamba) {
        CHECK(l.mamba.d_inner == 64);
        CHECK(l.mamba.d_state > 0);
        CHECK(l.mamba.d_conv == 4);
        CHECK(l.mamba.dt_rank == 2);  // ceil(32 / 16)
      } else {
        CHECK(l.mamba2.d_inner == 64);
        CHECK(l.mamba2.n_heads * l.mamba2.head_dim == 64);
      }
      if (l.ffn.kind != FfnKind::none) CHECK(l.ffn.d_ff > 0);
    }
  }
  // The braid Mamba1 keeps Jamba's inner norms; on other families they are off unless asked for.
  json b = tiny_bamba(2);
  b["layer_mixers"] = {"mamba", "mamba"};
  CHECK_FALSE(ModelConfig::from_json(b, "x").layers[0].mamba.inner_norms);
  b["mamba_inner_layernorms"] = true;
  CHECK(ModelConfig::from_json(b, "x").layers[0].mamba.inner_norms);
  json br = tiny_braid(1);
  br["layer_mixers"] = {"mamba"};
  CHECK(ModelConfig::from_json(br, "x").layers[0].mamba.inner_norms);
}

TEST_CASE("HF per-layer lists: layers_block_type and layer_types") {
  struct Case {
    json base;
    const char* key;
    json list;
    const char* expect;  // mixers
  };
  json jamba_no_pattern = tiny_jamba(4);  // no attn_layer_period/offset keys: the list decides
  json bamba_no_pattern = tiny_bamba(3);  // no attn_layer_indices key
  bamba_no_pattern.erase("attn_layer_indices");
  const Case cases[] = {
      {jamba_no_pattern, "layers_block_type", {"attention", "mamba", "mamba", "attention"}, "AMMA"},
      {jamba_no_pattern, "layer_types", {"full_attention", "linear_attention", "linear_attention", "linear_attention"}, "AMMM"},
      {bamba_no_pattern, "layer_types", {"linear_attention", "full_attention", "linear_attention"}, "2A2"},
      {bamba_no_pattern, "layers_block_type", {"mamba", "mamba", "attention"}, "22A"},
      {tiny_mamba(2), "layers_block_type", {"mamba", "mamba"}, "MM"},
  };
  for (const Case& c : cases) {
    json j = c.base;
    j[c.key] = c.list;
    CAPTURE(j.dump());
    CHECK(mixers(ModelConfig::from_json(j, "x.json")) == c.expect);
  }

  // An HF list that restates the family pattern must agree with it.
  json jamba = tiny_jamba(4);
  jamba["attn_layer_period"] = 4;
  jamba["attn_layer_offset"] = 1;
  jamba["layers_block_type"] = {"mamba", "attention", "mamba", "mamba"};
  CHECK(mixers(ModelConfig::from_json(jamba, "x")) == "MAMM");
  jamba["layers_block_type"] = {"attention", "mamba", "mamba", "mamba"};
  CHECK_HAS_ALL(error_of(jamba, "x.json"), "x.json: layers_block_type puts attention at {0}",
                "attn_layer_period/offset put it at {1}", "hint:");
  json bamba = tiny_bamba(3);
  bamba["attn_layer_indices"] = {1};
  bamba["layer_types"] = {"linear_attention", "linear_attention", "full_attention"};
  CHECK_HAS_ALL(error_of(bamba), "layer_types puts attention at {2} but attn_layer_indices puts it at {1}");
  json empty = tiny_bamba(2);  // attn_layer_indices: [] states "no attention" explicitly
  empty["layer_types"] = {"full_attention", "linear_attention"};
  CHECK_HAS_ALL(error_of(empty), "layer_types puts attention at {0} but attn_layer_indices puts it at {}");
  // braid's layer_mixers overrides without that check.
  bamba["layer_mixers"] = {"mamba2", "mamba2", "attention"};
  CHECK(mixers(ModelConfig::from_json(bamba, "x")) == "22A");
  // Two per-layer lists must agree with each other.
  bamba["layer_mixers"] = {"mamba2", "attention", "attention"};
  CHECK_HAS_ALL(error_of(bamba), "layer_types and layer_mixers disagree (attention at {2} vs {1, 2})");
}

TEST_CASE("per-layer lists: wrong lengths, wrong types and unknown names") {
  struct Case {
    json base;
    const char* key;
    json value;
    std::string needle;
  };
  const Case cases[] = {
      {tiny_braid(6), "layer_mixers", {"mamba", "mamba", "mamba", "mamba", "mamba"},
       "x.json: layer_mixers has 5 entries but num_hidden_layers is 6"},
      {tiny_braid(6), "layer_ffns", {"mlp", "mlp", "mlp", "mlp", "mlp", "mlp", "mlp"},
       "x.json: layer_ffns has 7 entries but num_hidden_layers is 6"},
      {tiny_jamba(2), "layers_block_type", {"mamba"}, "layers_block_type has 1 entries but num_hidden_layers is 2"},
      {tiny_bamba(2), "layer_types", json::array(), "layer_types has 0 entries but num_hidden_layers is 2"},
      {tiny_braid(3), "layer_mixers", {"mamba", "attention", "mamba3"},
       "x.json: layer_mixers[2] is 'mamba3'; expected one of attention, mamba, mamba2"},
      {tiny_braid(2), "layer_mixers", {"full_attention", "mamba"}, "layer_mixers[0] is 'full_attention'"},
      {tiny_braid(2), "layer_ffns", {"mlp", "dense"}, "x.json: layer_ffns[1] is 'dense'; expected one of mlp, moe, none"},
      {tiny_bamba(2), "layer_types", {"sliding_attention", "linear_attention"}, "layer_types[0] is 'sliding_attention'"},
      {tiny_braid(2), "layer_mixers", "mamba", "layer_mixers must be a list of strings, got \"mamba\""},
      {tiny_braid(2), "layer_ffns", {"mlp", 3}, "layer_ffns[1] must be a string, got 3"},
      {tiny_braid(2), "position_embedding", "alibi", "position_embedding 'alibi' is not one of none, rope, partial_rope"},
      {tiny_braid(2), "mamba2_norm_groups", "some", "mamba2_norm_groups 'some' is not one of all, per_group"},
      {tiny_braid(2), "mamba_inner_layernorms", "yes", "mamba_inner_layernorms must be true or false, got \"yes\""},
  };
  for (const Case& c : cases) {
    json j = c.base;
    j[c.key] = c.value;
    if (std::string(c.key) == "position_embedding") j["layer_mixers"] = {"attention", "mamba"};
    if (std::string(c.key) == "mamba2_norm_groups") j["mamba_version"] = 2;
    CAPTURE(j.dump());
    CHECK_HAS_ALL(error_of(j, "x.json"), c.needle);
  }
}

TEST_CASE("MoE layers need experts, and top-k within them") {
  json j = tiny_braid(2);
  j["layer_ffns"] = {"mlp", "moe"};
  j["num_experts"] = 1;
  CHECK_HAS_ALL(error_of(j, "x.json"), "x.json: layer_ffns[1] is moe but num_experts is 1", "hint:");
  json bamba = tiny_bamba(2);  // Bamba has no experts unless the file says so
  bamba["layer_ffns"] = {"moe", "mlp"};
  CHECK_HAS_ALL(error_of(bamba), "layer_ffns[0] is moe but num_experts is 0");
  bamba["num_experts"] = 3;
  bamba["num_experts_per_tok"] = 3;
  CHECK(ffns(ModelConfig::from_json(bamba, "x")) == "E-");

  json jamba = tiny_jamba(4);  // 4 experts, MoE at odd layers
  jamba["num_experts_per_tok"] = 5;
  CHECK_HAS_ALL(error_of(jamba, "x.json"), "x.json: num_experts_per_tok (5) must be <= num_experts (4)");
  jamba["num_experts_per_tok"] = 0;
  CHECK_HAS_ALL(error_of(jamba), "num_experts_per_tok must be positive, got 0");
  jamba["num_experts_per_tok"] = 7;
  jamba["num_experts"] = 1;  // no MoE layer: top-k is not consulted
  CHECK(ffns(ModelConfig::from_json(jamba, "x")) == "----");

  // num_local_experts is an alias of num_experts.
  json alias = tiny_jamba(2);
  alias.erase("num_experts");
  alias["num_local_experts"] = 6;
  const ModelConfig cfg = ModelConfig::from_json(alias, "x");
  CHECK(cfg.layers[1].ffn.kind == FfnKind::moe);
  CHECK(cfg.layers[1].ffn.n_experts == 6);
  alias["num_experts"] = 5;
  CHECK_HAS_ALL(error_of(alias), "num_experts (5) and num_local_experts (6) disagree");
  alias["num_experts"] = -1;
  alias.erase("num_local_experts");
  CHECK_HAS_ALL(error_of(alias), "num_experts must be non-negative, got -1");
}

TEST_CASE("layout_string: one mixer/FFN pair per layer") {
  json j = tiny_braid(5);
  j["layer_mixers"] = {"mamba", "mamba2", "attention", "mamba", "attention"};
  j["layer_ffns"] = {"mlp", "moe", "none", "none", "moe"};
  CHECK(ModelConfig::from_json(j, "x").layout_string() == "M- 2E A. M. AE");
}
