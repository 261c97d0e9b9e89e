// models/io/npy: write/read round trips, files laid out as NumPy writes them (versions 1.0,
// 2.0, 3.0; 0-d and empty arrays), and one test case per malformed input.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "io_test_util.h"
#include "models/io/npy.h"

namespace braid {
namespace {

using test::check_error;
using test::TempDir;
using test::write_file;

// A .npy file as NumPy lays it out: magic, version, length, dict padded to 64 bytes, data.
std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  const size_t len_bytes = major == 1 ? 2 : 4;
  std::string h = dict;
  while ((8 + len_bytes + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((h.size() >> (8 * i)) & 0xff);
  return out + h + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::string dict(const std::string& descr, const std::string& shape, const char* fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// ---- round trips -------------------------------------------------------------------------------

TEST_CASE("npy: write_npy_f32 then read_npy") {
  TempDir tmp;
  const std::vector<float> v{1.5f, -0.0f, std::numeric_limits<float>::infinity(), 3.25e-39f, -7.0f, 1e30f};
  const std::string p = tmp / "logits.npy";
  write_npy_f32(p, Shape{1, 2, 3}, v.data());
  CHECK(!test::fs::exists(p + ".tmp"));
  const std::string bytes = test::slurp(p);
  CHECK(bytes.size() == 128 + 24);  // header padded to 64 bytes, then the data
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(bytes.find("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }") == 10);
  CHECK(bytes[127] == '\n');

  const NpyArray a = read_npy(p);
  CHECK(a.type == NpyType::f32);
  CHECK(a.dtype == DType::f32);
  CHECK(a.shape == Shape{1, 2, 3});
  CHECK(a.file == p);
  REQUIRE(a.bytes.size() == 24);
  CHECK(std::memcmp(a.bytes.data(), v.data(), 24) == 0);
  const std::vector<float> f = a.to_f32();
  CHECK(std::memcmp(f.data(), v.data(), 24) == 0);
  CHECK(a.to_f64()[4] == -7.0);
}

TEST_CASE("npy: write_npy_i64 then read_npy, including 1-d, 0-d and empty shapes") {
  TempDir tmp;
  const std::vector<int64_t> v{0, -1, int64_t{1} << 62, 42};
  const std::string p = tmp / "ids.npy";
  write_npy_i64(p, Shape{4}, v.data());
  CHECK(test::slurp(p).find("'shape': (4,), }") != std::string::npos);
  NpyArray a = read_npy(p);
  CHECK(a.type == NpyType::i64);
  CHECK(a.dtype == DType::i64);
  CHECK(a.shape == Shape{4});
  CHECK(a.to_i64() == v);

  write_npy_i64(p, Shape{}, v.data() + 3);
  a = read_npy(p);
  CHECK(a.shape.ndim() == 0);
  CHECK(a.to_i64() == std::vector<int64_t>{42});

  write_npy_i64(p, Shape{1, 0}, nullptr);
  a = read_npy(p);
  CHECK(a.shape == Shape{1, 0});
  CHECK(a.bytes.empty());
  CHECK(a.to_i64().empty());
}

TEST_CASE("npy: reads <i4 and <f8 in versions 1.0, 2.0 and 3.0") {
  TempDir tmp;
  const std::vector<int32_t> i32{7, -8, 2147483647};
  const std::vector<double> f64{0.1, -1e300, 5e-324, 2.5};
  for (int major : {1, 2, 3}) {
    CAPTURE(major);
    const std::string p = tmp / "a.npy";
    write_file(p, npy_bytes(major, dict("<i4", "(3,)"), raw(i32)));
    NpyArray a = read_npy(p);
    CHECK(a.type == NpyType::i32);
    CHECK(a.dtype == DType::i32);
    CHECK(a.to_i64() == std::vector<int64_t>{7, -8, 2147483647});
    CHECK(a.to_f64() == std::vector<double>{7, -8, 2147483647});

    write_file(p, npy_bytes(major, dict("<f8", "(2, 2)"), raw(f64)));
    a = read_npy(p);
    CHECK(a.type == NpyType::f64);
    CHECK(!a.dtype.has_value());
    CHECK(a.shape == Shape{2, 2});
    CHECK(a.to_f64() == f64);  // bit-exact doubles
    CHECK(a.to_f32()[3] == 2.5f);
  }
}

TEST_CASE("npy: header dicts in other key orders, quotes and Python 2 longs parse") {
  TempDir tmp;
  const std::vector<float> v{1, 2};
  const std::string p = tmp / "b.npy";
  write_file(p, npy_bytes(1, "{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<f4\"}", raw(v)));
  const NpyArray a = read_npy(p);
  CHECK(a.shape == Shape{2});
  CHECK(a.to_f32() == v);
}

// ---- malformed files: one case each --------------------------------------------------------------

TEST_CASE("npy bad input: bad magic") {
  TempDir tmp;
  const std::string p = tmp / "notnpy.npy";
  write_file(p, "PK\x03\x04 this is a zip file, not an array");
  check_error([&] { read_npy(p); }, {"notnpy.npy", "bad magic"});
  write_file(p, "");
  check_error([&] { read_npy(p); }, {"notnpy.npy", "bad magic"});
}

TEST_CASE("npy bad input: truncated") {
  TempDir tmp;
  const std::string p = tmp / "trunc.npy";
  write_file(p, std::string("\x93NUMPY\x01", 7));
  check_error([&] { read_npy(p); }, {"trunc.npy", "truncated header", "7 bytes"});
  // The header length promises more than the file holds.
  write_file(p, npy_bytes(1, dict("<f4", "(2,)"), "").substr(0, 40));
  check_error([&] { read_npy(p); }, {"trunc.npy", "truncated header", "header length 118"});
}

TEST_CASE("npy bad input: unsupported version") {
  TempDir tmp;
  const std::string p = tmp / "v9.npy";
  std::string bytes = npy_bytes(1, dict("<f4", "(1,)"), std::string(4, '\0'));
  bytes[6] = 9;
  write_file(p, bytes);
  check_error([&] { read_npy(p); }, {"v9.npy", "version 9.0"});
}

TEST_CASE("npy bad input: unparseable header dict") {
  TempDir tmp;
  const std::string p = tmp / "dict.npy";
  write_file(p, npy_bytes(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", std::string(4, '\0')));
  check_error([&] { read_npy(p); }, {"dict.npy", "unparseable header dict"});
  write_file(p, npy_bytes(1, "{'descr': '<f4', 'fortran_order': False}", std::string(4, '\0')));
  check_error([&] { read_npy(p); }, {"dict.npy", "unparseable header dict", "'shape'"});
}

TEST_CASE("npy bad input: fortran order") {
  TempDir tmp;
  const std::string p = tmp / "fortran.npy";
  write_file(p, npy_bytes(1, dict("<f4", "(2, 2)", "True"), std::string(16, '\0')));
  check_error([&] { read_npy(p); }, {"fortran.npy", "fortran_order"});
}

TEST_CASE("npy bad input: unsupported dtype") {
  TempDir tmp;
  const std::string p = tmp / "dtype.npy";
  for (const char* descr : {"<f2", "|u1", ">f4", "|b1", "<c8"}) {
    CAPTURE(descr);
    write_file(p, npy_bytes(1, dict(descr, "(4,)"), std::string(32, '\0')));
    check_error([&] { read_npy(p); }, {"dtype.npy", std::string("unsupported dtype '") + descr + "'"});
  }
}

TEST_CASE("npy bad input: wrong data size") {
  TempDir tmp;
  const std::string p = tmp / "size.npy";
  write_file(p, npy_bytes(1, dict("<f4", "(2, 3)"), std::string(20, '\0')));
  check_error([&] { read_npy(p); }, {"size.npy", "20 bytes", "(2, 3)", "needs 24"});
  write_file(p, npy_bytes(1, dict("<i8", "(2,)"), std::string(24, '\0')));  // trailing bytes
  check_error([&] { read_npy(p); }, {"size.npy", "24 bytes", "needs 16"});
}

TEST_CASE("npy bad input: negative dimension") {
  TempDir tmp;
  const std::string p = tmp / "neg.npy";
  write_file(p, npy_bytes(1, dict("<f4", "(2, -3)"), ""));
  check_error([&] { read_npy(p); }, {"neg.npy", "negative dimension", "(2, -3)"});
}

TEST_CASE("npy bad input: float array read as integers") {
  TempDir tmp;
  const std::string p = tmp / "floats.npy";
  const std::vector<float> v{1, 2};
  write_npy_f32(p, Shape{2}, v.data());
  const NpyArray a = read_npy(p);
  check_error([&] { a.to_i64(); }, {"floats.npy", "<f4", "integers"});
}

TEST_CASE("npy bad input: missing file") {
  TempDir tmp;
  check_error([&] { read_npy(tmp / "absent.npy"); }, {"absent.npy", "no such file"});
}

TEST_CASE("npy write: no file when the target directory does not exist") {
  TempDir tmp;
  const std::vector<float> v{1, 2};
  const std::string p = tmp / "missing-dir/out.npy";
  check_error([&] { write_npy_f32(p, Shape{2}, v.data()); }, {p, "missing-dir", "does not exist"});
  CHECK(!test::fs::exists(p));
  CHECK(!test::fs::exists(p + ".tmp"));
  check_error([&] { write_npy_i64(tmp / "null.npy", Shape{2}, nullptr); }, {"null.npy", "null"});
  CHECK(!test::fs::exists(tmp / "null.npy"));
}

}  // namespace
}  // namespace braid
