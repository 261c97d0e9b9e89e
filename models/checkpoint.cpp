#include "models/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "models/io/safetensors.h"

namespace braid {

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail(path, ": cannot write (", std::strerror(errno), ")");
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      ::close(fd);
      std::remove(tmp.c_str());
      fail(path, ": write failed (", std::strerror(errno), ")");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::remove(tmp.c_str());
    fail(path, ": fsync failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(path, ": rename failed (", std::strerror(errno), ")");
  }
}

void save_checkpoint(const HybridModel& model, const nlohmann::json& config, const std::string& dir, DType dtype) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir, ": cannot create directory (", ec.message(), ")");
  Backend& be = model.backend();
  // Host copies of every parameter, converted to the storage dtype.
  std::vector<std::vector<uint8_t>> blobs;
  std::vector<SafetensorsWrite> tensors;
  const auto& table = model.params().table();
  blobs.reserve(table.size());
  for (const ParamDecl& d : table) {
    const TensorView v = model.params().view(d.name);
    std::vector<float> host(static_cast<size_t>(v.numel()));
    be.download(host.data(), v.data, host.size() * sizeof(float));
    std::vector<uint8_t> blob(host.size() * dtype_size(dtype));
    convert_floats(host.data(), DType::f32, blob.data(), dtype, host.size());
    blobs.push_back(std::move(blob));
    tensors.push_back(SafetensorsWrite{d.name, dtype, d.shape, blobs.back().data()});
  }
  write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  write_text_atomic(dir + "/config.json", config.dump(2) + "\n");
}

}  // namespace braid
