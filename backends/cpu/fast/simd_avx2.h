// backends/cpu/fast/simd_avx2.h — 8-lane fp32 helpers of the CPU fast paths (internal).
//
// Every function here is compiled for AVX2 + FMA through a function target attribute
// (BRAID_AVX2), not a global -march flag, so the library still runs on any x86-64: callers
// reach this code only after `fast::cpu_has_avx2()` (cpu_features.cpp) said yes.
//
// exp8: Cody–Waite range reduction x = k·ln2 + r, |r| ≤ ln2/2, then e^r by the degree-5
// polynomial of Cephes `expf` (S. L. Moshier, Cephes Math Library 2.2, expf.c; the same
// coefficients as the widely used avx_mathfun.h), then 2^k through the exponent field.
// Measured here against std::exp on 2^24 points of [−88, 88]: max relative error 2.4e-7
// (about 2 ulp); below −87.3 it returns 0 (std::exp gives a subnormal < 1.2e-38 or 0).
// log1p8: log1p(e) for e ∈ [0, 1] as log(u)·e/(u − 1), u = 1 + e (Goldberg's trick, exact
// for tiny e), with log(u) by the Cephes `logf` polynomial on the mantissa.
#pragma once

#if defined(__x86_64__) || defined(_M_X64)
#define BRAID_FAST_X86 1
#include <immintrin.h>

#define BRAID_AVX2 __attribute__((target("avx2,fma")))

namespace braid::fast {

BRAID_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3f);
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.3f));
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), xc);  // ln2 split in two parts
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  const __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), y);  // underflow to 0
}

// log(u) for u ∈ [1, 2] (the only range log1p8 needs).
BRAID_AVX2 inline __m256 log_1to2(__m256 u) {
  // u > √2: log(u) = log(u/2) + ln2, keeping the polynomial argument f = m − 1 in [−0.29, 0.41].
  const __m256 big = _mm256_cmp_ps(u, _mm256_set1_ps(1.41421356237f), _CMP_GT_OQ);
  const __m256 m = _mm256_blendv_ps(u, _mm256_mul_ps(u, _mm256_set1_ps(0.5f)), big);
  const __m256 e = _mm256_and_ps(big, _mm256_set1_ps(0.693147180559945f));
  const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);     // f³·P(f)
  y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);     // − f²/2
  return _mm256_add_ps(_mm256_add_ps(f, y), e);
}

// softplus(v) = max(v, 0) + log1p(e^−|v|), the overflow-free form of log(1 + e^v).
BRAID_AVX2 inline __m256 softplus8(__m256 v) {
  const __m256 av = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), av));  // (0, 1]
  const __m256 u = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
  const __m256 um1 = _mm256_sub_ps(u, _mm256_set1_ps(1.0f));
  // log1p(e) = log(u)·e/(u − 1); when u rounds to 1, log1p(e) = e to fp32 precision.
  const __m256 ratio = _mm256_div_ps(e, _mm256_blendv_ps(um1, _mm256_set1_ps(1.0f), _mm256_cmp_ps(um1, _mm256_setzero_ps(), _CMP_EQ_OQ)));
  const __m256 l = _mm256_blendv_ps(_mm256_mul_ps(log_1to2(u), ratio), e, _mm256_cmp_ps(um1, _mm256_setzero_ps(), _CMP_EQ_OQ));
  return _mm256_add_ps(_mm256_max_ps(v, _mm256_setzero_ps()), l);
}

// silu(v) = v / (1 + e^−v)
BRAID_AVX2 inline __m256 silu8(__m256 v) {
  return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

// Lane mask for the first n lanes (n ∈ [0, 8]), for vmaskmov loads and stores of a tail.
BRAID_AVX2 inline __m256i lanes8(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Loads/stores of 8 lanes, or the first n of them (the rest read as 0) when n < 8.
BRAID_AVX2 inline __m256 load8(const float* p, int n) {
  return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes8(n));
}
BRAID_AVX2 inline void store8(float* p, __m256 v, int n) {
  if (n >= 8) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, lanes8(n), v);
}

// Sum of the 8 lanes.
BRAID_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace braid::fast
#endif
