// tests/models/config_testing.h — helpers shared by the config and layer-plan tests.
#pragma once

#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "models/config.h"

namespace braid::test {

using nlohmann::json;

// The message of the braid::Error that from_json throws, or "(no error)".
inline std::string error_of(const json& j, const std::string& source = "cfg.json") {
  try {
    (void)ModelConfig::from_json(j, source);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Checks that `msg` contains every needle, printing the message on failure.
#define CHECK_HAS_ALL(msg, ...)                                                 \
  do {                                                                          \
    const std::string m_ = (msg);                                               \
    for (const std::string& needle_ : std::initializer_list<std::string>{__VA_ARGS__}) \
      CHECK_MESSAGE(m_.find(needle_) != std::string::npos, "'" << needle_ << "' not in: " << m_); \
  } while (0)

// One symbol per layer: A attention, M mamba, 2 mamba2.
inline std::string mixers(const ModelConfig& c) {
  std::string s;
  for (const LayerSpec& l : c.layers)
    s += l.mixer == MixerKind::attention ? 'A' : l.mixer == MixerKind::mamba ? 'M' : '2';
  return s;
}

// One symbol per layer: - mlp, E moe, . none.
inline std::string ffns(const ModelConfig& c) {
  std::string s;
  for (const LayerSpec& l : c.layers) s += l.ffn.kind == FfnKind::mlp ? '-' : l.ffn.kind == FfnKind::moe ? 'E' : '.';
  return s;
}

// Small configs of each family, valid as they stand; tests edit one key at a time.
inline json tiny_jamba(int64_t layers = 8) {
  return {{"model_type", "jamba"},      {"vocab_size", 64},         {"hidden_size", 32},
          {"intermediate_size", 48},    {"num_hidden_layers", layers}, {"num_attention_heads", 4},
          {"num_key_value_heads", 2},   {"num_experts", 4},         {"num_experts_per_tok", 2},
          {"mamba_d_state", 8},         {"mamba_d_conv", 4},        {"mamba_expand", 2}};
}

inline json tiny_bamba(int64_t layers = 6) {
  return {{"model_type", "bamba"},   {"vocab_size", 64},  {"hidden_size", 32},       {"intermediate_size", 48},
          {"num_hidden_layers", layers}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"mamba_n_heads", 8},      {"mamba_n_groups", 2}, {"mamba_d_state", 16},   {"mamba_d_conv", 4},
          {"mamba_expand", 2},       {"attn_layer_indices", json::array()}};
}

inline json tiny_mamba(int64_t layers = 3) {
  return {{"model_type", "mamba"}, {"vocab_size", 64}, {"hidden_size", 32}, {"num_hidden_layers", layers},
          {"state_size", 8},       {"conv_kernel", 4}, {"expand", 2}};
}

inline json tiny_mamba2(int64_t layers = 2) {
  return {{"model_type", "mamba2"}, {"vocab_size", 64}, {"hidden_size", 32}, {"num_hidden_layers", layers},
          {"num_heads", 8},         {"head_dim", 8},    {"n_groups", 2},     {"state_size", 16},
          {"conv_kernel", 4},       {"expand", 2}};
}

inline json tiny_braid(int64_t layers = 6) {
  json j = tiny_jamba(layers);
  j["model_type"] = "braid";
  return j;
}

}  // namespace braid::test
