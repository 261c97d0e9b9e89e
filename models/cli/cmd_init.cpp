// braid init --config CONFIG.json --out DIR [--seed S] [--dtype f32|bf16|f16]
// Writes a seeded, randomly initialised checkpoint of any config in HF layout
// (config.json + model.safetensors), loadable by braid and by transformers.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backends/cpu/cpu_backend.h"
#include "models/checkpoint.h"
#include "models/cli/cli.h"

namespace braid::cli {
namespace {

struct InitOptions {
  std::string config, out, dtype;
  uint64_t seed = 0;
};

void run_init(const InitOptions& o) {
  // A config.json path, or a directory holding one (as ModelConfig::from_file accepts).
  const std::string path = std::filesystem::is_directory(o.config) ? o.config + "/config.json" : o.config;
  if (!std::filesystem::is_regular_file(path)) fail(path, ": no such file or directory");
  std::ifstream f(path);
  if (!f) fail(path, ": cannot open for reading");
  std::stringstream text;
  text << f.rdbuf();
  const nlohmann::json raw = parse_config_text(text.str(), path);  // written back as given
  const ModelConfig cfg = ModelConfig::from_json(raw, path);      // validates, errors name the file
  DType dtype = cfg.dtype;
  if (!o.dtype.empty()) {
    const auto t = dtype_from_name(o.dtype);
    if (!t || !is_floating(*t)) fail("--dtype ", o.dtype, ": expected f32, bf16 or f16");
    dtype = *t;
  }
  CpuBackend be;
  HybridModel model(be, cfg);
  model.init_random(o.seed, raw.value("initializer_range", 0.02f));
  save_checkpoint(model, raw, o.out, dtype);
  std::printf("wrote %s (%s, %s, seed %llu)\n", o.out.c_str(), cfg.layout_string().c_str(), dtype_name(dtype),
              static_cast<unsigned long long>(o.seed));
}

}  // namespace

void add_init(CLI::App& app) {
  auto opts = std::make_shared<InitOptions>();
  CLI::App* sub = app.add_subcommand("init", "write a seeded random checkpoint from a config");
  sub->add_option("--config", opts->config, "config.json")->required();
  sub->add_option("-o,--out", opts->out, "output checkpoint directory")->required();
  sub->add_option("-s,--seed", opts->seed, "initialisation seed");
  sub->add_option("--dtype", opts->dtype, "storage dtype of the weights (default: the config's)");
  sub->callback([opts] { run_init(*opts); });
}

}  // namespace braid::cli
