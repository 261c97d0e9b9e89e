// models/io/mapped_file.h — a whole file mapped read-only into memory.
//
// Reads: any regular file, as raw bytes. Layout: none (the bytes of the file, offset 0 to
// size). Source: POSIX mmap(2) / open(2). Used by the safetensors and npy readers so that
// tensors are views into the page cache instead of copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace braid {

// RAII read-only mapping of one file (move-only). The mapping stays valid, at the same
// address, until the object that owns it is destroyed; moving an object moves ownership
// without remapping, so pointers into `data()` survive a move.
class MappedFile {
 public:
  MappedFile() = default;
  // Maps `path` whole. Throws `braid::Error` with one line naming the path and the reason
  // (missing, a directory, not a regular file, permission denied, mmap failure). An empty
  // file is fine: size() == 0 and data() == nullptr.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void release() noexcept;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace braid
