// models/config.h — a model's configuration, resolved once from config.json into a per-layer
// plan (house style P7). This header and layer_plan.cpp are the only code that reads periods,
// offsets, index lists or per-layer lists; everything downstream asks `plan.layers[il]`.
//
// Accepted inputs (hf-models-spec §2–5, transformers 5.17 as written by save_pretrained):
//   model_type "jamba"  attn_layer_period/offset, expert_layer_period/offset (offset < period)
//   model_type "bamba"  attn_layer_indices (null → all mamba2)
//   model_type "mamba"  every layer a Mamba1 mixer, no FFN
//   model_type "mamba2" every layer a Mamba2 mixer, no FFN
//   model_type "braid"  Jamba naming, any layout through the braid keys below
// plus the braid layout keys, valid on every model_type (each overrides the family default):
//   "layer_mixers":  ["attention" | "mamba" | "mamba2", ...]       one per layer
//   "layer_ffns":    ["mlp" | "moe" | "none", ...]                 one per layer
//   "layers_block_type" / "layer_types": HF's explicit per-layer lists (attention|mamba,
//                    full_attention|linear_attention) are read as layer_mixers
//   "mamba_version": 1 | 2          which SSM the non-attention layers use (model_type braid)
//   "position_embedding": "none" | "rope" | "partial_rope"         attention positional encoding
//   "partial_rotary_factor", "rope_parameters" {"rope_theta"}, "rope_theta"
//   "mamba_inner_layernorms": bool  Jamba's dt/B/C RMSNorms inside Mamba1 (jamba default true)
//   "mamba2_norm_groups": "all" | "per_group"   gated norm over all Di channels (HF) or per
//                    group of Di/G channels (mamba_ssm)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "core/status.h"

namespace braid {

enum class Family { jamba, bamba, mamba, mamba2, braid };
enum class MixerKind { attention, mamba, mamba2 };
enum class FfnKind { none, mlp, moe };
enum class PosEmb { none, rope, partial_rope };

const char* family_name(Family f);
const char* mixer_kind_name(MixerKind k);  // "attention", "mamba", "mamba2"
const char* ffn_kind_name(FfnKind k);      // "none", "mlp", "moe"
const char* pos_emb_name(PosEmb p);        // "none", "rope", "partial_rope"

struct AttentionSpec {
  int64_t n_heads = 0;     // Hq
  int64_t n_kv_heads = 0;  // Hkv
  int64_t head_dim = 0;    // P (config head_dim, else hidden_size / n_heads)
  PosEmb pos_emb = PosEmb::none;
  int64_t rot_dim = 0;     // r: head_dim for rope, int(head_dim · partial_rotary_factor) for partial
  float rope_theta = 10000.0f;
  bool bias = false;       // q/k/v/o biases (Bamba attention_bias)
};

struct MambaSpec {  // Mamba1 (Jamba's mamba layers and model_type mamba)
  int64_t d_inner = 0;   // Di
  int64_t d_state = 0;   // N
  int64_t d_conv = 0;    // K
  int64_t dt_rank = 0;   // R
  bool conv_bias = true;
  bool proj_bias = false;   // in_proj / out_proj bias
  bool inner_norms = false; // Jamba dt/B/C RMSNorms
};

struct Mamba2Spec {  // Mamba2 (Bamba's mamba layers and model_type mamba2)
  int64_t d_inner = 0;   // Di = H · P
  int64_t n_heads = 0;   // H
  int64_t head_dim = 0;  // P
  int64_t n_groups = 1;  // G
  int64_t d_state = 0;   // N
  int64_t d_conv = 0;    // K
  int64_t chunk_size = 256;
  bool conv_bias = true;
  bool proj_bias = false;
  bool norm_per_group = false;  // false: HF (all Di channels); true: mamba_ssm (Di/G per group)
  float dt_min = 0.0f;          // time_step_limit
  float dt_max = 0.0f;          // +inf when unlimited
  int64_t conv_dim() const { return d_inner + 2 * n_groups * d_state; }
  int64_t in_proj_dim() const { return d_inner + conv_dim() + n_heads; }
};

struct FfnSpec {
  FfnKind kind = FfnKind::none;
  int64_t d_ff = 0;       // F
  int64_t n_experts = 0;  // X (moe only)
  int64_t top_k = 0;      // k (moe only)
};

struct LayerSpec {
  MixerKind mixer = MixerKind::mamba;
  FfnSpec ffn;
  AttentionSpec attn;  // meaningful when mixer == attention
  MambaSpec mamba;     // meaningful when mixer == mamba
  Mamba2Spec mamba2;   // meaningful when mixer == mamba2
};

struct ModelConfig {
  Family family = Family::jamba;
  std::string model_type;
  int64_t vocab_size = 0;   // V
  int64_t hidden_size = 0;  // D
  int64_t n_layers = 0;     // L
  float norm_eps = 1e-6f;   // block norms, final norm, Mamba inner and gated norms
  bool tie_embeddings = false;
  // Storage dtype from "dtype" (5.x) or "torch_dtype" (4.x); bf16 when absent. The memory
  // model sizes KV caches and conv states in this dtype (16-bit unless the config says f32).
  DType dtype = DType::bf16;
  std::optional<int64_t> pad_token_id, bos_token_id, eos_token_id;
  std::optional<int64_t> max_position_embeddings;  // informational (describe's default context)
  std::vector<LayerSpec> layers;  // the resolved plan, one entry per layer

  // Parses config.json text. `source` names the file in error messages. Throws braid::Error
  // with HF-style messages (e.g. "attn_layer_offset (8) must be < attn_layer_period (8)").
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  static ModelConfig from_file(const std::string& path);  // a config.json path or a directory holding one

  // A compact layout string, one symbol pair per layer: mixer (A attention, M mamba,
  // 2 mamba2) then FFN (- mlp, E moe, . none); e.g. "M- ME A- ME".
  std::string layout_string() const;
};

// Parses config.json text, accepting the non-standard bare Infinity / -Infinity / NaN tokens
// that Python's json.dumps writes (transformers 4.x): outside strings they become the 5.x wrapper
// {"__float__": "Infinity"}, which from_json reads wherever a float is expected. Throws
// braid::Error "<source>: not valid JSON: <parser message>".
nlohmann::json parse_config_text(const std::string& text, const std::string& source);

// Reads a config.json (or DIR/config.json) through parse_config_text; an unreadable file is a
// braid::Error naming it.
nlohmann::json read_config_file(const std::string& path_or_dir);

}  // namespace braid
