// models/params.h — the parameter table: every weight of a model, by its HF checkpoint name,
// with its checkpoint shape and its initialisation (house style P10).
//
// One table serves loading (look up by name, shape-check), `braid init` (random weights in
// the same layout), the parameter count of `braid describe`, and later the gradients of
// `braid grad`, so the four can never disagree about what a model contains.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/rng.h"
#include "models/config.h"

namespace braid {

// How `braid init` draws a parameter (HF's _init_weights for these families).
enum class InitKind {
  normal,        // N(0, a²): linear and embedding weights, a = initializer_range
  ones,          // RMSNorm weights, Mamba D
  zeros,         // biases
  uniform,       // U(−a, a): conv weights and biases (a = 1/√K), dt_proj weight (a = R^-0.5)
  a_log_mamba1,  // A_log[d, n] = log(n + 1)                        (S4D-real init)
  a_log_mamba2,  // A_log[h]    = log(U(1, 16))
  dt_bias,       // inverse softplus of dt = exp(U(log 1e-3, log 1e-1)), dt ≥ 1e-4
};

struct ParamDecl {
  std::string name;     // HF checkpoint name, e.g. "model.layers.3.mamba.A_log"
  Shape shape;          // shape in the checkpoint
  InitKind init = InitKind::normal;
  float init_scale = 0.0f;
  std::string storage;  // key of the backing tensor; differs from `name` for stacked experts
  int64_t slot = -1;    // index along dim 0 of the backing tensor, or −1 for the whole tensor
  int64_t numel() const { return shape.numel(); }
};

// Every parameter of `cfg`, in checkpoint order (embedding, layers, final norm, lm_head).
// The tied lm_head is absent when cfg.tie_embeddings. MoE experts are declared per expert
// (their on-disk names) and stacked in storage "<prefix>.experts.{gate,up,down}_proj".
std::vector<ParamDecl> param_table(const ModelConfig& cfg);

// The HF names of a model's structural pieces, per family (hf-models-spec §2.4, §3.3, §4.2, §5.2).
struct ParamNames {
  std::string embed;       // "model.embed_tokens.weight" | "backbone.embeddings.weight"
  std::string final_norm;  // "model.final_layernorm.weight" | "backbone.norm_f.weight"
  std::string lm_head = "lm_head.weight";
  std::string layers;      // "model.layers." | "backbone.layers."
  std::string input_norm;  // "input_layernorm.weight" | "norm.weight"
  std::string ffn_norm = "pre_ff_layernorm.weight";
  std::string ffn = "feed_forward.";
  std::string attention = "self_attn.";
  std::string ssm;         // "mamba." | "mixer."
  std::string layer(int64_t il) const { return layers + std::to_string(il) + "."; }
};
ParamNames param_names(const ModelConfig& cfg);

class WeightStore;

// The backing tensors of a model's parameters on the backend, in one storage dtype (f32 or
// bf16), keyed by storage name.
class ParamStore {
 public:
  ParamStore() = default;
  // Allocates every backing tensor of `table` on `be` in `dtype`.
  ParamStore(Backend& be, const std::vector<ParamDecl>& table, DType dtype = DType::f32);

  // Fills every parameter from a checkpoint: each tensor looked up by its HF name and
  // shape-checked; missing, mis-shaped, non-float and unexpected tensors are errors that name
  // the tensor, both shapes and the file.
  void load(const WeightStore& ws, const std::string& source);
  // Fills every parameter with its InitKind draw.
  void init_random(Rng& rng, float initializer_range);

  // Sets every backing tensor to zero.
  void zero();
  // Adds host f32 values into one parameter (used for gradients computed on the host).
  void add_f32(const std::string& name, const std::vector<float>& values);

  // The view of one parameter (a slot of a stacked tensor for experts), checkpoint shape.
  TensorView view(const std::string& name) const;
  // Every storage key, sorted (the unit the optimizer updates).
  std::vector<std::string> storage_keys() const;
  // The backing tensor by storage key (e.g. stacked experts [X, F, D]).
  TensorView storage(const std::string& key) const;
  bool has(const std::string& name) const { return decls_.count(name) != 0; }
  // One parameter copied to the host as f32 (checkpoint shape, row-major).
  std::vector<float> read_f32(const std::string& name) const;
  // Overwrites one parameter from host f32 values (converted to the storage dtype).
  void write_f32(const std::string& name, const std::vector<float>& values);
  DType dtype() const { return dtype_; }
  const std::vector<ParamDecl>& table() const { return table_; }
  Backend& backend() const { return *be_; }

 private:
  Backend* be_ = nullptr;
  DType dtype_ = DType::f32;
  std::vector<ParamDecl> table_;
  std::map<std::string, const ParamDecl*> decls_;
  std::map<std::string, Tensor> storage_;
};

}  // namespace braid
