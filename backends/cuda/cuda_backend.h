// backends/cuda — every layer contract on NVIDIA GPUs (sm_90 first, PTX fallback), through the
// same interface and validators as the CPU reference (core/backend.h).
//
// Storage dtypes: f32 and bf16 for activations and weights, fp32 accumulation everywhere; the
// recurrent SSM state is fp32 by default (CudaOptions::state_dtype). GEMMs go through cuBLAS.
// The stream, the cuBLAS handle and the workspace belong to the backend object: no globals, no
// getenv. Every CUDA and cuBLAS call is checked; failures throw braid::Error with file:line.
// Contracts and upload are asynchronous on the backend's stream (upload's host source may be reused at
// once: it is staged before the call returns); download synchronises.
//
// This header is plain C++ (no CUDA types), so host code can create a CudaBackend without the
// CUDA headers. Kernels reach the stream and handles through backends/cuda/cuda_context.cuh.
#pragma once

#include <memory>
#include <string>

#include "core/backend.h"

namespace braid {

struct CudaOptions {
  int device = 0;
  DType state_dtype = DType::f32;  // dtype of recurrent SSM states the backend allocates
};

// Number of usable CUDA devices; 0 when there is no driver or no device (never throws).
int cuda_device_count();
// Why CUDA cannot be used here ("no CUDA device: <driver message>"), or "" when it can.
std::string cuda_unavailable_reason();
// Total memory of CUDA device `device` in bytes (0 when it cannot be queried).
int64_t cuda_device_memory_bytes(int device);
// The name of CUDA device `device` ("NVIDIA H200"; "unknown CUDA device" when it cannot be queried).
std::string cuda_device_name(int device);

struct CudaContext;  // stream, cuBLAS handle, workspace (backends/cuda/cuda_context.cuh)

class CudaBackend final : public Backend {
 public:
  // Throws braid::Error naming the device when it cannot be opened.
  explicit CudaBackend(CudaOptions opts = {});
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override;  // "cuda:0"
  Device device() const override { return Device::cuda; }
  const CudaOptions& options() const { return opts_; }
  CudaContext& context() const { return *ctx_; }

  void* raw_alloc(size_t bytes) override;
  void raw_free(void* p) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;
  void fill_zero(const TensorView& t) override;
  void synchronize() override;

  BRAID_CONTRACT_OVERRIDES  // every contract of core/backend.h

 private:
  CudaOptions opts_;
  std::unique_ptr<CudaContext> ctx_;
};

}  // namespace braid
