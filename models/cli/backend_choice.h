// Creating the backend and the compute dtype named on the command line.
#pragma once

#include <memory>
#include <string>

#include "core/backend.h"

namespace braid::cli {

// "cpu" (the reference backend with its named fast paths, backends/cpu/fast/), "cpu-ref" (the
// reference loops alone) or, in a CUDA build, "cuda" / "cuda:N". Anything else, or
// CUDA without a usable device, is a one-line error that says what this build offers.
std::unique_ptr<Backend> make_backend(const std::string& name);

// The storage dtype of a model's parameters and activations: "f32" anywhere, "bf16" on CUDA.
DType compute_dtype(const std::string& name, const Backend& be);

// Memory the backend's device has: physical memory for the CPU, device memory for CUDA (0
// when unknown). Commands refuse work predicted to need more before allocating it.
int64_t device_memory_bytes(const Backend& be);

// The hardware behind the backend, for provenance: the CPU model and thread count, or the
// GPU's name ("NVIDIA H200").
std::string device_description(const Backend& be);

}  // namespace braid::cli
