#include "models/cli/backend_choice.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "backends/cpu/cpu_backend.h"
#ifdef BRAID_HAVE_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace braid::cli {

#ifdef BRAID_HAVE_CUDA
constexpr const char* kAvailable = "cpu, cpu-ref, cuda";
#else
constexpr const char* kAvailable = "cpu, cpu-ref";
#endif

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "cpu" || name == "cpu-ref") {
    CpuOptions opts;
    opts.fast_paths = name == "cpu";  // "cpu-ref": the reference loops alone
    return std::make_unique<CpuBackend>(opts);
  }
#ifdef BRAID_HAVE_CUDA
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    CudaOptions opts;
    if (name.size() > 5) {
      char* end = nullptr;
      opts.device = static_cast<int>(std::strtol(name.c_str() + 5, &end, 10));
      if (*end != '\0' || opts.device < 0) fail("--backend ", name, ": expected cuda or cuda:N");
    }
    if (const std::string why = cuda_unavailable_reason(); !why.empty()) fail("--backend ", name, ": ", why);
    return std::make_unique<CudaBackend>(opts);
  }
#endif
  fail("--backend ", name, ": not available in this build (available: ", kAvailable, ")");
}

DType compute_dtype(const std::string& name, const Backend& be) {
  const auto t = dtype_from_name(name);
  if (!t || (*t != DType::f32 && *t != DType::bf16)) fail("--dtype ", name, ": expected f32 or bf16");
  if (*t == DType::bf16 && be.device() == Device::cpu)
    fail("--dtype bf16: the CPU backend computes in f32 (bf16 runs on --backend cuda)");
  return *t;
}

int64_t device_memory_bytes(const Backend& be) {
  if (be.device() == Device::cpu) return static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
#ifdef BRAID_HAVE_CUDA
  if (be.device() == Device::cuda) return cuda_device_memory_bytes(static_cast<const CudaBackend&>(be).options().device);
#endif
  return 0;
}

std::string device_description(const Backend& be) {
#ifdef BRAID_HAVE_CUDA
  if (be.device() == Device::cuda) return cuda_device_name(static_cast<const CudaBackend&>(be).options().device);
#endif
  std::string model = "unknown CPU";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " threads";
}

}  // namespace braid::cli
