#include "models/ablate/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/status.h"
#include "models/ablate/icl_probe.h"
#include "models/data/spec.h"
#include "models/data/training_data.h"
#include "models/memory.h"
#include "models/model.h"
#include "models/train/flops.h"
#include "models/train/trainer.h"

namespace braid {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string utc_now() {
  char buf[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> rows;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) fail(path, ": a line is not valid JSON (", line.substr(0, 60), ")");
    rows.push_back(std::move(j));
  }
  return rows;
}

// The fields every row carries.
json provenance(const Grid& g, const Arm& arm, const ModelConfig& cfg, const Backend& be, const std::string& dtype,
                const AblateContext& ctx) {
  const MemoryModel m = memory_model(cfg, 0, 1);
  return {{"grid", g.name},           {"task", g.task},
          {"scale", g.scale},         {"arm", arm.label},
          {"axes", arm.axes},         {"config_hash", json_hash(arm.config)},
          {"layout", cfg.layout_string()}, {"params_total", m.params_total},
          {"params_active", m.params_active}, {"backend", be.name()},
          {"dtype", dtype},           {"device", ctx.device},
          {"commit", ctx.commit},     {"timestamp", utc_now()}};
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Loss curve, spikes and activation maxima from a run's train.jsonl (so a diverged run is
// summarised from what it logged).
void summarise_log(const std::string& path, json& row) {
  const std::vector<json> lines = read_jsonl(path);
  std::vector<double> losses;
  std::map<std::string, double> peak;  // NaN once any step logged a non-finite value (null)
  auto number = [](const json& v) { return v.is_number() ? v.get<double>() : NAN; };
  for (const json& l : lines) {
    losses.push_back(number(l["loss"]));
    for (auto it = l["max_abs"].begin(); it != l["max_abs"].end(); ++it) {
      auto [p, fresh] = peak.emplace(it.key(), number(it.value()));
      if (!fresh && !std::isnan(p->second)) p->second = std::isnan(number(it.value())) ? NAN : std::max(p->second, number(it.value()));
    }
  }
  int64_t spikes = 0;
  for (size_t i = 10; i < losses.size(); ++i) {
    const size_t from = i > 50 ? i - 50 : 0;
    const double med = median(std::vector<double>(losses.begin() + from, losses.begin() + i));
    spikes += !(losses[i] <= 1.5 * med);  // a NaN counts
  }
  json curve = json::array();
  const size_t every = std::max<size_t>(1, (losses.size() + 99) / 100);
  for (size_t i = 0; i < losses.size(); ++i)
    if (i % every == every - 1 || i + 1 == losses.size())
      curve.push_back({i + 1, std::isfinite(losses[i]) ? json(losses[i]) : json(nullptr)});
  row["steps_logged"] = losses.size();
  row["loss_curve"] = curve;
  row["spikes"] = spikes;
  row["max_abs_final"] = lines.empty() ? json::object() : lines.back()["max_abs"];
  json peaks = json::object();
  for (const auto& [name, v] : peak) peaks[name] = std::isfinite(v) ? json(v) : json(nullptr);
  row["max_abs_peak"] = peaks;
}

std::string corpus_dir_of(const std::string& data) {
  const DataSpec spec = parse_data_spec(data);
  return spec.kind == "corpus" ? spec.arg : "";
}

json run_train(Backend& be, const Grid& g, const Arm& arm, uint64_t seed, const std::string& run_id,
               const AblateContext& ctx) {
  TrainRecipe r = arm.recipe;
  r.seed = seed;
  json raw = arm.config;
  raw["dtype"] = "float32";  // checkpoints hold the fp32 master weights
  const ModelConfig cfg = ModelConfig::from_json(raw, g.path + " (arm " + arm.label + ")");
  const DType dtype = ctx.dtype_of(r.dtype);
  json row = provenance(g, arm, cfg, be, r.dtype, ctx);
  row["seed"] = seed;
  row["train"] = r.to_json();
  const int64_t predicted = training_memory_bytes(cfg, r.batch, r.seq_len, static_cast<int64_t>(dtype_size(dtype)));
  row["memory"] = {{"predicted_bytes", predicted}};
  if (ctx.device_bytes > 0 && predicted > ctx.device_bytes) {
    row["status"] = "does_not_fit";
    return row;
  }
  const std::string dir = ctx.out + "/runs/" + run_id;
  const bool resume = fs::exists(dir + "/checkpoint/trainer_state.json");
  if (resume) {
    std::ifstream f(dir + "/checkpoint/trainer_state.json");
    const json state = json::parse(f, nullptr, false);
    std::printf("ablate %s: resumed from step %lld\n", run_id.c_str(),
                static_cast<long long>(state.is_discarded() ? -1 : state.value("step", int64_t{-1})));
  }
  HybridModel model(be, cfg, dtype);
  model.init_random(seed, raw.value("initializer_range", 0.02f));
  const TrainingData data = open_training_data(r.data, r.data_options(), cfg.vocab_size);
  TrainOptions t = r.train_options(raw, dir, resume, be.name());
  be.reset_peak_memory();
  const Clock::time_point t0 = Clock::now();
  TrainSummary s;
  row["status"] = "ok";
  try {
    s = train(model, data.next_batch, data.eval_sets, t);
  } catch (const Error& e) {
    if (std::string(e.what()).find("not finite") == std::string::npos) throw;
    row["status"] = "diverged";
    row["error"] = e.what();
  }
  row["wall_s"] = seconds_since(t0);
  row["memory"]["measured_peak_bytes"] = be.memory_stats().peak_bytes;
  summarise_log(dir + "/train.jsonl", row);
  const int64_t steps = row["steps_logged"].get<int64_t>();
  row["steps"] = steps;
  row["tokens"] = steps * r.accum * r.batch * r.seq_len;
  if (row["status"] != "ok") return row;

  const FlopCount fl = flops_per_token(cfg, r.seq_len);
  row["final_loss"] = s.losses.empty() ? json(nullptr) : json(s.losses.back());
  row["tokens_per_s"] = s.tokens_per_s;
  row["train_flops_per_token"] = fl.train_per_token;
  row["achieved_tflops"] = s.tokens_per_s * fl.train_per_token / 1e12;
  row["mfu_h100_bf16"] = s.tokens_per_s * fl.train_per_token / kH100Bf16PeakFlops;
  row["eval"] = s.last_eval;
  for (const json& e : g.evals) {
    DataOptions d = r.data_options();
    d.seq_len = e.value("seq_len", r.seq_len);
    d.batch = e.value("batch", r.batch);
    d.eval_batches = e.value("batches", r.eval_batches);
    const std::string name = e.value("name", "eval" + std::to_string(d.seq_len));
    const TrainingData extra = open_training_data(e.value("data", r.data), d, cfg.vocab_size);
    for (const EvalSet& set : extra.eval_sets) {
      json res = evaluate(model, set);
      res["seq_len"] = d.seq_len;
      row["eval"][name + "/" + set.name] = res;
    }
  }
  row["probes"] = json::object();
  for (const json& p : g.probes) {
    const std::string kind = p.value("kind", "");
    if (kind != "icl_format") fail(g.path, ": unknown probe kind '", kind, "' (icl_format)");
    row["probes"][p.value("name", kind)] = run_icl_format_probe(model, p, corpus_dir_of(r.data));
  }
  if (!ctx.keep_checkpoints) fs::remove_all(dir + "/checkpoint");
  return row;
}

std::vector<int64_t> int_list(const json& spec, const char* key, std::vector<int64_t> fallback, const std::string& where) {
  if (!spec.contains(key)) return fallback;
  std::vector<int64_t> v;
  for (const json& x : spec[key]) {
    if (!x.is_number_integer() || x.get<int64_t>() < 1) fail(where, ": ", key, " must hold positive integers");
    v.push_back(x.get<int64_t>());
  }
  return v;
}

// Task "memory": the analytic KV / state model at every context, and the cache allocated.
std::vector<json> run_memory(Backend& be, const Grid& g, const Arm& arm, const AblateContext& ctx) {
  const ModelConfig cfg = ModelConfig::from_json(arm.config, g.path);
  const std::string dtype_name_ = g.memory.value("dtype", "f32");
  const DType dtype = ctx.dtype_of(dtype_name_);
  const int64_t batch = g.memory.value("batch", int64_t{1});
  const int64_t measure = g.memory.value("measure_context", int64_t{0});
  std::vector<json> rows;
  for (int64_t context : int_list(g.memory, "contexts", {262144}, g.path)) {
    json row = provenance(g, arm, cfg, be, dtype_name_, ctx);
    const MemoryModel m = memory_model(cfg, context, batch);
    row["context"] = context;
    row["batch"] = batch;
    row["kv_cache_bytes"] = m.kv_cache_bytes;
    row["ssm_state_bytes"] = m.ssm_state_bytes;
    row["weight_bytes"] = m.weight_bytes;
    row["status"] = "ok";
    rows.push_back(row);
  }
  if (measure > 0) {
    ModelConfig as_run = cfg;
    as_run.dtype = dtype;  // the allocation's storage dtype
    const MemoryModel m = memory_model(as_run, measure, batch);
    json row = provenance(g, arm, cfg, be, dtype_name_, ctx);
    row["context"] = measure;
    row["batch"] = batch;
    row["predicted_cache_bytes"] = m.kv_cache_bytes + m.ssm_state_bytes;
    row["status"] = "ok";
    if (ctx.device_bytes > 0 && m.kv_cache_bytes + m.ssm_state_bytes > ctx.device_bytes) {
      row["status"] = "does_not_fit";
    } else {
      try {
        // The cache's row-length vector is bookkeeping, not cache: measure it apart.
        int64_t before = be.memory_stats().current_bytes;
        const Tensor lengths(be, {batch}, DType::i32);
        const int64_t lengths_bytes = be.memory_stats().current_bytes - before;
        before = be.memory_stats().current_bytes;
        HybridCache cache = new_hybrid_cache(be, cfg, dtype, batch, measure);
        be.synchronize();
        row["measured_cache_bytes"] = be.memory_stats().current_bytes - before - lengths_bytes;
      } catch (const Error& e) {  // the device could not hold it after all
        row["status"] = "allocation_failed";
        row["error"] = e.what();
      }
    }
    rows.push_back(row);
  }
  return rows;
}

// Task "decode": tokens/s of n_gen one-token steps after `context` cached tokens.
std::vector<json> run_decode(Backend& be, const Grid& g, const Arm& arm, const AblateContext& ctx) {
  const ModelConfig cfg = ModelConfig::from_json(arm.config, g.path);
  const std::string dname = g.decode.value("dtype", "f32");
  const DType dtype = ctx.dtype_of(dname);
  const int64_t n_gen = g.decode.value("n_gen", int64_t{32}), reps = g.decode.value("reps", int64_t{2});
  const int64_t elem = static_cast<int64_t>(dtype_size(dtype));
  std::vector<json> rows;
  std::optional<HybridModel> model;
  for (int64_t batch : int_list(g.decode, "batches", {1}, g.path))
    for (int64_t context : int_list(g.decode, "contexts", {1024}, g.path)) {
      json row = provenance(g, arm, cfg, be, dname, ctx);
      row["context"] = context;
      row["batch"] = batch;
      row["n_gen"] = n_gen;
      const int64_t capacity = context + n_gen * (reps + 1);
      const int64_t predicted = inference_memory_bytes(cfg, capacity, batch, batch, elem);
      row["memory"] = {{"predicted_bytes", predicted}};
      if (ctx.device_bytes > 0 && predicted > ctx.device_bytes) {
        row["status"] = "does_not_fit";
        rows.push_back(row);
        continue;
      }
      if (!model) {
        model.emplace(be, cfg, dtype);
        model->init_random(1234);
      }
      be.reset_peak_memory();
      HybridCache cache = model->new_cache(batch, capacity);
      cache.seq_len.assign(static_cast<size_t>(batch), static_cast<int32_t>(context));
      std::vector<int32_t> step(static_cast<size_t>(batch));
      for (int64_t b = 0; b < batch; ++b) step[b] = static_cast<int32_t>((b * 7919 + 13) % cfg.vocab_size);
      std::vector<double> samples;
      for (int64_t rep = 0; rep <= reps; ++rep) {  // rep 0 warms up
        be.synchronize();
        const Clock::time_point t0 = Clock::now();
        for (int64_t i = 0; i < n_gen; ++i) {
          model->forward(step, batch, 1, {}, &cache, LogitsAt::last);
          be.synchronize();
        }
        if (rep > 0) samples.push_back(static_cast<double>(batch * n_gen) / seconds_since(t0));
      }
      double mean = 0;
      for (double s : samples) mean += s / static_cast<double>(samples.size());
      row["tokens_per_s"] = mean;
      row["samples_ts"] = samples;
      row["memory"]["measured_peak_bytes"] = be.memory_stats().peak_bytes;
      row["status"] = "ok";
      rows.push_back(row);
    }
  return rows;
}

}  // namespace

std::string describe_grid(const Grid& g) {
  std::ostringstream os;
  os << "grid " << g.name << " (" << g.task << (g.scale.empty() ? "" : ", scale " + g.scale) << "): " << g.arms.size()
     << " arms\n";
  for (size_t i = 0; i < g.arms.size(); ++i) {
    const ModelConfig cfg = ModelConfig::from_json(g.arms[i].config, g.path);
    const MemoryModel m = memory_model(cfg, 0, 1);
    os << "  " << i + 1 << ". " << g.arms[i].label << "  [" << cfg.layout_string() << "]  " << m.params_total
       << " params (" << m.params_active << " active)\n";
  }
  return os.str();
}

AblateSummary run_grid(Backend& be, const Grid& g, const AblateContext& ctx) {
  std::error_code ec;
  fs::create_directories(ctx.out + "/runs", ec);
  if (ec) fail(ctx.out, ": cannot create the output directory (", ec.message(), ")");
  const std::string results = ctx.out + "/results.jsonl";
  std::set<std::string> done;
  for (const json& row : read_jsonl(results)) {
    if (row.value("grid", "") != g.name)
      fail(results, ": holds a row of grid '", row.value("grid", ""), "', not '", g.name, "' (one results file per grid)");
    done.insert(row.value("run_id", ""));
  }
  std::printf("%s", describe_grid(g).c_str());
  AblateSummary sum;
  const int64_t seeds = ctx.seeds > 0 ? ctx.seeds : g.seeds;
  auto record = [&](json row, const std::string& run_id) {
    row["run_id"] = run_id;
    append_line(results, row);
    done.insert(run_id);  // an arm repeated by the grid's expansion runs once
    ++sum.runs;
    sum.diverged += row["status"] == "diverged";
    sum.not_fitting += row["status"] == "does_not_fit";
    std::printf("ablate %s | %s | status %s\n", run_id.c_str(), row["arm"].get<std::string>().c_str(),
                row["status"].get<std::string>().c_str());
    std::fflush(stdout);
  };
  for (const Arm& arm : g.arms) {
    if (g.task != "train") {
      const json key = {g.name, g.scale, arm.config, g.task == "memory" ? g.memory : g.decode};
      const std::string run_id = g.name + "-" + json_hash(key);
      if (done.count(run_id)) {
        ++sum.skipped;
        continue;
      }
      // One id for the arm's rows: they are written together, so an arm is all done or not.
      for (const json& row : g.task == "memory" ? run_memory(be, g, arm, ctx) : run_decode(be, g, arm, ctx))
        record(row, run_id);
      continue;
    }
    for (int64_t s = 0; s < seeds; ++s) {
      const uint64_t seed = arm.recipe.seed + static_cast<uint64_t>(s);
      TrainRecipe r = arm.recipe;
      r.seed = seed;
      const std::string run_id =
          g.name + "-" + json_hash({g.scale, arm.config, r.to_json(), g.evals, g.probes});
      if (done.count(run_id)) {
        std::printf("ablate %s | %s | seed %llu: done, skipped\n", run_id.c_str(), arm.label.c_str(),
                    static_cast<unsigned long long>(seed));
        ++sum.skipped;
        continue;
      }
      std::printf("ablate %s | %s | seed %llu\n", run_id.c_str(), arm.label.c_str(), static_cast<unsigned long long>(seed));
      std::fflush(stdout);
      record(run_train(be, g, arm, seed, run_id, ctx), run_id);
    }
  }
  return sum;
}

}  // namespace braid
