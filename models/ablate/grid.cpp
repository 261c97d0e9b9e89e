#include "models/ablate/grid.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "core/status.h"
#include "models/config.h"

namespace braid {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::json;

// One arm while its axes are applied: the config and recipe patches, and the layout knobs
// that become per-layer lists once every axis has spoken.
struct ArmDraft {
  json config, train = json::object();
  std::optional<std::string> layout, ffn;
  std::optional<int64_t> mamba_version;
  std::optional<json> moe;  // "none" or {period, offset, experts, top_k}
};

std::string value_label(const json& v) {
  if (v.is_object() && v.contains("label")) return v["label"].get<std::string>();
  return v.is_string() ? v.get<std::string>() : v.dump();
}

int64_t int_key(const json& cfg, const char* key, const std::string& where) {
  if (!cfg.contains(key) || !cfg[key].is_number_integer()) fail(where, ": the base config has no integer '", key, "'");
  return cfg[key].get<int64_t>();
}

void apply_width(ArmDraft& a, int64_t D, const std::string& where) {
  json& c = a.config;
  const int64_t D0 = int_key(c, "hidden_size", where), F0 = int_key(c, "intermediate_size", where);
  c["hidden_size"] = D;
  c["intermediate_size"] = std::max<int64_t>(8, (F0 * D / D0 + 7) / 8 * 8);
  if (c.contains("num_attention_heads")) {
    const int64_t H0 = int_key(c, "num_attention_heads", where);
    const int64_t P = c.contains("head_dim") ? c["head_dim"].get<int64_t>() : D0 / H0;
    const int64_t H = std::max<int64_t>(1, D / P);
    int64_t kv = std::min<int64_t>(c.value("num_key_value_heads", H0), H);
    while (H % kv != 0) --kv;
    c["num_attention_heads"] = H;
    c["num_key_value_heads"] = kv;
    if (c.contains("head_dim")) c["head_dim"] = P;
  }
}

void apply_axis(ArmDraft& a, const std::string& axis, const json& v, const std::string& where) {
  if (v.is_object() && !(axis == "moe")) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it.key() != "label" && it.key() != "config" && it.key() != "train")
        fail(where, ": an object value takes label, config and train, not '", it.key(), "'");
    if (v.contains("config")) a.config.merge_patch(v["config"]);
    if (v.contains("train")) a.train.merge_patch(v["train"]);
    return;
  }
  auto need = [&](bool ok, const char* what) {
    if (!ok) fail(where, ": expected ", what, ", got ", v.dump());
  };
  if (axis == "layout") {
    need(v.is_string() && !v.get<std::string>().empty(), "a string over A and M");
    for (char ch : v.get<std::string>()) need(ch == 'A' || ch == 'M', "a string over A and M");
    a.layout = v.get<std::string>();
  } else if (axis == "mamba_version") {
    need(v.is_number_integer() && (v == 1 || v == 2), "1 or 2");
    a.mamba_version = v.get<int64_t>();
  } else if (axis == "moe") {
    need(v == "none" || (v.is_object() && v.contains("period") && v.contains("offset") && v.contains("experts") &&
                         v.contains("top_k")),
         "\"none\" or {period, offset, experts, top_k}");
    a.moe = v;
    if (v.is_object() && v.contains("config")) a.config.merge_patch(v["config"]);
  } else if (axis == "ffn") {
    need(v == "mlp" || v == "none", "\"mlp\" or \"none\"");
    a.ffn = v.get<std::string>();
  } else if (axis == "pe") {
    need(v == "none" || v == "rope", "\"none\" or \"rope\"");
    a.config["position_embedding"] = v;
  } else if (axis == "mamba_norm") {
    need(v.is_boolean(), "true or false");
    a.config["mamba_inner_layernorms"] = v;
  } else if (axis == "d_state") {
    need(v.is_number_integer() && v.get<int64_t>() > 0, "a positive integer");
    a.config["mamba_d_state"] = v;
  } else if (axis == "width") {
    need(v.is_number_integer() && v.get<int64_t>() > 0, "a positive integer");
    apply_width(a, v.get<int64_t>(), where);
  } else if (axis == "lr") {
    need(v.is_number() && v.get<double>() > 0, "a positive number");
    a.train["lr"] = v;
  } else if (axis.rfind("config.", 0) == 0) {
    a.config[axis.substr(7)] = v;
  } else if (axis.rfind("train.", 0) == 0) {
    a.train[axis.substr(6)] = v;
  } else {
    fail(where, ": unknown axis '", axis,
         "' (layout, mamba_version, moe, ffn, pe, mamba_norm, d_state, width, lr, config.KEY, train.KEY)");
  }
}

// Turns the layout knobs into num_hidden_layers, layer_mixers and layer_ffns.
void finalize_layout(ArmDraft& a) {
  json& c = a.config;
  if (!a.layout && !a.mamba_version && !a.moe && !a.ffn) return;
  std::vector<std::string> mixers;
  if (a.layout) {
    for (char ch : *a.layout) mixers.push_back(ch == 'A' ? "attention" : "mamba");
  } else if (c.contains("layer_mixers")) {
    mixers = c["layer_mixers"].get<std::vector<std::string>>();
  }
  const std::string ssm = a.mamba_version.value_or(1) == 2 ? "mamba2" : "mamba";
  if (mixers.empty()) {  // a period/offset config: only the SSM version changes
    if (a.mamba_version) c["mamba_version"] = *a.mamba_version;
  } else {
    for (std::string& m : mixers)
      if (m != "attention" && (a.mamba_version || a.layout)) m = ssm;
    c["num_hidden_layers"] = mixers.size();
    c["layer_mixers"] = mixers;
  }
  const int64_t L = c.value("num_hidden_layers", int64_t{0});
  std::string dense = a.ffn.value_or("mlp");
  if (!a.ffn && c.contains("layer_ffns"))
    for (const json& f : c["layer_ffns"])
      if (f != "moe") dense = f.get<std::string>();
  std::vector<std::string> ffns(static_cast<size_t>(L), dense);
  if (a.moe && *a.moe != "none") {
    const json& m = *a.moe;
    const int64_t period = m["period"].get<int64_t>(), offset = m["offset"].get<int64_t>();
    for (int64_t il = 0; il < L; ++il)
      if (il % period == offset) ffns[il] = "moe";
    c["num_experts"] = m["experts"];
    c["num_experts_per_tok"] = m["top_k"];
  } else if (!a.moe && !a.ffn && !a.layout && c.contains("layer_ffns")) {
    ffns = c["layer_ffns"].get<std::vector<std::string>>();
  }
  c["layer_ffns"] = ffns;
}

}  // namespace

std::string json_hash(const json& j) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : j.dump()) h = (h ^ ch) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Grid load_grid(const std::string& path, const std::string& scale) {
  json g = read_config_file(path);
  if (!g.is_object()) fail(path, ": a grid must be a JSON object");
  for (auto it = g.begin(); it != g.end(); ++it) {
    static const char* known[] = {"name",  "task",   "description", "base_config", "base",   "train", "evals",
                                  "probes", "memory", "decode",      "axes",        "seeds",  "scales"};
    if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return it.key() == k; }) ==
        std::end(known))
      fail(path, ": unknown grid key '", it.key(), "'");
  }
  Grid grid;
  grid.path = path;
  grid.scale = scale;
  grid.base_dir = fs::path(path).parent_path().string();
  if (grid.base_dir.empty()) grid.base_dir = ".";
  grid.name = g.value("name", fs::path(path).parent_path().filename().string());
  grid.task = g.value("task", "train");
  if (grid.task != "train" && grid.task != "memory" && grid.task != "decode")
    fail(path, ": task '", grid.task, "' is not one of train, memory, decode");

  // The scale overlay.
  json axes = g.value("axes", json::array());
  if (!scale.empty()) {
    if (!g.contains("scales") || !g["scales"].contains(scale))
      fail(path, ": no scale '", scale, "' (this grid has ", g.contains("scales") ? g["scales"].dump() : "none", ")");
    const json& o = g["scales"][scale];
    for (const char* key : {"base", "train", "memory", "decode"})
      if (o.contains(key)) {
        if (!g.contains(key)) g[key] = json::object();
        g[key].merge_patch(o[key]);
      }
    for (const char* key : {"evals", "probes", "seeds"})
      if (o.contains(key)) g[key] = o[key];
    if (o.contains("axes")) {
      for (auto it = o["axes"].begin(); it != o["axes"].end(); ++it) {
        bool found = false;
        for (json& ax : axes)
          if (ax.value("name", "") == it.key()) ax["values"] = it.value(), found = true;
        if (!found) fail(path, ": scale '", scale, "' sets values of axis '", it.key(), "', which the grid lacks");
      }
    }
  }
  grid.seeds = g.value("seeds", int64_t{1});
  grid.evals = g.value("evals", json::array());
  grid.probes = g.value("probes", json::array());
  grid.memory = g.value("memory", json::object());
  grid.decode = g.value("decode", json::object());

  json base = json::object();
  if (g.contains("base_config")) base = read_config_file((fs::path(grid.base_dir) / g["base_config"].get<std::string>()).string());
  if (g.contains("base")) base.merge_patch(g["base"]);
  const json train = g.value("train", json::object());

  // The cartesian product, first axis outermost.
  ArmDraft first;
  first.config = base;
  std::vector<ArmDraft> drafts{first};
  std::vector<std::vector<std::string>> labels{{}};
  for (const json& ax : axes) {
    const std::string name = ax.value("name", "");
    if (name.empty() || !ax.contains("values") || !ax["values"].is_array() || ax["values"].empty())
      fail(path, ": every axis needs a name and a non-empty values list (", ax.dump(), ")");
    std::vector<ArmDraft> next;
    std::vector<std::vector<std::string>> next_labels;
    for (size_t i = 0; i < drafts.size(); ++i)
      for (const json& v : ax["values"]) {
        ArmDraft a = drafts[i];
        apply_axis(a, name, v, path + ": axis '" + name + "'");
        next.push_back(std::move(a));
        next_labels.push_back(labels[i]);
        next_labels.back().push_back(name + "=" + value_label(v));
      }
    drafts = std::move(next);
    labels = std::move(next_labels);
  }
  for (size_t i = 0; i < drafts.size(); ++i) {
    ArmDraft& d = drafts[i];
    finalize_layout(d);
    Arm arm;
    arm.axes = json::object();
    for (const std::string& l : labels[i]) {
      arm.label += (arm.label.empty() ? "" : " ") + l;
      arm.axes[l.substr(0, l.find('='))] = l.substr(l.find('=') + 1);
    }
    if (arm.label.empty()) arm.label = "base";
    arm.config = d.config;
    const std::string where = path + " (arm " + arm.label + ")";
    ModelConfig::from_json(arm.config, where);  // a bad arm fails before anything runs
    if (grid.task == "train") {
      json t = train;
      t.merge_patch(d.train);
      arm.recipe.update_from(t, where);
      if (arm.recipe.data.empty() || arm.recipe.steps < 1) fail(where, ": the train settings need data and steps ≥ 1");
    }
    grid.arms.push_back(std::move(arm));
  }
  return grid;
}

}  // namespace braid
