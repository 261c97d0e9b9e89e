// models/io/safetensors.h — Hugging Face safetensors checkpoints: single files, sharded
// directories, and writing.
//
// Format (little-endian throughout):
//
//   offset 0      u64 n                  length of the header in bytes
//   offset 8      n bytes of UTF-8 JSON  the header, optionally right-padded with spaces
//   offset 8 + n  data section           raw tensor bytes, row-major (C order)
//
//   header = { "<tensor name>": { "dtype": "F32" | "BF16" | "F16" | "I32" | "I64" | ...,
//                                 "shape": [d0, d1, ...],
//                                 "data_offsets": [begin, end] },   // relative to offset 8 + n
//              ...,
//              "__metadata__": { "<key>": "<string value>", ... } }  // optional
//
// A sharded checkpoint is a directory with `model.safetensors.index.json`:
//   { "metadata": {...}, "weight_map": { "<tensor name>": "<shard file name>", ... } }
// and the shard files next to it. A single-file checkpoint has `model.safetensors`.
//
// Source: the safetensors format description, https://github.com/huggingface/safetensors
// (README, "Format"), and transformers' `SAFE_WEIGHTS_NAME` / `SAFE_WEIGHTS_INDEX_NAME`
// conventions (modeling_utils.py).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "models/io/mapped_file.h"

namespace braid {

// One tensor inside a mapped safetensors file. `data` points into the mapping (zero-copy)
// and stays valid while the SafetensorsFile / WeightStore that owns it is alive. `data` is
// only as aligned as the file makes it (files written by write_safetensors are 8-aligned).
struct SafetensorsTensor {
  std::string name;
  DType dtype;
  Shape shape;
  const void* data;
  size_t nbytes;  // == shape.numel() * dtype_size(dtype)
  std::string file;  // path of the file that holds it, for error messages
};

// The safetensors spelling of a dtype: "F32", "BF16", "F16", "I32", "I64".
const char* safetensors_dtype_name(DType t);

// One memory-mapped .safetensors file (move-only). Every structural check happens in the
// constructor; afterwards every tensor's bytes lie inside the data section, no two tensors
// overlap, and byte counts match shape × dtype.
class SafetensorsFile {
 public:
  // Throws `braid::Error`, one line naming `path` (and the tensor, where there is one), for:
  // a file shorter than 8 bytes, a header longer than kMaxHeaderBytes or than the file, a
  // header that is not a JSON object, a malformed entry (not an object; missing or mistyped
  // dtype / shape / data_offsets; negative dimension), an unsupported dtype, offsets with
  // begin > end or past the data section, a byte count that does not match the shape,
  // numel overflow, and overlapping tensors.
  explicit SafetensorsFile(const std::string& path);

  // Largest accepted header: a sanity cap against corrupt length fields (the reference
  // implementation caps at 100 MB; real headers are a few MB at most).
  static constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

  const std::string& path() const { return file_.path(); }
  // All tensors, sorted by name.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  // The tensor called `name`, or nullptr.
  const SafetensorsTensor* find(const std::string& name) const;
  // "__metadata__" (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  MappedFile file_;
  std::vector<SafetensorsTensor> tensors_;
  std::unordered_map<std::string, size_t> by_name_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of one checkpoint directory (move-only): `model.safetensors`, or
// `model.safetensors.index.json` plus its shards (each shard is mapped once). When both are
// present the single file wins, as in transformers.
class WeightStore {
 public:
  // Throws `braid::Error`, one line naming the path at fault, for: a missing directory, a
  // path that is not a directory, a directory with neither file, an index that is not JSON
  // or has no "weight_map" object, a shard name that is not a plain file name, a missing or
  // malformed shard, a tensor listed in the index but absent from its shard, and a shard
  // tensor that the index does not list.
  static WeightStore open(const std::string& dir);

  WeightStore(WeightStore&&) noexcept = default;
  WeightStore& operator=(WeightStore&&) noexcept = default;
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  // The tensor called `name`, or nullptr.
  const SafetensorsTensor* find(const std::string& name) const;
  // Every tensor name, sorted.
  std::vector<std::string> names() const;
  const std::string& dir() const { return dir_; }
  // The mapped files (one per shard, or one).
  const std::vector<SafetensorsFile>& shards() const { return shards_; }

 private:
  WeightStore() = default;
  void index_all();
  std::string dir_;
  std::vector<SafetensorsFile> shards_;
  // Points into shards_[i].tensors(); stable because moving a vector keeps its buffer.
  std::map<std::string, const SafetensorsTensor*> by_name_;
};

// A tensor to write: `data` holds shape.numel() * dtype_size(dtype) bytes, row-major.
struct SafetensorsWrite {
  std::string name;
  DType dtype;
  Shape shape;
  const void* data;
};

// Writes `tensors` (data in the given order) to `path` atomically (temp file in the same
// directory, fsync, rename, fsync of the directory). The header has sorted keys, is padded
// with spaces to a multiple of 8 bytes (so the data section is 8-aligned) and always has
// "__metadata__" with "format": "pt" unless `metadata` sets "format". Throws `braid::Error`
// naming `path` for an empty, duplicate or reserved tensor name, a negative dimension, null
// data with a non-zero size, or any I/O failure; no file (and no temp file) is left at
// `path` on failure.
void write_safetensors(const std::string& path, const std::vector<SafetensorsWrite>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace braid
