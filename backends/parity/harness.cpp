// backends/parity/harness.cpp — materialising problems on a backend (guarded allocations,
// NaN-padded slices, NaN-prefilled outputs), calling them, and comparing outputs with the
// threshold policy. See harness.h for the model.
#include "backends/parity/harness.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <utility>

namespace braid::parity {

// ---- Problem -----------------------------------------------------------------------------

TensorSpec* Problem::find(std::string_view name) {
  for (TensorSpec& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}
const TensorSpec* Problem::find(std::string_view name) const {
  for (const TensorSpec& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}
TensorSpec& Problem::at(std::string_view name) {
  TensorSpec* t = find(name);
  BRAID_CHECK(t != nullptr, "parity problem has no tensor '", name, "'");
  return *t;
}
void Problem::erase(std::string_view name) {
  std::erase_if(tensors, [&](const TensorSpec& t) { return t.name == name; });
}
TensorSpec& Problem::add(TensorSpec t) {
  BRAID_CHECK(find(t.name) == nullptr, "parity problem declares '", t.name, "' twice");
  tensors.push_back(std::move(t));
  return tensors.back();
}

TensorSpec input(std::string name, Shape shape, std::vector<float> values, Axis axis, Kind kind) {
  BRAID_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), name, ": ", values.size(), " values for ",
              shape.to_string());
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.kind = kind;
  t.axis = axis;
  t.f = std::move(values);
  return t;
}

TensorSpec index_input(std::string name, Shape shape, std::vector<int64_t> values, Axis axis, Kind kind) {
  BRAID_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), name, ": ", values.size(), " values for ",
              shape.to_string());
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.kind = kind;
  t.axis = axis;
  t.ix = std::move(values);
  return t;
}

TensorSpec output(std::string name, Shape shape, Axis axis, Kind kind) {
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.kind = kind;
  t.role = Role::out;
  t.axis = axis;
  return t;
}

TensorSpec inplace(std::string name, Shape shape, std::vector<float> values, Axis axis, Kind kind) {
  TensorSpec t = input(std::move(name), std::move(shape), std::move(values), axis, kind);
  t.role = Role::inout;
  return t;
}

TensorSpec sliced(TensorSpec t, int64_t pad_before, int64_t pad_after, int row_dims) {
  t.pad_before = pad_before;
  t.pad_after = pad_after;
  t.row_dims = row_dims;
  return t;
}

std::vector<float> randn(Rng& rng, int64_t n, float scale) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = scale * rng.normal();
  return v;
}

std::vector<float> uniform(Rng& rng, int64_t n, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

void round_act_inputs(Problem& p) {
  for (TensorSpec& t : p.tensors)
    if (t.kind == Kind::act)
      for (float& v : t.f) v = bf16_to_f32(f32_to_bf16(v));
}

DType storage_dtype(const TensorSpec& t, DType act) {
  switch (t.kind) {
    case Kind::act: return act;
    case Kind::f32: return DType::f32;
    case Kind::i32: return DType::i32;
    case Kind::i64: return DType::i64;
  }
  return DType::f32;
}

// ---- Layout arithmetic --------------------------------------------------------------------

namespace {

struct Layout {
  int64_t rows = 0;     // logical rows
  int64_t row_len = 1;  // logical elements per row
  int64_t width = 1;    // stored elements per row (row_len plus padding)
  int64_t pad_before = 0;
};

Layout layout_of(const TensorSpec& t) {
  Layout l;
  const int nd = t.shape.ndim();
  const int rd = std::min(t.row_dims, nd);
  for (int i = nd - rd; i < nd; ++i) l.row_len *= t.shape[i];
  l.rows = l.row_len ? t.shape.numel() / l.row_len : 0;
  l.pad_before = t.pad_before;
  l.width = t.pad_before + l.row_len + t.pad_after;
  return l;
}

std::vector<int64_t> unravel(int64_t flat, const Shape& s) {
  std::vector<int64_t> idx(static_cast<size_t>(s.ndim()), 0);
  for (int i = s.ndim() - 1; i >= 0; --i) {
    const int64_t n = s[i] ? s[i] : 1;
    idx[static_cast<size_t>(i)] = flat % n;
    flat /= n;
  }
  return idx;
}

// Converts `n` stored elements of `dtype` at `src` to f32 (index kinds widen to float).
void to_f32(const unsigned char* src, DType dtype, float* dst, size_t n) {
  switch (dtype) {
    case DType::i32:
      for (size_t i = 0; i < n; ++i) {
        int32_t v;
        std::memcpy(&v, src + 4 * i, 4);
        dst[i] = static_cast<float>(v);
      }
      return;
    case DType::i64:
      for (size_t i = 0; i < n; ++i) {
        int64_t v;
        std::memcpy(&v, src + 8 * i, 8);
        dst[i] = static_cast<float>(v);
      }
      return;
    default: convert_floats(src, dtype, dst, DType::f32, n);
  }
}

std::string index_string(const std::vector<int64_t>& idx) {
  std::string s = "[";
  for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + std::to_string(idx[i]);
  return s + "]";
}

}  // namespace

// ---- DeviceTensor ------------------------------------------------------------------------

DeviceTensor::DeviceTensor(Backend& be, const TensorSpec& spec, DType act, bool guarded) : be_(&be) {
  layout_ = spec;
  layout_.f.clear();
  layout_.ix.clear();
  const DType dt = storage_dtype(spec, act);
  const size_t es = dtype_size(dt);
  const Layout l = layout_of(spec);
  const size_t stored = static_cast<size_t>(l.rows * l.width);
  guard_ = guarded ? kGuardBytes : 0;
  bytes_ = stored * es + 2 * guard_;
  image_.assign(bytes_, kGuardByte);
  unsigned char* data = image_.data() + guard_;

  if (spec.is_float()) {
    // Padding is NaN; outputs start as NaN so that an unwritten element is caught.
    std::vector<float> wide(stored, std::numeric_limits<float>::quiet_NaN());
    if (!spec.f.empty()) {
      BRAID_CHECK(static_cast<int64_t>(spec.f.size()) == spec.shape.numel(), spec.name, " has ", spec.f.size(),
                  " values for ", spec.shape.to_string());
      for (int64_t r = 0; r < l.rows; ++r)
        std::copy_n(spec.f.begin() + r * l.row_len, l.row_len, wide.begin() + r * l.width + l.pad_before);
    }
    convert_floats(wide.data(), DType::f32, data, dt, stored);
  } else {
    BRAID_CHECK(l.width == l.row_len, spec.name, ": index tensors are not sliced");
    std::vector<int64_t> vals = spec.ix;
    vals.resize(stored, -1);  // index outputs start as −1
    for (size_t i = 0; i < stored; ++i) {
      if (dt == DType::i32) {
        const int32_t v = static_cast<int32_t>(vals[i]);
        std::memcpy(data + 4 * i, &v, 4);
      } else {
        std::memcpy(data + 8 * i, &vals[i], 8);
      }
    }
  }

  base_ = be.raw_alloc(bytes_);
  be.upload(base_, image_.data(), bytes_);
  void* ptr = static_cast<unsigned char*>(base_) + guard_;
  if (l.width == l.row_len) {
    view_ = TensorView(ptr, dt, spec.shape, be.device());
  } else {
    const int nd = spec.shape.ndim();
    const int rd = std::min(spec.row_dims, nd);
    std::vector<int64_t> wide(spec.shape.dims.begin(), spec.shape.dims.end() - rd);
    wide.push_back(l.width);
    view_ = TensorView(ptr, dt, Shape(wide), be.device()).narrow_last(l.pad_before, l.row_len);
    if (rd == 2) view_ = view_.split_last(spec.shape[nd - 2], spec.shape[nd - 1]);
    BRAID_CHECK(rd <= 2, spec.name, ": slices span at most two trailing dims");
  }
}

DeviceTensor::~DeviceTensor() { release(); }

void DeviceTensor::release() {
  if (be_ && base_) be_->raw_free(base_);
  base_ = nullptr;
  be_ = nullptr;
}

DeviceTensor::DeviceTensor(DeviceTensor&& o) noexcept
    : be_(o.be_), layout_(std::move(o.layout_)), base_(o.base_), bytes_(o.bytes_), guard_(o.guard_),
      image_(std::move(o.image_)), view_(o.view_) {
  o.be_ = nullptr;
  o.base_ = nullptr;
}

DeviceTensor& DeviceTensor::operator=(DeviceTensor&& o) noexcept {
  if (this != &o) {
    release();
    be_ = o.be_;
    layout_ = std::move(o.layout_);
    base_ = o.base_;
    bytes_ = o.bytes_;
    guard_ = o.guard_;
    image_ = std::move(o.image_);
    view_ = o.view_;
    o.be_ = nullptr;
    o.base_ = nullptr;
  }
  return *this;
}

std::vector<float> DeviceTensor::read(std::string& guard) const {
  std::vector<unsigned char> buf(bytes_);
  be_->synchronize();
  be_->download(buf.data(), base_, bytes_);
  guard.clear();
  for (size_t i = 0; i < guard_ && guard.empty(); ++i)
    if (buf[i] != kGuardByte) guard = "guard overwritten before " + layout_.name + " (" + std::to_string(guard_ - i) + " bytes before)";
  for (size_t i = 0; i < guard_ && guard.empty(); ++i)
    if (buf[bytes_ - guard_ + i] != kGuardByte)
      guard = "guard overwritten after " + layout_.name + " (byte " + std::to_string(i) + " after the end)";
  const Layout l = layout_of(layout_);
  const size_t es = dtype_size(view_.dtype);
  std::vector<float> out(static_cast<size_t>(l.rows * l.row_len));
  for (int64_t r = 0; r < l.rows; ++r)
    to_f32(buf.data() + guard_ + static_cast<size_t>(r * l.width + l.pad_before) * es, view_.dtype,
           out.data() + r * l.row_len, static_cast<size_t>(l.row_len));
  return out;
}

bool DeviceTensor::unchanged(std::string& where) const {
  std::vector<unsigned char> buf(bytes_);
  be_->synchronize();
  be_->download(buf.data(), base_, bytes_);
  const auto diff = std::mismatch(buf.begin(), buf.end(), image_.begin());
  if (diff.first == buf.end()) return true;
  const size_t byte = static_cast<size_t>(diff.first - buf.begin());
  if (byte < guard_ || byte >= bytes_ - guard_) {
    where = "a guard byte";
    return false;
  }
  const Layout l = layout_of(layout_);
  const int64_t e = static_cast<int64_t>((byte - guard_) / dtype_size(view_.dtype));
  const int64_t r = e / l.width, c = e % l.width - l.pad_before;
  if (c < 0 || c >= l.row_len) where = "its padding (row " + std::to_string(r) + ")";
  else where = index_string(unravel(r * l.row_len + c, layout_.shape));
  return false;
}

void DeviceTensor::write(const std::vector<float>& values) {
  BRAID_CHECK(layout_.is_float(), "write: ", layout_.name, " is not a float tensor");
  const Layout l = layout_of(layout_);
  BRAID_CHECK(static_cast<int64_t>(values.size()) == l.rows * l.row_len, "write: size mismatch for ", layout_.name);
  const size_t es = dtype_size(view_.dtype);
  for (int64_t r = 0; r < l.rows; ++r)
    convert_floats(values.data() + r * l.row_len, DType::f32,
                   image_.data() + guard_ + static_cast<size_t>(r * l.width + l.pad_before) * es, view_.dtype,
                   static_cast<size_t>(l.row_len));
  be_->upload(base_, image_.data(), bytes_);
}

// ---- Calls -------------------------------------------------------------------------------

CallResult call(Backend& be, const Problem& p, DType act, const RunFn* fn,
                const std::map<std::string, TensorView>& external) {
  CallResult res;
  try {
    std::vector<std::pair<const TensorSpec*, DeviceTensor>> owned;
    owned.reserve(p.tensors.size());
    Bound bound;
    for (const TensorSpec& t : p.tensors) {
      if (const auto it = external.find(t.name); it != external.end()) {
        bound.set(t.name, it->second);
        continue;
      }
      owned.emplace_back(&t, DeviceTensor(be, t, act, t.is_output()));
      bound.set(t.name, owned.back().second.view());
    }
    const RunFn& run = fn ? *fn : p.run;
    res.status = run(be, bound);
    be.synchronize();
    if (!res.status.is_ok()) return res;
    for (const auto& [spec, dev] : owned) {
      if (spec->is_output()) {
        std::string guard;
        res.outputs[spec->name] = dev.read(guard);
        if (!guard.empty()) res.problems.push_back(guard);
      } else if (std::string where; !dev.unchanged(where)) {
        res.problems.push_back("input " + spec->name + " modified at " + where);
      }
    }
  } catch (const std::exception& e) {
    res.status = Status(StatusCode::invalid_argument, std::string("threw: ") + e.what());
  }
  return res;
}

// ---- Comparison --------------------------------------------------------------------------

namespace {

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

TensorReport compare(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                     const Shape& shape, const Threshold& th, DType dtype) {
  TensorReport r;
  r.name = name;
  BRAID_CHECK(got.size() == want.size(), name, ": ", got.size(), " values against ", want.size());
  double num = 0.0, den = 0.0, max_ref = 0.0;
  int64_t worst = -1, first_nan = -1, first_inf = -1, ref_nan = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    const double a = got[i];
    // An exact comparison is against the reference stored in the output dtype.
    const double b = th.exact && dtype == DType::bf16 ? bf16_to_f32(f32_to_bf16(want[i])) : want[i];
    if (std::isnan(b)) {
      if (ref_nan < 0) ref_nan = static_cast<int64_t>(i);
      continue;
    }
    if (std::isnan(a)) {
      if (first_nan < 0) first_nan = static_cast<int64_t>(i);
      continue;
    }
    if (std::isinf(a) || std::isinf(b)) {
      if (a != b && first_inf < 0) first_inf = static_cast<int64_t>(i);
      continue;
    }
    const double d = a - b;
    num += d * d;
    den += b * b;
    max_ref = std::max(max_ref, std::fabs(b));
    if (std::fabs(d) > r.max_abs || (worst < 0 && d != 0.0)) {
      r.max_abs = std::fabs(d);
      worst = static_cast<int64_t>(i);
    }
  }
  r.nmse = den > 0.0 ? num / den : num;
  r.nmse_limit = th.exact ? 0.0 : th.max_nmse;
  r.max_abs_limit = th.exact ? 0.0 : th.max_abs_rel * max_ref;
  auto locate = [&](int64_t i) {
    r.worst = unravel(i, shape);
    r.got = got[static_cast<size_t>(i)];
    r.want = want[static_cast<size_t>(i)];
  };
  if (worst >= 0) locate(worst);
  if (ref_nan >= 0) {
    r.problem = name + ": the reference produced NaN at " + index_string(unravel(ref_nan, shape)) + " (a case bug)";
  } else if (first_nan >= 0) {
    r.nan = true;
    r.nmse = std::numeric_limits<double>::quiet_NaN();  // not a number to rank or pass
    r.max_abs = std::numeric_limits<double>::infinity();
    locate(first_nan);
    r.problem = name + ": NaN at " + index_string(r.worst) + " (want " + sci(r.want) + ")";
  } else if (first_inf >= 0) {
    r.inf = true;
    r.nmse = std::numeric_limits<double>::quiet_NaN();
    r.max_abs = std::numeric_limits<double>::infinity();
    locate(first_inf);
    r.problem = name + ": Inf mismatch at " + index_string(r.worst) + " (got " + sci(r.got) + ", want " + sci(r.want) + ")";
  } else if (r.nmse > r.nmse_limit) {
    r.problem = name + ": nmse " + sci(r.nmse) + " > " + sci(r.nmse_limit) + ", worst at " + index_string(r.worst) +
                " (got " + sci(r.got) + ", want " + sci(r.want) + ")";
  } else if (r.max_abs > r.max_abs_limit) {
    r.problem = name + ": max_abs " + sci(r.max_abs) + " > " + sci(r.max_abs_limit) + " at " + index_string(r.worst) +
                " (got " + sci(r.got) + ", want " + sci(r.want) + ")";
  }
  return r;
}

TensorReport compare_exact_ids(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                               const Shape& shape) {
  TensorReport r;
  r.name = name;
  BRAID_CHECK(got.size() == want.size(), name, ": ", got.size(), " values against ", want.size());
  int64_t wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] == want[i]) continue;
    if (wrong++ == 0) {
      r.worst = unravel(static_cast<int64_t>(i), shape);
      r.got = got[i];
      r.want = want[i];
    }
  }
  r.nmse = static_cast<double>(wrong) / static_cast<double>(std::max<size_t>(got.size(), 1));  // fraction wrong
  if (wrong)
    r.problem = name + ": " + std::to_string(wrong) + " of " + std::to_string(got.size()) + " ids differ, first at " +
                index_string(r.worst) + " (got " + sci(r.got) + ", want " + sci(r.want) + ")";
  return r;
}

void add_problems(CaseResult& r, const std::vector<std::string>& problems) {
  for (const std::string& pr : problems) {
    TensorReport t;
    t.name = pr.rfind("guard", 0) == 0 ? "guard" : "input";
    t.problem = pr;
    if (t.name == "guard") r.guard_ok = false;
    r.tensors.push_back(std::move(t));
  }
}

void settle(CaseResult& r) {
  if (r.outcome == Outcome::fail) return;  // already failed with its own message
  for (const TensorReport& t : r.tensors)
    if (!t.problem.empty()) {
      r.outcome = Outcome::fail;
      r.message = t.problem;
      return;
    }
  r.outcome = Outcome::ok;
}

}  // namespace braid::parity
