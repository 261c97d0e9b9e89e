// models/train/flops.h — model FLOPs of one training token, for tokens/s → MFU.
//
// Forward FLOPs per token (multiply-adds count 2), counting what the math requires, not what
// an implementation recomputes (activation checkpointing is not counted: MFU, not HFU):
//   matrices   2 · (active matrix parameters): every projection, the SwiGLU MLPs, k of X
//              experts, the router and the LM head (the embedding lookup is free)
//   attention  2 · 2 · (T+1)/2 · Hq · P per attention layer (causal QKᵀ and P·V, each query
//              seeing (T+1)/2 keys on average)
//   scans      Mamba1 9 · Di · N (kernels.md §9.2: discretise, update, read out),
//              Mamba2 the SSD's chunked products 2·(Q·G·N + ½·Q·H·P + 2·H·P·N) per token
// Training = 3 × forward (backward ≈ 2 × forward), the convention of the Jamba/Chinchilla
// accounting (ablations.md §5).
#pragma once

#include <cstdint>

#include "models/config.h"

namespace braid {

struct FlopCount {
  double forward_per_token = 0;
  double train_per_token = 0;  // 3 × forward
};

FlopCount flops_per_token(const ModelConfig& cfg, int64_t seq_len);

// Peak dense bf16 tensor-core throughput of one H100 SXM (NVIDIA datasheet: 989.4 TFLOP/s
// without sparsity), the denominator of the MFU the trainer reports.
inline constexpr double kH100Bf16PeakFlops = 989.4e12;

}  // namespace braid
