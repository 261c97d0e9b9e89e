// models/memory.h — the analytic size model of a configuration: parameters (total, and active
// per token when MoE layers use only k of X experts), weight bytes, KV-cache bytes at a
// context length, and recurrent-state bytes. Derived from the parameter table and the layer
// registry, so it always agrees with what is loaded and allocated.
#pragma once

#include <cstdint>

#include "models/config.h"

namespace braid {

struct MemoryModel {
  int64_t params_total = 0;    // every parameter once (a tied embedding counts once)
  int64_t params_active = 0;   // per token: MoE layers count k of their X experts
  int64_t weight_bytes = 0;    // params_total in the config's storage dtype
  int64_t kv_cache_bytes = 0;  // K and V of every attention layer, `context` tokens × `batch` rows
  int64_t ssm_state_bytes = 0; // conv + SSM state of every Mamba layer × `batch` rows
  int64_t context = 0, batch = 0;
  int64_t elem_bytes = 2;      // storage element size used for weights, KV and conv states
};

MemoryModel memory_model(const ModelConfig& cfg, int64_t context, int64_t batch);

}  // namespace braid
