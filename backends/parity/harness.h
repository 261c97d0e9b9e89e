// backends/parity/harness.h — internals of the parity suite shared by cases.cpp,
// decode_checks.cpp and parity.cpp (not part of the public API, which is parity.h).
//
// A *problem* is one contract call described as data: named tensors with host values, a role
// (input, output, in-place), a storage kind, an optional slice layout, plus a function that
// builds the contract's Args from bound views and calls `run_<contract>`. The harness
// materialises a problem on any backend, in any storage dtype:
//   - every tensor is allocated through that backend (raw_alloc) and filled with `upload`;
//   - outputs and in-place tensors get guard bytes before and after (kGuardBytes of
//     kGuardByte), checked after the call;
//   - outputs start as NaN, so an element the backend forgets to write shows up as NaN;
//   - an input may be a channel slice of a wider, NaN-padded row (how the model passes x, B,
//     C, dt and z as slices of one projection), and inputs are checked unchanged afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/parity/parity.h"
#include "backends/parity/thresholds.h"
#include "core/backend.h"
#include "core/rng.h"

namespace braid::parity {

// Storage of a tensor. `act` tensors (activations and weights) take the case dtype on the
// backend under test; f32 ones (A, recurrent states, router weights) stay f32; index tensors
// are i32 or i64.
enum class Kind : uint8_t { act, f32, i32, i64 };
enum class Role : uint8_t { in, out, inout };
// How a tensor follows the batch and token axes, for the decode checks' slicing:
//   none  — weights: no batch axis;
//   batch — dim 0 is B (states, lengths, KV caches);
//   token — dims 0, 1 are B, T (activations);
//   past  — an i32 [B] of per-row base positions (cache_len): slicing tokens from t0 adds t0.
enum class Axis : uint8_t { none, batch, token, past };

struct TensorSpec {
  std::string name;
  Shape shape;
  Kind kind = Kind::act;
  Role role = Role::in;
  Axis axis = Axis::none;
  std::vector<float> f;     // float kinds: values (inputs, in-place initial values); empty for outputs
  std::vector<int64_t> ix;  // index kinds: values
  // Slice layout: rows of the last `row_dims` dims sit at offset pad_before inside wider rows
  // of pad_before + row + pad_after elements, the extra elements NaN.
  int row_dims = 1;
  int64_t pad_before = 0, pad_after = 0;

  bool is_float() const { return kind == Kind::act || kind == Kind::f32; }
  bool is_output() const { return role != Role::in; }
};

// Views bound by name; a name that is absent gives an undefined view (an absent optional input).
class Bound {
 public:
  void set(const std::string& name, const TensorView& v) { views_[name] = v; }
  TensorView operator[](const std::string& name) const {
    const auto it = views_.find(name);
    return it == views_.end() ? TensorView() : it->second;
  }
  bool has(const std::string& name) const { return views_.count(name) != 0; }

 private:
  std::map<std::string, TensorView> views_;
};

using RunFn = std::function<Status(Backend&, const Bound&)>;

struct Problem {
  std::vector<TensorSpec> tensors;
  RunFn run;       // the contract
  RunFn run_step;  // the T == 1 step contract, for recurrent problems (may be empty)
  std::string step_contract;

  TensorSpec* find(std::string_view name);
  const TensorSpec* find(std::string_view name) const;
  TensorSpec& at(std::string_view name);  // BRAID_CHECKs that it exists
  void erase(std::string_view name);
  TensorSpec& add(TensorSpec t);
};

// Fluent helpers used by cases.cpp and decode_checks.cpp to declare tensors.
TensorSpec input(std::string name, Shape shape, std::vector<float> values, Axis axis = Axis::none, Kind kind = Kind::act);
TensorSpec index_input(std::string name, Shape shape, std::vector<int64_t> values, Axis axis = Axis::none,
                       Kind kind = Kind::i32);
TensorSpec output(std::string name, Shape shape, Axis axis = Axis::none, Kind kind = Kind::act);
TensorSpec inplace(std::string name, Shape shape, std::vector<float> values, Axis axis = Axis::none, Kind kind = Kind::act);
// Marks `t` as a channel slice: `row_dims` trailing dims form the row, padded before/after.
TensorSpec sliced(TensorSpec t, int64_t pad_before, int64_t pad_after, int row_dims = 1);

// Seeded draws (core/rng.h).
std::vector<float> randn(Rng& rng, int64_t n, float scale = 1.0f);
std::vector<float> uniform(Rng& rng, int64_t n, float lo, float hi);

// One contract case of the shape list (cases.cpp).
struct CaseDef {
  std::string contract;  // a name of kContractNames
  std::string slug;      // unique within the contract; `--case`
  std::string label;     // "mamba1_scan B2 T64 Di1536 N16 [Mamba-130m]"
  bool large = false;    // skipped on --backend cpu unless --full
  std::function<Problem(Rng&)> make;
};
std::vector<CaseDef> contract_cases();

// One decode check (decode_checks.cpp): compares two ways of running a recurrent contract on
// the backend under test. Fills `out.tensors` and sets `out.outcome`/`out.message`.
struct DecodeDef {
  std::string contract;  // "decode:mamba1"
  std::string slug;      // "steps_mamba130m"
  std::string label;
  bool large = false;
  std::function<void(Backend& target, DType act, Rng& rng, CaseResult& out)> check;
};
std::vector<DecodeDef> decode_cases();

// ---- Running problems -------------------------------------------------------------------

// Guard region on each side of every output allocation.
inline constexpr size_t kGuardBytes = 1024;
inline constexpr unsigned char kGuardByte = 0xA5;

// One tensor allocated on a backend (freed through it).
class DeviceTensor {
 public:
  DeviceTensor() = default;
  DeviceTensor(Backend& be, const TensorSpec& spec, DType act, bool guarded);
  ~DeviceTensor();
  DeviceTensor(DeviceTensor&& o) noexcept;
  DeviceTensor& operator=(DeviceTensor&& o) noexcept;
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;

  const TensorView& view() const { return view_; }
  DType dtype() const { return view_.dtype; }
  // Downloads the allocation and returns the logical elements as f32 (float kinds) or as
  // integers converted to float (index kinds). Sets `guard` to "" or a description.
  std::vector<float> read(std::string& guard) const;
  // True when the downloaded allocation equals what was uploaded (inputs must not change);
  // otherwise `where` names the first changed logical element or "padding".
  bool unchanged(std::string& where) const;
  // Overwrites the logical elements with `values` (float kinds), keeping padding and guards.
  void write(const std::vector<float>& values);

 private:
  void release();
  Backend* be_ = nullptr;
  TensorSpec layout_;           // shape, kind and slice layout (values dropped)
  void* base_ = nullptr;
  size_t bytes_ = 0;            // whole allocation
  size_t guard_ = 0;            // guard bytes on each side (0 for inputs)
  std::vector<unsigned char> image_;  // what was uploaded
  TensorView view_;
};

// Storage dtype of a spec on a backend running activations in `act`.
DType storage_dtype(const TensorSpec& t, DType act);

// Result of one materialised call.
struct CallResult {
  Status status;
  std::map<std::string, std::vector<float>> outputs;  // outputs and in-place tensors, as f32
  std::vector<std::string> problems;                  // guard / input-modified findings
};

// Materialises `p` on `be` (activations in `act`), calls `fn` (p.run by default), downloads
// every output. Names in `external` are bound to the given views instead (persistent state
// across calls in the decode checks); they are neither uploaded nor read back.
CallResult call(Backend& be, const Problem& p, DType act, const RunFn* fn = nullptr,
                const std::map<std::string, TensorView>& external = {});

// Compares `got` against the reference `want` (same logical `shape`) with `th`; `dtype` is
// the storage dtype of `got` (an exact comparison rounds `want` to it first).
TensorReport compare(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                     const Shape& shape, const Threshold& th, DType dtype);
// Index outputs (router ids) are compared exactly.
TensorReport compare_exact_ids(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                               const Shape& shape);

// Records findings of a call (guard bytes, modified inputs) as failed reports of `r`.
void add_problems(CaseResult& r, const std::vector<std::string>& problems);
// Folds tensor reports into the case outcome (ok unless some report has a problem).
void settle(CaseResult& r);

// Rounds every act-kind input value of `p` to bf16 (the bf16 case's inputs).
void round_act_inputs(Problem& p);

}  // namespace braid::parity

// ---- Problem builders (cases.cpp), shared with the decode checks -------------------------
namespace braid::parity {

// Optional tensors are present when their flag is set; `lengths` empty means no lengths.
struct Conv1dDims {
  int64_t B = 1, T = 1, C = 8, K = 4;
  bool bias = true, silu = true, state = true;
  std::vector<int64_t> lengths = {};
  int64_t pad_before = 0, pad_after = 0;  // x as a channel slice of a wider projection row
};
Problem conv1d_problem(Rng& rng, const Conv1dDims& d);

struct Mamba1Dims {
  int64_t B = 1, T = 1, Di = 8, N = 16;
  int64_t R = 0;  // dt_rank: B and C are slices of x_proj's output [R | B | C] when sliced
  bool dt_bias = true, D = true, z = true, state = true, softplus = true, sliced = true;
  std::vector<int64_t> lengths = {};
};
Problem mamba1_problem(Rng& rng, const Mamba1Dims& d);

struct Mamba2Dims {
  int64_t B = 1, T = 1, H = 2, P = 4, G = 1, N = 8, Q = 256;
  bool dt_bias = true, D = true, z = true, state = true, sliced = true;
  float dt_min = 0.0f, dt_max = std::numeric_limits<float>::infinity();
  std::vector<int64_t> lengths = {};
};
Problem mamba2_problem(Rng& rng, const Mamba2Dims& d);

struct AttentionDims {
  int64_t B = 1, T = 1, Hq = 1, Hkv = 1, P = 8;
  int64_t S = 0;              // KV-cache capacity; 0 = no cache
  std::vector<int64_t> past = {};  // cache_len per row (with a cache)
  std::vector<int64_t> lengths = {};
  float scale = 0.0f;
};
Problem attention_problem(Rng& rng, const AttentionDims& d);

// The other forward builders of cases.cpp, reused by the backward cases.
Problem embedding_problem(Rng& rng, int64_t B, int64_t T, int64_t V, int64_t D, Kind id_kind);
Problem rmsnorm_problem(Rng& rng, Shape shape, bool gated, int64_t group_size, float eps, bool in_place,
                        int64_t z_pad_before = 0, int64_t z_pad_after = 0);
Problem linear_problem(Rng& rng, Shape xshape, int64_t N, bool bias, int64_t pad_before = 0, int64_t pad_after = 0);
Problem rotary_problem(Rng& rng, int64_t B, int64_t T, int64_t H, int64_t P, int64_t r, float theta,
                       std::vector<int64_t> start, int64_t max_pos, Kind pos_kind, int64_t pad_after = 0);
Problem router_problem(Rng& rng, int64_t M, int64_t X, int64_t k, bool renormalize, bool ties);
Problem experts_problem(Rng& rng, int64_t M, int64_t X, int64_t k, int64_t D, int64_t F, int64_t unused_expert = -1);
Problem swiglu_problem(Rng& rng, Shape xshape, int64_t F);

// The backward contracts and training primitives (backward_cases.cpp), appended to contract_cases().
std::vector<CaseDef> backward_cases();

}  // namespace braid::parity
