// tests/tolerance.h — the one tolerance policy (house style P14).
//
// One metric: relative L2 error ‖a − b‖ / ‖b‖ (b is the reference), with per-dtype defaults.
// A comparison prints the worst element and its index so a failure says where it broke.
// Overrides carry a reason comment at the call site.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace braid::test {

// fp32 arithmetic against an fp32/fp64 reference of the same math, summed in another order.
inline constexpr double kRelL2F32 = 1e-5;
// A whole model in fp32 against HF's fp64 logits (the parity bar).
inline constexpr double kRelL2Model = 1e-4;

struct Comparison {
  double rel_l2 = 0.0;
  double max_abs = 0.0;
  int64_t worst = -1;
  bool finite = true;
};

inline Comparison compare(const float* a, const float* ref, int64_t n) {
  double num = 0.0, den = 0.0;
  Comparison c;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(a[i])) c.finite = false;
    const double d = static_cast<double>(a[i]) - static_cast<double>(ref[i]);
    num += d * d;
    den += static_cast<double>(ref[i]) * ref[i];
    if (std::fabs(d) > c.max_abs) {
      c.max_abs = std::fabs(d);
      c.worst = i;
    }
  }
  c.rel_l2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return c;
}

// CHECKs rel L2 ≤ tol and that every element is finite; on failure prints the worst element.
inline void check_close(const float* a, const float* ref, int64_t n, double tol, const std::string& what) {
  const Comparison c = compare(a, ref, n);
  INFO(what << ": rel_l2 = " << c.rel_l2 << " (tol " << tol << "), max_abs = " << c.max_abs << " at " << c.worst
            << (c.worst >= 0 ? " (got " + std::to_string(a[c.worst]) + ", want " + std::to_string(ref[c.worst]) + ")" : ""));
  CHECK(c.finite);
  CHECK(c.rel_l2 <= tol);
}

inline void check_close(const std::vector<float>& a, const std::vector<float>& ref, double tol, const std::string& what) {
  REQUIRE(a.size() == ref.size());
  check_close(a.data(), ref.data(), static_cast<int64_t>(a.size()), tol, what);
}

}  // namespace braid::test
