// backends/cpu/cpu_backend.cpp — memory of the CPU backend and the elementwise contracts
// (core/contracts/elementwise.h). The layer contracts each live in their own file.
//
// Memory is host memory, 64-byte aligned (one cache line, the widest SIMD load), so upload and
// download are plain memcpy. `copy` is the one contract that accepts bf16/f16: it is how
// callers convert into the f32 storage every other contract here requires.
#include "backends/cpu/cpu_backend.h"

#include <cstdlib>
#include <cstring>

#include "backends/cpu/cpu_common.h"

namespace braid {

namespace {
constexpr size_t kAlignment = 64;  // bytes; std::aligned_alloc needs the size to be a multiple
}  // namespace

void* CpuBackend::raw_alloc(size_t bytes) {
  // Round up to a whole number of cache lines; a zero-byte request still gets one line so the
  // result is never null (an undefined TensorView means "absent").
  const size_t rounded = bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw Error(str("cpu: out of memory allocating ", bytes, " bytes"));
  memory_.on_alloc(p, rounded);
  return p;
}

void CpuBackend::raw_free(void* p) {
  memory_.on_free(p);
  std::free(p);
}

void CpuBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (bytes) std::memcpy(dst, host_src, bytes);
}

void CpuBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(host_dst, src, bytes);
}

void CpuBackend::fill_zero(const TensorView& t) {
  BRAID_CHECK(t.is_contiguous(), "fill_zero needs a contiguous view, got ", t.describe());
  if (t.defined() && t.nbytes()) std::memset(t.data, 0, t.nbytes());  // 0x00… is +0.0 and integer 0
}

// out = a + alpha·b over rows of D (validate(): same shape, rows mergeable). out may alias a or b:
// each element is read before it is written.
Status CpuBackend::add(const AddArgs& args) {
  BRAID_RETURN_IF_ERROR(cpu::require_f32("add", {{&args.a, "a"}, {&args.b, "b"}, {&args.out, "out"}}));
  const TensorView a = args.a.as_2d(), b = args.b.as_2d(), out = args.out.as_2d();  // [M, D]
  const int64_t M = a.dim(0), D = a.dim(1);
#pragma omp parallel for if (M * D >= cpu::kOmpMinWork)
  for (int64_t m = 0; m < M; ++m) {
    const float* ar = a.ptr<float>() + m * a.stride[0];
    const float* br = b.ptr<float>() + m * b.stride[0];
    float* orow = out.ptr<float>() + m * out.stride[0];
    for (int64_t d = 0; d < D; ++d) orow[d] = ar[d] + args.alpha * br[d];
  }
  return Status::ok();
}

// dst = src with dtype conversion (core/dtype.h convert_floats: bf16/f16 round to nearest even).
// Contiguous views convert in one call; otherwise walk the outer dims with an odometer and
// convert one innermost row (or one element, when the innermost dim is strided) at a time.
Status CpuBackend::copy(const CopyArgs& a) {
  const TensorView& src = a.src;
  const TensorView& dst = a.dst;
  const int64_t n = src.numel();
  if (n == 0) return Status::ok();
  const size_t ss = dtype_size(src.dtype), ds = dtype_size(dst.dtype);
  if (src.is_contiguous() && dst.is_contiguous()) {
    convert_floats(src.data, src.dtype, dst.data, dst.dtype, static_cast<size_t>(n));
    return Status::ok();
  }
  const int nd = src.ndim;
  const int64_t last = src.dim(-1);
  const int64_t src_step = src.stride[nd - 1], dst_step = dst.stride[nd - 1];
  const bool rows_contiguous = (src_step == 1 && dst_step == 1) || last == 1;
  std::array<int64_t, kMaxDims> idx{};  // multi-index over dims [0, nd−1), innermost fastest
  for (int64_t row = 0; row < n / last; ++row) {
    int64_t so = 0, dof = 0;  // element offsets of this row
    for (int i = 0; i < nd - 1; ++i) {
      so += idx[i] * src.stride[i];
      dof += idx[i] * dst.stride[i];
    }
    const char* s = static_cast<const char*>(src.data) + so * static_cast<int64_t>(ss);
    char* d = static_cast<char*>(dst.data) + dof * static_cast<int64_t>(ds);
    if (rows_contiguous) {
      convert_floats(s, src.dtype, d, dst.dtype, static_cast<size_t>(last));
    } else {
      for (int64_t j = 0; j < last; ++j)
        convert_floats(s + j * src_step * static_cast<int64_t>(ss), src.dtype, d + j * dst_step * static_cast<int64_t>(ds),
                       dst.dtype, 1);
    }
    for (int i = nd - 2; i >= 0; --i) {  // advance the odometer
      if (++idx[i] < src.shape[i]) break;
      idx[i] = 0;
    }
  }
  return Status::ok();
}

}  // namespace braid
