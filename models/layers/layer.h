// models/layers/layer.h — what a mixer or FFN implementation sees, and the registry entry it
// provides. A new mixer is new files under models/layers/ plus one line in registry.cpp
// (house style P8).
#pragma once

#include <string>
#include <vector>

#include "core/backend.h"
#include "models/cache.h"
#include "models/config.h"
#include "models/params.h"

namespace braid {

// What the MoE layers of one training forward route, for HF's load-balancing loss
// (hf-models-spec §2.7; transformers' load_balancing_loss_func over all layers' logits):
//   aux = X · Σ_x (count[x] / M_all) · (prob_sum[x] / M_all)
// where count[x] = rows that chose x among their top-k, prob_sum[x] = Σ_rows softmax(logits)[x],
// and M_all sums the rows of every MoE layer.
struct RouterTrace {
  int64_t n_experts = 0;
  int64_t rows = 0;               // M_all
  std::vector<double> count;      // [X]
  std::vector<double> prob_sum;   // [X]
};

// One call of one layer's mixer or FFN.
struct LayerCall {
  Backend& be;
  const ModelConfig& cfg;
  const LayerSpec& spec;
  const ParamStore& params;
  std::string prefix;      // HF name prefix of this mixer or FFN, e.g. "model.layers.3.mamba."
  TensorView x;            // [B, T, D] normalised input (contiguous)
  TensorView out;          // [B, T, D] output (contiguous)
  TensorView lengths;      // [B] i32 valid tokens per row, or undefined (all T)
  TensorView positions;    // [B, T] i32 absolute positions
  TensorView cache_len;    // [B] i32 tokens already cached per row, or undefined (no cache)
  LayerCache* cache = nullptr;  // this layer's cache, or null for a cache-free forward
  const Tensor* derived = nullptr;  // per-layer tensor derived at load (Mamba A = −exp(A_log))
  DType dtype = DType::f32;         // storage dtype of activations (f32 or bf16)
  // True for a decode step: T == 1, every row active, a cache present. Mixers then use the
  // `_step` contracts.
  bool step() const { return cache && x.dim(1) == 1 && !lengths.defined(); }
  // Training forward only: where MoE layers report their routing for the load-balancing loss.
  RouterTrace* router_trace = nullptr;
};


// The backward of one mixer or FFN call. The forward is recomputed from call.x (activation
// checkpointing per sublayer: the model keeps only the residual stream between sublayers),
// then every contract's backward runs in reverse order.
struct LayerGrad {
  TensorView d_out;           // [B, T, D] gradient of call.out
  TensorView d_x;             // [B, T, D] written: gradient of call.x
  ParamStore* grads;          // f32, the model's parameter table: ACCUMULATED
  TensorView d_derived;       // f32, shape of *call.derived: gradient of the derived tensor (Mamba A),
                              // ACCUMULATED; the model carries it back to the parameter (A_log)
  TensorView router_d_probs;  // [X] f32: load-balancing gradient on every row's router probabilities
                              // (MoE only; undefined = none)
};

// The gradient view of parameter `call.prefix + name`.
TensorView grad(const LayerCall& call, const LayerGrad& g, const std::string& name);
TensorView optional_grad(const LayerCall& call, const LayerGrad& g, const std::string& name);
// Backward of project(): d_x written (or accumulated), weight and bias gradients accumulated.
void project_backward(const LayerCall& call, const LayerGrad& g, const std::string& name, const TensorView& x,
                      const TensorView& d_y, const TensorView& d_x, bool accumulate_dx = false);

struct MixerEntry {
  MixerKind kind;
  const char* name;
  // out = mixer(x), reading and updating call.cache when present.
  void (*forward)(const LayerCall& call);
  // Allocates and zeroes this mixer's cache tensors for B rows and S tokens: KV and conv
  // states in `dtype`, SSM states in f32.
  void (*alloc_cache)(Backend& be, const LayerSpec& spec, int64_t B, int64_t S, DType dtype, LayerCache& cache);
  // Cache bytes per row for `tokens` tokens, in the analytic memory model (elem = storage
  // element size); split into KV bytes and recurrent-state bytes.
  int64_t (*kv_bytes)(const LayerSpec& spec, int64_t tokens, int64_t elem);
  int64_t (*state_bytes)(const LayerSpec& spec, int64_t elem);
  // Computes the per-layer derived tensor from the parameters (null when there is none).
  void (*derive)(Backend& be, const LayerSpec& spec, const ParamStore& params, const std::string& prefix,
                 Tensor& out);
  // Gradients of a cache-free forward (training): see LayerGrad.
  void (*backward)(const LayerCall& call, const LayerGrad& g);
};

struct FfnEntry {
  FfnKind kind;
  const char* name;
  void (*forward)(const LayerCall& call);
  void (*backward)(const LayerCall& call, const LayerGrad& g);
};

const MixerEntry& mixer_entry(MixerKind kind);
const FfnEntry& ffn_entry(FfnKind kind);

// Small helpers shared by layer implementations.
Tensor new_tensor(Backend& be, const Shape& shape, DType dtype = DType::f32);  // uninitialised
void run(const Status& s, const std::string& where);  // throws Error "<where>: <message>" unless ok
TensorView view_as(const TensorView& t, const Shape& shape);  // reshape a contiguous view
// The parameter `call.prefix + name`; the optional form returns an undefined view when the
// config declares no such parameter (e.g. a bias that is switched off).
TensorView param(const LayerCall& call, const std::string& name);
TensorView optional_param(const LayerCall& call, const std::string& name);
// The SSM decay rates A = −exp(A_log) in fp32, with A_log's shape (hf-models-spec §2.6, §5.4).
// A MixerEntry::derive for both Mamba mixers.
void derive_decay_rates(Backend& be, const LayerSpec& spec, const ParamStore& params, const std::string& prefix,
                        Tensor& out);
int64_t no_kv_bytes(const LayerSpec& spec, int64_t tokens, int64_t elem);
// y = x · W(name.weight)ᵀ + name.bias (when the config has that bias), via the linear contract.
void project(const LayerCall& call, const std::string& name, const TensorView& x, const TensorView& y);

}  // namespace braid
