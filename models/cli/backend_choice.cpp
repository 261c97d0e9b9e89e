#include "models/cli/backend_choice.h"

#include "backends/cpu/cpu_backend.h"

namespace braid::cli {

std::unique_ptr<Backend> make_backend(const std::string& name) {
  if (name == "cpu") return std::make_unique<CpuBackend>();
  fail("--backend ", name, ": not available in this build (available: cpu)");
}

}  // namespace braid::cli
