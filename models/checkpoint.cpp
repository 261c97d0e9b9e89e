#include "models/checkpoint.h"

#include <filesystem>
#include <vector>

#include "models/io/atomic_file.h"
#include "models/io/safetensors.h"

namespace braid {

void save_checkpoint(const HybridModel& model, const nlohmann::json& config, const std::string& dir, DType dtype) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create directory (", ec.message(), ")");
  // Host copies of every parameter, converted to the storage dtype.
  std::vector<std::vector<uint8_t>> blobs;
  std::vector<SafetensorsWrite> tensors;
  const auto& table = model.params().table();
  blobs.reserve(table.size());
  for (const ParamDecl& d : table) {
    const std::vector<float> host = model.params().read_f32(d.name);
    std::vector<uint8_t> blob(host.size() * dtype_size(dtype));
    convert_floats(host.data(), DType::f32, blob.data(), dtype, host.size());
    blobs.push_back(std::move(blob));
    tensors.push_back(SafetensorsWrite{d.name, dtype, d.shape, blobs.back().data()});
  }
  write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  const std::string text = config.dump(2) + "\n";
  AtomicFile f(dir + "/config.json");
  f.write(text.data(), text.size());
  f.commit();
}

}  // namespace braid
