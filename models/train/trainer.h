// models/train/trainer.h — the training loop behind `braid train`.
//
// Each optimizer step draws `accum` micro-batches from the batch source (deterministic in
// (step, micro), so a resumed run sees the same data), accumulates the gradients of
//   J = mean CE over the step's counted tokens + aux_coef · aux + activation_coef · act
// (each micro-batch's aux and activation terms weighted 1/accum; see LossOptions), clips by
// the global gradient norm, applies AdamW with the warmup + cosine schedule, and logs:
//   <out>/train.jsonl  one line per step: step, loss, aux_loss, grad_norm, lr, tokens,
//                      tokens_per_s, elapsed_s, max_abs {sublayer: max |output|}
//   <out>/eval.jsonl   one line per evaluation and eval set: step, set, loss (nats/token),
//                      bits_per_byte (when the set counts bytes), accuracy, tokens
//   <out>/checkpoint/  HF layout (config.json + model.safetensors, fp32 master weights),
//                      plus trainer_state.json and trainer_state.safetensors (AdamW moments),
//                      replaced atomically (written beside, then renamed into place).
// Resuming from <out>/checkpoint continues bit-exactly on the CPU backend; log lines past the
// checkpoint (written by a run killed after it) are dropped first.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model.h"
#include "models/train/optimizer.h"
#include "models/train/schedule.h"

namespace braid {

// One batch of full rows: ids and targets [B, T] host int32 (a negative target is ignored),
// and the number of text bytes its counted targets stand for (0 when not text).
struct TrainBatch {
  std::vector<int32_t> ids, targets;
  int64_t B = 0, T = 0;
  int64_t target_bytes = 0;
};

struct EvalSet {
  std::string name;  // e.g. "valid/books", "test"
  std::vector<TrainBatch> batches;
};

struct TrainOptions {
  int64_t steps = 100;
  int64_t accum = 1;           // micro-batches per optimizer step
  LrSchedule lr;               // peak, min, warmup (total is set to steps)
  AdamwOptions adamw;
  double aux_coef = 0.0;       // router_aux_loss_coef (HF)
  double activation_coef = 0.0;
  int64_t eval_every = 0;      // 0: only at the end
  int64_t save_every = 0;      // 0: only at the end
  bool resume = false;
  bool progress = false;       // a progress bar on stderr (the CLI sets it only on a TTY)
  std::string out;             // output directory
  nlohmann::json config;       // written into every checkpoint's config.json
  nlohmann::json run_info;     // recorded in trainer_state.json (data spec, seed, command)
};

struct TrainSummary {
  int64_t start_step = 0, end_step = 0;
  std::vector<double> losses;  // per step run here
  double tokens_per_s = 0;     // over the steps run here
  nlohmann::json last_eval;
};

using BatchFn = std::function<TrainBatch(int64_t step, int64_t micro)>;

// Trains `model` (its parameters are the starting point unless resuming). Returns after
// `opt.steps` optimizer steps in total (counting those of a resumed run).
TrainSummary train(HybridModel& model, const BatchFn& next_batch, const std::vector<EvalSet>& eval_sets,
                   const TrainOptions& opt);

// Appends one JSON line to `path` and flushes it, so a crashed run keeps every finished line.
void append_line(const std::string& path, const nlohmann::json& j);

// Loss, bits per byte and accuracy of `model` on one eval set (no gradients).
nlohmann::json evaluate(HybridModel& model, const EvalSet& set);

// Writes the model (fp32 `weights`, the config) and, when given, the optimizer state into `dir`
// atomically: everything goes to a sibling temporary directory that is renamed over `dir`.
void save_training_checkpoint(const ParamStore& weights, const nlohmann::json& config, const AdamwOptimizer* optim,
                              const nlohmann::json& state, const std::string& dir);

}  // namespace braid
