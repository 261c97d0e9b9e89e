// tests/cuda: every non-scan CUDA contract against the CPU reference (house style P3, P14).
//
// Each case draws seeded inputs, runs the CPU backend (f32) and the CUDA backend with f32 and
// with bf16 storage, and compares with the one tolerance policy (tests/tolerance.h): relative
// L2 ≤ 1e-5 for f32 storage, ≤ 1e-2 for bf16 storage. For bf16 the inputs are rounded to bf16
// first and the CPU reference runs on the rounded values, so only arithmetic differs. Index
// outputs (router ids) and data checks (bad ids, cache overflow) must match exactly, messages
// included. Sizes are odd on purpose: P = 80 or 96, Hq/Hkv = 6/2, N not a power of two,
// B = 3 with lengths {5, 1, T}, and strided views cut from wider NaN-padded buffers.
//
// Without a CUDA device every case prints the reason once and passes (CI without a GPU).
// Every comparison also prints one "PARITY <contract> <dtype> rel_l2 …" line for the record.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

namespace {

// bf16 storage: output rounding alone is ~2^-9 relative; 1e-2 leaves room for bf16 GEMM
// operands (h of the SwiGLU) and long reductions.
constexpr double kRelL2Bf16 = 1e-2;

#define SKIP_WITHOUT_CUDA()                                          \
  do {                                                               \
    if (cuda_device_count() == 0) {                                  \
      MESSAGE("skipped: " << cuda_unavailable_reason());                 \
      return;                                                        \
    }                                                                \
  } while (0)

constexpr DType kStorages[] = {DType::f32, DType::bf16};

double tol_for(DType dt) { return dt == DType::f32 ? kRelL2F32 : kRelL2Bf16; }

std::vector<float> round_to(std::vector<float> v, DType dt) {
  if (dt == DType::bf16)
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
  return v;
}

// Prints one record line and CHECKs the tolerance for the storage dtype.
void parity(const std::string& what, DType dt, const std::vector<float>& got, const std::vector<float>& want,
            double tol = -1.0) {
  REQUIRE(got.size() == want.size());
  if (tol < 0) tol = tol_for(dt);
  const Comparison c = compare(got.data(), want.data(), static_cast<int64_t>(got.size()));
  std::printf("PARITY %-34s %-4s rel_l2 %.3e  max_abs %.3e  (tol %.0e, n = %zu)\n", what.c_str(), dtype_name(dt),
              c.rel_l2, c.max_abs, tol, got.size());
  check_close(got, want, tol, what + " " + dtype_name(dt));
}

// Raw host bytes of f32 values in storage dtype dt, and back.
std::vector<uint8_t> to_storage(const std::vector<float>& v, DType dt) {
  std::vector<uint8_t> out(v.size() * dtype_size(dt));
  convert_floats(v.data(), DType::f32, out.data(), dt, v.size());
  return out;
}
std::vector<float> from_storage(const std::vector<uint8_t>& raw, DType dt) {
  std::vector<float> out(raw.size() / dtype_size(dt));
  convert_floats(raw.data(), dt, out.data(), DType::f32, out.size());
  return out;
}

// A float tensor mirrored on both backends. `host` is the wide buffer [..., W] in f32 (its
// values already rounded to the storage dtype), W = before + n + after with NaN guard
// channels; `cpu` and `cuda` view channels [before, before + n) of it on each side.
struct Twin {
  std::vector<float> host;
  Shape wide;
  DType dt = DType::f32;
  int64_t before = 0, n = 0;
  Tensor dev;
  TensorView cpu, cuda;  // [..., n] slices (strided when the buffer is wider)
  TensorView cpu_wide() { return TensorView(host.data(), DType::f32, wide); }
  TensorView cuda_wide() const { return dev.view(); }
};

Twin make_twin(CudaBackend& gpu, const std::vector<float>& values, const Shape& shape, DType dt, int64_t before = 0,
               int64_t after = 0) {
  REQUIRE(static_cast<int64_t>(values.size()) == shape.numel());
  const std::vector<float> v = round_to(values, dt);
  Twin t;
  t.dt = dt;
  t.before = before;
  t.n = shape[shape.ndim() - 1];
  const int64_t W = before + t.n + after, rows = shape.numel() / std::max<int64_t>(t.n, 1);
  std::vector<int64_t> wide = shape.dims;
  wide.back() = W;
  t.wide = Shape(wide);
  t.host.assign(static_cast<size_t>(rows * W), std::numeric_limits<float>::quiet_NaN());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < t.n; ++j) t.host[r * W + before + j] = v[r * t.n + j];
  t.dev = Tensor(gpu, t.wide, dt);
  const std::vector<uint8_t> raw = to_storage(t.host, dt);
  gpu.upload(t.dev.view().data, raw.data(), raw.size());
  t.cpu = TensorView(t.host.data(), DType::f32, t.wide).narrow_last(before, t.n);
  t.cuda = t.dev.view().narrow_last(before, t.n);
  return t;
}

// Channels [before, before + n) of every row of a wide [rows, W] buffer.
std::vector<float> slice_cols(const std::vector<float>& wide, int64_t W, int64_t before, int64_t n) {
  std::vector<float> out;
  for (size_t r = 0; r < wide.size() / static_cast<size_t>(W); ++r)
    for (int64_t j = 0; j < n; ++j) out.push_back(wide[r * W + before + j]);
  return out;
}
std::vector<float> download_wide(CudaBackend& gpu, const Twin& t) {
  std::vector<uint8_t> raw(t.host.size() * dtype_size(t.dt));
  gpu.download(raw.data(), t.dev.view().data, raw.size());
  return from_storage(raw, t.dt);
}
std::vector<float> cpu_values(const Twin& t) { return slice_cols(t.host, t.wide[t.wide.ndim() - 1], t.before, t.n); }
std::vector<float> gpu_values(CudaBackend& gpu, const Twin& t) {
  return slice_cols(download_wide(gpu, t), t.wide[t.wide.ndim() - 1], t.before, t.n);
}
// The guard channels of a wide device buffer are still NaN (nothing wrote outside the view).
void check_guards_untouched(CudaBackend& gpu, const Twin& t) {
  const std::vector<float> w = download_wide(gpu, t);
  const int64_t W = t.wide[t.wide.ndim() - 1];
  int64_t touched = 0;
  for (size_t q = 0; q < w.size(); ++q) {
    const int64_t j = static_cast<int64_t>(q) % W;
    if ((j < t.before || j >= t.before + t.n) && !std::isnan(w[q])) ++touched;
  }
  CHECK(touched == 0);
}

// An i32 or i64 index tensor mirrored on both backends.
struct IdxTwin {
  std::vector<int32_t> h32;
  std::vector<int64_t> h64;
  Tensor dev;
  TensorView cpu, cuda;
};
IdxTwin make_idx(CudaBackend& gpu, const std::vector<int64_t>& v, const Shape& shape, DType dt) {
  IdxTwin t;
  t.dev = Tensor(gpu, shape, dt);
  if (dt == DType::i64) {
    t.h64 = v;
    gpu.upload(t.dev.view().data, t.h64.data(), t.h64.size() * 8);
    t.cpu = TensorView(t.h64.data(), dt, shape);
  } else {
    t.h32.assign(v.begin(), v.end());
    gpu.upload(t.dev.view().data, t.h32.data(), t.h32.size() * 4);
    t.cpu = TensorView(t.h32.data(), dt, shape);
  }
  t.cuda = t.dev.view();
  return t;
}
std::vector<int32_t> download_i32(CudaBackend& gpu, const TensorView& v) {
  std::vector<int32_t> h(static_cast<size_t>(v.numel()));
  gpu.download(h.data(), v.data, h.size() * 4);
  return h;
}

std::unique_ptr<CudaBackend> open_gpu() {
  auto gpu = std::make_unique<CudaBackend>();
  return gpu;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Backend object: memory, transfers, errors, and the Status of refused inputs.
// ---------------------------------------------------------------------------------------

TEST_CASE("cuda backend: name, memory, transfers, fill_zero, allocation failure, refusals") {
  SKIP_WITHOUT_CUDA();
  auto gpu = open_gpu();
  CHECK(gpu->name() == "cuda:0");
  CHECK(gpu->device() == Device::cuda);
  std::printf("DEVICE %s (%d CUDA device(s))\n", gpu->name().c_str(), cuda_device_count());

  std::vector<float> h = {1.5f, -2.0f, 3.25f, 7.0f};
  Tensor t(*gpu, {4}, DType::f32);
  gpu->upload(t.view().data, h.data(), 16);
  std::vector<float> back(4, 0.0f);
  gpu->download(back.data(), t.view().data, 16);
  CHECK(back == h);
  gpu->fill_zero(t.view());
  gpu->download(back.data(), t.view().data, 16);
  CHECK(back == std::vector<float>(4, 0.0f));

  // An impossible allocation throws a braid::Error naming the size, and the backend goes on.
  bool threw = false;
  try {
    (void)gpu->raw_alloc(size_t{1} << 52);
  } catch (const Error& e) {
    threw = true;
    const std::string msg = e.what();
    INFO(msg);
    CHECK(contains(msg, "cuda:0: cannot allocate 4503599627370496 bytes (cudaErrorMemoryAllocation)"));
  }
  CHECK(threw);
  Tensor t2(*gpu, {3}, DType::f32);
  gpu->fill_zero(t2.view());
  gpu->synchronize();

  // A device index that does not exist.
  bool bad_device = false;
  try {
    CudaBackend nope(CudaOptions{cuda_device_count(), DType::f32});
  } catch (const Error& e) {
    bad_device = contains(e.what(), "no such device");
  }
  CHECK(bad_device);

  // Mixed storage dtypes and host tensors are refused with a Status naming the tensor.
  Tensor x32(*gpu, {2, 8}, DType::f32), w16(*gpu, {8}, DType::bf16), o32(*gpu, {2, 8}, DType::f32);
  RmsNormArgs r;
  r.x = x32.view();
  r.w = w16.view();
  r.out = o32.view();
  Status s = run_rmsnorm(*gpu, r);
  CHECK(s.code() == StatusCode::not_supported);
  CHECK(contains(s.message(), "w is bf16 but x is f32"));
  std::vector<float> hx(16, 1.0f), hw(8, 1.0f), ho(16, 0.0f);
  r.x = TensorView(hx.data(), DType::f32, {2, 8});
  r.w = TensorView(hw.data(), DType::f32, {8});
  r.out = TensorView(ho.data(), DType::f32, {2, 8});
  s = run_rmsnorm(*gpu, r);
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "x is a cpu tensor"));
}

// ---------------------------------------------------------------------------------------
// Dense primitives.
// ---------------------------------------------------------------------------------------

TEST_CASE("cuda embedding: i32 and i64 ids, odd D; a bad id is named and nothing is written") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9101);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, T = 7, V = 997;
  for (DType dt : kStorages)
    for (DType idt : {DType::i32, DType::i64})
      for (int64_t D : {int64_t{96}, int64_t{97}}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(dtype_name(idt));
        CAPTURE(D);
        std::vector<int64_t> idv(static_cast<size_t>(B * T));
        for (auto& id : idv) id = static_cast<int64_t>(rng.below(V));
        idv[3] = V - 1;
        idv[4] = 0;
        IdxTwin ids = make_idx(*gpu, idv, {B, T}, idt);
        Twin table = make_twin(*gpu, randn(rng, V * D), {V, D}, dt);
        Twin out = make_twin(*gpu, std::vector<float>(static_cast<size_t>(B * T * D), -7.0f), {B, T, D}, dt);
        require_ok(run_embedding(cpu, {ids.cpu, table.cpu, out.cpu}));
        require_ok(run_embedding(*gpu, {ids.cuda, table.cuda, out.cuda}));
        parity("embedding D=" + std::to_string(D) + " " + dtype_name(idt), dt, gpu_values(*gpu, out), cpu_values(out));

        // A bad id at [1, 2] (and a later one): same message as the CPU, out untouched.
        idv[1 * T + 2] = V;
        idv[2 * T + 0] = -1;
        IdxTwin bad = make_idx(*gpu, idv, {B, T}, idt);
        Twin out2 = make_twin(*gpu, std::vector<float>(static_cast<size_t>(B * T * D), -7.0f), {B, T, D}, dt);
        const Status sc = run_embedding(cpu, {bad.cpu, table.cpu, out2.cpu});
        const Status sg = run_embedding(*gpu, {bad.cuda, table.cuda, out2.cuda});
        CHECK(sg.code() == StatusCode::invalid_argument);
        CHECK(sg.message() == sc.message());
        CHECK(gpu_values(*gpu, out2) == std::vector<float>(static_cast<size_t>(B * T * D), -7.0f));
      }
}

TEST_CASE("cuda rmsnorm: plain, gated per group, strided rows, in place") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9102);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, T = 5, D = 200;
  for (DType dt : kStorages) {
    CAPTURE(dtype_name(dt));
    struct Case {
      bool gated;
      int64_t group_size;
      const char* name;
    };
    for (const Case& c : {Case{false, 0, "rmsnorm plain"}, Case{true, 0, "rmsnorm gated (HF, one group)"},
                          Case{true, 50, "rmsnorm gated group_size=50"}, Case{false, 40, "rmsnorm plain group_size=40"}}) {
      Twin x = make_twin(*gpu, randn(rng, B * T * D, 1.5f), {B, T, D}, dt, 3, 5);
      Twin z = make_twin(*gpu, randn(rng, B * T * D), {B, T, D}, dt, 2, 1);
      Twin w = make_twin(*gpu, uniform(rng, D, 0.5f, 1.5f), {D}, dt);
      Twin out = make_twin(*gpu, std::vector<float>(static_cast<size_t>(B * T * D), -7.0f), {B, T, D}, dt, 1, 4);
      RmsNormArgs ac{x.cpu, w.cpu, c.gated ? z.cpu : TensorView(), out.cpu, 1e-5f, c.group_size};
      RmsNormArgs ag{x.cuda, w.cuda, c.gated ? z.cuda : TensorView(), out.cuda, 1e-5f, c.group_size};
      require_ok(run_rmsnorm(cpu, ac));
      require_ok(run_rmsnorm(*gpu, ag));
      parity(c.name, dt, gpu_values(*gpu, out), cpu_values(out));
      check_guards_untouched(*gpu, out);
    }
    // In place: out aliases x.
    Twin x = make_twin(*gpu, randn(rng, B * T * D), {B, T, D}, dt);
    Twin w = make_twin(*gpu, uniform(rng, D, 0.5f, 1.5f), {D}, dt);
    require_ok(run_rmsnorm(cpu, {x.cpu, w.cpu, TensorView(), x.cpu, 1e-6f, 0}));
    require_ok(run_rmsnorm(*gpu, {x.cuda, w.cuda, TensorView(), x.cuda, 1e-6f, 0}));
    parity("rmsnorm in place", dt, gpu_values(*gpu, x), cpu_values(x));
  }
}

TEST_CASE("cuda linear: strided x and y, bias, N not a power of two, one row") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9103);
  CpuBackend cpu;
  auto gpu = open_gpu();
  for (DType dt : kStorages)
    for (int64_t M0 : {int64_t{7}, int64_t{1}})
      for (bool bias : {true, false}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(M0);
        CAPTURE(bias);
        const int64_t B = M0 == 1 ? 1 : 3, T = M0, K = 96, N = 150;
        Twin x = make_twin(*gpu, randn(rng, B * T * K), {B, T, K}, dt, 5, 3);
        Twin w = make_twin(*gpu, randn(rng, N * K, 0.1f), {N, K}, dt);
        Twin b = make_twin(*gpu, randn(rng, N), {N}, dt);
        Twin y = make_twin(*gpu, std::vector<float>(static_cast<size_t>(B * T * N), -7.0f), {B, T, N}, dt, 2, 6);
        require_ok(run_linear(cpu, {x.cpu, w.cpu, bias ? b.cpu : TensorView(), y.cpu}));
        require_ok(run_linear(*gpu, {x.cuda, w.cuda, bias ? b.cuda : TensorView(), y.cuda}));
        parity(std::string("linear M=") + std::to_string(B * T) + (bias ? " +bias" : ""), dt, gpu_values(*gpu, y),
               cpu_values(y));
        check_guards_untouched(*gpu, y);
      }
}

TEST_CASE("cuda rotary: partial and full r, i32 and i64 positions, q and k slices of a fused projection") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9104);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, T = 6, Hq = 6, Hkv = 2, P = 80, W = (Hq + 2 * Hkv) * P;
  for (DType dt : kStorages)
    for (DType pdt : {DType::i32, DType::i64})
      for (int64_t r : {int64_t{40}, P}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(dtype_name(pdt));
        CAPTURE(r);
        Twin qkv = make_twin(*gpu, randn(rng, B * T * W), {B, T, W}, dt, 1, 2);
        std::vector<int64_t> pos(static_cast<size_t>(B * T));
        for (int64_t b = 0; b < B; ++b)
          for (int64_t t = 0; t < T; ++t) pos[b * T + t] = (b == 2 ? 4093 : 17 * b) + t;  // up to ~4k (long contexts)
        IdxTwin positions = make_idx(*gpu, pos, {B, T}, pdt);
        for (auto [begin, H] : {std::pair<int64_t, int64_t>{0, Hq}, std::pair<int64_t, int64_t>{Hq * P, Hkv}}) {
          const TensorView xc = qkv.cpu.narrow_last(begin, H * P).split_last(H, P);
          const TensorView xg = qkv.cuda.narrow_last(begin, H * P).split_last(H, P);
          require_ok(run_rotary(cpu, {xc, positions.cpu, r, 10000.0f}));
          require_ok(run_rotary(*gpu, {xg, positions.cuda, r, 10000.0f}));
        }
        // The whole projection: rotated q and k, untouched v.
        parity("rotary r=" + std::to_string(r) + " " + dtype_name(pdt), dt, gpu_values(*gpu, qkv), cpu_values(qkv));
        check_guards_untouched(*gpu, qkv);
      }
}

TEST_CASE("cuda swiglu_mlp: strided x, F not a power of two") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9105);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, T = 7, D = 96, F = 200;
  for (DType dt : kStorages) {
    CAPTURE(dtype_name(dt));
    Twin x = make_twin(*gpu, randn(rng, B * T * D), {B, T, D}, dt, 4, 0);
    Twin wg = make_twin(*gpu, randn(rng, F * D, 0.1f), {F, D}, dt);
    Twin wu = make_twin(*gpu, randn(rng, F * D, 0.1f), {F, D}, dt);
    Twin wd = make_twin(*gpu, randn(rng, D * F, 0.07f), {D, F}, dt);
    Twin out = make_twin(*gpu, std::vector<float>(static_cast<size_t>(B * T * D), -7.0f), {B, T, D}, dt);
    require_ok(run_swiglu_mlp(cpu, {x.cpu, wg.cpu, wu.cpu, wd.cpu, out.cpu}));
    require_ok(run_swiglu_mlp(*gpu, {x.cuda, wg.cuda, wu.cuda, wd.cuda, out.cuda}));
    parity("swiglu_mlp", dt, gpu_values(*gpu, out), cpu_values(out));
  }
}

TEST_CASE("cuda add and copy: strided views, in place, dtype conversion") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9106);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, T = 5, D = 77;
  for (DType dt : kStorages) {
    CAPTURE(dtype_name(dt));
    Twin a = make_twin(*gpu, randn(rng, B * T * D), {B, T, D}, dt, 2, 3);
    Twin b = make_twin(*gpu, randn(rng, B * T * D), {B, T, D}, dt);
    Twin out = make_twin(*gpu, std::vector<float>(static_cast<size_t>(B * T * D), -7.0f), {B, T, D}, dt, 0, 1);
    require_ok(run_add(cpu, {a.cpu, b.cpu, out.cpu}));
    require_ok(run_add(*gpu, {a.cuda, b.cuda, out.cuda}));
    parity("add", dt, gpu_values(*gpu, out), cpu_values(out));
    require_ok(run_add(cpu, {a.cpu, b.cpu, a.cpu}));  // in place: out aliases a
    require_ok(run_add(*gpu, {a.cuda, b.cuda, a.cuda}));
    parity("add in place", dt, gpu_values(*gpu, a), cpu_values(a));
  }
  // copy: f32 source transposed (a [T, D] view with strides {1, T} of a [D, T] buffer) into
  // contiguous bf16 and f32, and a bf16 slice back into a strided f32 destination.
  const std::vector<float> src_vals = randn(rng, D * T);
  for (DType dst_dt : {DType::f32, DType::bf16, DType::f16}) {
    CAPTURE(dtype_name(dst_dt));
    Twin src = make_twin(*gpu, src_vals, {D, T}, DType::f32);
    TensorView sc = src.cpu, sg = src.cuda;  // [D, T] → [T, D] with strides {1, T}
    for (TensorView* v : {&sc, &sg}) {
      std::swap(v->shape[0], v->shape[1]);
      std::swap(v->stride[0], v->stride[1]);
    }
    std::vector<uint8_t> host_dst(static_cast<size_t>(T * D) * dtype_size(dst_dt), 0);
    Tensor dst(*gpu, {T, D}, dst_dt);
    require_ok(run_copy(cpu, {sc, TensorView(host_dst.data(), dst_dt, {T, D})}));
    require_ok(run_copy(*gpu, {sg, dst.view()}));
    std::vector<uint8_t> got(host_dst.size());
    gpu->download(got.data(), dst.view().data, got.size());
    CHECK(got == host_dst);  // conversions round to nearest even on both sides: bit-identical
    std::printf("PARITY %-34s %-4s bit-identical: %s\n", "copy transposed f32 ->", dtype_name(dst_dt),
                got == host_dst ? "yes" : "NO");
  }
  Twin src16 = make_twin(*gpu, randn(rng, B * T * D), {B, T, D}, DType::bf16, 1, 2);
  Twin dst32 = make_twin(*gpu, std::vector<float>(static_cast<size_t>(B * T * D), -7.0f), {B, T, D}, DType::f32, 3, 0);
  require_ok(run_copy(*gpu, {src16.cuda, dst32.cuda}));
  CHECK(gpu_values(*gpu, dst32) == cpu_values(src16));  // bf16 → f32 is exact
  check_guards_untouched(*gpu, dst32);
}

// ---------------------------------------------------------------------------------------
// Attention.
// ---------------------------------------------------------------------------------------
namespace {

// One attention call's tensors on both backends: q, k, v are slices of one fused
// [B, T, (Hq + 2·Hkv)·P] projection; o is contiguous; caches are whole buffers.
struct AttnTwin {
  int64_t B, T, Hq, Hkv, P;
  Twin qkv, o;
  IdxTwin lengths;
  bool has_lengths = false;
  AttentionArgs args(bool gpu_side, Twin* kc, Twin* vc, IdxTwin* cache_len) {
    Twin& f = qkv;
    const TensorView base = gpu_side ? f.cuda : f.cpu;
    AttentionArgs a;
    a.q = base.narrow_last(0, Hq * P).split_last(Hq, P);
    a.k = base.narrow_last(Hq * P, Hkv * P).split_last(Hkv, P);
    a.v = base.narrow_last((Hq + Hkv) * P, Hkv * P).split_last(Hkv, P);
    if (kc) {
      a.k_cache = gpu_side ? kc->cuda : kc->cpu;
      a.v_cache = gpu_side ? vc->cuda : vc->cpu;
      a.cache_len = gpu_side ? cache_len->cuda : cache_len->cpu;
    }
    if (has_lengths) a.lengths = gpu_side ? lengths.cuda : lengths.cpu;
    a.o = gpu_side ? o.cuda : o.cpu;
    return a;
  }
};

AttnTwin make_attn(CudaBackend& gpu, Rng& rng, DType dt, int64_t B, int64_t T, int64_t Hq, int64_t Hkv, int64_t P,
                   const std::vector<int64_t>& lengths) {
  AttnTwin t{B, T, Hq, Hkv, P, {}, {}, {}, false};
  const int64_t W = (Hq + 2 * Hkv) * P;
  t.qkv = make_twin(gpu, randn(rng, B * T * W), {B, T, W}, dt, 1, 2);
  t.o = make_twin(gpu, std::vector<float>(static_cast<size_t>(B * T * Hq * P), -7.0f), {B, T, Hq, P}, dt);
  if (!lengths.empty()) {
    t.lengths = make_idx(gpu, lengths, {B}, DType::i32);
    t.has_lengths = true;
  }
  return t;
}

}  // namespace

TEST_CASE("cuda attention without a cache: GQA 6/2, P = 80 and 96, lengths {5, 1, T}, padding zero") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9107);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, Hq = 6, Hkv = 2;
  for (DType dt : kStorages)
    for (int64_t P : {int64_t{80}, int64_t{96}})
      for (int64_t T : {int64_t{9}, int64_t{37}, int64_t{1}}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(P);
        CAPTURE(T);
        const std::vector<int64_t> lengths = T == 1 ? std::vector<int64_t>{1, 0, 1} : std::vector<int64_t>{5, 1, T};
        AttnTwin at = make_attn(*gpu, rng, dt, B, T, Hq, Hkv, P, lengths);
        require_ok(run_attention(cpu, at.args(false, nullptr, nullptr, nullptr)));
        require_ok(run_attention(*gpu, at.args(true, nullptr, nullptr, nullptr)));
        parity("attention no cache P=" + std::to_string(P) + " T=" + std::to_string(T), dt, gpu_values(*gpu, at.o),
               cpu_values(at.o));
        // Padding queries are exactly zero.
        const std::vector<float> o = gpu_values(*gpu, at.o);
        int64_t nonzero = 0;
        for (int64_t b = 0; b < B; ++b)
          for (int64_t t = lengths[b]; t < T; ++t)
            for (int64_t e = 0; e < Hq * P; ++e) nonzero += o[(b * T + t) * Hq * P + e] != 0.0f;
        CHECK(nonzero == 0);
      }
}

TEST_CASE("cuda attention with a KV cache: prefill, chunked prefill, then decode steps (outputs and caches)") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9108);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, Hq = 6, Hkv = 2, S = 40;
  for (DType dt : kStorages)
    for (int64_t P : {int64_t{96}, int64_t{80}}) {
      CAPTURE(dtype_name(dt));
      CAPTURE(P);
      // Random cache contents: rows past cache_len must never be read or written.
      Twin kc = make_twin(*gpu, randn(rng, B * S * Hkv * P), {B, S, Hkv, P}, dt);
      Twin vc = make_twin(*gpu, randn(rng, B * S * Hkv * P), {B, S, Hkv, P}, dt);
      std::vector<int64_t> past = {0, 0, 0};
      // Steps: prefill T = 7 with lengths {5, 1, 7}; a chunk of T = 4 with lengths {4, 2, 3};
      // then five decode steps, one of them with a padded row.
      struct Step {
        int64_t T;
        std::vector<int64_t> lengths;
      };
      const std::vector<Step> steps = {{7, {5, 1, 7}}, {4, {4, 2, 3}}, {1, {1, 1, 1}}, {1, {1, 0, 1}},
                                       {1, {1, 1, 1}}, {1, {}},        {1, {1, 1, 1}}};
      int step_no = 0;
      for (const Step& st : steps) {
        CAPTURE(step_no);
        AttnTwin at = make_attn(*gpu, rng, dt, B, st.T, Hq, Hkv, P, st.lengths);
        IdxTwin cache_len = make_idx(*gpu, past, {B}, DType::i32);
        require_ok(run_attention(cpu, at.args(false, &kc, &vc, &cache_len)));
        require_ok(run_attention(*gpu, at.args(true, &kc, &vc, &cache_len)));
        parity("attention cache P=" + std::to_string(P) + " step " + std::to_string(step_no) + " T=" +
                   std::to_string(st.T),
               dt, gpu_values(*gpu, at.o), cpu_values(at.o));
        for (int64_t b = 0; b < B; ++b) past[b] += st.lengths.empty() ? st.T : st.lengths[b];
        ++step_no;
      }
      // The caches: new rows written at the right positions (exact copies), the rest untouched.
      CHECK(gpu_values(*gpu, kc) == cpu_values(kc));
      CHECK(gpu_values(*gpu, vc) == cpu_values(vc));
    }
}

TEST_CASE("cuda attention decode over a long cache (split over the key axis)") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9109);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, Hq = 6, Hkv = 2, P = 96, S = 1500;
  for (DType dt : kStorages) {
    CAPTURE(dtype_name(dt));
    Twin kc = make_twin(*gpu, randn(rng, B * S * Hkv * P), {B, S, Hkv, P}, dt);
    Twin vc = make_twin(*gpu, randn(rng, B * S * Hkv * P), {B, S, Hkv, P}, dt);
    IdxTwin cache_len = make_idx(*gpu, {1203, 37, 0}, {B}, DType::i32);
    AttnTwin at = make_attn(*gpu, rng, dt, B, 1, Hq, Hkv, P, {});
    require_ok(run_attention(cpu, at.args(false, &kc, &vc, &cache_len)));
    require_ok(run_attention(*gpu, at.args(true, &kc, &vc, &cache_len)));
    parity("attention decode past={1203,37,0}", dt, gpu_values(*gpu, at.o), cpu_values(at.o));
    // A long prefill continuation too (T = 70 on top of the cache).
    AttnTwin at2 = make_attn(*gpu, rng, dt, B, 70, Hq, Hkv, P, {70, 5, 1});
    IdxTwin cache_len2 = make_idx(*gpu, {1204, 38, 0}, {B}, DType::i32);
    require_ok(run_attention(cpu, at2.args(false, &kc, &vc, &cache_len2)));
    require_ok(run_attention(*gpu, at2.args(true, &kc, &vc, &cache_len2)));
    parity("attention prefill T=70 past={1204,38,0}", dt, gpu_values(*gpu, at2.o), cpu_values(at2.o));
  }
}

TEST_CASE("cuda attention data checks: cache overflow, bad lengths, negative cache_len (messages as the CPU)") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9110);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t B = 3, Hq = 6, Hkv = 2, P = 80, S = 24, T = 7;
  Twin kc = make_twin(*gpu, randn(rng, B * S * Hkv * P), {B, S, Hkv, P}, DType::f32);
  Twin vc = make_twin(*gpu, randn(rng, B * S * Hkv * P), {B, S, Hkv, P}, DType::f32);
  struct Case {
    std::vector<int64_t> cache_len, lengths;
  };
  for (const Case& c : {Case{{20, 0, 0}, {5, 1, 7}}, Case{{0, 0, 0}, {5, 8, 7}}, Case{{0, -1, 0}, {5, 1, 7}},
                        Case{{18, 0, 0}, {}}}) {
    AttnTwin at = make_attn(*gpu, rng, DType::f32, B, T, Hq, Hkv, P, c.lengths);
    IdxTwin cache_len = make_idx(*gpu, c.cache_len, {B}, DType::i32);
    const Status sc = run_attention(cpu, at.args(false, &kc, &vc, &cache_len));
    const Status sg = run_attention(*gpu, at.args(true, &kc, &vc, &cache_len));
    INFO(sc.message());
    INFO(sg.message());
    CHECK(sc.code() == StatusCode::invalid_argument);
    CHECK(sg.code() == StatusCode::invalid_argument);
    CHECK(sg.message() == sc.message());
  }
  // Nothing was written to the caches by the refused calls.
  CHECK(gpu_values(*gpu, kc) == cpu_values(kc));
}

// ---------------------------------------------------------------------------------------
// Mixture of experts.
// ---------------------------------------------------------------------------------------

TEST_CASE("cuda moe_router: ids equal the CPU's, weights within f32 tolerance, ties, renormalize") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9111);
  CpuBackend cpu;
  auto gpu = open_gpu();
  struct Case {
    int64_t M, X, k;
  };
  for (DType dt : kStorages)
    for (const Case& c : {Case{37, 8, 2}, Case{20, 60, 6}, Case{5, 16, 1}, Case{9, 6, 6}})
      for (bool renormalize : {false, true}) {
        CAPTURE(dtype_name(dt));
        CAPTURE(c.M);
        CAPTURE(c.X);
        CAPTURE(c.k);
        CAPTURE(renormalize);
        std::vector<float> logits = randn(rng, c.M * c.X, 2.0f);
        for (int64_t e = 0; e < c.X; ++e) logits[e] = 0.5f;  // row 0: all equal
        for (int64_t e = 0; e + 1 < c.X; e += 2) logits[c.X + e] = logits[c.X + e + 1];  // row 1: tied pairs
        Twin lg = make_twin(*gpu, logits, {c.M, c.X}, dt, 0, 3);  // strided rows
        std::vector<float> wc(static_cast<size_t>(c.M * c.k), -1.0f);
        std::vector<int32_t> ic(static_cast<size_t>(c.M * c.k), -1);
        Tensor wg(*gpu, {c.M, c.k}, DType::f32), ig(*gpu, {c.M, c.k}, DType::i32);
        require_ok(run_moe_router(cpu, {lg.cpu, f32_view(wc, {c.M, c.k}), i32_view(ic, {c.M, c.k}),
                                        RouterKind::softmax_topk, renormalize}));
        require_ok(run_moe_router(*gpu, {lg.cuda, wg.view(), ig.view(), RouterKind::softmax_topk, renormalize}));
        const std::vector<int32_t> ids = download_i32(*gpu, ig.view());
        std::vector<float> w(wc.size());
        gpu->download(w.data(), wg.view().data, w.size() * 4);
        CHECK(ids == ic);
        // Router weights are f32 outputs computed in fp32 from identical logits on both sides.
        parity("moe_router X=" + std::to_string(c.X) + " k=" + std::to_string(c.k) + (renormalize ? " renorm" : ""),
               dt, w, wc, kRelL2F32);
      }
}

TEST_CASE("cuda moe_experts: routed SwiGLU experts, k = 2 and 3, duplicate routing, bad ids") {
  SKIP_WITHOUT_CUDA();
  Rng rng = seeded(9112);
  CpuBackend cpu;
  auto gpu = open_gpu();
  const int64_t M = 37, D = 96, F = 136, X = 6;
  for (DType dt : kStorages)
    for (int64_t k : {int64_t{2}, int64_t{3}}) {
      CAPTURE(dtype_name(dt));
      CAPTURE(k);
      // Routing from the CPU router (same for both backends), with one token sent twice to one
      // expert and one expert left without tokens.
      std::vector<float> logits = randn(rng, M * X, 2.0f);
      for (int64_t m = 0; m < M; ++m) logits[m * X + 5] = -30.0f;  // expert 5 gets nothing
      std::vector<float> wts(static_cast<size_t>(M * k));
      std::vector<int32_t> ids(static_cast<size_t>(M * k));
      require_ok(run_moe_router(cpu, {f32_view(logits, {M, X}), f32_view(wts, {M, k}), i32_view(ids, {M, k}),
                                      RouterKind::softmax_topk, false}));
      ids[3 * k + 1] = ids[3 * k + 0];
      Twin x = make_twin(*gpu, randn(rng, M * D), {M, D}, dt, 2, 2);
      Twin wg = make_twin(*gpu, randn(rng, X * F * D, 0.1f), {X, F, D}, dt);
      Twin wu = make_twin(*gpu, randn(rng, X * F * D, 0.1f), {X, F, D}, dt);
      Twin wd = make_twin(*gpu, randn(rng, X * D * F, 0.08f), {X, D, F}, dt);
      Twin out = make_twin(*gpu, std::vector<float>(static_cast<size_t>(M * D), -7.0f), {M, D}, dt);
      Tensor ids_d(*gpu, {M, k}, DType::i32), wts_d(*gpu, {M, k}, DType::f32);
      gpu->upload(ids_d.view().data, ids.data(), ids.size() * 4);
      gpu->upload(wts_d.view().data, wts.data(), wts.size() * 4);
      require_ok(run_moe_experts(cpu, {x.cpu, wg.cpu, wu.cpu, wd.cpu, i32_view(ids, {M, k}), f32_view(wts, {M, k}),
                                       out.cpu}));
      require_ok(run_moe_experts(*gpu, {x.cuda, wg.cuda, wu.cuda, wd.cuda, ids_d.view(), wts_d.view(), out.cuda}));
      parity("moe_experts k=" + std::to_string(k), dt, gpu_values(*gpu, out), cpu_values(out));
      // Deterministic: a second run gives bit-identical output.
      const std::vector<float> first = gpu_values(*gpu, out);
      require_ok(run_moe_experts(*gpu, {x.cuda, wg.cuda, wu.cuda, wd.cuda, ids_d.view(), wts_d.view(), out.cuda}));
      CHECK(gpu_values(*gpu, out) == first);

      // A bad id: same message as the CPU; out untouched.
      std::vector<int32_t> bad = ids;
      bad[4 * k + 1] = static_cast<int32_t>(X);
      bad[9 * k + 0] = -2;
      gpu->upload(ids_d.view().data, bad.data(), bad.size() * 4);
      Twin out2 = make_twin(*gpu, std::vector<float>(static_cast<size_t>(M * D), -7.0f), {M, D}, dt);
      const Status sc = run_moe_experts(cpu, {x.cpu, wg.cpu, wu.cpu, wd.cpu, i32_view(bad, {M, k}),
                                              f32_view(wts, {M, k}), out2.cpu});
      const Status sg =
          run_moe_experts(*gpu, {x.cuda, wg.cuda, wu.cuda, wd.cuda, ids_d.view(), wts_d.view(), out2.cuda});
      CHECK(sg.code() == StatusCode::invalid_argument);
      CHECK(sg.message() == sc.message());
      CHECK(gpu_values(*gpu, out2) == std::vector<float>(static_cast<size_t>(M * D), -7.0f));
    }
}
