// models/checkpoint.h — writing a model in HF layout: config.json + model.safetensors, with
// every parameter under its checkpoint name (experts unstacked, tied lm_head omitted), so
// braid and transformers both load it. Each file is written atomically (temp, fsync, rename).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "models/io/safetensors.h"
#include "models/model.h"

namespace braid {

// Writes every tensor of `params` under its checkpoint name (experts unstacked, a tied lm_head
// absent) into one safetensors file at `path`, converted to `dtype`; atomically.
// `prefix` is prepended to every name (optimizer state files: "exp_avg.").
void write_params(const ParamStore& params, const std::string& path, DType dtype,
                  const std::map<std::string, std::string>& metadata = {}, const std::string& prefix = "");
// Fills every parameter of `params` from the tensors `prefix + name` of one safetensors file;
// a missing, mis-shaped or non-float tensor is an error naming the file and the tensor.
void read_params(const SafetensorsFile& file, const std::string& prefix, ParamStore& params);

// Writes `config` (pretty-printed) and the parameters in `dtype` (f32, bf16 or f16) into `dir`,
// creating it if needed. Errors name the path.
void save_checkpoint(const HybridModel& model, const nlohmann::json& config, const std::string& dir, DType dtype);

}  // namespace braid
