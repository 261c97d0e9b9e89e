// Fuzz target: config.json text into the resolved layer plan, then everything computed from
// the plan alone (layout string, parameter table, memory model).
#include "core/status.h"
#include "models/config.h"
#include "models/memory.h"
#include "models/params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nlohmann::json j = braid::parse_config_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    const braid::ModelConfig cfg = braid::ModelConfig::from_json(j, "fuzz.json");
    if (cfg.layout_string().empty() && !cfg.layers.empty()) std::abort();
    // Sizes of a plausible model only: a fuzzed config may ask for 2^60 parameters.
    if (cfg.hidden_size <= 4096 && cfg.vocab_size <= 1 << 20 && cfg.n_layers <= 128) {
      const braid::MemoryModel m = braid::memory_model(cfg, 1024, 1);
      if (m.params_total < 0 || m.params_active > m.params_total) std::abort();
    }
  } catch (const braid::Error&) {
  }
  return 0;
}
