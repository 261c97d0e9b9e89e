// models/data/synthetic.h — the synthetic recall tasks of `braid train --data`: MQAR (Zoology)
// and the Mamba paper's selective copying and induction heads. Every row has T = --seq-len ids;
// its targets are -1 (ignored) except at the answer positions, so loss and accuracy measure
// only the answers, as both papers do. A batch is a pure function of (seed, step, micro); the
// eval set "heldout" (--eval-batches batches of --batch rows) comes from a separate seed
// stream and is the same at every evaluation.
//
//   mqar[:vocab=V,num_kv_pairs=K,power_a=A,random_non_queries=0|1]
//       Zoology's multi-query associative recall (Arora et al. 2023, "Zoology", arXiv 2312.04927; the generator
//       zoology/data/associative_recall.py::multiquery_ar). The row opens with K pairs
//       k₁ v₁ … k_K v_K, keys distinct from [1, V/2), values distinct from [V/2, V). Each key is
//       queried once more in the rest of the row, at position 2K + 2g, with the gaps g distinct in
//       [0, (T − 2K)/2) and drawn without replacement with p(g) ∝ A·(g + 1)^(A − 1). The target at a
//       query is its key's value. Other positions are 0, or uniform tokens in [0, V) when
//       random_non_queries = 1. Defaults: V = the model's vocab_size, K = 8, A = 0.01,
//       random_non_queries = 1. Needs T even, 4K ≤ T (Zoology's asserts) and K ≤ V/2 − 1.
//   selective_copy[:vocab=V,num_tokens=M,noise=N,marker=R]
//       Selective copying (Gu & Dao 2023, "Mamba", arXiv 2312.00752, Fig. 2 and App. E.1: V = 16 including
//       the noise token, M = 16 tokens to memorise), laid out like the copying task of the S4
//       repository with the data positions randomised: M content tokens (uniform over [0, V)
//       without N and R) at sorted random positions among the first T − M, noise token N
//       elsewhere, then M marker tokens R; the target at the i-th marker is the i-th content
//       token. Defaults: V = 16, M = 16, N = 0, R = V − 1. Needs T ≥ 2M.
//   induction[:vocab=V,trigger=S]
//       Induction heads (Olsson et al. 2022; Mamba App. E.1: V = 16, trained at T = 256). Tokens
//       are uniform over [0, V) without S; the trigger S appears once at a random position p ≤ T − 3
//       and again at the last position, whose target is the token after the first trigger
//       (ids[p + 1]). Defaults: V = 16, S = V − 1. Needs T ≥ 3.
// Every task needs V ≤ the model's vocab_size; errors name the key and value at fault.
#pragma once

#include <cstdint>
#include <string>

#include "models/data/spec.h"
#include "models/data/training_data.h"

namespace braid {

bool is_synthetic_kind(const std::string& kind);

TrainingData open_synthetic_data(const DataSpec& spec, const DataOptions& opt, int64_t vocab_size);

}  // namespace braid
