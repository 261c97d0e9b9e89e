// tests/cuda: the recurrent contracts on CUDA (conv1d, mamba1_scan, mamba2_ssd and their
// steps) against the CPU reference, in f32 and bf16 storage, outputs and final states; then
// on CUDA alone: forward == T calls of the step, and chunked prefill (T1 then T2 with the
// state carried) == one shot.
//
// Inputs are seeded and realistic: x, B, C ~ N(0, 1); dt raw + dt_bias in [−4, 1], so the
// softplus gives Δ ∈ [0.02, 1.3]; A = −exp(U(log 1, log 16)). Shapes are odd on purpose
// (Di = 96, N = 12, H = 6, P = 40, G ∈ {2, 3}, K = 2 … 4, T ∈ {1, 7, 64, 257, 1000},
// Q ∈ {16, 64, 256}) and B = 3 rows with lengths {T, 1, T/2}. x, B, C, dt and z are channel
// slices of wider NaN-filled projection buffers, as a model passes them, so any read outside
// a view poisons the result; outputs start as NaN, so any element left unwritten fails.
//
// bf16: the inputs are rounded to bf16 on both sides, so the CPU computes in f32 on exactly
// the values the GPU stores; what remains is the GPU output's own bf16 rounding (≈2^−9
// relative) and fp32 reassociation, hence kRelL2Bf16.
//
// Without a CUDA device every case prints the reason once and passes.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "tests/backends/helpers.h"

using namespace braid;
using namespace braid::test;

namespace {

// See the file header: the bf16 rounding of the outputs dominates.
constexpr double kRelL2Bf16 = 1e-2;
double tol_for(DType t) { return t == DType::bf16 ? kRelL2Bf16 : kRelL2F32; }

bool cuda_ready() {
  if (cuda_device_count() > 0) return true;
  MESSAGE("no CUDA device, test skipped: " << cuda_unavailable_reason());
  return false;
}

// Rounds host values to what storage dtype t holds.
void round_to(DType t, std::vector<float>& v) {
  if (t == DType::bf16)
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
}

// One tensor on a backend: its buffer and the view a contract sees.
struct Dev {
  Tensor buf;
  TensorView view;
};

// Uploads v (shape s) in dtype t inside a wider NaN-filled buffer [..., before + n + after],
// viewed back as [..., n]. An empty v gives an undefined (absent) view.
Dev upload(Backend& be, const std::vector<float>& v, const Shape& s, DType t, int64_t before = 0, int64_t after = 0) {
  Dev d;
  if (v.empty()) return d;
  Embedded e = embed_last(v, s, before, after);
  std::vector<int64_t> wide = s.dims;
  wide.back() += before + after;
  d.buf = Tensor(be, Shape(wide), t);
  std::vector<char> raw(d.buf.view().nbytes());
  convert_floats(e.buf.data(), DType::f32, raw.data(), t, e.buf.size());
  be.upload(d.buf.view().data, raw.data(), raw.size());
  d.view = d.buf.view().narrow_last(before, s[s.ndim() - 1]);
  return d;
}

// An output buffer of shape s, filled with NaN.
Dev poisoned(Backend& be, const Shape& s, DType t) {
  return upload(be, std::vector<float>(static_cast<size_t>(s.numel()), std::numeric_limits<float>::quiet_NaN()), s, t);
}

Dev upload_lengths(Backend& be, const std::vector<int32_t>& v) {
  Dev d;
  if (v.empty()) return d;
  d.buf = Tensor(be, {static_cast<int64_t>(v.size())}, DType::i32);
  be.upload(d.buf.view().data, v.data(), v.size() * sizeof(int32_t));
  d.view = d.buf.view();
  return d;
}

// A contiguous view's values as f32 on the host.
std::vector<float> fetch(Backend& be, const TensorView& v) {
  std::vector<float> out;
  if (!v.defined()) return out;
  REQUIRE(v.is_contiguous());
  std::vector<char> raw(v.nbytes());
  be.download(raw.data(), v.data, raw.size());
  out.resize(static_cast<size_t>(v.numel()));
  convert_floats(raw.data(), v.dtype, out.data(), DType::f32, out.size());
  return out;
}

// Writes y_part [B, len, inner] into y [B, T, inner] at tokens [t0, t0 + len).
void place(std::vector<float>& y, const std::vector<float>& part, int64_t B, int64_t T, int64_t t0, int64_t len,
           int64_t inner) {
  for (int64_t b = 0; b < B; ++b)
    std::copy_n(part.begin() + b * len * inner, len * inner, y.begin() + (b * T + t0) * inner);
}

// Lengths {T, 1, T/2, …} for a varlen batch (row 1 keeps one token; T = 1 gives a 0-row).
std::vector<int32_t> varlen(int64_t B, int64_t T) {
  std::vector<int32_t> n(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) n[b] = static_cast<int32_t>(b == 0 ? T : b == 1 ? std::min<int64_t>(1, T) : T / 2);
  return n;
}

struct Result {
  std::vector<float> y, state;
};

// The worst rel L2 seen per dtype, printed at the end of a test case for the record.
struct Worst {
  double y[2] = {0, 0}, state[2] = {0, 0};
  void add(DType t, const Result& got, const Result& want, const std::string& what) {
    const int k = t == DType::bf16;
    const double tol = tol_for(t);
    const Comparison cy = compare(got.y.data(), want.y.data(), static_cast<int64_t>(want.y.size()));
    y[k] = std::max(y[k], cy.finite ? cy.rel_l2 : INFINITY);
    check_close(got.y, want.y, tol, what + " y");
    if (!want.state.empty()) {
      const Comparison cs = compare(got.state.data(), want.state.data(), static_cast<int64_t>(want.state.size()));
      state[k] = std::max(state[k], cs.finite ? cs.rel_l2 : INFINITY);
      check_close(got.state, want.state, tol, what + " state");
    }
  }
  void print(const std::string& what) const {
    MESSAGE(what << ": worst rel L2 f32 y " << y[0] << " state " << state[0] << " | bf16 y " << y[1] << " state "
                 << state[1]);
  }
};

// ---------------------------------------------------------------------------------------
// conv1d
// ---------------------------------------------------------------------------------------

struct ConvCase {
  int64_t B, T, C, K;
  bool silu = true;
  std::vector<float> x, w, bias, state;  // optional ones empty when absent
  std::vector<int32_t> lengths;

  ConvCase(Rng& rng, int64_t B_, int64_t T_, int64_t C_, int64_t K_, bool with_bias, bool with_state, bool var)
      : B(B_), T(T_), C(C_), K(K_) {
    x = randn(rng, B * T * C);
    w = randn(rng, C * K, 0.5f);
    if (with_bias) bias = randn(rng, C, 0.5f);
    if (with_state) state = randn(rng, B * (K - 1) * C);
    if (var) lengths = varlen(B, T);
  }
  void round(DType t) {
    round_to(t, x);
    round_to(t, w);
    round_to(t, bias);
    round_to(t, state);
  }
};

// A conv case's tensors on one backend (x as a slice of an in_proj-like buffer).
struct ConvDev {
  const ConvCase& c;
  DType t;
  Dev x, w, bias, state, lengths;
  ConvDev(Backend& be, const ConvCase& c_, DType t_) : c(c_), t(t_) {
    x = upload(be, c.x, {c.B, c.T, c.C}, t, 3, 5);
    w = upload(be, c.w, {c.C, c.K}, t);
    bias = upload(be, c.bias, {c.C}, t);
    state = upload(be, c.state, {c.B, c.K - 1, c.C}, t);
    lengths = upload_lengths(be, c.lengths);
  }
  // Tokens [t0, t0 + len); lengths only for the whole sequence.
  Conv1dArgs args(int64_t t0, int64_t len, const TensorView& y) const {
    const bool whole = t0 == 0 && len == c.T;
    return Conv1dArgs{x.view.narrow(1, t0, len), w.view, bias.view, state.view, whole ? lengths.view : TensorView(),
                      y, c.silu};
  }
};

Result conv_forward(Backend& be, const ConvCase& c, DType t) {
  ConvDev d(be, c, t);
  Dev y = poisoned(be, {c.B, c.T, c.C}, t);
  require_ok(run_conv1d(be, d.args(0, c.T, y.view)));
  return {fetch(be, y.view), fetch(be, d.state.view)};
}

Result conv_steps(Backend& be, const ConvCase& c, DType t) {
  ConvDev d(be, c, t);
  std::vector<float> ys(static_cast<size_t>(c.B * c.T * c.C));
  for (int64_t s = 0; s < c.T; ++s) {
    Dev y = poisoned(be, {c.B, 1, c.C}, t);
    require_ok(run_conv1d_step(be, d.args(s, 1, y.view)));
    place(ys, fetch(be, y.view), c.B, c.T, s, 1, c.C);
  }
  return {ys, fetch(be, d.state.view)};
}

Result conv_split(Backend& be, const ConvCase& c, DType t, int64_t T1) {
  ConvDev d(be, c, t);
  std::vector<float> ys(static_cast<size_t>(c.B * c.T * c.C));
  for (auto [t0, len] : {std::pair{int64_t{0}, T1}, std::pair{T1, c.T - T1}}) {
    Dev y = poisoned(be, {c.B, len, c.C}, t);
    require_ok(run_conv1d(be, d.args(t0, len, y.view)));
    place(ys, fetch(be, y.view), c.B, c.T, t0, len, c.C);
  }
  return {ys, fetch(be, d.state.view)};
}

// ---------------------------------------------------------------------------------------
// mamba1_scan
// ---------------------------------------------------------------------------------------

struct Mamba1Case {
  int64_t B, T, Di, N;
  int64_t R = 6;  // Δ rank: x_proj's output is [δ (R) ; B (N) ; C (N)]
  bool softplus = true;
  std::vector<float> x, dt, dt_bias, A, Bm, Cm, D, z, state;
  std::vector<int32_t> lengths;

  Mamba1Case(Rng& rng, int64_t B_, int64_t T_, int64_t Di_, int64_t N_, bool full, bool with_state, bool var)
      : B(B_), T(T_), Di(Di_), N(N_) {
    x = randn(rng, B * T * Di);
    A.resize(static_cast<size_t>(Di * N));
    for (float& a : A) a = -std::exp(rng.uniform(0.0f, std::log(16.0f)));  // A = −exp(A_log)
    Bm = randn(rng, B * T * N);
    Cm = randn(rng, B * T * N);
    if (full) {
      dt_bias = uniform(rng, Di, -0.5f, 0.5f);
      dt = uniform(rng, B * T * Di, -3.5f, 0.5f);  // dt + dt_bias ∈ [−4, 1]
      D = uniform(rng, Di, 0.5f, 1.5f);
      z = randn(rng, B * T * Di);
    } else {
      dt = uniform(rng, B * T * Di, -4.0f, 1.0f);
    }
    if (with_state) state = randn(rng, B * Di * N, 0.5f);
    if (var) lengths = varlen(B, T);
  }
  void round(DType t) {
    for (auto* v : {&x, &dt, &dt_bias, &Bm, &Cm, &D, &z}) round_to(t, *v);  // A and state stay f32
  }
};

// x as the conv output slice, z as the second half of in_proj's output [B, T, 2·Di], B and C
// as slices of x_proj's output [B, T, R + 2N], dt contiguous (dt_proj's output).
struct Mamba1Dev {
  const Mamba1Case& c;
  Dev x, dt, dt_bias, A, Bm, Cm, D, z, state, lengths;
  Mamba1Dev(Backend& be, const Mamba1Case& c_, DType t) : c(c_) {
    x = upload(be, c.x, {c.B, c.T, c.Di}, t, 0, 2);
    dt = upload(be, c.dt, {c.B, c.T, c.Di}, t);
    dt_bias = upload(be, c.dt_bias, {c.Di}, t);
    A = upload(be, c.A, {c.Di, c.N}, DType::f32);
    Bm = upload(be, c.Bm, {c.B, c.T, c.N}, t, c.R, c.N);
    Cm = upload(be, c.Cm, {c.B, c.T, c.N}, t, c.R + c.N, 0);
    D = upload(be, c.D, {c.Di}, t);
    z = upload(be, c.z, {c.B, c.T, c.Di}, t, c.Di, 0);
    state = upload(be, c.state, {c.B, c.Di, c.N}, DType::f32);
    lengths = upload_lengths(be, c.lengths);
  }
  Mamba1ScanArgs args(int64_t t0, int64_t len, const TensorView& y) const {
    auto tok = [&](const Dev& d) { return d.view.defined() ? d.view.narrow(1, t0, len) : TensorView(); };
    Mamba1ScanArgs a;
    a.x = tok(x);
    a.dt = tok(dt);
    a.dt_bias = dt_bias.view;
    a.A = A.view;
    a.Bm = tok(Bm);
    a.Cm = tok(Cm);
    a.D = D.view;
    a.z = tok(z);
    a.state = state.view;
    if (t0 == 0 && len == c.T) a.lengths = lengths.view;
    a.y = y;
    a.dt_softplus = c.softplus;
    return a;
  }
};

Result mamba1_forward(Backend& be, const Mamba1Case& c, DType t) {
  Mamba1Dev d(be, c, t);
  Dev y = poisoned(be, {c.B, c.T, c.Di}, t);
  require_ok(run_mamba1_scan(be, d.args(0, c.T, y.view)));
  return {fetch(be, y.view), fetch(be, d.state.view)};
}

Result mamba1_steps(Backend& be, const Mamba1Case& c, DType t) {
  Mamba1Dev d(be, c, t);
  std::vector<float> ys(static_cast<size_t>(c.B * c.T * c.Di));
  for (int64_t s = 0; s < c.T; ++s) {
    Dev y = poisoned(be, {c.B, 1, c.Di}, t);
    require_ok(run_mamba1_step(be, d.args(s, 1, y.view)));
    place(ys, fetch(be, y.view), c.B, c.T, s, 1, c.Di);
  }
  return {ys, fetch(be, d.state.view)};
}

Result mamba1_split(Backend& be, const Mamba1Case& c, DType t, int64_t T1) {
  Mamba1Dev d(be, c, t);
  std::vector<float> ys(static_cast<size_t>(c.B * c.T * c.Di));
  for (auto [t0, len] : {std::pair{int64_t{0}, T1}, std::pair{T1, c.T - T1}}) {
    Dev y = poisoned(be, {c.B, len, c.Di}, t);
    require_ok(run_mamba1_scan(be, d.args(t0, len, y.view)));
    place(ys, fetch(be, y.view), c.B, c.T, t0, len, c.Di);
  }
  return {ys, fetch(be, d.state.view)};
}

// ---------------------------------------------------------------------------------------
// mamba2_ssd
// ---------------------------------------------------------------------------------------

struct Mamba2Case {
  int64_t B, T, H, P, G, N, Q;
  float dt_min = 0.0f, dt_max = std::numeric_limits<float>::infinity();
  std::vector<float> x, dt, dt_bias, A, Bm, Cm, D, z, state;
  std::vector<int32_t> lengths;

  Mamba2Case(Rng& rng, int64_t B_, int64_t T_, int64_t H_, int64_t P_, int64_t G_, int64_t N_, int64_t Q_, bool full,
             bool with_state, bool var)
      : B(B_), T(T_), H(H_), P(P_), G(G_), N(N_), Q(Q_) {
    x = randn(rng, B * T * H * P);
    A.resize(static_cast<size_t>(H));
    for (float& a : A) a = -std::exp(rng.uniform(0.0f, std::log(16.0f)));
    Bm = randn(rng, B * T * G * N);
    Cm = randn(rng, B * T * G * N);
    if (full) {
      dt_bias = uniform(rng, H, -0.5f, 0.5f);
      dt = uniform(rng, B * T * H, -3.5f, 0.5f);  // dt + dt_bias ∈ [−4, 1]
      D = uniform(rng, H, 0.5f, 1.5f);
      z = randn(rng, B * T * H * P);
    } else {
      dt = uniform(rng, B * T * H, -4.0f, 1.0f);
    }
    if (with_state) state = randn(rng, B * H * P * N, 0.5f);
    if (var) lengths = varlen(B, T);
  }
  void round(DType t) {
    for (auto* v : {&x, &dt, &dt_bias, &Bm, &Cm, &D, &z}) round_to(t, *v);
  }
};

// x, B, C as the three parts of one conv output xBC [B, T, H·P + 2·G·N]; z and dt as slices
// of in_proj's output [B, T, H·P (z) + … + H (dt)], as the Mamba2 mixer passes them.
struct Mamba2Dev {
  const Mamba2Case& c;
  Dev x, dt, dt_bias, A, Bm, Cm, D, z, state, lengths;
  Mamba2Dev(Backend& be, const Mamba2Case& c_, DType t) : c(c_) {
    const int64_t Di = c.H * c.P, GN = c.G * c.N;
    x = upload(be, c.x, {c.B, c.T, Di}, t, 0, 2 * GN);
    Bm = upload(be, c.Bm, {c.B, c.T, GN}, t, Di, GN);
    Cm = upload(be, c.Cm, {c.B, c.T, GN}, t, Di + GN, 0);
    z = upload(be, c.z, {c.B, c.T, Di}, t, 0, Di + 2 * GN + c.H);
    dt = upload(be, c.dt, {c.B, c.T, c.H}, t, 2 * Di + 2 * GN, 0);
    dt_bias = upload(be, c.dt_bias, {c.H}, t);
    A = upload(be, c.A, {c.H}, DType::f32);
    D = upload(be, c.D, {c.H}, t);
    state = upload(be, c.state, {c.B, c.H, c.P, c.N}, DType::f32);
    lengths = upload_lengths(be, c.lengths);
  }
  Mamba2SsdArgs args(int64_t t0, int64_t len, const TensorView& y) const {
    auto tok = [&](const Dev& d) { return d.view.defined() ? d.view.narrow(1, t0, len) : TensorView(); };
    Mamba2SsdArgs a;
    a.x = tok(x).split_last(c.H, c.P);
    a.dt = tok(dt);
    a.dt_bias = dt_bias.view;
    a.A = A.view;
    a.Bm = tok(Bm).split_last(c.G, c.N);
    a.Cm = tok(Cm).split_last(c.G, c.N);
    a.D = D.view;
    if (z.view.defined()) a.z = tok(z).split_last(c.H, c.P);
    a.state = state.view;
    if (t0 == 0 && len == c.T) a.lengths = lengths.view;
    a.y = y;
    a.dt_min = c.dt_min;
    a.dt_max = c.dt_max;
    a.chunk_size = c.Q;
    return a;
  }
};

Result mamba2_forward(Backend& be, const Mamba2Case& c, DType t) {
  Mamba2Dev d(be, c, t);
  Dev y = poisoned(be, {c.B, c.T, c.H, c.P}, t);
  require_ok(run_mamba2_ssd(be, d.args(0, c.T, y.view)));
  return {fetch(be, y.view), fetch(be, d.state.view)};
}

Result mamba2_steps(Backend& be, const Mamba2Case& c, DType t) {
  Mamba2Dev d(be, c, t);
  const int64_t inner = c.H * c.P;
  std::vector<float> ys(static_cast<size_t>(c.B * c.T * inner));
  for (int64_t s = 0; s < c.T; ++s) {
    Dev y = poisoned(be, {c.B, 1, c.H, c.P}, t);
    require_ok(run_mamba2_step(be, d.args(s, 1, y.view)));
    place(ys, fetch(be, y.view), c.B, c.T, s, 1, inner);
  }
  return {ys, fetch(be, d.state.view)};
}

Result mamba2_split(Backend& be, const Mamba2Case& c, DType t, int64_t T1) {
  Mamba2Dev d(be, c, t);
  const int64_t inner = c.H * c.P;
  std::vector<float> ys(static_cast<size_t>(c.B * c.T * inner));
  for (auto [t0, len] : {std::pair{int64_t{0}, T1}, std::pair{T1, c.T - T1}}) {
    Dev y = poisoned(be, {c.B, len, c.H, c.P}, t);
    require_ok(run_mamba2_ssd(be, d.args(t0, len, y.view)));
    place(ys, fetch(be, y.view), c.B, c.T, t0, len, inner);
  }
  return {ys, fetch(be, d.state.view)};
}

constexpr DType kDtypes[] = {DType::f32, DType::bf16};
constexpr int64_t kTs[] = {1, 7, 64, 257, 1000};

}  // namespace

// ---------------------------------------------------------------------------------------
// Against the CPU reference.
// ---------------------------------------------------------------------------------------

TEST_CASE("cuda conv1d and conv1d_step match the CPU reference (f32, bf16; K = 2 … 4; varlen; strided x)") {
  if (!cuda_ready()) return;
  Rng rng = seeded(9101);
  CudaBackend gpu;
  CpuBackend cpu;
  Worst worst;
  struct Case {
    int64_t C, K;
    bool bias, state, var, silu;
  };
  // Mamba1 conv channels (Di = 96); Mamba2's xBC channels (H·P + 2·G·N = 240 + 48); no bias,
  // no state, no SiLU; a width past the 4-slot register window (K = 6).
  const Case cases[] = {{96, 2, true, true, true, true},  {96, 3, true, true, true, true},
                        {96, 4, true, true, true, true},  {288, 4, true, true, true, true},
                        {96, 4, false, false, true, false}, {96, 6, true, true, true, true}};
  for (DType t : kDtypes)
    for (const Case& k : cases)
      for (int64_t T : kTs) {
        CAPTURE(dtype_name(t));
        CAPTURE(k.C);
        CAPTURE(k.K);
        CAPTURE(T);
        CAPTURE(k.state);
        ConvCase c(rng, 3, T, k.C, k.K, k.bias, k.state, k.var);
        c.silu = k.silu;
        c.round(t);
        worst.add(t, conv_forward(gpu, c, t), conv_forward(cpu, c, DType::f32), "conv1d");
      }
  // One token with a state: the step against the CPU's step.
  for (DType t : kDtypes) {
    ConvCase c(rng, 3, 1, 96, 4, true, true, false);
    c.round(t);
    ConvDev dg(gpu, c, t), dc(cpu, c, DType::f32);
    Dev yg = poisoned(gpu, {3, 1, 96}, t), yc = poisoned(cpu, {3, 1, 96}, DType::f32);
    require_ok(run_conv1d_step(gpu, dg.args(0, 1, yg.view)));
    require_ok(run_conv1d_step(cpu, dc.args(0, 1, yc.view)));
    worst.add(t, {fetch(gpu, yg.view), fetch(gpu, dg.state.view)}, {fetch(cpu, yc.view), fetch(cpu, dc.state.view)},
              "conv1d_step");
  }
  worst.print("conv1d vs cpu");
}

TEST_CASE("cuda mamba1_scan and mamba1_step match the CPU reference (f32, bf16; varlen; strided B/C/z)") {
  if (!cuda_ready()) return;
  Rng rng = seeded(9102);
  CudaBackend gpu;
  CpuBackend cpu;
  Worst worst;
  struct Case {
    int64_t N;
    bool full, state, var, softplus;
  };
  // Di = 96 with N = 12 (all optional inputs, then none); Jamba's N = 16; N = 40 (the widest
  // register variant); dt already softplus-ed by the caller.
  const Case cases[] = {{12, true, true, true, true},
                        {12, false, false, false, true},
                        {16, true, true, true, true},
                        {40, true, true, true, true},
                        {12, true, true, false, false}};
  for (DType t : kDtypes)
    for (const Case& k : cases)
      for (int64_t T : kTs) {
        CAPTURE(dtype_name(t));
        CAPTURE(k.N);
        CAPTURE(k.full);
        CAPTURE(T);
        Mamba1Case c(rng, 3, T, 96, k.N, k.full, k.state, k.var);
        c.softplus = k.softplus;
        if (!k.softplus)  // a caller-side softplus, so that Δ = dt + dt_bias stays positive
          for (int64_t e = 0; e < static_cast<int64_t>(c.dt.size()); ++e) {
            const float bias = c.dt_bias[e % c.Di];
            c.dt[e] = std::log1p(std::exp(c.dt[e] + bias)) - bias;
          }
        c.round(t);
        worst.add(t, mamba1_forward(gpu, c, t), mamba1_forward(cpu, c, DType::f32), "mamba1_scan");
      }
  for (DType t : kDtypes) {
    Mamba1Case c(rng, 3, 1, 96, 12, true, true, false);
    c.round(t);
    Mamba1Dev dg(gpu, c, t), dc(cpu, c, DType::f32);
    Dev yg = poisoned(gpu, {3, 1, 96}, t), yc = poisoned(cpu, {3, 1, 96}, DType::f32);
    require_ok(run_mamba1_step(gpu, dg.args(0, 1, yg.view)));
    require_ok(run_mamba1_step(cpu, dc.args(0, 1, yc.view)));
    worst.add(t, {fetch(gpu, yg.view), fetch(gpu, dg.state.view)}, {fetch(cpu, yc.view), fetch(cpu, dc.state.view)},
              "mamba1_step");
  }
  worst.print("mamba1 vs cpu");
}

TEST_CASE("cuda mamba2_ssd and mamba2_step match the CPU reference (f32, bf16; Q = 16, 64, 256; G = 2, 3; varlen)") {
  if (!cuda_ready()) return;
  Rng rng = seeded(9103);
  CudaBackend gpu;
  CpuBackend cpu;
  Worst worst;
  for (DType t : kDtypes)
    for (int64_t G : {2, 3})
      for (int64_t Q : {16, 64, 256})
        for (int64_t T : kTs) {
          CAPTURE(dtype_name(t));
          CAPTURE(G);
          CAPTURE(Q);
          CAPTURE(T);
          Mamba2Case c(rng, 3, T, 6, 40, G, 12, Q, true, true, true);
          c.round(t);
          worst.add(t, mamba2_forward(gpu, c, t), mamba2_forward(cpu, c, DType::f32), "mamba2_ssd");
        }
  // No optional inputs and no state (one chunk from zero skips the state launches), the Δ
  // clamp, a chunk longer than T, and a wider head state (P·N = 64·128, Mamba2-2.7B's head).
  struct Extra {
    int64_t T, P, N, Q;
    bool full, state, var, clamp;
  };
  const Extra extras[] = {{7, 40, 12, 64, false, false, false, false}, {257, 40, 12, 64, false, false, true, false},
                          {257, 40, 12, 16, true, true, true, true},  {64, 40, 12, 1000, true, true, true, false},
                          {100, 64, 128, 64, true, true, true, false}};
  for (DType t : kDtypes)
    for (const Extra& e : extras) {
      CAPTURE(dtype_name(t));
      CAPTURE(e.T);
      CAPTURE(e.N);
      CAPTURE(e.Q);
      Mamba2Case c(rng, 3, e.T, 6, e.P, 2, e.N, e.Q, e.full, e.state, e.var);
      if (e.clamp) {
        c.dt_min = 0.05f;
        c.dt_max = 0.5f;
      }
      c.round(t);
      worst.add(t, mamba2_forward(gpu, c, t), mamba2_forward(cpu, c, DType::f32), "mamba2_ssd");
    }
  for (DType t : kDtypes) {
    Mamba2Case c(rng, 3, 1, 6, 40, 3, 12, 256, true, true, false);
    c.round(t);
    Mamba2Dev dg(gpu, c, t), dc(cpu, c, DType::f32);
    Dev yg = poisoned(gpu, {3, 1, 6, 40}, t), yc = poisoned(cpu, {3, 1, 6, 40}, DType::f32);
    require_ok(run_mamba2_step(gpu, dg.args(0, 1, yg.view)));
    require_ok(run_mamba2_step(cpu, dc.args(0, 1, yc.view)));
    worst.add(t, {fetch(gpu, yg.view), fetch(gpu, dg.state.view)}, {fetch(cpu, yc.view), fetch(cpu, dc.state.view)},
              "mamba2_step");
  }
  worst.print("mamba2 vs cpu");
}

TEST_CASE("cuda mamba2_ssd at model head sizes: G = 1, 8; Q = 64, 128, 256; lengths off chunk boundaries") {
  if (!cuda_ready()) return;
  Rng rng = seeded(9107);
  CudaBackend gpu;
  CpuBackend cpu;
  Worst worst;
  // (H, P, G, N): Mamba2-2.7B's head (G = 1), a Codestral-like G = 8, a smaller head, and
  // enough heads (B·H ≥ 2 × an H100's 132 multiprocessors) for whole-head blocks.
  struct Head {
    int64_t H, P, G, N;
  };
  const Head heads[] = {{4, 64, 1, 128}, {8, 64, 8, 128}, {4, 32, 1, 64}, {88, 64, 8, 128}};
  for (DType t : kDtypes)
    for (const Head& hd : heads)
      for (int64_t Q : {64, 128, 256})
        for (int64_t T : {1, 65, 300}) {  // T / 2 = 150 ends mid-chunk for every Q
          CAPTURE(dtype_name(t));
          CAPTURE(hd.P);
          CAPTURE(hd.G);
          CAPTURE(Q);
          CAPTURE(T);
          Mamba2Case c(rng, 3, T, hd.H, hd.P, hd.G, hd.N, Q, true, true, true);
          c.round(t);
          worst.add(t, mamba2_forward(gpu, c, t), mamba2_forward(cpu, c, DType::f32), "mamba2_ssd heads");
        }
  for (DType t : kDtypes) {  // the step at the 2.7B head
    Mamba2Case c(rng, 5, 1, 4, 64, 1, 128, 256, true, true, false);
    c.round(t);
    Mamba2Dev dg(gpu, c, t), dc(cpu, c, DType::f32);
    Dev yg = poisoned(gpu, {5, 1, 4, 64}, t), yc = poisoned(cpu, {5, 1, 4, 64}, DType::f32);
    require_ok(run_mamba2_step(gpu, dg.args(0, 1, yg.view)));
    require_ok(run_mamba2_step(cpu, dc.args(0, 1, yc.view)));
    worst.add(t, {fetch(gpu, yg.view), fetch(gpu, dg.state.view)}, {fetch(cpu, yc.view), fetch(cpu, dc.state.view)},
              "mamba2_step heads");
  }
  worst.print("mamba2 heads vs cpu");
}

TEST_CASE("cuda mamba2_ssd beyond 64K tokens matches the CPU reference (two heads, T = 70000)") {
  if (!cuda_ready()) return;
  Rng rng = seeded(9109);
  CudaBackend gpu;
  CpuBackend cpu;
  Worst worst;
  for (DType t : kDtypes) {
    CAPTURE(dtype_name(t));
    Mamba2Case c(rng, 2, 70000, 2, 64, 1, 64, 256, true, true, true);  // lengths 70000 and 1
    c.round(t);
    worst.add(t, mamba2_forward(gpu, c, t), mamba2_forward(cpu, c, DType::f32), "mamba2_ssd T=70000");
  }
  worst.print("mamba2 long vs cpu");
}

// ---------------------------------------------------------------------------------------
// On CUDA alone: forward == steps, chunked prefill == one shot.
// ---------------------------------------------------------------------------------------

TEST_CASE("cuda scans: forward over T tokens equals T calls of the step (outputs and final state)") {
  if (!cuda_ready()) return;
  Rng rng = seeded(9104);
  CudaBackend gpu;
  Worst conv, m1, m2;
  // T = 100 spans several mamba1 chunks (B·Di = 288 threads per chunk) and 7 SSD chunks of 16.
  const int64_t T = 100;
  for (DType t : kDtypes) {
    CAPTURE(dtype_name(t));
    ConvCase cc(rng, 3, T, 96, 4, true, true, false);
    cc.round(t);
    conv.add(t, conv_steps(gpu, cc, t), conv_forward(gpu, cc, t), "conv1d steps");
    Mamba1Case c1(rng, 3, T, 96, 12, true, true, false);
    c1.round(t);
    m1.add(t, mamba1_steps(gpu, c1, t), mamba1_forward(gpu, c1, t), "mamba1 steps");
    Mamba2Case c2(rng, 3, T, 6, 40, 3, 12, 16, true, true, false);
    c2.round(t);
    m2.add(t, mamba2_steps(gpu, c2, t), mamba2_forward(gpu, c2, t), "mamba2 steps");
  }
  conv.print("conv1d forward == steps");
  m1.print("mamba1 forward == steps");
  m2.print("mamba2 forward == steps");
}

TEST_CASE("cuda scans: chunked prefill (T1 then T2, state carried) equals one shot") {
  if (!cuda_ready()) return;
  Rng rng = seeded(9105);
  CudaBackend gpu;
  Worst conv, m1, m2;
  // T1 = 100 is not a multiple of the SSD chunk (64), so the second call's chunks straddle
  // the first call's chunk grid.
  const int64_t T = 257, T1 = 100;
  for (DType t : kDtypes) {
    CAPTURE(dtype_name(t));
    ConvCase cc(rng, 3, T, 96, 4, true, true, false);
    cc.round(t);
    conv.add(t, conv_split(gpu, cc, t, T1), conv_forward(gpu, cc, t), "conv1d prefill");
    Mamba1Case c1(rng, 3, T, 96, 12, true, true, false);
    c1.round(t);
    m1.add(t, mamba1_split(gpu, c1, t, T1), mamba1_forward(gpu, c1, t), "mamba1 prefill");
    Mamba2Case c2(rng, 3, T, 6, 40, 2, 12, 64, true, true, false);
    c2.round(t);
    m2.add(t, mamba2_split(gpu, c2, t, T1), mamba2_forward(gpu, c2, t), "mamba2 prefill");
  }
  conv.print("conv1d prefill == one shot");
  m1.print("mamba1 prefill == one shot");
  m2.print("mamba2 prefill == one shot");
}

TEST_CASE("cuda scans refuse bad lengths and mixed storage dtypes with the CPU's messages") {
  if (!cuda_ready()) return;
  Rng rng = seeded(9106);
  CudaBackend gpu;
  Mamba1Case c(rng, 3, 8, 96, 12, true, true, true);
  c.lengths[2] = 9;  // > T
  Mamba1Dev d(gpu, c, DType::f32);
  Dev y = poisoned(gpu, {3, 8, 96}, DType::f32);
  Status s = run_mamba1_scan(gpu, d.args(0, 8, y.view));
  CHECK(s.code() == StatusCode::invalid_argument);
  CHECK(contains(s.message(), "lengths[2] = 9"));
  // z in bf16 while the rest is f32.
  Dev zb = upload(gpu, c.z, {3, 8, 96}, DType::bf16);
  Mamba1ScanArgs a = d.args(0, 8, y.view);
  a.lengths = TensorView();
  a.z = zb.view;
  s = run_mamba1_scan(gpu, a);
  CHECK(s.code() == StatusCode::not_supported);
  CHECK(contains(s.message(), "z is bf16"));
}
