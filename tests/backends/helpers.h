// tests/backends/helpers.h — small utilities shared by the CPU backend tests: seeded random
// data, views over std::vector storage (the CPU backend's memory is host memory), strided
// copies of an input inside a wider NaN-padded buffer, and Status checks.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "backends/cpu/cpu_backend.h"
#include "core/rng.h"
#include "tests/tolerance.h"

namespace braid::test {

// An RNG whose seed is printed, so a failure can be replayed.
inline Rng seeded(uint64_t seed) {
  MESSAGE("seed " << seed);
  return Rng(seed);
}

inline std::vector<float> randn(Rng& rng, int64_t n, float scale = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = scale * rng.normal();
  return v;
}

inline std::vector<float> uniform(Rng& rng, int64_t n, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

// Contiguous views over test-owned storage. The vector must outlive the view.
inline TensorView f32_view(std::vector<float>& v, const Shape& s) {
  REQUIRE(static_cast<int64_t>(v.size()) == s.numel());
  return TensorView(v.data(), DType::f32, s);
}
inline TensorView i32_view(std::vector<int32_t>& v, const Shape& s) {
  REQUIRE(static_cast<int64_t>(v.size()) == s.numel());
  return TensorView(v.data(), DType::i32, s);
}

// A contiguous tensor `v` of shape [..., n] stored inside a wider buffer [..., before + n + after]
// whose extra channels are NaN, viewed back as [..., n] with strided outer dims. This is how a
// model passes a channel slice of a projection; NaN padding makes any out-of-view read visible.
struct Embedded {
  std::vector<float> buf;
  TensorView view;
  Embedded() = default;
  Embedded(const Embedded&) = delete;
  Embedded& operator=(const Embedded&) = delete;
  Embedded(Embedded&&) = default;  // moving the vector keeps its heap buffer, so view stays valid
  Embedded& operator=(Embedded&&) = default;
};

inline Embedded embed_last(const std::vector<float>& v, const Shape& s, int64_t before, int64_t after) {
  REQUIRE(static_cast<int64_t>(v.size()) == s.numel());
  const int64_t n = s[s.ndim() - 1], rows = s.numel() / (n ? n : 1), W = before + n + after;
  Embedded e;
  e.buf.assign(static_cast<size_t>(rows * W), std::numeric_limits<float>::quiet_NaN());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) e.buf[r * W + before + j] = v[r * n + j];
  std::vector<int64_t> wide = s.dims;
  wide.back() = W;
  e.view = TensorView(e.buf.data(), DType::f32, Shape(wide)).narrow_last(before, n);
  return e;
}

inline std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// Runs a contract entry point and REQUIREs it to succeed, printing its message otherwise.
inline void require_ok(const Status& s) {
  INFO(status_code_name(s.code()) << ": " << s.message());
  REQUIRE(s.is_ok());
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The reference activations, in double.
inline double silu_ref(double v) { return v / (1.0 + std::exp(-v)); }
inline double softplus_ref(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }

// Elements [begin, begin + n) of rows of a [rows, W] float buffer, flattened (test slicing).
inline std::vector<float> rows_slice(const std::vector<float>& v, int64_t row_len, int64_t row_begin, int64_t nrows) {
  return std::vector<float>(v.begin() + row_begin * row_len, v.begin() + (row_begin + nrows) * row_len);
}

}  // namespace braid::test
