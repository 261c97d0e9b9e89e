// models/io/atomic_file.h — write a file so that readers see either the old file or the whole
// new one, never a partial one.
//
// Writes: any file. Protocol: bytes go to `path + ".tmp"` in the same directory; commit()
// fsyncs it, renames it over `path` and fsyncs the directory so the rename is durable.
// Source: POSIX rename(2) atomicity within one file system; fsync(2) on a directory
// descriptor for the directory entry.
#pragma once

#include <cstddef>
#include <string>

namespace braid {

// One atomic write in progress (move-only). Destroying it before commit() removes the
// temporary file, so an exception anywhere between open and commit leaves nothing behind.
class AtomicFile {
 public:
  // Creates `path + ".tmp"`. Throws `braid::Error` naming `path` (and its directory when the
  // directory does not exist).
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(AtomicFile&& o) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends `n` bytes (retries short writes and EINTR). Throws naming `path` on failure.
  void write(const void* data, size_t n);
  // fsync, close, rename over `path`, fsync the directory. Throws naming `path` on failure
  // (the temporary file is removed first).
  void commit();

  const std::string& path() const { return path_; }

 private:
  void abandon() noexcept;
  [[noreturn]] void fail_and_abandon(const char* what, int err);
  std::string path_, tmp_;
  int fd_ = -1;
};

}  // namespace braid
