// models/cache.h — the hybrid generation cache: a KV cache for attention layers and the conv
// and SSM states for Mamba layers (hf-models-spec §6.1), plus the tokens each row holds.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace braid {

struct LayerCache {
  Tensor k, v;  // attention: [B, S, Hkv, P]
  Tensor conv;  // mamba / mamba2: [B, K−1, C], the last K−1 conv inputs
  Tensor ssm;   // mamba: [B, Di, N]; mamba2: [B, H, P, N]; fp32
};

struct HybridCache {
  int64_t batch = 0;              // B
  int64_t capacity = 0;           // S: tokens per row the KV caches can hold
  std::vector<int32_t> seq_len;   // [B] host: tokens already in the cache per row
  Tensor seq_len_dev;             // [B] i32 on the backend, refreshed before each call
  std::vector<LayerCache> layers;
};

}  // namespace braid
