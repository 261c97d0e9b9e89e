// backends/cuda/cuda_backend.cu — the CUDA backend object: device, stream, cuBLAS handle and
// workspace (cuda_context.cuh), memory, host transfers, the shared host helpers, and the
// elementwise contracts `add` and `copy` (core/contracts/elementwise.h). Each layer contract
// lives in its own file.
//
// Ordering model: every contract is queued on the backend's one non-blocking stream and
// returns without waiting; upload, download and synchronize wait for the stream. A contract
// that needs a data-dependent answer on the host (bad ids, cache overflow) says so where it
// synchronises.
#include <algorithm>
#include <climits>
#include <cstring>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

// ---------------------------------------------------------------------------------------
// Failure reporting and device discovery.
// ---------------------------------------------------------------------------------------

void cuda_fail(const char* file, int line, const char* expr, const char* what) {
  throw Error(str(file, ":", line, ": ", expr, ": ", what));
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the error so later runtime calls do not see it
    return 0;
  }
  return n;
}

std::string cuda_unavailable_reason() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return str("no CUDA device: ", cudaGetErrorString(e), " (", cudaGetErrorName(e), ")");
  }
  if (n == 0) return "no CUDA device: the driver reports 0 devices";
  return "";
}

cudaDataType_t cuda_data_type(DType t) {
  switch (t) {
    case DType::f32: return CUDA_R_32F;
    case DType::bf16: return CUDA_R_16BF;
    case DType::f16: return CUDA_R_16F;
    default: BRAID_CHECK(false, "cuda_data_type of ", dtype_name(t));
  }
  return CUDA_R_32F;
}

// ---------------------------------------------------------------------------------------
// Context: construction, teardown, workspace.
// ---------------------------------------------------------------------------------------

CudaContext::~CudaContext() {
  // Teardown never throws: errors are ignored (the device may already be lost). A context
  // whose construction failed before anything was created touches no device.
  if (!stream && !cublas && !workspace && !pool) return;
  (void)cudaSetDevice(device);
  if (stream) (void)cudaStreamSynchronize(stream);
  if (workspace) (void)cudaFree(workspace);
  if (cublas) (void)cublasDestroy(cublas);
  if (stream) (void)cudaStreamDestroy(stream);
  if (pool) (void)cudaMemPoolDestroy(pool);  // blocks still held are released when freed
  (void)cudaGetLastError();
}

void CudaContext::activate() const { CUDA_CHECK(cudaSetDevice(device)); }

void* CudaContext::workspace_at_least(size_t bytes) {
  if (bytes <= workspace_bytes && workspace) return workspace;
  // Grow geometrically (at least 1 MiB, at least 1.5× the old size) so that a sequence of
  // slightly larger requests does not reallocate every call.
  size_t want = std::max<size_t>({bytes, size_t{1} << 20, workspace_bytes + workspace_bytes / 2});
  want = (want + 255) / 256 * 256;
  if (workspace) {
    CUDA_CHECK(cudaStreamSynchronize(stream));  // queued kernels may still read the old buffer
    if (memory) memory->on_free(workspace);
    CUDA_CHECK(cudaFree(workspace));
    workspace = nullptr;
    workspace_bytes = 0;
  }
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, want);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // an allocation failure is not sticky; clear it
    throw Error(str("cuda:", device, ": cannot allocate ", want, " bytes of workspace (", cudaGetErrorName(e), ")"));
  }
  workspace = p;
  workspace_bytes = want;
  if (memory) memory->on_alloc(p, want);
  return workspace;
}

CudaBackend::CudaBackend(CudaOptions opts) : opts_(opts), ctx_(std::make_unique<CudaContext>()) {
  const int n = cuda_device_count();
  if (opts_.device < 0 || opts_.device >= n)
    throw Error(str("cuda:", opts_.device, ": no such device (", n, " CUDA device", n == 1 ? "" : "s",
                    n == 0 ? str("; ", cuda_unavailable_reason()) : std::string(), ")"));
  if (opts_.state_dtype != DType::f32)
    throw Error(str("cuda:", opts_.device, ": state_dtype ", dtype_name(opts_.state_dtype),
                    " is not supported yet; SSM states are f32"));
  CudaContext& c = *ctx_;
  c.device = opts_.device;
  c.memory = &memory_;
  CUDA_CHECK(cudaSetDevice(c.device));
  CUDA_CHECK(cudaDeviceGetAttribute(&c.sm_count, cudaDevAttrMultiProcessorCount, c.device));
  int optin = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, c.device));
  c.smem_optin = static_cast<size_t>(optin);
  CUDA_CHECK(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
  // The backend's own memory pool; freed blocks stay in it (no release threshold), so a
  // forward after the first allocates without touching the driver.
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = c.device;
  CUDA_CHECK(cudaMemPoolCreate(&c.pool, &props));
  uint64_t keep = UINT64_MAX;
  CUDA_CHECK(cudaMemPoolSetAttribute(c.pool, cudaMemPoolAttrReleaseThreshold, &keep));
  CUBLAS_CHECK(cublasCreate(&c.cublas));
  CUBLAS_CHECK(cublasSetStream(c.cublas, c.stream));
  // Default math (no TF32 tensor-op math: f32 GEMMs must stay fp32 for parity) and no
  // reduced-precision split-K reductions for bf16 outputs.
  CUBLAS_CHECK(cublasSetMathMode(c.cublas, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                                                     CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
  // On a throw above, ctx_'s destructor releases whatever was created.
}

int64_t cuda_device_memory_bytes(int device) {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return static_cast<int64_t>(prop.totalGlobalMem);
}

std::string cuda_device_name(int device) {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return "unknown CUDA device";
  }
  return prop.name;
}

CudaBackend::~CudaBackend() = default;  // ~CudaContext releases everything and never throws

std::string CudaBackend::name() const { return str("cuda:", opts_.device); }

// ---------------------------------------------------------------------------------------
// Memory and transfers.
// ---------------------------------------------------------------------------------------

void* CudaBackend::raw_alloc(size_t bytes) {
  ctx_->activate();
  // A zero-byte request still gets a real allocation: null means "absent" to a TensorView.
  void* p = nullptr;
  // Stream-ordered from the backend's pool: every kernel, copy and free of this backend runs
  // on its one stream, so a block freed here is reused only after the work queued before
  // the free, and no call synchronises the device (cudaFree would).
  const cudaError_t e = cudaMallocFromPoolAsync(&p, bytes == 0 ? 256 : bytes, ctx_->pool, ctx_->stream);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // not sticky; clear it so the next checked call does not see it
    throw Error(str(name(), ": cannot allocate ", bytes, " bytes (", cudaGetErrorName(e), ")"));
  }
  memory_.on_alloc(p, bytes == 0 ? 256 : bytes);
  return p;
}

void CudaBackend::raw_free(void* p) {
  if (!p) return;
  ctx_->activate();
  memory_.on_free(p);
  CUDA_CHECK(cudaFreeAsync(p, ctx_->stream));
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  ctx_->activate();
  // No stream synchronisation: from pageable host memory the copy returns once the source
  // is staged, so the caller may reuse `host_src` at once, and the stream orders the rest.
  CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, ctx_->stream));
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  ctx_->activate();
  CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, ctx_->stream));
  CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
}

void CudaBackend::fill_zero(const TensorView& t) {
  BRAID_CHECK(t.is_contiguous(), "fill_zero needs a contiguous view, got ", t.describe());
  if (!t.defined() || t.nbytes() == 0) return;
  ctx_->activate();
  CUDA_CHECK(cudaMemsetAsync(t.data, 0, t.nbytes(), ctx_->stream));  // 0x00… is +0.0 and integer 0
}

void CudaBackend::synchronize() {
  ctx_->activate();
  CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
}

// ---------------------------------------------------------------------------------------
// Shared host helpers (cuda_context.cuh).
// ---------------------------------------------------------------------------------------

Status storage_dtype(const char* contract, std::initializer_list<NamedView> floats, DType& out) {
  const NamedView* first = nullptr;
  for (const NamedView& nv : floats) {
    const TensorView& v = *nv.view;
    if (!v.defined()) continue;
    if (v.device != Device::cuda)
      return invalid_argument("cuda: ", contract, ": ", nv.name, " is a ", device_name(v.device),
                              " tensor; the CUDA backend computes on device tensors");
    if (v.dtype != DType::f32 && v.dtype != DType::bf16)
      return not_supported("cuda: ", contract, ": ", nv.name, " is ", dtype_name(v.dtype),
                           "; the CUDA backend stores floats as f32 or bf16 (convert with copy first)");
    if (!first) {
      first = &nv;
      out = v.dtype;
    } else if (v.dtype != out) {
      return not_supported("cuda: ", contract, ": ", nv.name, " is ", dtype_name(v.dtype), " but ", first->name,
                           " is ", dtype_name(out), "; the float tensors of one call share one storage dtype");
    }
  }
  if (!first) out = DType::f32;
  return Status::ok();
}

std::vector<int32_t> download_i32(CudaContext& ctx, const TensorView& v) {
  const int64_t n = v.numel();
  std::vector<int32_t> host(static_cast<size_t>(n));
  if (n == 0) return host;
  BRAID_CHECK(v.ndim == 1 && v.dtype == DType::i32, "download_i32 of ", v.describe());
  // A strided [n] vector is a 2-D copy of n rows of 4 bytes (source pitch = stride · 4).
  const size_t pitch = static_cast<size_t>(std::max<int64_t>(v.stride[0], 1)) * sizeof(int32_t);
  CUDA_CHECK(cudaMemcpy2DAsync(host.data(), sizeof(int32_t), v.data, pitch, sizeof(int32_t), static_cast<size_t>(n),
                               cudaMemcpyDeviceToHost, ctx.stream));
  CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return host;
}

Status read_lengths(CudaContext& ctx, const TensorView& lengths, int64_t B, int64_t T, std::vector<int32_t>& out) {
  if (!lengths.defined()) {
    out.assign(static_cast<size_t>(B), static_cast<int32_t>(T));
    return Status::ok();
  }
  out = download_i32(ctx, lengths);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = out[static_cast<size_t>(b)];
    if (n < 0 || n > T) return invalid_argument("lengths[", b, "] = ", n, " is outside [0, T = ", T, "]");
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------------------
// add: out = a + alpha·b over [M, D] row views (each with its own row stride). out may alias a or
// b: every element is read before it is written, by the same thread.
// ---------------------------------------------------------------------------------------
namespace {

template <class T>
__global__ void add_kernel(const T* a, int64_t lda, const T* b, int64_t ldb, float alpha, T* out, int64_t ldo, int64_t M,
                           int64_t D) {
  const int64_t n = M * D;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < n;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t m = q / D, d = q - m * D;
    out[m * ldo + d] = from_f32<T>(to_f32(a[m * lda + d]) + alpha * to_f32(b[m * ldb + d]));
  }
}

// copy: one thread per element of the logical shape; the multi-index (row-major over the
// shape) gives the element offsets of src and dst through their own strides.
struct StridedPair {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t src_stride[kMaxDims] = {};
  int64_t dst_stride[kMaxDims] = {};
};

template <class S, class D>
__global__ void copy_kernel(const S* src, D* dst, int64_t n, StridedPair ix) {
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < n;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = q, so = 0, dof = 0;
    for (int d = ix.ndim - 1; d >= 0; --d) {  // innermost dimension varies fastest
      const int64_t c = rem % ix.shape[d];
      rem /= ix.shape[d];
      so += c * ix.src_stride[d];
      dof += c * ix.dst_stride[d];
    }
    dst[dof] = from_f32<D>(to_f32(src[so]));  // bf16/f16 round to nearest even, as convert_floats
  }
}

// Calls fn(T{}) for any float storage dtype, f16 included (copy is the converting contract).
template <class Fn>
Status dispatch_float(DType t, const char* what, Fn&& fn) {
  switch (t) {
    case DType::f32: return fn(float{});
    case DType::bf16: return fn(__nv_bfloat16{});
    case DType::f16: return fn(__half{});
    default: return not_supported("cuda: ", what, " has dtype ", dtype_name(t));
  }
}

}  // namespace

Status CudaBackend::add(const AddArgs& args) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype("add", {{&args.a, "a"}, {&args.b, "b"}, {&args.out, "out"}}, st));
  const TensorView a = args.a.as_2d(), b = args.b.as_2d(), out = args.out.as_2d();  // [M, D]
  const int64_t M = a.dim(0), D = a.dim(1);
  if (M * D == 0) return Status::ok();
  ctx_->activate();
  return dispatch_storage(st, "add", [&](auto tag) {
    using T = decltype(tag);
    add_kernel<T><<<grid_for(*ctx_, M * D, 256), 256, 0, ctx_->stream>>>(
        a.ptr<const T>(), a.stride[0], b.ptr<const T>(), b.stride[0], args.alpha, out.ptr<T>(), out.stride[0], M, D);
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

Status CudaBackend::copy(const CopyArgs& a) {
  if (a.src.device != Device::cuda || a.dst.device != Device::cuda)
    return invalid_argument("cuda: copy: src and dst must be device tensors (use upload/download for host memory)");
  const int64_t n = a.src.numel();
  if (n == 0) return Status::ok();
  StridedPair ix;
  if (a.src.is_contiguous() && a.dst.is_contiguous()) {
    ix.ndim = 1;  // one flat run
    ix.shape[0] = n;
    ix.src_stride[0] = ix.dst_stride[0] = 1;
  } else {
    ix.ndim = a.src.ndim;
    for (int d = 0; d < ix.ndim; ++d) {
      ix.shape[d] = a.src.shape[d];
      ix.src_stride[d] = a.src.stride[d];
      ix.dst_stride[d] = a.dst.stride[d];
    }
  }
  ctx_->activate();
  const unsigned grid = grid_for(*ctx_, n, 256);
  return dispatch_float(a.src.dtype, "copy src", [&](auto stag) {
    using S = decltype(stag);
    return dispatch_float(a.dst.dtype, "copy dst", [&](auto dtag) {
      using D = decltype(dtag);
      copy_kernel<S, D><<<grid, 256, 0, ctx_->stream>>>(a.src.ptr<const S>(), a.dst.ptr<D>(), n, ix);
      CUDA_CHECK_LAUNCH();
      return Status::ok();
    });
  });
}

}  // namespace braid
