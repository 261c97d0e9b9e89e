#include "core/dtype.h"

#include "core/status.h"

namespace braid {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::bf16: return 2;
    case DType::f16: return 2;
    case DType::i32: return 4;
    case DType::i64: return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view s) {
  if (s == "f32" || s == "F32" || s == "float32") return DType::f32;
  if (s == "bf16" || s == "BF16" || s == "bfloat16") return DType::bf16;
  if (s == "f16" || s == "F16" || s == "float16") return DType::f16;
  if (s == "i32" || s == "I32" || s == "int32") return DType::i32;
  if (s == "i64" || s == "I64" || s == "int64") return DType::i64;
  return std::nullopt;
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to Inf (>= 65520)
  if (abs < 0x38800000u) {  // result is subnormal or zero: value < 2^-14
    // Scale into units of 2^-24 and round to nearest even.
    float af;
    std::memcpy(&af, &abs, 4);
    const float scaled = af * 16777216.0f;  // 2^24, exact
    uint32_t m = static_cast<uint32_t>(scaled);
    const float rem = scaled - static_cast<float>(m);
    if (rem > 0.5f || (rem == 0.5f && (m & 1u))) ++m;
    return static_cast<uint16_t>(sign | m);
  }
  // Normal: rebias exponent 127 -> 15, keep 10 mantissa bits, round to nearest even.
  uint32_t h = ((abs - 0x38000000u) >> 13);
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: man · 2^-24
      float f = static_cast<float>(man) * (1.0f / 16777216.0f);
      std::memcpy(&u, &f, 4);
      u |= sign;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 112u) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

namespace {
float load_float(const void* p, DType t, size_t i) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(p)[i];
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    default: BRAID_CHECK(false, "not a float dtype: ", dtype_name(t));
  }
  return 0.0f;
}
void store_float(void* p, DType t, size_t i, float v) {
  switch (t) {
    case DType::f32: static_cast<float*>(p)[i] = v; return;
    case DType::bf16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(v); return;
    case DType::f16: static_cast<uint16_t*>(p)[i] = f32_to_f16(v); return;
    default: BRAID_CHECK(false, "not a float dtype: ", dtype_name(t));
  }
}
}  // namespace

void convert_floats(const void* src, DType src_t, void* dst, DType dst_t, size_t n) {
  BRAID_CHECK(is_floating(src_t) && is_floating(dst_t), "convert_floats: ", dtype_name(src_t), " -> ",
              dtype_name(dst_t));
  if (src_t == dst_t) {
    std::memcpy(dst, src, n * dtype_size(src_t));
    return;
  }
  for (size_t i = 0; i < n; ++i) store_float(dst, dst_t, i, load_float(src, src_t, i));
}

}  // namespace braid
