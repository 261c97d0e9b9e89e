// backends/parity — the parity suite: proves, contract by contract, that a backend computes
// the same function as the CPU reference (house style P3; modelled on ggml's
// test-backend-ops, ecosystem.md §1.2.1, with replayable seeds and per-element locations).
//
// For every contract of core/contracts/registry.h × an annotated shape list (cases.cpp) ×
// each dtype, the suite draws seeded inputs, runs them on
//   - the reference: CpuBackend{GemmImpl::naive} in f32 (bf16 inputs are rounded to bf16
//     first and the reference computes in f32 on the rounded values), and
//   - the backend under test: CpuBackend with its best GEMM and named fast paths (`cpu`), with
//     its best GEMM alone (`cpu-ref`), or CudaBackend (`cuda`),
//     with activations and weights stored in the case dtype (A, states, router weights f32),
// and compares every output with the one threshold policy (thresholds.h): NMSE, max-abs with
// the location of the worst element, NaN/Inf, guard bytes around each output, and inputs left
// unchanged. "Not supported" (the backend returned StatusCode::not_supported) is reported
// apart from failure. Decode checks (decode_checks.cpp) compare a recurrent contract with
// itself on the backend under test: prefill == steps, chunked prefill == one shot, batched
// varlen == one by one, and a state snapshot == the prefix state.
//
// Everything is deterministic in (seed, case): a failure prints a one-line repro command.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"

namespace braid::parity {

inline constexpr uint64_t kDefaultSeed = 1234;

enum class Outcome { ok, fail, not_supported, skipped };
const char* outcome_name(Outcome o);  // "ok", "FAIL", "not_supported", "skipped"

// One compared tensor of a case.
struct TensorReport {
  std::string name;             // "y", "state", "ids"
  double nmse = 0.0;            // ‖a − b‖² / ‖b‖² (NaN when a has a NaN or a wrong Inf)
  double max_abs = 0.0;         // max |a − b|     (+Inf then)
  double nmse_limit = 0.0;
  double max_abs_limit = 0.0;   // absolute (thresholds.h max_abs_rel · max |b|)
  std::vector<int64_t> worst;   // multi-index of the largest |a − b| (empty when a == b)
  double got = 0.0, want = 0.0; // values there
  bool nan = false;             // NaN in a where b is not NaN
  bool inf = false;             // ±Inf in a that b does not have at that place and sign
  std::string problem;          // "" when this tensor passed, else why it failed
};

struct CaseResult {
  std::string backend;   // "cpu", "cuda:0"
  std::string contract;  // "mamba1_scan", "decode:mamba1"
  std::string slug;      // the `--case` id
  std::string label;     // shape label with the model it comes from
  DType dtype = DType::f32;
  Outcome outcome = Outcome::ok;
  std::string message;   // failure summary, not-supported or skip reason
  uint64_t seed = 0;       // the suite seed (`--seed`)
  uint64_t case_seed = 0;  // derived from seed, contract and slug
  std::vector<TensorReport> tensors;
  bool guard_ok = true;  // no guard byte was overwritten
  std::string repro;     // one-line command that replays this case

  // The report with the largest NMSE relative to its limit (null when none).
  const TensorReport* worst() const;
};

struct Summary {
  int passed = 0, failed = 0, not_supported = 0, skipped = 0;
  void add(const CaseResult& r);
};

struct Options {
  std::string backend = "cpu";    // target name, used in repro lines
  std::vector<std::string> ops;   // contracts / "decode:<name>" to run; empty = all
  std::vector<DType> dtypes = {DType::f32, DType::bf16};
  std::string case_slug;          // only this case (with ops)
  uint64_t seed = kDefaultSeed;
  bool full = false;              // run cases marked large on the CPU too
};

// The backend under test: "cpu" (best GEMM + fast paths), "cpu-ref" (best GEMM) or, in a CUDA build with a device, "cuda" /
// "cuda:N". Returns null and sets `why` ("cuda: not available (no CUDA device: …)") otherwise.
std::unique_ptr<Backend> make_target(const std::string& name, std::string& why);

// Every case the suite knows, in run order.
struct CaseInfo {
  std::string contract, slug, label;
  bool large = false;
};
std::vector<CaseInfo> list_cases();
// Names `--op` accepts: the registry's contracts, then the decode checks.
std::vector<std::string> known_ops();
// Registered contracts without a single parity case (must be empty; the test enforces it).
std::vector<std::string> uncovered_contracts();

// Runs the selected cases on `target`, calling `on_result` after each one.
Summary run_suite(Backend& target, const Options& opts, const std::function<void(const CaseResult&)>& on_result);

// Output. One JSON object per case (JSONL), the summary line, and the human table.
std::string to_json_line(const CaseResult& r);
std::string summary_json_line(const Summary& s);  // {"summary": {"passed": n, …}}
std::string table_header();
std::string table_row(const CaseResult& r);  // one line, plus seed and repro lines on failure

}  // namespace braid::parity
