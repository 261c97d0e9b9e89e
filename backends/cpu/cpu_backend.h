// backends/cpu — the executable specification of every contract (house style P2).
//
// Plain loops over glossary indices, fp32 accumulation, sequential recurrences, OpenMP only on
// the outermost independent loop, and every matrix product through the one GEMM helper in
// gemm.h. Storage dtype on this backend is f32 for activations, weights and states; inputs of
// another float dtype are refused by supports-style checks with not_supported.
#pragma once

#include <string>

#include "backends/cpu/gemm.h"
#include "core/backend.h"

namespace braid {

struct CpuOptions {
  GemmImpl gemm = GemmImpl::best;  // tests force GemmImpl::naive to check the fast path
  // Named fast paths (backends/cpu/fast/: vectorised scans and conv1d, chosen at run time by
  // CPU features). Off, every contract runs the reference loops; the CLI's "cpu" turns them on
  // and "cpu-ref" leaves them off.
  bool fast_paths = false;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(CpuOptions opts = {}) : opts_(opts) {}

  std::string name() const override { return opts_.fast_paths ? "cpu" : "cpu-ref"; }
  Device device() const override { return Device::cpu; }
  const CpuOptions& options() const { return opts_; }

  void* raw_alloc(size_t bytes) override;
  void raw_free(void* p) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void fill_zero(const TensorView& t) override;

  BRAID_CONTRACT_OVERRIDES  // every contract of core/backend.h

 private:
  CpuOptions opts_;
};

}  // namespace braid
