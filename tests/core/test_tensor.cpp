// core/: tensor views (strides, narrowing, splitting, merging rows), owning tensors allocated
// through a backend, dtype conversions, and Status.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "core/rng.h"
#include "core/tensor.h"

using namespace braid;

TEST_CASE("a contiguous view has row-major strides in PyTorch shape order") {
  std::vector<float> buf(2 * 3 * 4);
  TensorView v(buf.data(), DType::f32, {2, 3, 4});
  CHECK(v.ndim == 3);
  CHECK(v.stride[0] == 12);
  CHECK(v.stride[1] == 4);
  CHECK(v.stride[2] == 1);
  CHECK(v.numel() == 24);
  CHECK(v.nbytes() == 96);
  CHECK(v.is_contiguous());
  CHECK(v.rows_mergeable());
  CHECK(v.rows() == 6);
  CHECK(v.offset({1, 2, 3}) == 23);
  CHECK(v.describe() == "f32[2, 3, 4]");
}

TEST_CASE("narrowing the last dim gives a strided view whose rows still merge") {
  std::vector<float> buf(2 * 3 * 10);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(i);
  TensorView v(buf.data(), DType::f32, {2, 3, 10});
  TensorView z = v.narrow_last(6, 4);  // channels 6..9
  CHECK(z.shape_of() == Shape{2, 3, 4});
  CHECK(!z.is_contiguous());
  CHECK(z.rows_mergeable());
  CHECK(z.row_stride() == 10);
  CHECK(z.ptr<float>()[z.offset({1, 2, 3})] == buf[1 * 30 + 2 * 10 + 9]);
  TensorView m = z.as_2d();
  CHECK(m.shape_of() == Shape{6, 4});
  CHECK(m.ptr<float>()[5 * m.stride[0] + 1] == buf[5 * 10 + 7]);
}

TEST_CASE("split_last views channels as [outer, inner] without copying") {
  std::vector<float> buf(2 * 12);
  TensorView v(buf.data(), DType::f32, {2, 12});
  TensorView s = v.narrow_last(4, 8).split_last(2, 4);  // [2, 2, 4]
  CHECK(s.shape_of() == Shape{2, 2, 4});
  CHECK(s.stride[0] == 12);
  CHECK(s.stride[1] == 4);
  CHECK(s.stride[2] == 1);
  CHECK(&s.ptr<float>()[s.offset({1, 1, 2})] == &buf[12 + 4 + 4 + 2]);
}

TEST_CASE("select and reshape") {
  std::vector<float> buf(24);
  TensorView v(buf.data(), DType::f32, {2, 3, 4});
  TensorView r = v.select(0, 1);
  CHECK(r.shape_of() == Shape{3, 4});
  CHECK(r.data == &buf[12]);
  TensorView c = v.select(1, 2);  // [2, 4] with row stride 12
  CHECK(c.shape_of() == Shape{2, 4});
  CHECK(c.stride[0] == 12);
  CHECK(v.reshape({6, 4}).shape_of() == Shape{6, 4});
}

TEST_CASE("rows that cannot merge are detected") {
  std::vector<float> buf(4 * 6 * 8);
  TensorView v(buf.data(), DType::f32, {4, 6, 8});
  TensorView holes = v.narrow(1, 0, 3);  // 3 of 6 rows per block: blocks step 48, rows step 8
  CHECK(!holes.rows_mergeable());
  CHECK(expect_rows_mergeable(holes, "x").code() == StatusCode::invalid_argument);
  CHECK(v.narrow(0, 1, 2).rows_mergeable());
}

TEST_CASE("validator helpers name the tensor") {
  std::vector<float> buf(6);
  TensorView v(buf.data(), DType::f32, {2, 3});
  const Status s = expect_shape(v, "w_gate", {3, 2});
  CHECK(!s.is_ok());
  CHECK(s.message() == "w_gate has shape [2, 3], expected [3, 2]");
  CHECK(expect_index(v, "ids").message().find("ids") == 0);
  CHECK(expect_defined(TensorView(), "z").message() == "z is required but absent");
}

TEST_CASE("bf16 conversion rounds to nearest even and keeps specials") {
  CHECK(bf16_to_f32(f32_to_bf16(1.0f)) == 1.0f);
  CHECK(bf16_to_f32(f32_to_bf16(-2.5f)) == -2.5f);
  // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even (1).
  CHECK(bf16_to_f32(f32_to_bf16(1.0f + 1.0f / 256)) == 1.0f);
  CHECK(bf16_to_f32(f32_to_bf16(1.0f + 3.0f / 256)) == 1.0f + 4.0f / 256);
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isinf(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::infinity()))));
}

TEST_CASE("f16 conversion: normals, subnormals, overflow, NaN") {
  for (float x : {0.0f, 1.0f, -1.5f, 65504.0f, 6.103515625e-05f /* 2^-14 */, 5.960464477539063e-08f /* 2^-24 */})
    CHECK(f16_to_f32(f32_to_f16(x)) == x);
  CHECK(f32_to_f16(1.0f) == 0x3c00);
  CHECK(f32_to_f16(-2.0f) == 0xc000);
  CHECK(std::isinf(f16_to_f32(f32_to_f16(70000.0f))));
  CHECK(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(f16_to_f32(f32_to_f16(1.0f + 1.0f / 4096)) == 1.0f);  // below half an ulp (2^-11): rounds down
  // Every f16 bit pattern that is not NaN survives a round trip through f32.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (!std::isnan(f)) REQUIRE(f32_to_f16(f) == h);
  }
}

TEST_CASE("convert_floats moves between every float dtype") {
  Rng rng(1);
  std::vector<float> x(100), back(100);
  for (float& v : x) v = rng.normal();
  std::vector<uint16_t> half(100);
  for (DType t : {DType::bf16, DType::f16}) {
    convert_floats(x.data(), DType::f32, half.data(), t, x.size());
    convert_floats(half.data(), t, back.data(), DType::f32, x.size());
    for (size_t i = 0; i < x.size(); ++i) CHECK(std::fabs(back[i] - x[i]) <= std::fabs(x[i]) * 1e-2f);
  }
  CHECK(dtype_from_name("BF16") == DType::bf16);
  CHECK(dtype_from_name("bfloat16") == DType::bf16);
  CHECK(!dtype_from_name("F64").has_value());
  CHECK(dtype_size(DType::i64) == 8);
}

TEST_CASE("Rng is deterministic per seed") {
  Rng a(123), b(123), c(124);
  for (int i = 0; i < 10; ++i) CHECK(a.next_u64() == b.next_u64());
  CHECK(Rng(123).next_u64() != c.next_u64());
  Rng u(5);
  for (int i = 0; i < 1000; ++i) {
    const float x = u.uniform();
    REQUIRE((x >= 0.0f && x < 1.0f));
  }
}
