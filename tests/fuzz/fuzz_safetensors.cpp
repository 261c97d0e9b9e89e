// Fuzz target: a .safetensors file (header length, JSON header, data section) and, with the
// first byte odd, a model.safetensors.index.json beside a small valid shard.
#include <cstring>
#include <filesystem>

#include "core/status.h"
#include "models/io/safetensors.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool index = data[0] & 1;
  try {
    if (!index) {
      const std::string path = braid::fuzz::scratch_path("model.safetensors");
      braid::fuzz::write_file(path, data + 1, size - 1);
      braid::SafetensorsFile f(path);
      uint64_t sum = 0;  // touch every tensor's first and last byte
      for (const braid::SafetensorsTensor& t : f.tensors())
        if (t.nbytes) sum += static_cast<const uint8_t*>(t.data)[0] + static_cast<const uint8_t*>(t.data)[t.nbytes - 1];
      if (sum == 1) std::fprintf(stderr, " ");
    } else {
      const std::string dir = braid::fuzz::scratch_path("sharded");
      std::filesystem::create_directories(dir);
      // One valid shard holding tensor "a" (F32, [2]).
      const char header[] = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
      uint64_t n = sizeof header - 1;
      std::string shard(reinterpret_cast<const char*>(&n), 8);
      shard += std::string(header, n) + std::string(8, '\0');
      braid::fuzz::write_file(dir + "/shard-1.safetensors", reinterpret_cast<const uint8_t*>(shard.data()), shard.size());
      braid::fuzz::write_file(dir + "/model.safetensors.index.json", data + 1, size - 1);
      const braid::WeightStore w = braid::WeightStore::open(dir);
      for (const std::string& name : w.names())
        if (!w.find(name)) std::abort();  // every listed name resolves
    }
  } catch (const braid::Error&) {
  }
  return 0;
}
