#include "models/checkpoint.h"

#include <filesystem>
#include <vector>

#include "models/io/atomic_file.h"
#include "models/io/safetensors.h"

namespace braid {

void write_params(const ParamStore& params, const std::string& path, DType dtype,
                  const std::map<std::string, std::string>& metadata, const std::string& prefix) {
  // Host copies of every parameter, converted to the file dtype.
  std::vector<std::vector<uint8_t>> blobs;
  std::vector<SafetensorsWrite> tensors;
  const auto& table = params.table();
  blobs.reserve(table.size());
  for (const ParamDecl& d : table) {
    const std::vector<float> host = params.read_f32(d.name);
    std::vector<uint8_t> blob(host.size() * dtype_size(dtype));
    convert_floats(host.data(), DType::f32, blob.data(), dtype, host.size());
    blobs.push_back(std::move(blob));
    tensors.push_back(SafetensorsWrite{prefix + d.name, dtype, d.shape, blobs.back().data()});
  }
  write_safetensors(path, tensors, metadata);
}

void read_params(const SafetensorsFile& file, const std::string& prefix, ParamStore& params) {
  for (const ParamDecl& d : params.table()) {
    const SafetensorsTensor* t = file.find(prefix + d.name);
    if (!t) fail(file.path(), ": tensor '", prefix + d.name, "' is missing");
    if (t->shape != d.shape)
      fail(file.path(), ": tensor '", prefix + d.name, "' has shape ", t->shape.to_string(), ", expected ",
           d.shape.to_string());
    if (!is_floating(t->dtype)) fail(file.path(), ": tensor '", prefix + d.name, "' is not a float tensor");
    std::vector<float> host(static_cast<size_t>(d.numel()));
    convert_floats(t->data, t->dtype, host.data(), DType::f32, host.size());
    params.write_f32(d.name, host);
  }
}

void save_checkpoint(const HybridModel& model, const nlohmann::json& config, const std::string& dir, DType dtype) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create directory (", ec.message(), ")");
  write_params(model.params(), dir + "/model.safetensors", dtype, {{"format", "pt"}});
  const std::string text = config.dump(2) + "\n";
  AtomicFile f(dir + "/config.json");
  f.write(text.data(), text.size());
  f.commit();
}

}  // namespace braid
