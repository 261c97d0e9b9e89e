// core/dtype.h — element types and the scalar conversions between them.
//
// Storage types: f32, bf16, f16 (floating point) and i32, i64 (indices). Arithmetic in braid
// always accumulates in f32; bf16/f16 are storage formats only.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace braid {

enum class DType : uint8_t { f32, bf16, f16, i32, i64 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);                       // "f32", "bf16", ...
std::optional<DType> dtype_from_name(std::string_view);  // accepts our names and safetensors' ("F32", "BF16", "F16", "I32", "I64")
inline bool is_floating(DType t) { return t == DType::f32 || t == DType::bf16 || t == DType::f16; }

// bf16 <-> f32. Rounds to nearest even; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// IEEE half <-> f32, round to nearest even, with subnormals, Inf and NaN.
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);

// Converts `n` elements between floating storage types (either side may be f32, bf16 or f16).
void convert_floats(const void* src, DType src_t, void* dst, DType dst_t, size_t n);

}  // namespace braid
