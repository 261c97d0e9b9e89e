// bench/harness.h — what every braid benchmark program shares: the target backend and its
// timer, seeded input tensors with realistic ranges, and one measuring loop that reports the
// median time with bytes/s, FLOP/s and % of the hardware floor from the contracts' analytic
// cost (core/cost.h).
//
// Names are `op/backend/shape`, e.g. `mamba1_scan/cpu/B1_L512_D8192_N16`; the JSON is Google
// Benchmark's, with the provenance (commit, device, date, flags) in its context.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/backend.h"
#include "core/cost.h"
#include "core/tensor.h"

namespace braid::bench {

// Times one call. `flush` runs before each timed call and is not timed (the CUDA timer
// overwrites a buffer larger than L2 there, so every call starts cold).
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void flush() {}
  virtual void start() = 0;
  virtual double stop() = 0;  // seconds since start(), after the backend's work finished
};

// Wall-clock timer that synchronises the backend before reading the clock.
std::unique_ptr<Timer> host_timer(Backend& be);

struct Target {
  Backend* be = nullptr;
  std::string label;      // backend field of the names: "cpu", "cpu-ref", "cuda"
  DType io = DType::f32;  // storage dtype of activations and weights
  Hardware hw{};
  Timer* timer = nullptr;
  int min_runs = 5;       // timed calls: at least this many and at least min_seconds in total,
  int max_runs = 100;     // at most max_runs
  double min_seconds = 0.5;
};

// Input distributions of kernels.md §12.1: normal(mean, std), or −exp(U(log lo, log hi)) for
// the decay rates A.
struct Dist {
  enum Kind { normal, neg_exp_uniform_log } kind = normal;
  float a = 0, b = 1;
};
inline Dist normal(float mean, float stddev) { return {Dist::normal, mean, stddev}; }
inline Dist decay_rates() { return {Dist::neg_exp_uniform_log, 1.0f, 16.0f}; }

// A backend tensor of `shape` and `dtype` filled from `d` with a seeded generator.
Tensor random_tensor(Backend& be, const Shape& shape, DType dtype, Dist d, uint64_t seed);
// A backend i32 tensor holding `values`.
Tensor int_tensor(Backend& be, const std::vector<int32_t>& values);

// Runs `call` (which must throw or abort on a failed Status) min_runs..max_runs times after two
// warm-up calls, sets the iteration time to the median, and adds the counters: bytes_per_second,
// flop_per_second, exp_per_second, floor_us, pct_of_floor, min_us, runs; the label is the
// floor's binding term.
void measure(benchmark::State& state, const Target& t, const Cost& cost, const std::function<void()>& call);

// The shape field of a name: letters and values joined by '_', e.g. "B8_L4096_D8192_N16".
std::string shape_name(std::initializer_list<std::pair<const char*, int64_t>> dims);

// Registers `op/label/shape` with `body`; the name is kept exactly (see CleanNames).
void add(const Target& t, const std::string& op, const std::string& shape,
         std::function<void(benchmark::State&)> body);

// Throws braid::Error with the contract's message when `s` is not ok.
void check(const Status& s);

// The contract and model cases shared by every backend (bench/cases_*.cpp): the and
// kernels.md §12's shapes for a CPU or a GPU, or tiny ones for a smoke run.
enum class Shapes { cpu, gpu, tiny };
void register_scan_cases(const Target& t, Shapes s);
void register_layer_cases(const Target& t, Shapes s, const std::string& model_config);

// braid's own flags, removed from argv before Google Benchmark reads the rest:
//   --backend=NAME         as the CLI's --backend (cpu, cpu-ref, cuda, cuda:N)
//   --shapes=cpu|gpu|tiny  the shape set (default: the backend's; tiny for a smoke run)
//   --model_config=PATH    the model of the layer and block cases (default: the bundled 1B)
struct Options {
  std::string backend;
  std::string shapes;
  std::string model_config;
};
Options take_options(int& argc, char** argv, Options defaults);
Shapes shapes_from_name(const std::string& name);

// Initialises Google Benchmark, adds the provenance context (commit, date, device, flags,
// threads), runs the registered benchmarks with reporters that keep the names exactly.
int run_main(int argc, char** argv, const std::string& device, const std::string& flags);

}  // namespace braid::bench
