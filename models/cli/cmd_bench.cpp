// braid bench --model DIR|CONFIG [-p 512,2048] [-n 128] [-b 1,8] [-r 5] [--backend cpu|cuda]
//             [--dtype f32|bf16] [--json]
// End-to-end throughput with llama-bench semantics. For every batch size b and prompt length
// p, a prefill test `pp<p>`: b·p tokens / the time of one forward over b×p tokens into a
// fresh cache. For every b and generation length n, a decode test `tg<n>`: b·n tokens / the
// time of n one-token steps after a short prompt (kTgPrompt tokens, untimed). Token ids are
// seeded random; no sampling is timed (each step feeds fixed ids and waits for the backend).
// Each test runs once to warm up, then `-r` times: mean ± stddev of tokens/s. Peak memory is
// what the backend holds through raw_alloc during the test (weights included), beside the
// analytic prediction: weights + cache + forward activations (models/memory.h).
// A bare config .json gets random weights (fixed seed) in memory.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "build_commit.h"
#include "models/cli/backend_choice.h"
#include "models/cli/cli.h"
#include "models/cli/format.h"
#include "models/memory.h"
#include "models/model.h"
#ifdef BRAID_HAVE_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace braid::cli {
namespace {

constexpr int64_t kTgPrompt = 8;           // prompt tokens before a decode test (untimed)
constexpr uint64_t kWeightSeed = 1234;     // random weights of a bare config
constexpr uint64_t kTokenSeed = 42;        // token ids of every test

struct BenchOptions {
  std::string model, prompts = "512", gens = "128", batches = "1", backend = "cpu", dtype;
  int64_t reps = 5;
  bool json = false;
};

// "512,2048" -> {512, 2048}; every entry must be an integer >= `min`.
std::vector<int64_t> parse_list(const std::string& text, const char* flag, int64_t min) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size()) fail(flag, " ", text, ": '", item, "' is not an integer");
    if (v < min) fail(flag, " ", text, ": each value must be >= ", min, ", got ", v);
    out.push_back(v);
  }
  if (out.empty()) fail(flag, ": empty list");
  return out;
}

struct Test {
  std::string name;  // pp512 / tg128
  int64_t n_prompt = 0, n_gen = 0, batch = 1;
  std::vector<double> seconds;  // one per repetition
  int64_t peak_bytes = 0, predicted_bytes = 0;
};

std::vector<int32_t> random_ids(Rng& rng, int64_t n, int64_t V) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& id : ids) id = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(V));
  return ids;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One timed repetition of the test (the cache is allocated before the clock starts).
double run_once(HybridModel& model, const Test& t, Rng& rng) {
  Backend& be = model.backend();
  const int64_t V = model.config().vocab_size, B = t.batch;
  if (t.n_prompt > 0) {
    HybridCache cache = model.new_cache(B, t.n_prompt);
    const std::vector<int32_t> ids = random_ids(rng, B * t.n_prompt, V);
    be.synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(ids, B, t.n_prompt, {}, &cache, LogitsAt::last);
    be.synchronize();
    return seconds_since(t0);
  }
  HybridCache cache = model.new_cache(B, kTgPrompt + t.n_gen);
  model.forward(random_ids(rng, B * kTgPrompt, V), B, kTgPrompt, {}, &cache, LogitsAt::last);
  const std::vector<int32_t> step = random_ids(rng, B, V);
  be.synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < t.n_gen; ++i) {
    model.forward(step, B, 1, {}, &cache, LogitsAt::last);
    be.synchronize();  // a step is done when its logits are ready, as in generation
  }
  return seconds_since(t0);
}

// Predicted peak: weights + the test's cache + the activations of its largest forward.
int64_t predicted_peak(const ModelConfig& cfg, const Test& t, int64_t elem) {
  const int64_t capacity = t.n_prompt > 0 ? t.n_prompt : kTgPrompt + t.n_gen;
  const int64_t tokens = t.batch * (t.n_prompt > 0 ? t.n_prompt : kTgPrompt);
  return inference_memory_bytes(cfg, capacity, t.batch, tokens, elem);
}

void run_test(HybridModel& model, Test& t, int64_t reps) {
  Backend& be = model.backend();
  Rng rng(kTokenSeed);
  t.predicted_bytes = predicted_peak(model.config(), t, static_cast<int64_t>(dtype_size(model.dtype())));
  if (const int64_t have = device_memory_bytes(be); have > 0 && t.predicted_bytes > have)
    fail("bench ", t.name, " batch ", t.batch, ": predicted peak ", human_bytes(t.predicted_bytes), " exceeds the ",
         human_bytes(have), " of ", be.name());
  try {
    be.reset_peak_memory();
    run_once(model, t, rng);  // warm-up
    for (int64_t r = 0; r < reps; ++r) t.seconds.push_back(run_once(model, t, rng));
  } catch (const std::exception& e) {  // braid::Error from an allocation, or the host's bad_alloc
    fail("bench ", t.name, " batch ", t.batch, ": ", e.what(), " (predicted peak ", human_bytes(t.predicted_bytes),
         ")");
  }
  t.peak_bytes = be.memory_stats().peak_bytes;
}

// Tokens per second of every repetition, their mean and sample standard deviation.
struct Rate {
  std::vector<double> samples;
  double mean = 0, stddev = 0;
};

Rate rate_of(const Test& t) {
  Rate r;
  const double tokens = static_cast<double>(t.batch * (t.n_prompt > 0 ? t.n_prompt : t.n_gen));
  for (double s : t.seconds) r.samples.push_back(tokens / s);
  for (double v : r.samples) r.mean += v / static_cast<double>(r.samples.size());
  if (r.samples.size() > 1) {
    double ss = 0;
    for (double v : r.samples) ss += (v - r.mean) * (v - r.mean);
    r.stddev = std::sqrt(ss / static_cast<double>(r.samples.size() - 1));
  }
  return r;
}

std::string utc_now() {
  char buf[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

HybridModel open_model(Backend& be, const std::string& path, DType dtype) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) fail(path, ": no such file or directory");
  if (fs::is_directory(path)) return HybridModel::load(be, path, dtype);
  HybridModel model(be, ModelConfig::from_file(path), dtype);
  model.init_random(kWeightSeed);
  return model;
}

void run_bench(const BenchOptions& o) {
  const std::vector<int64_t> prompts = parse_list(o.prompts, "-p", 0);
  const std::vector<int64_t> gens = parse_list(o.gens, "-n", 0);
  const std::vector<int64_t> batches = parse_list(o.batches, "-b", 1);
  if (o.reps < 1) fail("-r must be >= 1, got ", o.reps);
  auto be = make_backend(o.backend);
  const std::string dtype = !o.dtype.empty() ? o.dtype : be->device() == Device::cpu ? "f32" : "bf16";
  HybridModel model = open_model(*be, o.model, compute_dtype(dtype, *be));
  const ModelConfig& cfg = model.config();
  const MemoryModel mem = memory_model(cfg, 0, 1);

  std::vector<Test> tests;
  for (int64_t b : batches) {
    for (int64_t p : prompts)
      if (p > 0) tests.push_back({"pp" + std::to_string(p), p, 0, b, {}, 0, 0});
    for (int64_t n : gens)
      if (n > 0) tests.push_back({"tg" + std::to_string(n), 0, n, b, {}, 0, 0});
  }
  if (tests.empty()) fail("nothing to run: every -p and -n value is 0");

  const std::string model_name = std::filesystem::path(o.model).filename().string();
  const std::string summary = cfg.model_type + " " + cfg.layout_string() + " D" + std::to_string(cfg.hidden_size) +
                              " " + human_count(mem.params_total) + " params";
  nlohmann::json records = nlohmann::json::array();
  if (!o.json) {
    std::printf("| model | params | backend | dtype | batch | test | t/s | peak mem | predicted |\n");
    std::printf("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
  }
  for (Test& t : tests) {
    run_test(model, t, o.reps);
    const Rate r = rate_of(t);
    if (o.json) {
      records.push_back({{"model", model_name},
                         {"config", summary},
                         {"params_total", mem.params_total},
                         {"backend", be->name()},
                         {"dtype", dtype},
                         {"test", t.name},
                         {"n_prompt", t.n_prompt},
                         {"n_gen", t.n_gen},
                         {"n_depth", t.n_gen > 0 ? kTgPrompt : 0},
                         {"batch", t.batch},
                         {"repetitions", o.reps},
                         {"avg_ts", r.mean},
                         {"stddev_ts", r.stddev},
                         {"samples_ts", r.samples},
                         {"samples_ns", [&] {
                            std::vector<int64_t> ns;
                            for (double s : t.seconds) ns.push_back(std::llround(s * 1e9));
                            return ns;
                          }()},
                         {"peak_memory_bytes", t.peak_bytes},
                         {"predicted_memory_bytes", t.predicted_bytes},
                         {"build_commit", kBuildCommit},
                         {"timestamp", utc_now()}});
      continue;
    }
    std::printf("| %s | %s | %s | %s | %lld | %s | %.2f ± %.2f | %s | %s |\n", model_name.c_str(),
                human_count(mem.params_total).c_str(), be->name().c_str(), dtype.c_str(), (long long)t.batch,
                t.name.c_str(), r.mean, r.stddev, human_bytes(t.peak_bytes).c_str(),
                human_bytes(t.predicted_bytes).c_str());
    std::fflush(stdout);
  }
  if (o.json) std::cout << records.dump(2) << "\n";
  else std::printf("\nbuild %s\n", kBuildCommit);
}

}  // namespace

void add_bench(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand("bench", "prefill (pp) and decode (tg) tokens/s, llama-bench style");
  sub->add_option("-m,--model", opts->model, "checkpoint directory, or a config .json (random weights)")->required();
  sub->add_option("-p,--n-prompt", opts->prompts, "prompt lengths of the prefill tests, comma list (0: none)");
  sub->add_option("-n,--n-gen", opts->gens, "tokens of the decode tests, comma list (0: none)");
  sub->add_option("-b,--batch-size", opts->batches, "batch sizes, comma list");
  sub->add_option("-r,--repetitions", opts->reps, "timed repetitions of each test (after one warm-up)");
  sub->add_option("--backend", opts->backend, "cpu, or cuda / cuda:N in a CUDA build");
  sub->add_option("--dtype", opts->dtype, "f32 or bf16 (default: bf16 on cuda, f32 on cpu)");
  sub->add_flag("--json", opts->json, "print a JSON array of records instead of the table");
  sub->callback([opts] { run_bench(*opts); });
}

}  // namespace braid::cli
