// models/io/safetensors.cpp — reads and writes Hugging Face safetensors (see safetensors.h
// for the layout).
//
// Source: https://github.com/huggingface/safetensors README ("Format"): u64 little-endian
// header size N, N bytes of JSON, then the byte buffer; offsets are relative to the buffer;
// the header may be padded with spaces; "__metadata__" maps strings to strings.
#include "models/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <filesystem>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "models/io/atomic_file.h"

namespace braid {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; big-endian hosts need byte swaps");

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr const char* kSupported = "F32, BF16, F16, I32, I64";

// 'name' with control characters escaped, so an error message stays on one line.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      out += str("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

// nlohmann's exception text without any newline.
std::string one_line(const std::string& s) {
  std::string out = s;
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

// Parses `n` bytes of JSON; throws naming `path` when they are not JSON.
json parse_json(const std::string& path, const uint8_t* p, size_t n, const char* what) {
  try {
    return json::parse(p, p + n);
  } catch (const json::exception& e) {
    fail(path, ": ", what, " is not valid JSON (", one_line(e.what()), ")");
  }
}

// ---- reading one file ----------------------------------------------------------------

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The header length n, checked against the file size and the cap.
uint64_t read_header_length(const MappedFile& f) {
  if (f.size() < 8) fail(f.path(), ": truncated header (file is ", f.size(), " bytes, the length field needs 8)");
  const uint64_t n = read_u64_le(f.data());
  if (n > SafetensorsFile::kMaxHeaderBytes)
    fail(f.path(), ": oversized header (length ", n, " bytes, limit ", SafetensorsFile::kMaxHeaderBytes, ")");
  if (n > f.size() - 8) fail(f.path(), ": header length ", n, " exceeds file size ", f.size());
  return n;
}

// A JSON value that is a non-negative integer (nlohmann stores those as unsigned).
bool is_count(const json& v) { return v.is_number_unsigned(); }

const json& member(const std::string& where, const json& entry, const char* key) {
  auto it = entry.find(key);
  if (it == entry.end()) fail(where, ": missing \"", key, "\"");
  return *it;
}

DType parse_dtype(const std::string& where, const json& v) {
  if (!v.is_string()) fail(where, ": \"dtype\" must be a string, got ", one_line(v.dump()));
  const std::string s = v.get<std::string>();
  const std::optional<DType> t = dtype_from_name(s);
  // Only the safetensors spellings: dtype_from_name also takes braid's ("f32", "float32").
  if (!t || s != safetensors_dtype_name(*t))
    fail(where, " has unsupported dtype ", quoted(s), " (supported: ", kSupported, ")");
  return *t;
}

Shape parse_shape(const std::string& where, const json& v) {
  if (!v.is_array()) fail(where, ": \"shape\" must be an array, got ", one_line(v.dump()));
  std::vector<int64_t> dims;
  for (const json& d : v) {
    // nlohmann stores non-negative integers as unsigned, so a signed integer is negative.
    if (d.is_number_integer() && !d.is_number_unsigned())
      fail(where, ": negative dimension ", d.get<int64_t>(), " in shape ", v.dump());
    if (!is_count(d) || d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(where, ": shape entries must be non-negative integers, got ", one_line(v.dump()));
    dims.push_back(d.get<int64_t>());
  }
  return Shape(std::move(dims));
}

// Bytes needed for `shape` of `t`; throws on overflow of numel or of the byte count.
uint64_t shape_bytes(const std::string& where, const Shape& shape, DType t) {
  uint64_t n = 1;
  for (int64_t d : shape.dims)
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n) || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(where, ": numel overflow for shape ", shape.to_string());
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(dtype_size(t)), &bytes))
    fail(where, ": byte count overflow for shape ", shape.to_string());
  return bytes;
}

struct Offsets {
  uint64_t begin, end;
};

Offsets parse_offsets(const std::string& where, const json& v) {
  if (!v.is_array() || v.size() != 2) fail(where, ": \"data_offsets\" must be [begin, end], got ", one_line(v.dump()));
  for (const json& o : v)
    if (!is_count(o)) fail(where, ": \"data_offsets\" must be non-negative integers, got ", one_line(v.dump()));
  return {v[0].get<uint64_t>(), v[1].get<uint64_t>()};
}

// Validates one header entry and makes the tensor that points into `data`.
SafetensorsTensor parse_entry(const std::string& path, const std::string& name, const json& entry,
                              const uint8_t* data, uint64_t data_size) {
  const std::string where = str(path, ": tensor ", quoted(name));
  if (!entry.is_object()) fail(where, ": entry must be an object, got ", one_line(entry.dump()));
  const DType dtype = parse_dtype(where, member(where, entry, "dtype"));
  Shape shape = parse_shape(where, member(where, entry, "shape"));
  const Offsets o = parse_offsets(where, member(where, entry, "data_offsets"));
  if (o.begin > o.end) fail(where, ": offsets [", o.begin, ", ", o.end, ") have begin > end");
  if (o.end > data_size)
    fail(where, ": offsets [", o.begin, ", ", o.end, ") past the end of the data (size ", data_size, ")");
  const uint64_t want = shape_bytes(where, shape, dtype);
  if (o.end - o.begin != want)
    fail(where, ": offsets [", o.begin, ", ", o.end, ") hold ", o.end - o.begin, " bytes but shape ",
         shape.to_string(), " of ", safetensors_dtype_name(dtype), " needs ", want);
  return SafetensorsTensor{name, dtype, std::move(shape), data + o.begin, static_cast<size_t>(want), path};
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& v) {
  if (!v.is_object()) fail(path, ": \"__metadata__\" must be an object, got ", one_line(v.dump()));
  std::map<std::string, std::string> out;
  for (const auto& [k, val] : v.items()) {
    if (!val.is_string()) fail(path, ": \"__metadata__\" value for ", quoted(k), " must be a string, got ", one_line(val.dump()));
    out[k] = val.get<std::string>();
  }
  return out;
}

// No two tensors may share a byte. Zero-size tensors occupy nothing.
void check_no_overlap(const std::string& path, const std::vector<SafetensorsTensor>& ts, const uint8_t* data) {
  std::vector<const SafetensorsTensor*> order;
  for (const SafetensorsTensor& t : ts)
    if (t.nbytes > 0) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->data < b->data; });
  auto begin = [&](const SafetensorsTensor* t) { return static_cast<const uint8_t*>(t->data) - data; };
  for (size_t i = 1; i < order.size(); ++i) {
    const SafetensorsTensor* a = order[i - 1];
    const SafetensorsTensor* b = order[i];
    if (begin(b) < begin(a) + static_cast<ptrdiff_t>(a->nbytes))
      fail(path, ": tensors ", quoted(a->name), " [", begin(a), ", ", begin(a) + a->nbytes, ") and ", quoted(b->name),
           " [", begin(b), ", ", begin(b) + b->nbytes, ") overlap");
  }
}

// ---- directories -----------------------------------------------------------------------

// Throws unless `dir` exists and is a directory.
void check_directory(const std::string& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::not_found) fail(dir, ": checkpoint directory does not exist");
  if (ec) fail(dir, ": cannot access checkpoint directory (", ec.message(), ")");
  if (st.type() != fs::file_type::directory) fail(dir, ": not a directory (expected a checkpoint directory)");
}

// True unless `p` is definitely absent; an unreadable entry counts as present so that
// opening it reports the real reason (e.g. permission denied).
bool is_file(const std::string& p) {
  std::error_code ec;
  return fs::status(p, ec).type() != fs::file_type::not_found;
}

// A shard name must stay inside the checkpoint directory.
void check_shard_name(const std::string& index_path, const std::string& tensor, const std::string& shard) {
  if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos ||
      shard.find('\\') != std::string::npos)
    fail(index_path, ": tensor ", quoted(tensor), " names shard ", quoted(shard), ", which is not a plain file name");
}

// weight_map grouped by shard: shard file name -> tensor names.
std::map<std::string, std::vector<std::string>> read_index(const std::string& index_path) {
  const MappedFile f(index_path);
  const json j = parse_json(index_path, f.data(), f.size(), "index");
  if (!j.is_object()) fail(index_path, ": index is not a JSON object");
  auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object()) fail(index_path, ": no \"weight_map\" object");
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string()) fail(index_path, ": weight_map entry for ", quoted(tensor), " must be a file name string");
    const std::string s = shard.get<std::string>();
    check_shard_name(index_path, tensor, s);
    by_shard[s].push_back(tensor);
  }
  return by_shard;
}

// Opens one shard and checks it holds exactly the tensors the index assigns to it.
SafetensorsFile open_shard(const std::string& dir, const std::string& index_path, const std::string& shard,
                           const std::vector<std::string>& listed) {
  const std::string shard_path = (fs::path(dir) / shard).string();
  if (!is_file(shard_path))
    fail(index_path, ": names shard ", quoted(shard), " (for tensor ", quoted(listed.front()), "), but ", shard_path,
         " does not exist");
  SafetensorsFile f(shard_path);
  for (const std::string& name : listed)
    if (!f.find(name)) fail(shard_path, ": tensor ", quoted(name), " is listed in ", kIndexFile, " but missing from this shard");
  if (f.tensors().size() != listed.size()) {
    const std::vector<std::string> sorted = [&] { auto v = listed; std::sort(v.begin(), v.end()); return v; }();
    for (const SafetensorsTensor& t : f.tensors())
      if (!std::binary_search(sorted.begin(), sorted.end(), t.name))
        fail(shard_path, ": holds tensor ", quoted(t.name), " that ", kIndexFile, " does not assign to this shard");
  }
  return f;
}

// ---- writing ---------------------------------------------------------------------------

void encode_u64_le(uint64_t v, uint8_t out[8]) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Checks one tensor to write and returns its byte count.
uint64_t write_bytes_of(const std::string& path, const SafetensorsWrite& t) {
  const std::string where = str(path, ": tensor ", quoted(t.name));
  if (t.name.empty()) fail(path, ": a tensor has an empty name");
  if (t.name == "__metadata__") fail(where, ": the name is reserved for metadata");
  for (int64_t d : t.shape.dims)
    if (d < 0) fail(where, ": negative dimension in shape ", t.shape.to_string());
  const uint64_t bytes = shape_bytes(where, t.shape, t.dtype);
  if (bytes > 0 && t.data == nullptr) fail(where, ": data is null but the shape needs ", bytes, " bytes");
  return bytes;
}

// The header JSON (sorted keys, since nlohmann::json objects are ordered maps), padded.
std::string make_header(const std::string& path, const std::vector<SafetensorsWrite>& tensors,
                        const std::vector<uint64_t>& bytes, const std::map<std::string, std::string>& metadata) {
  json h = json::object();
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const SafetensorsWrite& t = tensors[i];
    if (h.contains(t.name)) fail(path, ": tensor ", quoted(t.name), " appears twice");
    h[t.name] = {{"dtype", safetensors_dtype_name(t.dtype)},
                 {"shape", t.shape.dims},
                 {"data_offsets", {offset, offset + bytes[i]}}};
    offset += bytes[i];
  }
  json meta = json::object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  if (!meta.contains("format")) meta["format"] = "pt";
  h["__metadata__"] = std::move(meta);
  std::string s;
  try {
    s = h.dump();
  } catch (const json::exception& e) {
    fail(path, ": tensor names and metadata must be valid UTF-8 (", one_line(e.what()), ")");
  }
  s.append((8 - s.size() % 8) % 8, ' ');
  return s;
}

}  // namespace

const char* safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::bf16: return "BF16";
    case DType::f16: return "F16";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
  }
  return "?";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  const uint64_t n = read_header_length(file_);
  const json header = parse_json(path, file_.data() + 8, n, "header");
  if (!header.is_object()) fail(path, ": header is not a JSON object (got ", header.type_name(), ")");
  const uint8_t* data = file_.data() + 8 + n;
  const uint64_t data_size = file_.size() - 8 - n;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      metadata_ = parse_metadata(path, entry);
      continue;
    }
    tensors_.push_back(parse_entry(path, name, entry, data, data_size));
  }
  check_no_overlap(path, tensors_, data);
  for (size_t i = 0; i < tensors_.size(); ++i) by_name_.emplace(tensors_[i].name, i);
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

WeightStore WeightStore::open(const std::string& dir) {
  check_directory(dir);
  WeightStore ws;
  ws.dir_ = dir;
  const std::string single = (fs::path(dir) / kSingleFile).string();
  const std::string index = (fs::path(dir) / kIndexFile).string();
  if (is_file(single)) {
    ws.shards_.emplace_back(single);
  } else if (is_file(index)) {
    for (const auto& [shard, listed] : read_index(index)) ws.shards_.push_back(open_shard(dir, index, shard, listed));
  } else {
    fail(dir, ": no ", kSingleFile, " or ", kIndexFile, " in the checkpoint directory");
  }
  ws.index_all();
  return ws;
}

void WeightStore::index_all() {
  for (const SafetensorsFile& f : shards_)
    for (const SafetensorsTensor& t : f.tensors())
      if (!by_name_.emplace(t.name, &t).second) fail(f.path(), ": tensor ", quoted(t.name), " also appears in another shard");
}

const SafetensorsTensor* WeightStore::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& kv : by_name_) out.push_back(kv.first);
  return out;
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<uint64_t> bytes;
  bytes.reserve(tensors.size());
  for (const SafetensorsWrite& t : tensors) bytes.push_back(write_bytes_of(path, t));
  const std::string header = make_header(path, tensors, bytes, metadata);
  uint8_t len[8];
  encode_u64_le(header.size(), len);
  AtomicFile out(path);
  out.write(len, 8);
  out.write(header.data(), header.size());
  for (size_t i = 0; i < tensors.size(); ++i)
    if (bytes[i] > 0) out.write(tensors[i].data, bytes[i]);
  out.commit();
}

}  // namespace braid
