// models/io/npy.h — NumPy .npy arrays: reading (fixtures, token ids) and writing (logits).
//
// Format (versions 1.0, 2.0 and 3.0):
//
//   offset 0   6 bytes  magic "\x93NUMPY"
//   offset 6   u8 major, u8 minor version
//   offset 8   header length L: u16 little-endian (1.0) or u32 little-endian (2.0, 3.0)
//   then       L bytes: a Python dict literal, ASCII (3.0: UTF-8), padded with spaces and
//              ended by '\n' so that the data starts on a 64-byte boundary, e.g.
//              {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//   then       the raw elements, C order when fortran_order is False
//
// Supported element types: '<i4', '<i8', '<f4', '<f8' (little-endian only); C order only.
//
// Source: NumPy, "A Simple File Format for NumPy Arrays" (numpy/lib/format.py docstring,
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace braid {

// The element types read_npy accepts. f64 exists only here: braid's DType has no f64, but
// reference fixtures store HF's fp64 logits.
enum class NpyType : uint8_t { i32, i64, f32, f64 };

const char* npy_type_descr(NpyType t);  // "<i4", "<i8", "<f4", "<f8"
size_t npy_type_size(NpyType t);        // 4, 8, 4, 8

// An array read from a .npy file. `bytes` holds shape.numel() elements of `type`, C order,
// little-endian. A 0-d array has shape [] and one element; an empty array has no bytes.
struct NpyArray {
  NpyType type = NpyType::f32;
  std::optional<DType> dtype;  // the same type as a braid DType; nullopt for f64
  Shape shape;
  std::vector<uint8_t> bytes;
  std::string file;  // the path it was read from, for error messages

  int64_t numel() const { return shape.numel(); }
  // Every element as double (exact for f32, f64 and i32; i64 beyond 2^53 rounds).
  std::vector<double> to_f64() const;
  // Every element as float (f64 and integers round to nearest).
  std::vector<float> to_f32() const;
  // Integer arrays only; a floating array throws `braid::Error` naming `file`.
  std::vector<int64_t> to_i64() const;
};

// Reads a whole .npy file. Throws `braid::Error`, one line naming `path`, for: a missing
// file, bad magic, an unsupported version, a truncated header, a header dict that does not
// parse or lacks 'descr' / 'fortran_order' / 'shape', an unsupported dtype, fortran_order
// True, a negative dimension or numel overflow, and a data size that does not match the
// shape. 0-d and empty arrays are returned as they are; callers decide whether they fit.
NpyArray read_npy(const std::string& path);

// Writes a C-order array of `shape` (version 1.0, '<f4' / '<i8') atomically: a temp file in
// the same directory, fsync, rename, fsync of the directory. Throws `braid::Error` naming
// `path` for a negative dimension, null data with a non-empty shape, or any I/O failure (a
// missing directory is named); nothing is left at `path` or `path + ".tmp"` on failure.
void write_npy_f32(const std::string& path, const Shape& shape, const float* data);
void write_npy_i64(const std::string& path, const Shape& shape, const int64_t* data);

}  // namespace braid
