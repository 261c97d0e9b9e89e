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
#include "core/contracts/mamba1_scan.h"
#include "core/contracts/mamba2_ssd.h"
#include "core/contracts/moe.h"
#include "core/contracts/rmsnorm.h"
#include "core/contracts/rotary.h"
#include "core/contracts/swiglu_mlp.h"
#include "core/tensor.h"

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

  // Layer contracts (see each header for shapes and semantics).
  virtual Status embedding(const EmbeddingArgs&) { return unsupported("embedding"); }
  virtual Status rmsnorm(const RmsNormArgs&) { return unsupported("rmsnorm"); }
  virtual Status linear(const LinearArgs&) { return unsupported("linear"); }
  virtual Status rotary(const RotaryArgs&) { return unsupported("rotary"); }
  virtual Status attention(const AttentionArgs&) { return unsupported("attention"); }
  virtual Status conv1d(const Conv1dArgs&) { return unsupported("conv1d"); }
  virtual Status conv1d_step(const Conv1dArgs&) { return unsupported("conv1d_step"); }
  virtual Status mamba1_scan(const Mamba1ScanArgs&) { return unsupported("mamba1_scan"); }
  virtual Status mamba1_step(const Mamba1ScanArgs&) { return unsupported("mamba1_step"); }
  virtual Status mamba2_ssd(const Mamba2SsdArgs&) { return unsupported("mamba2_ssd"); }
  virtual Status mamba2_step(const Mamba2SsdArgs&) { return unsupported("mamba2_step"); }
  virtual Status moe_router(const MoeRouterArgs&) { return unsupported("moe_router"); }
  virtual Status moe_experts(const MoeExpertsArgs&) { return unsupported("moe_experts"); }
  virtual Status swiglu_mlp(const SwigluMlpArgs&) { return unsupported("swiglu_mlp"); }
  virtual Status add(const AddArgs&) { return unsupported("add"); }
  virtual Status copy(const CopyArgs&) { return unsupported("copy"); }

 protected:
  Status unsupported(const char* contract) const { return not_supported(name(), ": ", contract, " is not implemented"); }
};

// Validate-then-dispatch entry points. Every caller uses these, never the virtuals directly.
Status run_embedding(Backend& be, const EmbeddingArgs& a);
Status run_rmsnorm(Backend& be, const RmsNormArgs& a);
Status run_linear(Backend& be, const LinearArgs& a);
Status run_rotary(Backend& be, const RotaryArgs& a);
Status run_attention(Backend& be, const AttentionArgs& a);
Status run_conv1d(Backend& be, const Conv1dArgs& a);
Status run_conv1d_step(Backend& be, const Conv1dArgs& a);
Status run_mamba1_scan(Backend& be, const Mamba1ScanArgs& a);
Status run_mamba1_step(Backend& be, const Mamba1ScanArgs& a);
Status run_mamba2_ssd(Backend& be, const Mamba2SsdArgs& a);
Status run_mamba2_step(Backend& be, const Mamba2SsdArgs& a);
Status run_moe_router(Backend& be, const MoeRouterArgs& a);
Status run_moe_experts(Backend& be, const MoeExpertsArgs& a);
Status run_swiglu_mlp(Backend& be, const SwigluMlpArgs& a);
Status run_add(Backend& be, const AddArgs& a);
Status run_copy(Backend& be, const CopyArgs& a);

}  // namespace braid
