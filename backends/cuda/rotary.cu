// backends/cuda/rotary.cu — rotary position embedding, in place (core/contracts/rotary.h;
// reference: backends/cpu/rotary.cpp; hf-models-spec §1.6).
//
// NeoX "rotate_half" convention on the first r dims of each head, pairs (j, j + r/2):
//   inv_freq[j] = 1 / theta^(2j / r)         j < r/2, fp32
//   ang         = float(pos) · inv_freq[j]   fp32
//   x'[j]       = x[j]·cos(ang) − x[j + r/2]·sin(ang)
//   x'[j + r/2] = x[j + r/2]·cos(ang) + x[j]·sin(ang)
//   x'[r … P)   = x[r … P)                   (untouched)
//
// inv_freq is computed on the host with the reference's exact expression (std::pow in
// float) and passed by value as a kernel parameter, so both backends rotate by bit-identical
// frequencies; only cos/sin differ, by the device libm's ulp. One block per token (b, t): its threads first compute cos/sin for the
// r/2 angles into shared memory (shared by all Hx heads of the token), then rotate every
// (head, pair) of the token.
#include <cmath>

#include "backends/cuda/cuda_context.cuh"

namespace braid {

namespace {

// r/2 ≤ 256 covers every head dim in use (P ≤ 512); the table is 1 KiB of kernel parameters.
constexpr int kMaxHalf = 256;
struct InvFreq {
  float v[kMaxHalf];
};

template <class T, class Pos>
__global__ void rotary_kernel(T* x, int64_t sb, int64_t st, int64_t sh, int64_t Hx, const Pos* pos, int64_t psb,
                              int64_t pst, const __grid_constant__ InvFreq inv_freq, int half, float sign) {
  __shared__ float cos_s[kMaxHalf], sin_s[kMaxHalf];
  const int64_t t = blockIdx.x, b = blockIdx.y;
  const float p = static_cast<float>(pos[b * psb + t * pst]);  // float(pos), as the reference
  for (int j = threadIdx.x; j < half; j += blockDim.x) {
    const float ang = p * inv_freq.v[j];
    cos_s[j] = cosf(ang);
    sin_s[j] = sign * sinf(ang);
  }
  __syncthreads();
  // Every (head h, pair j) of this token; consecutive threads take consecutive j of one head.
  T* xt = x + b * sb + t * st;  // [Hx, P] with head stride sh
  for (int64_t q = threadIdx.x; q < Hx * half; q += blockDim.x) {
    const int64_t h = q / half, j = q - h * half;
    T* v = xt + h * sh;  // [P] one head vector
    const float lo = to_f32(v[j]), hi = to_f32(v[j + half]);
    const float c = cos_s[j], s = sin_s[j];
    v[j] = from_f32<T>(lo * c - hi * s);
    v[j + half] = from_f32<T>(hi * c + lo * s);
  }
}

}  // namespace

namespace {

// Rotates by sign·ang: +1 is the forward; −1 the backward (Rᵀ(ang) = R(−ang): the rotation is
// orthogonal). `what` names the contract in errors.
Status rotate(CudaContext& ctx, const RotaryArgs& a, float sign, const char* what) {
  DType st;
  BRAID_RETURN_IF_ERROR(storage_dtype(what, {{&a.x, "x"}}, st));
  const TensorView& x = a.x;  // [B, T, Hx, P], inner-contiguous, outer dims may be strided
  const int64_t B = x.dim(0), T = x.dim(1), Hx = x.dim(2);
  const int64_t half = a.rot_dim / 2;  // r/2
  if (B == 0 || T == 0 || Hx == 0) return Status::ok();
  if (B > 65535 || T > INT32_MAX) return not_supported("cuda: ", what, " with B = ", B, ", T = ", T, " exceeds the grid");

  if (half > kMaxHalf) return not_supported("cuda: ", what, " rot_dim ", a.rot_dim, " exceeds ", 2 * kMaxHalf);

  // inv_freq [r/2]: the reference's expression, evaluated on the host in float.
  InvFreq inv_freq{};
  for (int64_t j = 0; j < half; ++j)
    inv_freq.v[j] = 1.0f / std::pow(a.theta, static_cast<float>(2 * j) / static_cast<float>(a.rot_dim));

  ctx.activate();

  const int64_t work = Hx * half;  // (head, pair) items per token
  const int threads = work >= 256 ? 256 : static_cast<int>((work + 31) / 32 * 32);
  const dim3 grid(static_cast<unsigned>(T), static_cast<unsigned>(B));
  return dispatch_storage(st, what, [&](auto tag) {
    using T_ = decltype(tag);
    if (a.positions.dtype == DType::i64)
      rotary_kernel<T_, int64_t><<<grid, threads, 0, ctx.stream>>>(
          x.ptr<T_>(), x.stride[0], x.stride[1], x.stride[2], Hx, a.positions.ptr<const int64_t>(), a.positions.stride[0],
          a.positions.stride[1], inv_freq, static_cast<int>(half), sign);
    else
      rotary_kernel<T_, int32_t><<<grid, threads, 0, ctx.stream>>>(
          x.ptr<T_>(), x.stride[0], x.stride[1], x.stride[2], Hx, a.positions.ptr<const int32_t>(), a.positions.stride[0],
          a.positions.stride[1], inv_freq, static_cast<int>(half), sign);
    CUDA_CHECK_LAUNCH();
    return Status::ok();
  });
}

}  // namespace

Status CudaBackend::rotary(const RotaryArgs& a) { return rotate(*ctx_, a, 1.0f, "rotary"); }

// d_x = R(−ang) · d_out, in place.
Status CudaBackend::rotary_backward(const RotaryArgs& a) { return rotate(*ctx_, a, -1.0f, "rotary_backward"); }

}  // namespace braid
