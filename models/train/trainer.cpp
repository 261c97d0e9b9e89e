#include "models/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "models/checkpoint.h"
#include "models/io/atomic_file.h"
#include "models/io/safetensors.h"

namespace braid {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void write_text_atomic(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

int64_t counted(const TrainBatch& b) {
  int64_t n = 0;
  for (int32_t t : b.targets) n += t >= 0;
  return n;
}

void check_batch(const TrainBatch& b, int64_t step, int64_t micro) {
  const size_t n = static_cast<size_t>(b.B * b.T);
  if (b.B < 1 || b.T < 1 || b.ids.size() != n || b.targets.size() != n)
    fail("batch source: step ", step, " micro-batch ", micro, " is malformed (B = ", b.B, ", T = ", b.T, ", ",
         b.ids.size(), " ids, ", b.targets.size(), " targets)");
}

// Keeps the lines of a JSONL log whose "step" is at most `step` (atomically rewritten).
void truncate_log(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("step", int64_t{0}) <= step) kept += line + "\n";
  }
  in.close();
  write_text_atomic(path, kept);
}

// A one-line progress bar on stderr (only when the caller asked for it: a TTY).
void progress_bar(int64_t step, int64_t total, double loss) {
  const int width = 30, done = static_cast<int>(width * step / std::max<int64_t>(total, 1));
  std::fprintf(stderr, "\r[%s%s] %lld/%lld loss %.4f", std::string(done, '#').c_str(),
               std::string(width - done, '.').c_str(), static_cast<long long>(step), static_cast<long long>(total), loss);
  if (step == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace

void append_line(const std::string& path, const nlohmann::json& j) {
  std::ofstream f(path, std::ios::app);
  if (!f) fail(path, ": cannot open for appending");
  f << j.dump() << "\n";
  f.flush();
  if (!f) fail(path, ": write failed");
}

nlohmann::json evaluate(HybridModel& model, const EvalSet& set) {
  double ce = 0;
  int64_t count = 0, correct = 0, bytes = 0;
  for (const TrainBatch& b : set.batches) {
    const LossResult r = model.loss_and_grad(b.ids, b.targets, b.B, b.T, nullptr, {});
    ce += r.ce_sum;
    count += r.count;
    correct += r.correct;
    bytes += b.target_bytes;
  }
  nlohmann::json j{{"set", set.name}, {"tokens", count}};
  j["loss"] = count ? ce / static_cast<double>(count) : 0.0;
  j["accuracy"] = count ? static_cast<double>(correct) / static_cast<double>(count) : 0.0;
  if (bytes > 0) j["bits_per_byte"] = ce / std::log(2.0) / static_cast<double>(bytes);
  return j;
}

void save_training_checkpoint(const ParamStore& weights, const nlohmann::json& config, const AdamwOptimizer* optim,
                              const nlohmann::json& state, const std::string& dir) {
  const fs::path final_dir(dir), tmp = final_dir.string() + ".tmp", old = final_dir.string() + ".old";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) fail(tmp.string(), ": cannot create directory (", ec.message(), ")");
  write_params(weights, (tmp / "model.safetensors").string(), DType::f32, {{"format", "pt"}});
  write_text_atomic((tmp / "config.json").string(), config.dump(2) + "\n");
  if (optim) {
    // One file for both moments, names prefixed; the master weights are model.safetensors.
    write_params(optim->first_moment(), (tmp / "exp_avg.safetensors").string(), DType::f32, {}, "exp_avg.");
    write_params(optim->second_moment(), (tmp / "exp_avg_sq.safetensors").string(), DType::f32, {}, "exp_avg_sq.");
  }
  write_text_atomic((tmp / "trainer_state.json").string(), state.dump(2) + "\n");
  // Swap in: the old checkpoint stays intact until the new one is complete on disk.
  fs::remove_all(old, ec);
  if (fs::exists(final_dir)) {
    fs::rename(final_dir, old, ec);
    if (ec) fail(dir, ": cannot move the previous checkpoint aside (", ec.message(), ")");
  }
  fs::rename(tmp, final_dir, ec);
  if (ec) fail(dir, ": cannot rename ", tmp.string(), " into place (", ec.message(), ")");
  fs::remove_all(old, ec);
}

TrainSummary train(HybridModel& model, const BatchFn& next_batch, const std::vector<EvalSet>& eval_sets,
                   const TrainOptions& opt) {
  if (opt.steps < 1) fail("train: --steps must be ≥ 1, got ", opt.steps);
  if (opt.accum < 1) fail("train: --accum must be ≥ 1, got ", opt.accum);
  std::error_code ec;
  fs::create_directories(opt.out, ec);
  if (ec) fail(opt.out, ": cannot create the output directory (", ec.message(), ")");
  const std::string ckpt = opt.out + "/checkpoint", train_log = opt.out + "/train.jsonl",
                    eval_log = opt.out + "/eval.jsonl";
  LrSchedule sched = opt.lr;
  sched.total = opt.steps;
  AdamwOptimizer optim(model, opt.adamw);
  TrainSummary sum;
  if (opt.resume) {
    if (!fs::exists(ckpt + "/trainer_state.json"))
      fail(ckpt, ": no checkpoint to resume from (trainer_state.json is missing)");
    std::ifstream f(ckpt + "/trainer_state.json");
    const nlohmann::json state = nlohmann::json::parse(f, nullptr, false);
    if (state.is_discarded() || !state.contains("step")) fail(ckpt, "/trainer_state.json: not a trainer state");
    ParamStore master(model.backend(), model.params().table(), DType::f32), m = model.new_grads(), v = model.new_grads();
    read_params(SafetensorsFile(ckpt + "/model.safetensors"), "", master);
    read_params(SafetensorsFile(ckpt + "/exp_avg.safetensors"), "exp_avg.", m);
    read_params(SafetensorsFile(ckpt + "/exp_avg_sq.safetensors"), "exp_avg_sq.", v);
    optim.restore(master, m, v, state.at("step").get<int64_t>());
    sum.start_step = optim.steps_taken();
    if (sum.start_step > opt.steps) fail(ckpt, ": the checkpoint is at step ", sum.start_step, ", past --steps ", opt.steps);
    // Lines a killed run logged after its last checkpoint are run again: drop them, so the
    // resumed logs equal an uninterrupted run's.
    truncate_log(train_log, sum.start_step);
    truncate_log(eval_log, sum.start_step);
  } else {
    // A fresh run starts fresh logs.
    fs::remove(train_log, ec);
    fs::remove(eval_log, ec);
  }
  ParamStore grads = model.new_grads();
  auto state_json = [&](int64_t step) {
    nlohmann::json s = opt.run_info;
    s["step"] = step;
    s["steps"] = opt.steps;
    return s;
  };
  auto run_eval = [&](int64_t step) {
    for (const EvalSet& set : eval_sets) {
      nlohmann::json j = evaluate(model, set);
      j["step"] = step;
      append_line(eval_log, j);
      std::printf("eval step %lld %s: loss %.4f%s acc %.4f\n", static_cast<long long>(step), set.name.c_str(),
                  j["loss"].get<double>(),
                  j.contains("bits_per_byte") ? (" bpb " + std::to_string(j["bits_per_byte"].get<double>())).c_str() : "",
                  j["accuracy"].get<double>());
      sum.last_eval[set.name] = j;
    }
  };

  const Clock::time_point t_run = Clock::now();
  int64_t run_tokens = 0;
  for (int64_t step = sum.start_step; step < opt.steps; ++step) {
    const Clock::time_point t0 = Clock::now();
    std::vector<TrainBatch> micro(static_cast<size_t>(opt.accum));
    int64_t tokens = 0, targets = 0;
    for (int64_t i = 0; i < opt.accum; ++i) {
      micro[i] = next_batch(step, i);
      check_batch(micro[i], step, i);
      tokens += micro[i].B * micro[i].T;
      targets += counted(micro[i]);
    }
    if (targets == 0) fail("batch source: step ", step, " has no counted targets");
    grads.zero();
    LossOptions lo;
    lo.ce_weight = 1.0 / static_cast<double>(targets);
    lo.aux_weight = opt.aux_coef / static_cast<double>(opt.accum);
    lo.activation_weight = opt.activation_coef / static_cast<double>(opt.accum);
    lo.activation_stats = true;
    double ce = 0, aux = 0;
    std::vector<float> max_abs;
    std::vector<std::string> names;
    for (const TrainBatch& b : micro) {
      const LossResult r = model.loss_and_grad(b.ids, b.targets, b.B, b.T, &grads, lo);
      ce += r.ce_sum;
      aux += r.aux / static_cast<double>(opt.accum);
      if (max_abs.empty()) max_abs.assign(r.max_abs.size(), 0.0f), names = r.sublayers;
      for (size_t j = 0; j < r.max_abs.size(); ++j) max_abs[j] = std::max(max_abs[j], r.max_abs[j]);
    }
    const double lr = sched.at(step);
    const StepStats st = optim.step(grads, lr);
    model.backend().synchronize();
    const double dt = seconds_since(t0);
    const double loss = ce / static_cast<double>(targets);
    sum.losses.push_back(loss);
    run_tokens += tokens;
    nlohmann::json line{{"step", step + 1},           {"loss", loss},       {"aux_loss", aux},
                        {"grad_norm", st.grad_norm}, {"lr", lr},           {"tokens", tokens},
                        {"tokens_per_s", tokens / dt}, {"elapsed_s", seconds_since(t_run)}};
    nlohmann::json acts = nlohmann::json::object();
    for (size_t j = 0; j < names.size(); ++j) acts[names[j]] = max_abs[j];
    line["max_abs"] = acts;
    append_line(train_log, line);
    if (opt.progress) progress_bar(step + 1, opt.steps, loss);
    else
      std::printf("step %lld/%lld | loss %.4f | lr %.3e | grad norm %.3f | %.0f tok/s\n", static_cast<long long>(step + 1),
                  static_cast<long long>(opt.steps), loss, lr, st.grad_norm, tokens / dt);
    if (!std::isfinite(loss)) fail("train: the loss is not finite at step ", step + 1, " (", loss, "); stopping");
    const bool last = step + 1 == opt.steps;
    if (!eval_sets.empty() && ((opt.eval_every > 0 && (step + 1) % opt.eval_every == 0) || last)) run_eval(step + 1);
    if ((opt.save_every > 0 && (step + 1) % opt.save_every == 0) || last)
      save_training_checkpoint(optim.master(), opt.config, &optim, state_json(step + 1), ckpt);
  }
  sum.end_step = opt.steps;
  sum.tokens_per_s = run_tokens / std::max(seconds_since(t_run), 1e-9);
  std::fflush(stdout);
  return sum;
}

}  // namespace braid
