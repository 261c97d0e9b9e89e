// models/io/mapped_file.cpp — read-only whole-file mmap (see mapped_file.h).
//
// Reads: any regular file. Source: POSIX open(2), fstat(2), mmap(2).
#include "models/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/status.h"

namespace braid {
namespace {

// Closes a descriptor when the scope ends (the mapping does not need it open).
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

[[noreturn]] void fail_errno(const std::string& path, const char* what, int err) {
  if (err == ENOENT) fail(path, ": no such file");
  if (err == EACCES || err == EPERM) fail(path, ": permission denied (", what, ")");
  if (err == EISDIR) fail(path, ": is a directory, expected a file");
  fail(path, ": ", what, " failed (", std::strerror(err), ")");
}

}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno(path, "open", errno);
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(path, "stat", errno);
  if (S_ISDIR(st.st_mode)) fail(path, ": is a directory, expected a file");
  if (!S_ISREG(st.st_mode)) fail(path, ": not a regular file");
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) return;  // mmap of length 0 is invalid; an empty file maps to nothing
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) fail_errno(path, "mmap", errno);
  data_ = static_cast<const uint8_t*>(p);
}

MappedFile::~MappedFile() { release(); }

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), path_(std::move(o.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    path_ = std::move(o.path_);
  }
  return *this;
}

void MappedFile::release() noexcept {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace braid
