// models/io/npy.cpp — reads and writes NumPy .npy files (see npy.h for the layout).
//
// Source: numpy/lib/format.py ("Format Version 1.0/2.0/3.0"): magic "\x93NUMPY", version
// bytes, little-endian header length (u16 for 1.0, u32 after), a dict literal with keys
// 'descr', 'fortran_order', 'shape', padded so the data is 64-byte aligned.
#include "models/io/npy.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <map>

#include "core/status.h"
#include "models/io/atomic_file.h"
#include "models/io/mapped_file.h"

namespace braid {

static_assert(std::endian::native == std::endian::little, "npy data is read as little-endian; big-endian hosts need byte swaps");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;  // numpy aligns the data start to 64 bytes

// ---- the header dict ---------------------------------------------------------------------

// One value of the header dict: a string, a bool or a tuple of integers.
struct PyValue {
  enum class Kind { str, boolean, tuple } kind = Kind::str;
  std::string s;
  bool b = false;
  std::vector<int64_t> ints;
};

// A recursive-descent parser for the subset of Python literals numpy writes in headers:
// {'key': value, ...} with values 'str', True, False and (int, ...). Errors name the file.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), s_(text) {}

  std::map<std::string, PyValue> dict() {
    std::map<std::string, PyValue> out;
    expect('{');
    while (!peek_is('}')) {
      std::string key = string_literal();
      expect(':');
      out[key] = value();
      if (!peek_is('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (i_ != s_.size()) error("unexpected text after the dict");
    return out;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(path_, ": unparseable header dict (", what, " at column ", i_, ")");
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool peek_is(char c) {
    skip_space();
    return i_ < s_.size() && s_[i_] == c;
  }
  void expect(char c) {
    if (!peek_is(c)) error(str("expected '", c, "'"));
    ++i_;
  }
  std::string string_literal() {
    skip_space();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) error("expected a quoted string");
    const char quote = s_[i_++];
    const size_t end = s_.find(quote, i_);
    if (end == std::string::npos) error("unterminated string");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  bool starts_with(const char* word) { return s_.compare(i_, std::strlen(word), word) == 0; }
  int64_t integer() {
    skip_space();
    bool negative = false;
    if (i_ < s_.size() && s_[i_] == '-') negative = true, ++i_;
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') error("expected an integer");
    uint64_t v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(s_[i_++] - '0');
      if (v > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / 10) error("integer too large");
      v = v * 10 + digit;
    }
    if (i_ < s_.size() && (s_[i_] == 'L' || s_[i_] == 'l')) ++i_;  // Python 2 long suffix
    return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  }
  PyValue value() {
    skip_space();
    PyValue v;
    if (i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"')) {
      v.s = string_literal();
    } else if (starts_with("True") || starts_with("False")) {
      v.kind = PyValue::Kind::boolean;
      v.b = starts_with("True");
      i_ += v.b ? 4 : 5;
    } else if (peek_is('(')) {
      v.kind = PyValue::Kind::tuple;
      ++i_;
      while (!peek_is(')')) {
        v.ints.push_back(integer());
        if (!peek_is(')')) expect(',');
      }
      ++i_;
    } else {
      error("expected a string, True, False or a tuple of integers");
    }
    return v;
  }

  const std::string& path_;
  const std::string& s_;
  size_t i_ = 0;
};

// ---- reading -----------------------------------------------------------------------------

uint32_t read_le(const uint8_t* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The header text and the offset of the data, after checking magic, version and length.
struct Prelude {
  std::string header;
  size_t data_offset;
};

Prelude read_prelude(const MappedFile& f) {
  const std::string& path = f.path();
  const size_t n = f.size();
  if (n == 0 || std::memcmp(f.data(), kMagic, std::min(n, kMagicLen)) != 0)
    fail(path, ": not a .npy file (bad magic, expected \\x93NUMPY)");
  if (n < 8) fail(path, ": truncated header (file is ", n, " bytes)");
  const int major = f.data()[6], minor = f.data()[7];
  if (major < 1 || major > 3 || minor != 0) fail(path, ": unsupported .npy version ", major, ".", minor, " (supported: 1.0, 2.0, 3.0)");
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (n < 8 + len_bytes) fail(path, ": truncated header (file is ", n, " bytes)");
  const size_t hlen = read_le(f.data() + 8, static_cast<int>(len_bytes));
  const size_t start = 8 + len_bytes;
  if (hlen > n - start) fail(path, ": truncated header (header length ", hlen, " but only ", n - start, " bytes follow)");
  return {std::string(reinterpret_cast<const char*>(f.data() + start), hlen), start + hlen};
}

NpyType parse_descr(const std::string& path, const std::string& descr) {
  for (NpyType t : {NpyType::i32, NpyType::i64, NpyType::f32, NpyType::f64})
    if (descr == npy_type_descr(t)) return t;
  fail(path, ": unsupported dtype '", descr, "' (supported: <i4, <i8, <f4, <f8)");
}

const PyValue& require_key(const std::string& path, const std::map<std::string, PyValue>& d, const char* key,
                           PyValue::Kind kind) {
  auto it = d.find(key);
  if (it == d.end()) fail(path, ": unparseable header dict (no '", key, "' key)");
  if (it->second.kind != kind) fail(path, ": unparseable header dict ('", key, "' has the wrong type)");
  return it->second;
}

std::string npy_shape_string(const Shape& s) {
  if (s.ndim() == 1) return str("(", s[0], ",)");
  std::string out = "(";
  for (int i = 0; i < s.ndim(); ++i) out += str(i ? ", " : "", s[i]);
  return out + ")";
}

// Bytes for `shape` of `itemsize`; throws on negative dimensions and overflow.
uint64_t array_bytes(const std::string& path, const Shape& shape, size_t itemsize) {
  uint64_t n = 1;
  for (int64_t d : shape.dims) {
    if (d < 0) fail(path, ": negative dimension in shape ", npy_shape_string(shape));
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n) || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(path, ": numel overflow for shape ", npy_shape_string(shape));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(itemsize), &bytes))
    fail(path, ": byte count overflow for shape ", npy_shape_string(shape));
  return bytes;
}

std::optional<DType> braid_dtype(NpyType t) {
  switch (t) {
    case NpyType::i32: return DType::i32;
    case NpyType::i64: return DType::i64;
    case NpyType::f32: return DType::f32;
    case NpyType::f64: return std::nullopt;
  }
  return std::nullopt;
}

// Element i of `a` converted to T.
template <class T>
T element(const NpyArray& a, size_t i) {
  const uint8_t* p = a.bytes.data() + i * npy_type_size(a.type);
  switch (a.type) {
    case NpyType::i32: { int32_t v; std::memcpy(&v, p, 4); return static_cast<T>(v); }
    case NpyType::i64: { int64_t v; std::memcpy(&v, p, 8); return static_cast<T>(v); }
    case NpyType::f32: { float v; std::memcpy(&v, p, 4); return static_cast<T>(v); }
    case NpyType::f64: { double v; std::memcpy(&v, p, 8); return static_cast<T>(v); }
  }
  return T{};
}

template <class T>
std::vector<T> convert_all(const NpyArray& a) {
  const size_t n = a.bytes.size() / npy_type_size(a.type);
  std::vector<T> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = element<T>(a, i);
  return out;
}

// ---- writing -----------------------------------------------------------------------------

// The full prelude (magic, version, length, padded dict ending in '\n').
std::string make_prelude(NpyType t, const Shape& shape) {
  std::string dict = str("{'descr': '", npy_type_descr(t), "', 'fortran_order': False, 'shape': ",
                         npy_shape_string(shape), ", }");
  const bool v1 = dict.size() + 1 + 10 <= 65535;  // 1.0's u16 length field
  const size_t start = v1 ? 10 : 12;
  const size_t total = (start + dict.size() + 1 + kAlign - 1) / kAlign * kAlign;
  dict.append(total - start - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(v1 ? 1 : 2);
  out += '\0';
  const size_t hlen = dict.size();
  for (size_t i = 0; i < start - 8; ++i) out += static_cast<char>((hlen >> (8 * i)) & 0xff);
  return out + dict;
}

void write_npy(const std::string& path, NpyType t, const Shape& shape, const void* data) {
  const uint64_t bytes = array_bytes(path, shape, npy_type_size(t));
  if (bytes > 0 && data == nullptr) fail(path, ": data is null but shape ", shape.to_string(), " needs ", bytes, " bytes");
  const std::string prelude = make_prelude(t, shape);
  AtomicFile out(path);
  out.write(prelude.data(), prelude.size());
  if (bytes > 0) out.write(data, bytes);
  out.commit();
}

}  // namespace

const char* npy_type_descr(NpyType t) {
  switch (t) {
    case NpyType::i32: return "<i4";
    case NpyType::i64: return "<i8";
    case NpyType::f32: return "<f4";
    case NpyType::f64: return "<f8";
  }
  return "?";
}

size_t npy_type_size(NpyType t) { return t == NpyType::i32 || t == NpyType::f32 ? 4 : 8; }

std::vector<double> NpyArray::to_f64() const { return convert_all<double>(*this); }

std::vector<float> NpyArray::to_f32() const { return convert_all<float>(*this); }

std::vector<int64_t> NpyArray::to_i64() const {
  if (type != NpyType::i32 && type != NpyType::i64)
    fail(file.empty() ? std::string("npy array") : file, ": array of dtype '", npy_type_descr(type),
         "' cannot be read as integers (expected <i4 or <i8)");
  return convert_all<int64_t>(*this);
}

NpyArray read_npy(const std::string& path) {
  const MappedFile f(path);
  const Prelude pre = read_prelude(f);
  const std::map<std::string, PyValue> dict = HeaderParser(path, pre.header).dict();
  NpyArray a;
  a.file = path;
  a.type = parse_descr(path, require_key(path, dict, "descr", PyValue::Kind::str).s);
  a.dtype = braid_dtype(a.type);
  if (require_key(path, dict, "fortran_order", PyValue::Kind::boolean).b)
    fail(path, ": fortran_order arrays are not supported (hint: save np.ascontiguousarray(x))");
  a.shape = Shape(require_key(path, dict, "shape", PyValue::Kind::tuple).ints);
  const uint64_t want = array_bytes(path, a.shape, npy_type_size(a.type));
  const uint64_t have = f.size() - pre.data_offset;
  if (have != want)
    fail(path, ": data is ", have, " bytes but shape ", npy_shape_string(a.shape), " of '", npy_type_descr(a.type),
         "' needs ", want);
  a.bytes.assign(f.data() + pre.data_offset, f.data() + f.size());
  return a;
}

void write_npy_f32(const std::string& path, const Shape& shape, const float* data) {
  write_npy(path, NpyType::f32, shape, data);
}

void write_npy_i64(const std::string& path, const Shape& shape, const int64_t* data) {
  write_npy(path, NpyType::i64, shape, data);
}

}  // namespace braid
