// core/backend.h — the Backend interface: memory plus one virtual per layer contract.
//
// Every contract is a pure function of its Args (inputs → outputs, recurrent state passed
// explicitly), declared in core/contracts/<name>.h with one validator. Callers go through the
// free `run_*` functions below, which validate once and then dispatch; backends never
// re-validate shapes (house style P1). Each virtual defaults to not_supported, so a backend
// states what it implements, and the registry in core/contracts/registry.h lets tests walk
// every contract (P8).
//
// Backends own their streams, handles and workspaces; there is no global state (P5). Two
// backends may coexist in one process.
#pragma once

#include <cstddef>
#include <string>

#include "core/contracts/attention.h"
#include "core/contracts/conv1d.h"
#include "core/contracts/elementwise.h"
#include "core/contracts/embedding.h"
#include "core/contracts/linear.h"
#include "core/contracts/loss.h"
#include "core/contracts/mamba1_scan.h"
#include "core/contracts/mamba2_ssd.h"
#include "core/contracts/moe.h"
#include "core/contracts/optim.h"
#include "core/contracts/rmsnorm.h"
#include "core/contracts/rotary.h"
#include "core/contracts/swiglu_mlp.h"
#include "core/cost.h"
#include "core/memory_stats.h"
#include "core/tensor.h"

// Every layer contract: X(method, Args, validator, coster). This list is the one place a contract
// is registered (house style P8): the Backend virtuals, the validate-then-dispatch functions
// `run_<method>`, the analytic costs `cost_<method>` (core/cost.h), backend override
// declarations and the registry of names all expand from it.
#define BRAID_FOR_EACH_CONTRACT(X)                       \
  X(embedding, EmbeddingArgs, validate, cost)            \
  X(rmsnorm, RmsNormArgs, validate, cost)                \
  X(linear, LinearArgs, validate, cost)                  \
  X(rotary, RotaryArgs, validate, cost)                  \
  X(attention, AttentionArgs, validate, cost)            \
  X(conv1d, Conv1dArgs, validate, cost)                  \
  X(conv1d_step, Conv1dArgs, validate_step, cost)        \
  X(mamba1_scan, Mamba1ScanArgs, validate, cost)         \
  X(mamba1_step, Mamba1ScanArgs, validate_step, cost)    \
  X(mamba2_ssd, Mamba2SsdArgs, validate, cost)           \
  X(mamba2_step, Mamba2SsdArgs, validate_step, cost_step) \
  X(moe_router, MoeRouterArgs, validate, cost)           \
  X(moe_experts, MoeExpertsArgs, validate, cost)         \
  X(swiglu_mlp, SwigluMlpArgs, validate, cost)           \
  X(add, AddArgs, validate, cost)                        \
  X(copy, CopyArgs, validate, cost)                      \
  X(cross_entropy, CrossEntropyArgs, validate, cost)     \
  X(adamw, AdamwArgs, validate, cost)                    \
  X(tensor_stats, TensorStatsArgs, validate, cost)       \
  BRAID_FOR_EACH_BACKWARD(X)

// The backward of every differentiable contract, in the order of the forward list. Gradients
// of inputs are written; gradients of parameters (f32) are ACCUMULATED, so a parameter used
// twice (tied embeddings) and gradient accumulation need no extra buffers. `add` and `copy`
// need no backward contract (the identity and a copy); rotary_backward reuses RotaryArgs.
#define BRAID_FOR_EACH_BACKWARD(X)                               \
  X(embedding_backward, EmbeddingBackwardArgs, validate, cost)   \
  X(rmsnorm_backward, RmsNormBackwardArgs, validate, cost)       \
  X(linear_backward, LinearBackwardArgs, validate, cost)         \
  X(rotary_backward, RotaryArgs, validate, cost)                 \
  X(attention_backward, AttentionBackwardArgs, validate, cost)   \
  X(conv1d_backward, Conv1dBackwardArgs, validate, cost)         \
  X(mamba1_scan_backward, Mamba1ScanBackwardArgs, validate, cost) \
  X(mamba2_ssd_backward, Mamba2SsdBackwardArgs, validate, cost)  \
  X(moe_router_backward, MoeRouterBackwardArgs, validate, cost)  \
  X(moe_experts_backward, MoeExpertsBackwardArgs, validate, cost) \
  X(swiglu_mlp_backward, SwigluMlpBackwardArgs, validate, cost)

#define BRAID_CONTRACT_OVERRIDE(method, Args, validator, coster) Status method(const Args&) override;
#define BRAID_CONTRACT_OVERRIDES BRAID_FOR_EACH_CONTRACT(BRAID_CONTRACT_OVERRIDE)

namespace braid {

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;  // "cpu", "cuda:0"
  virtual Device device() const = 0;

  // Memory. raw_alloc never returns null: it throws braid::Error naming the size on failure.
  virtual void* raw_alloc(size_t bytes) = 0;
  virtual void raw_free(void* p) = 0;
  // Host <-> backend transfers of `bytes` contiguous bytes.
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void fill_zero(const TensorView& t) = 0;  // t must be contiguous
  virtual void synchronize() {}
  // Bytes held through raw_alloc (and, on CUDA, the backend's workspace): current and peak.
  // Backends record every allocation in `memory_`; reset_peak starts a new measurement.
  MemoryStats memory_stats() const { return memory_.stats(); }
  void reset_peak_memory() { memory_.reset_peak(); }

  // Layer contracts (see each header for shapes and semantics), one virtual each.
#define BRAID_CONTRACT_VIRTUAL(method, Args, validator, coster) \
  virtual Status method(const Args&) { return unsupported(#method); }
  BRAID_FOR_EACH_CONTRACT(BRAID_CONTRACT_VIRTUAL)
#undef BRAID_CONTRACT_VIRTUAL

 protected:
  MemoryTracker memory_;
  Status unsupported(const char* contract) const { return not_supported(name(), ": ", contract, " is not implemented"); }
};

// Validate-then-dispatch entry points, `Status run_<method>(Backend&, const Args&)`. Every
// caller uses these, never the virtuals directly.
#define BRAID_CONTRACT_RUN(method, Args, validator, coster) Status run_##method(Backend& be, const Args& a);
BRAID_FOR_EACH_CONTRACT(BRAID_CONTRACT_RUN)
#undef BRAID_CONTRACT_RUN

// `Cost cost_<method>(const Args&)`: bytes, FLOPs and exponentials of one call (core/cost.h).
#define BRAID_CONTRACT_COST(method, Args, validator, coster) \
  inline Cost cost_##method(const Args& a) { return coster(a); }
BRAID_FOR_EACH_CONTRACT(BRAID_CONTRACT_COST)
#undef BRAID_CONTRACT_COST

}  // namespace braid
