// models/config.cpp — config.json → ModelConfig with its resolved per-layer plan (house style P7).
//
// This file is the only code that reads periods, offsets, index lists and per-layer lists. It reads
// config.json as transformers 5.17 writes it (hf-models-spec §2.1, §3.1, §4.1, §5.1) and the older
// forms (§7 item 16): "dtype" or "torch_dtype", "rope_parameters" or a top-level "rope_theta",
// {"__float__": "Infinity"} wrappers, and bare Infinity / NaN tokens (Python's json.dumps output,
// which is not JSON).
//
// Sections:
//   1. names                      (family_name, mixer_kind_name, ...)
//   2. text → json                (parse_config_text: bare Infinity → wrapper, parse errors)
//   3. typed key access           (Reader: integers, floats, bools, strings, with HF-style errors)
//   4. per-family key schemes     (which key holds d_state, expand, ... and its 5.17 default)
//   5. mixer and FFN specs        (AttentionSpec, MambaSpec, Mamba2Spec from the keys + validation)
//   6. the layer plan             (period/offset, index lists, the braid per-layer lists)
//   7. ModelConfig::from_json / from_file / layout_string
//
// Errors are braid::Error (StatusCode::invalid_argument unless said otherwise) with one line:
//   "<source>: <what is wrong, naming the key and its value>[ — hint: <remedy>]"
//
// Every spec is validated only where a layer uses it (a Jamba config whose every layer is
// attention is not rejected for its mamba_d_state); Jamba's period/offset checks always run,
// as in HF's JambaConfig.
#include "models/config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string_view>

namespace braid {

// ---------------------------------------------------------------------------------------------
// 1. Names
// ---------------------------------------------------------------------------------------------

const char* family_name(Family f) {
  switch (f) {
    case Family::jamba: return "jamba";
    case Family::bamba: return "bamba";
    case Family::mamba: return "mamba";
    case Family::mamba2: return "mamba2";
    case Family::braid: return "braid";
  }
  return "?";
}

const char* mixer_kind_name(MixerKind k) {
  switch (k) {
    case MixerKind::attention: return "attention";
    case MixerKind::mamba: return "mamba";
    case MixerKind::mamba2: return "mamba2";
  }
  return "?";
}

const char* ffn_kind_name(FfnKind k) {
  switch (k) {
    case FfnKind::none: return "none";
    case FfnKind::mlp: return "mlp";
    case FfnKind::moe: return "moe";
  }
  return "?";
}

const char* pos_emb_name(PosEmb p) {
  switch (p) {
    case PosEmb::none: return "none";
    case PosEmb::rope: return "rope";
    case PosEmb::partial_rope: return "partial_rope";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// 2. Text → json
// ---------------------------------------------------------------------------------------------

namespace {

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// True when `word` starts at text[i] as a whole token (not part of a longer identifier).
bool token_at(const std::string& text, size_t i, std::string_view word) {
  if (text.compare(i, word.size(), word) != 0) return false;
  if (i > 0 && is_ident_char(text[i - 1])) return false;
  const size_t end = i + word.size();
  return end >= text.size() || !is_ident_char(text[end]);
}

}  // namespace

// Python's json.dumps writes float('inf') as the bare token Infinity (and -Infinity, NaN), which
// transformers 4.x left in config.json (time_step_limit = [0.0, Infinity]). nlohmann rejects
// those, so they are rewritten, outside strings only, into the wrapper transformers 5.x writes:
//   [0.0, Infinity]  →  [0.0, {"__float__": "Infinity"}]
// Parser positions in error messages refer to the rewritten text (only lines holding such a
// token shift).
nlohmann::json parse_config_text(const std::string& text, const std::string& source) {
  std::string out;
  out.reserve(text.size() + 64);
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
    } else if (c == '-' && i + 1 < text.size() && token_at(text, i + 1, "Infinity")) {
      out += R"({"__float__": "-Infinity"})";
      i += 8;  // '-' + "Infinity" (9 chars), loop adds one
    } else if (token_at(text, i, "Infinity")) {
      out += R"({"__float__": "Infinity"})";
      i += 7;
    } else if (token_at(text, i, "NaN")) {
      out += R"({"__float__": "NaN"})";
      i += 2;
    } else {
      out += c;
    }
  }
  try {
    return nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e605
    throw Error(invalid_argument(source, ": not valid JSON: ", e.what()));
  }
}

namespace {

// ---------------------------------------------------------------------------------------------
// 3. Typed key access
// ---------------------------------------------------------------------------------------------

using nlohmann::json;

constexpr double kInf = std::numeric_limits<double>::infinity();

// A short rendering of a JSON value for messages: "abc" stays quoted, long values are cut.
std::string show(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// Reads keys of one config object. Absent keys take the caller's default; a JSON null counts as
// absent only for the keys HF itself allows to be null (the opt_* readers); elsewhere it is a
// type error, as it would fail inside transformers.
class Reader {
 public:
  Reader(const json& j, const std::string& source) : j_(j), source_(source) {}

  const std::string& source() const { return source_; }

  [[noreturn]] void error(const std::string& msg, const std::string& hint = {}) const {
    throw Error(invalid_argument(source_, ": ", msg, hint.empty() ? "" : " — hint: ", hint));
  }

  bool has(const char* key) const { return j_.contains(key); }
  bool has_value(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json* find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  // ---- value-level conversions (name is the key path used in messages) ----
  int64_t as_int(const json& v, const std::string& name) const {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
    }
    error(str(name, " must be an integer, got ", show(v)));
  }
  double as_float(const json& v, const std::string& name) const {
    if (v.is_number()) return v.get<double>();
    // transformers 5.x: {"__float__": "Infinity" | "-Infinity" | "NaN"} for non-finite floats
    if (v.is_object() && v.size() == 1 && v.contains("__float__") && v["__float__"].is_string()) {
      const std::string s = v["__float__"].get<std::string>();
      if (s == "Infinity" || s == "inf") return kInf;
      if (s == "-Infinity" || s == "-inf") return -kInf;
      if (s == "NaN" || s == "nan") return std::numeric_limits<double>::quiet_NaN();
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return d;
    }
    error(str(name, " must be a number, got ", show(v)));
  }
  bool as_bool(const json& v, const std::string& name) const {
    if (v.is_boolean()) return v.get<bool>();
    error(str(name, " must be true or false, got ", show(v)));
  }
  std::string as_string(const json& v, const std::string& name) const {
    if (v.is_string()) return v.get<std::string>();
    error(str(name, " must be a string, got ", show(v)));
  }

  // ---- key-level readers ----
  int64_t integer(const char* key, int64_t def) const {
    const json* v = find(key);
    return v ? as_int(*v, key) : def;
  }
  std::optional<int64_t> opt_integer(const char* key) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    return as_int(*v, key);
  }
  // A size that must be > 0.
  int64_t positive(const char* key, int64_t def) const {
    const int64_t x = integer(key, def);
    if (x <= 0) error(str(key, " must be positive, got ", x));
    return x;
  }
  double number(const char* key, double def) const {
    const json* v = find(key);
    return v ? as_float(*v, key) : def;
  }
  bool boolean(const char* key, bool def) const {
    const json* v = find(key);
    return v ? as_bool(*v, key) : def;
  }
  std::optional<std::string> opt_string(const char* key) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    return as_string(*v, key);
  }
  // An integer or the string "auto" (mamba_dt_rank, time_step_rank, mamba_d_head); nullopt = auto.
  std::optional<int64_t> int_or_auto(const char* key, bool absent_is_auto, int64_t def = 0) const {
    const json* v = find(key);
    if (!v) return absent_is_auto ? std::nullopt : std::optional<int64_t>(def);
    if (v->is_string() && v->get<std::string>() == "auto") return std::nullopt;
    if (v->is_number()) return as_int(*v, key);
    error(str(key, " must be an integer or \"auto\", got ", show(*v)));
  }
  // A token id: integer, null, or (as some configs write eos_token_id) a list whose first entry
  // is taken.
  std::optional<int64_t> token_id(const char* key, std::optional<int64_t> def) const {
    const json* v = find(key);
    if (!v) return def;
    if (v->is_null()) return std::nullopt;
    if (v->is_array()) {
      if (v->empty()) return std::nullopt;
      return as_int((*v)[0], str(key, "[0]"));
    }
    return as_int(*v, key);
  }
  // A list of strings, or nullopt when absent / null.
  std::optional<std::vector<std::string>> string_list(const char* key) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_array()) error(str(key, " must be a list of strings, got ", show(*v)));
    std::vector<std::string> out;
    for (size_t i = 0; i < v->size(); ++i) out.push_back(as_string((*v)[i], str(key, "[", i, "]")));
    return out;
  }

 private:
  const json& j_;
  const std::string& source_;
};

// ---------------------------------------------------------------------------------------------
// 4. Per-family key schemes
// ---------------------------------------------------------------------------------------------
//
// Two naming schemes exist for the SSM keys. Jamba, Bamba and braid use the "mamba_" prefix;
// Mamba and Mamba2 use the bare names. A family reads the keys of a mixer in its own scheme,
// including a mixer it does not natively have (a Mamba2 layer put into a Jamba config through
// "layer_mixers" reads mamba_n_heads, mamba_d_head, ...).
//
// Mamba1 keys            jamba / bamba / braid        mamba / mamba2
//   d_state  N           mamba_d_state                state_size
//   d_conv   K           mamba_d_conv                 conv_kernel
//   expand               mamba_expand                 expand
//   dt_rank  R           mamba_dt_rank ("auto")       time_step_rank ("auto")
//   conv bias            mamba_conv_bias (true)       use_conv_bias (true)
//   proj bias            mamba_proj_bias (false)      use_bias (false; true before transformers 5)
//
// Mamba2 keys            jamba / bamba / braid        mamba / mamba2
//   heads    H           mamba_n_heads                num_heads
//   head dim P           mamba_d_head ("auto")        head_dim
//   groups   G           mamba_n_groups               n_groups
//   chunk                mamba_chunk_size (256)       chunk_size (256)
//   (N, K, expand and biases as for Mamba1; time_step_limit in both)
//
// 5.17 defaults that differ per family (spec §2.1, §3.1, §4.1, §5.1):
//                 jamba    bamba    mamba    mamba2   braid (ours, = jamba unless noted)
//   vocab_size    65536    128000   50280    32768    65536
//   hidden_size   4096     4096     768      4096     4096
//   layers        32       32       32       64       32
//   eps key       rms_norm_eps     layer_norm_epsilon  rms_norm_eps
//   eps           1e-6     1e-5     1e-5     1e-5     1e-6
//   tie           false    false    TRUE     false    false
//   d_state       16       256      16       128      16
//   H × P         —        128 × auto  —     128 × 64  see below
//   G             —        1        —        8 (!)    1
//   pad/bos/eos   0/1/2    0/1/2    0/0/0    1/0/2    0/1/2
//
// Mamba2 heads where the family has no HF default (jamba, braid, and mamba with layer_mixers):
// P = 64 (mamba_ssm's headdim) and H = Di / P when neither is given; P = Di / H when only H is
// given; H = Di / P when only P is given. Bamba's and Mamba2's own defaults are HF's.

struct Scheme {
  const char* d_state;
  const char* d_conv;
  const char* expand;
  const char* dt_rank;
  const char* conv_bias;
  const char* proj_bias;
  const char* n_heads;
  const char* head_dim;
  const char* n_groups;
  const char* chunk;
};

constexpr Scheme kPrefixed = {"mamba_d_state", "mamba_d_conv",  "mamba_expand",   "mamba_dt_rank",
                              "mamba_conv_bias", "mamba_proj_bias", "mamba_n_heads", "mamba_d_head",
                              "mamba_n_groups",  "mamba_chunk_size"};
constexpr Scheme kBare = {"state_size", "conv_kernel", "expand",  "time_step_rank", "use_conv_bias",
                          "use_bias",   "num_heads",   "head_dim", "n_groups",      "chunk_size"};

struct FamilyDefaults {
  int64_t vocab_size, hidden_size, n_layers;
  const char* eps_key;
  double eps;
  bool tie;
  int64_t d_state;
  std::optional<int64_t> pad, bos, eos;
  std::optional<int64_t> max_positions;
  const Scheme* scheme;
};

FamilyDefaults family_defaults(Family f) {
  switch (f) {
    case Family::jamba:
      return {65536, 4096, 32, "rms_norm_eps", 1e-6, false, 16, 0, 1, 2, 262144, &kPrefixed};
    case Family::bamba:
      return {128000, 4096, 32, "rms_norm_eps", 1e-5, false, 256, 0, 1, 2, 262144, &kPrefixed};
    case Family::mamba:
      return {50280, 768, 32, "layer_norm_epsilon", 1e-5, true, 16, 0, 0, 0, std::nullopt, &kBare};
    case Family::mamba2:
      return {32768, 4096, 64, "layer_norm_epsilon", 1e-5, false, 128, 1, 0, 2, std::nullopt, &kBare};
    case Family::braid:
      break;
  }
  return {65536, 4096, 32, "rms_norm_eps", 1e-6, false, 16, 0, 1, 2, 262144, &kPrefixed};  // braid
}

std::optional<Family> family_from_name(const std::string& s) {
  for (Family f : {Family::jamba, Family::bamba, Family::mamba, Family::mamba2, Family::braid})
    if (s == family_name(f)) return f;
  return std::nullopt;
}

// Everything the spec builders need besides the reader.
struct Ctx {
  const Reader& r;
  Family family;
  FamilyDefaults def;
  int64_t D = 0;  // hidden_size
  int64_t L = 0;  // num_hidden_layers
  double eps = 0;
};

// Di = int(expand · D), as transformers computes it (expand may be fractional for Mamba2).
int64_t inner_dim(const Ctx& c, const char* expand_key) {
  const double expand = c.r.number(expand_key, 2.0);
  if (!(expand > 0)) c.r.error(str(expand_key, " must be positive, got ", expand));
  const int64_t di = static_cast<int64_t>(expand * static_cast<double>(c.D));
  if (di <= 0) c.r.error(str("int(", expand_key, " * hidden_size) = ", di, " must be positive"));
  return di;
}

// ---------------------------------------------------------------------------------------------
// 5. Mixer and FFN specs
// ---------------------------------------------------------------------------------------------

// Attention: num_attention_heads, num_key_value_heads (null → heads), head_dim (else D / heads),
// positional encoding. Mamba2 configs use "head_dim" for the SSM, so there attention's head dim is
// always D / heads.
AttentionSpec build_attention(const Ctx& c) {
  const Reader& r = c.r;
  AttentionSpec a;
  const bool hf_default = c.family == Family::jamba || c.family == Family::bamba || c.family == Family::braid;
  if (!hf_default && !r.has_value("num_attention_heads"))
    r.error(str("num_attention_heads is required: the layer list puts attention layers in a model_type '",
                family_name(c.family), "' config, which has no default for it"),
            "add num_attention_heads (and num_key_value_heads for GQA)");
  a.n_heads = r.positive("num_attention_heads", 32);
  a.n_kv_heads = r.opt_integer("num_key_value_heads").value_or(r.has("num_key_value_heads") || !hf_default ? a.n_heads : 8);
  if (a.n_kv_heads <= 0) r.error(str("num_key_value_heads must be positive, got ", a.n_kv_heads));
  if (a.n_heads % a.n_kv_heads != 0)
    r.error(str("num_attention_heads (", a.n_heads, ") must be divisible by num_key_value_heads (", a.n_kv_heads, ")"),
            "each key/value head serves num_attention_heads / num_key_value_heads query heads");
  const std::optional<int64_t> hd = c.family == Family::mamba2 ? std::nullopt : r.opt_integer("head_dim");
  if (hd) {
    if (*hd <= 0) r.error(str("head_dim must be positive, got ", *hd));
    a.head_dim = *hd;
  } else {
    if (c.D % a.n_heads != 0)
      r.error(str("hidden_size (", c.D, ") must be divisible by num_attention_heads (", a.n_heads, ")"),
              "change num_attention_heads, or set head_dim explicitly");
    a.head_dim = c.D / a.n_heads;
  }

  // Positional encoding: Jamba none, Bamba partial RoPE with the factor hard-coded to 0.5
  // (BambaConfig overwrites any value in the file), mamba/mamba2/braid none. "position_embedding"
  // overrides; only then is a Bamba config's partial_rotary_factor honoured.
  const std::optional<std::string> pe = r.opt_string("position_embedding");
  a.pos_emb = c.family == Family::bamba ? PosEmb::partial_rope : PosEmb::none;
  if (pe) {
    if (*pe == "none") a.pos_emb = PosEmb::none;
    else if (*pe == "rope") a.pos_emb = PosEmb::rope;
    else if (*pe == "partial_rope") a.pos_emb = PosEmb::partial_rope;
    else r.error(str("position_embedding '", *pe, "' is not one of none, rope, partial_rope"));
  }

  // rope_parameters (5.x) wins over the legacy top-level keys.
  const json* rp = r.find("rope_parameters");
  if (rp && !rp->is_null() && !rp->is_object()) r.error(str("rope_parameters must be an object, got ", show(*rp)));
  const bool has_rp = rp && rp->is_object();
  double theta = r.number("rope_theta", 10000.0);
  if (has_rp && rp->contains("rope_theta")) theta = r.as_float((*rp)["rope_theta"], "rope_parameters.rope_theta");
  if (!(theta > 0) || !std::isfinite(theta)) r.error(str("rope_theta must be a positive number, got ", theta));
  a.rope_theta = static_cast<float>(theta);

  double factor = 0.5;
  if (c.family != Family::bamba || pe) {
    if (r.has_value("partial_rotary_factor")) factor = r.number("partial_rotary_factor", 0.5);
    if (has_rp && rp->contains("partial_rotary_factor") && !(*rp)["partial_rotary_factor"].is_null())
      factor = r.as_float((*rp)["partial_rotary_factor"], "rope_parameters.partial_rotary_factor");
  }

  if (a.pos_emb != PosEmb::none) {
    // Only plain RoPE is implemented: reject scaled variants rather than run them unscaled.
    std::string rope_type = "default";
    const json* rs = r.find("rope_scaling");
    if (rs && rs->is_object()) {
      if (rs->contains("rope_type")) rope_type = r.as_string((*rs)["rope_type"], "rope_scaling.rope_type");
      else if (rs->contains("type")) rope_type = r.as_string((*rs)["type"], "rope_scaling.type");
    }
    if (has_rp && rp->contains("rope_type")) rope_type = r.as_string((*rp)["rope_type"], "rope_parameters.rope_type");
    if (rope_type != "default")
      r.error(str("rope_type '", rope_type, "' is not supported; supported: default"),
              "braid implements unscaled RoPE only");
    if (a.pos_emb == PosEmb::rope) {
      a.rot_dim = a.head_dim;
    } else {
      if (!(factor > 0.0 && factor <= 1.0))
        r.error(str("partial_rotary_factor must be in (0, 1], got ", factor));
      a.rot_dim = static_cast<int64_t>(static_cast<double>(a.head_dim) * factor);
    }
    if (a.rot_dim <= 0 || a.rot_dim % 2 != 0)
      r.error(str("rotary dimension ", a.rot_dim, " (head_dim ", a.head_dim, ", ", pos_emb_name(a.pos_emb),
                  ") must be positive and even"),
              "RoPE rotates pairs of dimensions; change head_dim or partial_rotary_factor");
  }
  // Bamba reads attention_bias (PreTrainedConfig keeps it from the file); Jamba's attention has
  // no biases whatever the file says. braid and the Mamba families read it too.
  a.bias = c.family == Family::jamba ? false : r.boolean("attention_bias", false);
  return a;
}

MambaSpec build_mamba(const Ctx& c) {
  const Reader& r = c.r;
  const Scheme& k = *c.def.scheme;
  MambaSpec m;
  m.d_inner = inner_dim(c, k.expand);
  if (c.family == Family::mamba && r.has_value("intermediate_size")) {
    const int64_t i = r.integer("intermediate_size", m.d_inner);
    if (i != m.d_inner)
      r.error(str("intermediate_size (", i, ") != int(expand * hidden_size) (", m.d_inner, ")"),
              "transformers derives intermediate_size from expand; fix or remove it");
  }
  m.d_state = r.positive(k.d_state, c.def.d_state);
  m.d_conv = r.positive(k.d_conv, 4);
  // R = "auto" → ceil(D / 16)
  m.dt_rank = r.int_or_auto(k.dt_rank, true).value_or((c.D + 15) / 16);
  if (m.dt_rank <= 0) r.error(str(k.dt_rank, " must be positive, got ", m.dt_rank));
  m.conv_bias = r.boolean(k.conv_bias, true);
  m.proj_bias = r.boolean(k.proj_bias, false);
  // Jamba (and braid, which keeps Jamba's mixer) normalises dt, B and C inside the mixer.
  m.inner_norms = r.boolean("mamba_inner_layernorms", c.family == Family::jamba || c.family == Family::braid);
  return m;
}

Mamba2Spec build_mamba2(const Ctx& c) {
  const Reader& r = c.r;
  const Scheme& k = *c.def.scheme;
  Mamba2Spec m;
  const int64_t di = inner_dim(c, k.expand);
  // The product is named as each family's own message names it.
  const bool heads_first = c.def.scheme == &kBare;
  const std::string product = heads_first ? str(k.n_heads, " * ", k.head_dim, " != ", k.expand, " * hidden_size")
                                          : str(k.head_dim, " * ", k.n_heads, " != ", k.expand, " * hidden_size");
  if (c.family == Family::mamba2) {
    // HF: num_heads 128, head_dim 64, taken verbatim.
    m.n_heads = r.positive(k.n_heads, 128);
    m.head_dim = r.positive(k.head_dim, 64);
  } else if (c.family == Family::bamba) {
    // HF: mamba_n_heads 128; mamba_d_head "auto" → expand·D / n_heads.
    m.n_heads = r.positive(k.n_heads, 128);
    const std::optional<int64_t> p = r.int_or_auto(k.head_dim, true);
    if (!p && di % m.n_heads != 0)
      r.error(str(k.n_heads, " (", m.n_heads, ") must divide ", k.expand, " * hidden_size (", di, ")"),
              str("choose ", k.n_heads, " dividing ", di, " or set ", k.head_dim));
    m.head_dim = p.value_or(di / m.n_heads);
  } else {
    // jamba / braid / mamba: see the defaults table above (P = 64 unless derivable).
    const std::optional<int64_t> h = r.opt_integer(k.n_heads);
    const std::optional<int64_t> p = r.int_or_auto(k.head_dim, true);
    if (h && *h <= 0) r.error(str(k.n_heads, " must be positive, got ", *h));
    if (h) {
      if (!p && di % *h != 0)
        r.error(str(k.n_heads, " (", *h, ") must divide ", k.expand, " * hidden_size (", di, ")"),
                str("choose ", k.n_heads, " dividing ", di, " or set ", k.head_dim));
      m.n_heads = *h;
      m.head_dim = p.value_or(di / *h);
    } else {
      m.head_dim = p.value_or(64);
      if (m.head_dim <= 0) r.error(str(k.head_dim, " must be positive, got ", m.head_dim));
      if (di % m.head_dim != 0)
        r.error(str(k.expand, " * hidden_size (", di, ") is not a multiple of ", k.head_dim, " (", m.head_dim, ")"),
                str("set ", k.n_heads, " and ", k.head_dim, " so that their product is ", di));
      m.n_heads = di / m.head_dim;
    }
  }
  if (m.head_dim <= 0) r.error(str(k.head_dim, " must be positive, got ", m.head_dim));
  if (m.head_dim * m.n_heads != di)
    r.error(str(product, " (", heads_first ? m.n_heads : m.head_dim, " * ", heads_first ? m.head_dim : m.n_heads, " = ",
                m.head_dim * m.n_heads, ", ", k.expand, " * hidden_size = ", di, ")"),
            str("the SSM width is split into ", k.n_heads, " heads of ", k.head_dim, " channels"));
  m.d_inner = di;
  m.n_groups = r.positive(k.n_groups, c.family == Family::mamba2 ? 8 : 1);
  if (m.n_heads % m.n_groups != 0)
    r.error(str(k.n_heads, " (", m.n_heads, ") must be divisible by ", k.n_groups, " (", m.n_groups, ")"),
            "each B/C group is shared by n_heads / n_groups heads");
  m.d_state = r.positive(k.d_state, c.def.d_state);
  m.d_conv = r.positive(k.d_conv, 4);
  m.chunk_size = r.positive(k.chunk, 256);
  m.conv_bias = r.boolean(k.conv_bias, true);
  m.proj_bias = r.boolean(k.proj_bias, false);

  const std::optional<std::string> ng = r.opt_string("mamba2_norm_groups");
  if (ng && *ng != "all" && *ng != "per_group")
    r.error(str("mamba2_norm_groups '", *ng, "' is not one of all, per_group"),
            "\"all\" normalises over all d_inner channels (transformers), \"per_group\" per group (mamba_ssm)");
  m.norm_per_group = ng && *ng == "per_group";

  // time_step_limit: [min, max], null → (0, inf). 5.x writes inf as {"__float__": "Infinity"}.
  double lo = 0.0, hi = kInf;
  if (const json* tl = r.find("time_step_limit"); tl && !tl->is_null()) {
    if (!tl->is_array() || tl->size() != 2)
      r.error(str("time_step_limit must be a list [min, max], got ", show(*tl)));
    lo = r.as_float((*tl)[0], "time_step_limit[0]");
    hi = r.as_float((*tl)[1], "time_step_limit[1]");
    if (std::isnan(lo) || std::isnan(hi) || lo > hi || lo < 0)
      r.error(str("time_step_limit [", lo, ", ", hi, "] must satisfy 0 <= min <= max"));
  }
  m.dt_min = static_cast<float>(lo);
  m.dt_max = static_cast<float>(hi);
  return m;
}

// ---------------------------------------------------------------------------------------------
// 6. The layer plan
// ---------------------------------------------------------------------------------------------

// Jamba's rule (HF JambaConfig.layers_block_type / layers_num_experts):
//   attention at layer il  iff  il % attn_layer_period   == attn_layer_offset
//   MoE       at layer il  iff  il % expert_layer_period == expert_layer_offset  (and num_experts > 1)
// with 0 <= offset < period; an offset >= period would never match, so HF rejects it.
//
//   il:                     0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
//   attn  period 8 offset 4 M M M M A M M M M M M  M  A  M  M  M    (Jamba-v0.1: A at 4, 12, 20, 28)
//   attn  period 8 offset 0 A M M M M M M M A M M  M  M  M  M  M
//   attn  period 8 offset 7 M M M M M M M A M M M  M  M  M  M  A
//   attn  period 1 offset 0 A A A A A A A A A A A  A  A  A  A  A    (all attention)
//   experts period 2 off. 1 - E - E - E - E - E -  E  -  E  -  E    (Jamba-v0.1: MoE at odd il)
//   period 40 offset 20, L = 16: no layer matches → no attention at all.
void check_period(const Reader& r, const char* what, int64_t period, int64_t offset) {
  const std::string p = str(what, "_layer_period"), o = str(what, "_layer_offset");
  if (period <= 0) r.error(str(p, " must be positive, got ", period), str("layer il is ", what, " when il % period == offset"));
  if (offset < 0) r.error(str(o, " must be non-negative, got ", offset));
  if (offset >= period)
    r.error(str(o, " (", offset, ") must be < ", p, " (", period, ")"), "HF requires offset < period");
}

struct Pattern {
  std::vector<MixerKind> mixers;
  std::vector<FfnKind> ffns;
};

// Parses one per-layer mixer list. `family_ssm` is what "mamba"/"linear_attention" mean in HF's
// lists; in braid's layer_mixers, "mamba" is always Mamba1.
std::vector<MixerKind> mixer_list(const Reader& r, const char* key, const std::vector<std::string>& names, int64_t L,
                                  bool hf_list, MixerKind family_ssm) {
  if (static_cast<int64_t>(names.size()) != L)
    r.error(str(key, " has ", names.size(), " entries but num_hidden_layers is ", L), "give exactly one entry per layer");
  std::vector<MixerKind> out;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n == "attention" || (hf_list && n == "full_attention")) out.push_back(MixerKind::attention);
    else if (n == "mamba") out.push_back(hf_list ? family_ssm : MixerKind::mamba);
    else if (hf_list && n == "linear_attention") out.push_back(family_ssm);
    else if (n == "mamba2") out.push_back(MixerKind::mamba2);
    else
      r.error(str(key, "[", i, "] is '", n, "'; expected one of ",
                  hf_list ? "attention, full_attention, mamba, linear_attention, mamba2" : "attention, mamba, mamba2"));
  }
  return out;
}

std::string attention_set(const std::vector<MixerKind>& m) {
  std::string s = "{";
  for (size_t i = 0; i < m.size(); ++i)
    if (m[i] == MixerKind::attention) s += (s.size() > 1 ? ", " : "") + std::to_string(i);
  return s + "}";
}

Pattern resolve_pattern(const Ctx& c, int64_t n_experts) {
  const Reader& r = c.r;
  const int64_t L = c.L;
  Pattern p;
  p.mixers.assign(static_cast<size_t>(L), MixerKind::mamba);
  p.ffns.assign(static_cast<size_t>(L), FfnKind::none);

  // The SSM of non-attention layers.
  MixerKind ssm = MixerKind::mamba;
  if (c.family == Family::bamba || c.family == Family::mamba2) ssm = MixerKind::mamba2;
  if (r.has("mamba_version")) {
    if (c.family != Family::braid)
      r.error(str("mamba_version applies to model_type 'braid' only (this is '", family_name(c.family), "')"),
              "use layer_mixers to choose the mixer of each layer");
    const int64_t v = r.integer("mamba_version", 1);
    if (v != 1 && v != 2) r.error(str("mamba_version must be 1 or 2, got ", v));
    ssm = v == 2 ? MixerKind::mamba2 : MixerKind::mamba;
  }

  // ---- family mixer pattern ----
  bool pattern_explicit = false;  // the file itself states the family pattern (checked against HF lists)
  if (c.family == Family::jamba || c.family == Family::braid) {
    const int64_t period = r.integer("attn_layer_period", 8), offset = r.integer("attn_layer_offset", 4);
    check_period(r, "attn", period, offset);
    for (int64_t il = 0; il < L; ++il) p.mixers[il] = il % period == offset ? MixerKind::attention : ssm;
    pattern_explicit = r.has("attn_layer_period") || r.has("attn_layer_offset");
  } else if (c.family == Family::bamba) {
    for (auto& m : p.mixers) m = ssm;
    if (const json* idx = r.find("attn_layer_indices"); idx && !idx->is_null()) {
      if (!idx->is_array()) r.error(str("attn_layer_indices must be a list of layer indices or null, got ", show(*idx)));
      std::set<int64_t> seen;
      for (size_t i = 0; i < idx->size(); ++i) {
        const int64_t il = r.as_int((*idx)[i], str("attn_layer_indices[", i, "]"));
        if (il < 0 || il >= L)
          r.error(str("attn_layer_indices[", i, "] = ", il, " is out of range [0, ", L, ")"),
                  str("layer indices count from 0; num_hidden_layers is ", L));
        if (!seen.insert(il).second) r.error(str("attn_layer_indices lists layer ", il, " twice"));
        p.mixers[il] = MixerKind::attention;
      }
      pattern_explicit = true;
    }
  } else {
    for (auto& m : p.mixers) m = ssm;
  }

  // ---- explicit per-layer mixer lists (override the family pattern) ----
  struct Given {
    const char* key;
    std::vector<MixerKind> mixers;
  };
  std::vector<Given> given;
  if (auto l = r.string_list("layers_block_type")) given.push_back({"layers_block_type", mixer_list(r, "layers_block_type", *l, L, true, ssm)});
  if (auto l = r.string_list("layer_types")) given.push_back({"layer_types", mixer_list(r, "layer_types", *l, L, true, ssm)});
  if (auto l = r.string_list("layer_mixers")) given.push_back({"layer_mixers", mixer_list(r, "layer_mixers", *l, L, false, ssm)});
  for (size_t i = 1; i < given.size(); ++i)
    if (given[i].mixers != given[0].mixers)
      r.error(str(given[0].key, " and ", given[i].key, " disagree (attention at ", attention_set(given[0].mixers), " vs ",
                  attention_set(given[i].mixers), ")"),
              "keep one per-layer list");
  if (!given.empty()) {
    // HF's own lists restate the family pattern; a mismatch means one of them was edited.
    const bool hf_only = std::string(given.back().key) != "layer_mixers";
    if (hf_only && pattern_explicit) {
      std::vector<bool> a(L), b(L);
      for (int64_t il = 0; il < L; ++il) {
        a[il] = given[0].mixers[il] == MixerKind::attention;
        b[il] = p.mixers[il] == MixerKind::attention;
      }
      if (a != b)
        r.error(str(given[0].key, " puts attention at ", attention_set(given[0].mixers), " but ",
                    c.family == Family::bamba ? "attn_layer_indices puts" : "attn_layer_period/offset put", " it at ",
                    attention_set(p.mixers)),
                "remove one of them or make them agree");
    }
    p.mixers = given.back().mixers;
  }

  // ---- family FFN pattern ----
  if (c.family == Family::jamba || c.family == Family::braid) {
    const int64_t period = r.integer("expert_layer_period", 2), offset = r.integer("expert_layer_offset", 1);
    check_period(r, "expert", period, offset);
    for (int64_t il = 0; il < L; ++il)
      p.ffns[il] = n_experts > 1 && il % period == offset ? FfnKind::moe : FfnKind::mlp;
  } else if (c.family == Family::bamba) {
    for (auto& f : p.ffns) f = FfnKind::mlp;
  }

  // ---- braid's layer_ffns (overrides) ----
  if (auto l = r.string_list("layer_ffns")) {
    if (static_cast<int64_t>(l->size()) != L)
      r.error(str("layer_ffns has ", l->size(), " entries but num_hidden_layers is ", L), "give exactly one entry per layer");
    for (size_t i = 0; i < l->size(); ++i) {
      const std::string& n = (*l)[i];
      if (n == "mlp") p.ffns[i] = FfnKind::mlp;
      else if (n == "moe") p.ffns[i] = FfnKind::moe;
      else if (n == "none") p.ffns[i] = FfnKind::none;
      else r.error(str("layer_ffns[", i, "] is '", n, "'; expected one of mlp, moe, none"));
      if (p.ffns[i] == FfnKind::moe && n_experts < 2)
        r.error(str("layer_ffns[", i, "] is moe but num_experts is ", n_experts),
                "a MoE layer needs num_experts >= 2 (set num_experts and num_experts_per_tok)");
    }
  }
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 7. ModelConfig
// ---------------------------------------------------------------------------------------------

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(invalid_argument(source, ": config must be a JSON object, got ", show(j)));
  const Reader r(j, source);
  const char* supported = "supported: jamba, bamba, mamba, mamba2, braid";
  if (!r.has_value("model_type")) r.error(str("missing model_type; ", supported));
  const std::string model_type = r.as_string(j["model_type"], "model_type");
  const std::optional<Family> family = family_from_name(model_type);
  if (!family) r.error(str("unknown model_type '", model_type, "'; ", supported));

  ModelConfig cfg;
  cfg.family = *family;
  cfg.model_type = model_type;
  const FamilyDefaults def = family_defaults(cfg.family);
  cfg.vocab_size = r.positive("vocab_size", def.vocab_size);
  cfg.hidden_size = r.positive("hidden_size", def.hidden_size);
  cfg.n_layers = r.positive("num_hidden_layers", def.n_layers);

  const double eps = r.number(def.eps_key, def.eps);
  if (!(eps > 0) || !std::isfinite(eps)) r.error(str(def.eps_key, " must be a positive number, got ", eps));
  cfg.norm_eps = static_cast<float>(eps);
  cfg.tie_embeddings = r.boolean("tie_word_embeddings", def.tie);

  // dtype (5.x) or torch_dtype (4.x); absent or null → bf16.
  const char* dtype_key = r.has_value("dtype") ? "dtype" : "torch_dtype";
  if (const auto dt = r.opt_string(dtype_key)) {
    if (*dt == "float32") cfg.dtype = DType::f32;
    else if (*dt == "bfloat16") cfg.dtype = DType::bf16;
    else if (*dt == "float16") cfg.dtype = DType::f16;
    else r.error(str(dtype_key, " '", *dt, "' is not supported; supported: float32, bfloat16, float16"));
  }

  cfg.pad_token_id = r.token_id("pad_token_id", def.pad);
  cfg.bos_token_id = r.token_id("bos_token_id", def.bos);
  cfg.eos_token_id = r.token_id("eos_token_id", def.eos);
  cfg.max_position_embeddings = r.has("max_position_embeddings") ? r.opt_integer("max_position_embeddings") : def.max_positions;

  if (const auto act = r.opt_string("hidden_act"); act && *act != "silu")
    r.error(str("hidden_act '", *act, "' is not supported; supported: silu"));
  if (r.boolean("mlp_bias", false))
    r.error("mlp_bias true is not supported", "braid's MLP and experts have no biases, as in Jamba and Bamba checkpoints");

  // Experts: num_experts, alias num_local_experts (must agree when both are given).
  const int64_t default_experts = cfg.family == Family::jamba || cfg.family == Family::braid ? 16 : 0;
  int64_t n_experts = r.integer("num_experts", default_experts);
  if (r.has("num_local_experts")) {
    const int64_t alias = r.integer("num_local_experts", 0);
    if (r.has("num_experts") && alias != n_experts)
      r.error(str("num_experts (", n_experts, ") and num_local_experts (", alias, ") disagree"), "give only one of them");
    n_experts = alias;
  }
  if (n_experts < 0) r.error(str("num_experts must be non-negative, got ", n_experts));

  Ctx c{r, cfg.family, def, cfg.hidden_size, cfg.n_layers, eps};
  const Pattern pat = resolve_pattern(c, n_experts);

  bool any_attn = false, any_mamba = false, any_mamba2 = false, any_mlp = false, any_moe = false;
  for (MixerKind m : pat.mixers) {
    any_attn |= m == MixerKind::attention;
    any_mamba |= m == MixerKind::mamba;
    any_mamba2 |= m == MixerKind::mamba2;
  }
  for (FfnKind f : pat.ffns) {
    any_mlp |= f == FfnKind::mlp;
    any_moe |= f == FfnKind::moe;
  }

  AttentionSpec attn;
  MambaSpec mamba;
  Mamba2Spec mamba2;
  if (any_attn) attn = build_attention(c);
  if (any_mamba || cfg.family == Family::mamba) mamba = build_mamba(c);  // Mamba's intermediate_size check always runs
  if (any_mamba2) mamba2 = build_mamba2(c);

  // FFN width F: intermediate_size. Mamba's intermediate_size is its mixer width int(expand·D),
  // so an MLP put into a Mamba config through layer_ffns gets that width; Mamba2 has no default.
  FfnSpec mlp, moe;
  if (any_mlp || any_moe) {
    int64_t f_default = 14336;
    if (cfg.family == Family::mamba) f_default = static_cast<int64_t>(r.number("expand", 2.0) * static_cast<double>(cfg.hidden_size));
    if (cfg.family == Family::mamba2 && !r.has_value("intermediate_size"))
      r.error("intermediate_size is required: layer_ffns puts MLP/MoE layers in a model_type 'mamba2' config",
              "add intermediate_size (the FFN width)");
    const int64_t F = r.positive("intermediate_size", f_default);
    mlp = {FfnKind::mlp, F, 0, 0};
    if (any_moe) {
      const int64_t k = r.integer("num_experts_per_tok", 2);
      if (k <= 0) r.error(str("num_experts_per_tok must be positive, got ", k));
      if (k > n_experts)
        r.error(str("num_experts_per_tok (", k, ") must be <= num_experts (", n_experts, ")"),
                "top-k routing picks num_experts_per_tok of num_experts experts");
      moe = {FfnKind::moe, F, n_experts, k};
    }
  }

  cfg.layers.resize(static_cast<size_t>(cfg.n_layers));
  for (int64_t il = 0; il < cfg.n_layers; ++il) {
    LayerSpec& l = cfg.layers[il];
    l.mixer = pat.mixers[il];
    if (l.mixer == MixerKind::attention) l.attn = attn;
    if (l.mixer == MixerKind::mamba) l.mamba = mamba;
    if (l.mixer == MixerKind::mamba2) l.mamba2 = mamba2;
    switch (pat.ffns[il]) {
      case FfnKind::none: l.ffn = FfnSpec{}; break;
      case FfnKind::mlp: l.ffn = mlp; break;
      case FfnKind::moe: l.ffn = moe; break;
    }
  }
  return cfg;
}

nlohmann::json read_config_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path file = path;
  if (!fs::exists(file, ec)) throw Error(not_found(path, ": no such file or directory"));
  if (fs::is_directory(file, ec)) {
    file /= "config.json";
    if (!fs::exists(file, ec))
      throw Error(not_found(path, ": directory has no config.json"));
  }
  const std::string source = file.string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(io_error(source, ": cannot open for reading"));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(io_error(source, ": read failed"));
  return parse_config_text(text.str(), source);
}

ModelConfig ModelConfig::from_file(const std::string& path) {
  const bool dir = std::filesystem::is_directory(path);
  return from_json(read_config_file(path), dir ? path + "/config.json" : path);
}

// One pair per layer, separated by spaces: mixer symbol then FFN symbol.
//   mixer: A attention, M mamba, 2 mamba2      ffn: - mlp, E moe, . none
// Jamba-v0.1 starts "M- ME M- ME A- ME M- ME ..."; Mamba-130m is "M. M. ...".
std::string ModelConfig::layout_string() const {
  std::string s;
  for (const LayerSpec& l : layers) {
    if (!s.empty()) s += ' ';
    s += l.mixer == MixerKind::attention ? 'A' : l.mixer == MixerKind::mamba ? 'M' : '2';
    s += l.ffn.kind == FfnKind::mlp ? '-' : l.ffn.kind == FfnKind::moe ? 'E' : '.';
  }
  return s;
}

}  // namespace braid
