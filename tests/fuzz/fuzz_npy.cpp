// Fuzz target: a .npy file (magic, version, header dict, data).
#include "core/status.h"
#include "models/io/npy.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = braid::fuzz::scratch_path("ids.npy");
  braid::fuzz::write_file(path, data, size);
  try {
    const braid::NpyArray a = braid::read_npy(path);
    if (a.numel() > 0 && a.bytes.empty()) std::abort();
    if (a.numel() <= (1 << 20) && static_cast<int64_t>(a.to_f64().size()) != a.numel()) std::abort();
  } catch (const braid::Error&) {
  }
  return 0;
}
