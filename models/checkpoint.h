// models/checkpoint.h — writing a model in HF layout: config.json + model.safetensors, with
// every parameter under its checkpoint name (experts unstacked, tied lm_head omitted), so
// braid and transformers both load it. Each file is written atomically (temp, fsync, rename).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/model.h"

namespace braid {

// Writes `config` (pretty-printed) and the parameters in `dtype` (f32, bf16 or f16) into `dir`,
// creating it if needed. Errors name the path.
void save_checkpoint(const HybridModel& model, const nlohmann::json& config, const std::string& dir, DType dtype);

}  // namespace braid
