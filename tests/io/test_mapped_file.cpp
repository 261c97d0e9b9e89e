// models/io/mapped_file and atomic_file: mapping, move semantics, and the error messages.
#include <unistd.h>

#include <cstring>
#include <utility>

#include <doctest/doctest.h>

#include "io_test_util.h"
#include "models/io/atomic_file.h"
#include "models/io/mapped_file.h"

namespace braid {
namespace {

using test::check_error;
using test::TempDir;

TEST_CASE("mapped file: maps the whole file and survives a move") {
  TempDir tmp;
  const std::string p = tmp / "bytes.bin";
  test::write_file(p, "hello, mapped world");
  MappedFile a(p);
  CHECK(a.size() == 19);
  CHECK(a.path() == p);
  const uint8_t* data = a.data();
  CHECK(std::memcmp(data, "hello", 5) == 0);
  MappedFile b(std::move(a));
  CHECK(b.data() == data);  // same mapping, no remap
  CHECK(a.data() == nullptr);
  CHECK(a.size() == 0);
  MappedFile c;
  c = std::move(b);
  CHECK(c.data() == data);
  CHECK(c.size() == 19);
}

TEST_CASE("mapped file: an empty file maps to size 0") {
  TempDir tmp;
  const std::string p = tmp / "empty.bin";
  test::write_file(p, "");
  const MappedFile f(p);
  CHECK(f.size() == 0);
  CHECK(f.data() == nullptr);
}

TEST_CASE("mapped file bad input: missing file, directory, permission") {
  TempDir tmp;
  check_error([&] { MappedFile f(tmp / "absent.bin"); }, {"absent.bin", "no such file"});
  check_error([&] { MappedFile f(tmp.path.string()); }, {tmp.path.string(), "is a directory"});
  const std::string locked = tmp / "locked.bin";
  test::write_file(locked, "secret");
  test::fs::permissions(locked, test::fs::perms::none);
  if (::access(locked.c_str(), R_OK) == 0) {
    MESSAGE("running with privileges that bypass file modes; permission case skipped");
  } else {
    check_error([&] { MappedFile f(locked); }, {"locked.bin", "permission denied"});
  }
}

TEST_CASE("atomic file: nothing at the path until commit, temp removed on abandon") {
  TempDir tmp;
  const std::string p = tmp / "out.txt";
  {
    AtomicFile f(p);
    f.write("partial", 7);
    CHECK(test::fs::exists(p + ".tmp"));
    CHECK(!test::fs::exists(p));
  }  // abandoned
  CHECK(!test::fs::exists(p + ".tmp"));
  CHECK(!test::fs::exists(p));
  AtomicFile f(p);
  f.write("complete", 8);
  f.commit();
  CHECK(test::slurp(p) == "complete");
  CHECK(!test::fs::exists(p + ".tmp"));
}

TEST_CASE("atomic file bad input: rename onto a directory fails and cleans up") {
  TempDir tmp;
  const std::string p = tmp / "dir-target";
  test::fs::create_directory(p);
  test::fs::create_directory(p + "/child");  // a non-empty directory cannot be replaced by a file
  AtomicFile f(p);
  f.write("x", 1);
  check_error([&] { f.commit(); }, {"dir-target", "rename"});
  CHECK(!test::fs::exists(p + ".tmp"));
}

}  // namespace
}  // namespace braid
