// models/ablate/grid.h — an ablation grid: a base config × axes, expanded once into arms.
//
// grid.json (ablations/<name>/grid.json; paths inside are relative to the grid file):
//   {
//     "name": "a3-mqar",
//     "task": "train" | "memory" | "decode",
//     "base_config": "../../models/configs/ablation-1to7.json",   // optional
//     "base":  { config.json keys, merged over base_config },
//     "train": { TrainRecipe keys (models/train/recipe.h) },           // task "train"
//     "evals": [ {"name": "len1024", "seq_len": 1024, "data": SPEC, "batches": 4} ],
//     "probes": [ {"kind": "icl_format", ...} ]                        // models/ablate/icl_probe.h
//     "memory": { "contexts": [262144], "batch": 1, "dtype": "bf16", "measure_context": 8192 },
//     "decode": { "contexts": [1024, 4096], "batches": [1, 8], "n_gen": 32, "reps": 2, "dtype": "bf16" },
//     "axes": [ {"name": AXIS, "values": [v, ...]}, ... ],
//     "seeds": 1,
//     "scales": { "cpu": OVERLAY, "gpu": OVERLAY }
//   }
// An OVERLAY merges "base", "train", "memory" and "decode" (JSON merge patch), replaces
// "evals", "probes" and "seeds", and replaces the values of the axes it names:
// "axes": {"width": [64]}. Arms are the cartesian product of the axes, first axis outermost.
//
// Axes (a value may always be an object {"label": L, "config": PATCH, "train": PATCH}):
//   layout         string over A (attention) and M (the SSM): one character per layer
//   mamba_version  1 | 2: the SSM the M layers use
//   moe            "none" | {"period": e, "offset": o, "experts": n, "top_k": k[, "width": F]}
//   ffn            "mlp" | "none": the FFN of the layers that are not MoE
//   pe             "none" | "rope": the attention layers' positional encoding
//   mamba_norm     true | false: Jamba's dt/B/C RMSNorms inside Mamba1
//   d_state        N of every SSM layer
//   width          D: hidden_size, with intermediate_size scaled by D / base D and the
//                  attention heads keeping the base head_dim
//   lr             peak learning rate
//   config.KEY, train.KEY   any config.json key or recipe key, set verbatim
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/train/recipe.h"

namespace braid {

struct Arm {
  std::string label;          // "layout=MAMM width=64"
  nlohmann::json axes;        // {"layout": "MAMM", "width": "64"}: the label of each axis value
  nlohmann::json config;      // the complete config.json of the arm
  TrainRecipe recipe;         // task "train"; seed set per run
};

struct Grid {
  std::string name, task, path, scale;
  int64_t seeds = 1;
  nlohmann::json evals = nlohmann::json::array(), probes = nlohmann::json::array();
  nlohmann::json memory = nlohmann::json::object(), decode = nlohmann::json::object();
  std::string base_dir;       // the grid file's directory (probes resolve paths against it)
  std::vector<Arm> arms;
};

// Reads `path`, applies the `scale` overlay ("" for none; a scale the grid lacks is an
// error) and expands the arms. Every arm's config is parsed here, so a bad arm fails before
// anything runs; errors name the grid file, the axis and the value.
Grid load_grid(const std::string& path, const std::string& scale);

// A short stable hash (16 hex digits, FNV-1a 64) of a JSON value's canonical dump.
std::string json_hash(const nlohmann::json& j);

}  // namespace braid
