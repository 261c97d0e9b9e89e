// models/io/atomic_file.cpp — temp file + fsync + rename + directory fsync (see atomic_file.h).
//
// Source: POSIX open(2), write(2), fsync(2), rename(2).
#include "models/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/status.h"

namespace braid {
namespace {

// The directory that holds `path` ("." for a bare file name).
std::string parent_dir(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

// Makes the rename durable: fsync on the directory itself.
int fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(path + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ >= 0) return;
  const int err = errno;
  const std::string dir = parent_dir(path);
  std::error_code ec;
  if ((err == ENOENT || err == ENOTDIR) && !std::filesystem::is_directory(dir, ec))
    fail(path, ": cannot write, directory '", dir, "' does not exist");
  fail(path, ": cannot create '", tmp_, "' (", std::strerror(err), ")");
}

AtomicFile::~AtomicFile() { abandon(); }

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : path_(std::move(o.path_)), tmp_(std::exchange(o.tmp_, std::string())), fd_(std::exchange(o.fd_, -1)) {}

void AtomicFile::write(const void* data, size_t n) {
  BRAID_CHECK(fd_ >= 0, "write after commit: ", path_);
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail_and_abandon("write", errno);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::commit() {
  BRAID_CHECK(fd_ >= 0, "commit twice: ", path_);
  if (::fsync(fd_) != 0) fail_and_abandon("fsync", errno);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) {
    const int err = errno;
    std::remove(tmp_.c_str());
    fail(path_, ": close failed (", std::strerror(err), ")");
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp_.c_str());
    fail(path_, ": rename from '", tmp_, "' failed (", std::strerror(err), ")");
  }
  tmp_.clear();  // committed: nothing left to remove
  if (const int err = fsync_dir(parent_dir(path_)); err != 0)
    fail(path_, ": written, but fsync of its directory failed (", std::strerror(err), ")");
}

void AtomicFile::abandon() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!tmp_.empty()) std::remove(tmp_.c_str());
  tmp_.clear();
}

void AtomicFile::fail_and_abandon(const char* what, int err) {
  abandon();
  fail(path_, ": ", what, " failed (", std::strerror(err), ")");
}

}  // namespace braid
