#include "bench/harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "models/build_commit.h"
#include "core/rng.h"
#include "core/status.h"

namespace braid::bench {
namespace {

class HostTimer final : public Timer {
 public:
  explicit HostTimer(Backend& be) : be_(be) {}
  void start() override {
    be_.synchronize();
    t0_ = std::chrono::steady_clock::now();
  }
  double stop() override {
    be_.synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }

 private:
  Backend& be_;
  std::chrono::steady_clock::time_point t0_;
};

// Google Benchmark appends "/iterations:1/manual_time" to names; braid's names are the
// contract `op/backend/shape` alone, so both reporters print the function name only.
template <class Base>
class CleanNames final : public Base {
 public:
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    std::vector<benchmark::BenchmarkReporter::Run> clean = runs;
    for (auto& r : clean) r.run_name = {r.run_name.function_name, {}, {}, {}, {}, {}, {}, {}};
    Base::ReportRuns(clean);
  }
};

float sample(Dist d, Rng& rng) {
  if (d.kind == Dist::neg_exp_uniform_log) return -std::exp(rng.uniform(std::log(d.a), std::log(d.b)));
  return d.a + d.b * rng.normal();
}

}  // namespace

std::unique_ptr<Timer> host_timer(Backend& be) { return std::make_unique<HostTimer>(be); }

Tensor random_tensor(Backend& be, const Shape& shape, DType dtype, Dist d, uint64_t seed) {
  Tensor t(be, shape, dtype);
  const int64_t n = t.numel();
  std::vector<float> host(static_cast<size_t>(n));
  // Independent streams per block of 1M values, so large tensors fill in parallel.
  const int64_t block = int64_t{1} << 20;
#pragma omp parallel for schedule(static)
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    Rng rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(b0 / block));
    for (int64_t i = b0; i < std::min(n, b0 + block); ++i) host[static_cast<size_t>(i)] = sample(d, rng);
  }
  std::vector<unsigned char> bytes(static_cast<size_t>(n) * dtype_size(dtype));
  convert_floats(host.data(), DType::f32, bytes.data(), dtype, static_cast<size_t>(n));
  be.upload(t.view().data, bytes.data(), bytes.size());
  return t;
}

Tensor int_tensor(Backend& be, const std::vector<int32_t>& values) {
  Tensor t(be, {static_cast<int64_t>(values.size())}, DType::i32);
  be.upload(t.view().data, values.data(), values.size() * sizeof(int32_t));
  return t;
}

void check(const Status& s) {
  if (!s.ok()) fail(s.message());
}

void measure(benchmark::State& state, const Target& t, const Cost& cost, const std::function<void()>& call) {
  for (auto _ : state) {
    for (int i = 0; i < 2; ++i) call();  // warm-up: first-touch, caches, lazy workspace growth
    std::vector<double> times;
    double total = 0;
    while (static_cast<int>(times.size()) < t.max_runs &&
           (static_cast<int>(times.size()) < t.min_runs || total < t.min_seconds)) {
      t.timer->flush();
      t.timer->start();
      call();
      times.push_back(t.timer->stop());
      total += times.back();
    }
    std::sort(times.begin(), times.end());
    const size_t n = times.size();
    const double median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    state.SetIterationTime(median);
    const Floor f = floor_of(cost, t.hw);
    state.counters["bytes_per_second"] = cost.bytes / median;
    state.counters["flop_per_second"] = (cost.flops + cost.mma_flops) / median;
    state.counters["exp_per_second"] = cost.exps / median;
    state.counters["floor_us"] = f.seconds * 1e6;
    state.counters["pct_of_floor"] = 100.0 * f.seconds / median;
    state.counters["min_us"] = times.front() * 1e6;
    state.counters["runs"] = static_cast<double>(n);
    state.SetLabel(f.bound);
  }
}

std::string shape_name(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::string s;
  for (const auto& [letter, value] : dims) {
    if (!s.empty()) s += '_';
    s += letter;
    s += std::to_string(value);
  }
  return s;
}

void add(const Target& t, const std::string& op, const std::string& shape,
         std::function<void(benchmark::State&)> body) {
  benchmark::RegisterBenchmark((op + "/" + t.label + "/" + shape).c_str(), std::move(body))
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

Options take_options(int& argc, char** argv, Options o) {
  const std::pair<const char*, std::string*> flags[] = {
      {"--backend=", &o.backend}, {"--shapes=", &o.shapes}, {"--model_config=", &o.model_config}};
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    bool ours = false;
    for (const auto& [prefix, value] : flags) {
      const std::string arg = argv[i];
      if (arg.rfind(prefix, 0) == 0) *value = arg.substr(std::string(prefix).size()), ours = true;
    }
    if (!ours) argv[kept++] = argv[i];
  }
  argc = kept;
  return o;
}

Shapes shapes_from_name(const std::string& name) {
  if (name == "cpu") return Shapes::cpu;
  if (name == "gpu") return Shapes::gpu;
  if (name == "tiny") return Shapes::tiny;
  fail("--shapes=", name, ": expected cpu, gpu or tiny");
}

int run_main(int argc, char** argv, const std::string& device, const std::string& flags) {
  // Google Benchmark refuses a file reporter without --benchmark_out, so pass one only then.
  bool to_file = false;
  for (int i = 1; i < argc; ++i) to_file |= std::string(argv[i]).rfind("--benchmark_out=", 0) == 0;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("braid_commit", kBuildCommit);
  benchmark::AddCustomContext("device", device);
  benchmark::AddCustomContext("build_flags", flags);
  benchmark::AddCustomContext("timing", "median of timed calls after 2 warm-up calls; see bench/README.md");
  CleanNames<benchmark::ConsoleReporter> console;
  CleanNames<benchmark::JSONReporter> file;
  benchmark::RunSpecifiedBenchmarks(&console, to_file ? &file : nullptr);
  benchmark::Shutdown();
  return 0;
}

}  // namespace braid::bench
