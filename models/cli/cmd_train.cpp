// braid train (--config CONFIG.json | --model DIR) --data SPEC --steps N --out DIR
//             [--backend cpu|cuda] [--dtype f32|bf16] [--seed S] [--lr LR] [--min-lr LR]
//             [--warmup N] [--batch B] [--seq-len T] [--accum N] [--weight-decay W]
//             [--clip C] [--aux-coef A] [--activation-loss A] [--eval-every N]
//             [--eval-batches N] [--save-every N] [--resume]
// Trains a model from a config (seeded HF initialisation) or continues from a checkpoint, on
// the data named by SPEC (every form is listed in models/data/training_data.h), writing
// train.jsonl, eval.jsonl and an HF-layout checkpoint under --out (models/train/trainer.h).
// The last stdout line is a JSON summary.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/cli/backend_choice.h"
#include "models/cli/cli.h"
#include "models/data/training_data.h"
#include "models/train/flops.h"
#include "models/train/trainer.h"

namespace braid::cli {
namespace {

struct TrainCliOptions {
  std::string config, model, data, out, backend = "cpu", dtype = "f32";
  int64_t steps = 0, batch = 8, seq_len = 256, accum = 1, warmup = -1, eval_every = 0, eval_batches = 8,
          save_every = 0;
  uint64_t seed = 0;
  double lr = 1e-3, min_lr = -1, weight_decay = 0.1, clip = 1.0, aux_coef = -1, activation_loss = 0;
  bool resume = false;
};

nlohmann::json read_config_json(const std::string& path_or_dir) {
  const std::string path =
      std::filesystem::is_directory(path_or_dir) ? path_or_dir + "/config.json" : path_or_dir;
  std::ifstream f(path);
  if (!f) fail(path, ": no such file or cannot be read");
  std::stringstream text;
  text << f.rdbuf();
  return parse_config_text(text.str(), path);
}

void run_train(const TrainCliOptions& o) {
  if (o.config.empty() == o.model.empty()) fail("train: give exactly one of --config CONFIG.json and --model DIR");
  auto be = make_backend(o.backend);
  const DType dtype = compute_dtype(o.dtype, *be);
  const std::string source = o.config.empty() ? o.model : o.config;
  nlohmann::json raw = read_config_json(source);
  raw["dtype"] = "float32";  // checkpoints hold the fp32 master weights
  const ModelConfig cfg = ModelConfig::from_json(raw, source);
  HybridModel model = o.model.empty() ? HybridModel(*be, cfg, dtype) : HybridModel::load(*be, o.model, dtype);
  if (o.model.empty()) model.init_random(o.seed, raw.value("initializer_range", 0.02f));

  DataOptions dopt;
  dopt.batch = o.batch;
  dopt.seq_len = o.seq_len;
  dopt.seed = o.seed;
  dopt.eval_batches = o.eval_batches;
  TrainingData data = open_training_data(o.data, dopt, cfg.vocab_size);

  TrainOptions t;
  t.steps = o.steps;
  t.accum = o.accum;
  t.lr.peak = o.lr;
  t.lr.min = o.min_lr >= 0 ? o.min_lr : o.lr / 10;
  t.lr.warmup = o.warmup >= 0 ? o.warmup : std::min<int64_t>(100, o.steps / 10);
  t.adamw.weight_decay = o.weight_decay;
  t.adamw.max_grad_norm = o.clip;
  t.aux_coef = o.aux_coef >= 0 ? o.aux_coef : raw.value("router_aux_loss_coef", 0.001);
  t.activation_coef = o.activation_loss;
  t.eval_every = o.eval_every;
  t.save_every = o.save_every;
  t.resume = o.resume;
  t.progress = isatty(STDERR_FILENO) != 0;
  t.out = o.out;
  t.config = raw;
  t.run_info = {{"data", o.data},       {"seed", o.seed},       {"batch", o.batch},   {"seq_len", o.seq_len},
                {"accum", o.accum},     {"lr", o.lr},           {"backend", be->name()}, {"dtype", dtype_name(dtype)}};

  std::printf("train %s on %s: %s, %lld steps of %lld x %lld x %lld tokens, backend %s (%s)\n", source.c_str(),
              o.data.c_str(), cfg.layout_string().c_str(), static_cast<long long>(o.steps),
              static_cast<long long>(o.accum), static_cast<long long>(o.batch), static_cast<long long>(o.seq_len),
              be->name().c_str(), dtype_name(dtype));
  const TrainSummary s = train(model, data.next_batch, data.eval_sets, t);
  const FlopCount fl = flops_per_token(cfg, o.seq_len);
  nlohmann::json summary{{"steps", s.end_step},
                         {"final_loss", s.losses.empty() ? nullptr : nlohmann::json(s.losses.back())},
                         {"tokens_per_s", s.tokens_per_s},
                         {"train_flops_per_token", fl.train_per_token},
                         {"achieved_tflops", s.tokens_per_s * fl.train_per_token / 1e12},
                         {"mfu_h100_bf16", s.tokens_per_s * fl.train_per_token / kH100Bf16PeakFlops},
                         {"eval", s.last_eval},
                         {"checkpoint", o.out + "/checkpoint"}};
  std::printf("%s\n", summary.dump().c_str());
}

}  // namespace

void add_train(CLI::App& app) {
  auto o = std::make_shared<TrainCliOptions>();
  CLI::App* sub = app.add_subcommand("train", "train a model on synthetic tasks or text (AdamW, warmup + cosine)");
  sub->add_option("--config", o->config, "config.json to initialise from (seeded)");
  sub->add_option("-m,--model", o->model, "checkpoint directory to continue from");
  sub->add_option("--data", o->data,
                  "data SPEC (models/data/training_data.h): tokens:FILE.npy | text:FILE (bytes) | corpus:DIR "
                  "(scripts/make_corpus.sh) | mqar[:vocab=V,num_kv_pairs=K,power_a=A,random_non_queries=0|1] | "
                  "selective_copy[:vocab=V,num_tokens=M,noise=N,marker=R] | induction[:vocab=V,trigger=S]")
      ->required();
  sub->add_option("--steps", o->steps, "optimizer steps in total")->required();
  sub->add_option("-o,--out", o->out, "output directory (logs and checkpoint)")->required();
  sub->add_option("--backend", o->backend, "cpu (with fast paths), cpu-ref, or cuda / cuda:N in a CUDA build");
  sub->add_option("--dtype", o->dtype, "compute dtype: f32 (default) or bf16 (cuda); masters stay f32");
  sub->add_option("-s,--seed", o->seed, "seed of the initialisation and of the data order");
  sub->add_option("--lr", o->lr, "peak learning rate (default 1e-3)");
  sub->add_option("--min-lr", o->min_lr, "final learning rate of the cosine (default lr/10)");
  sub->add_option("--warmup", o->warmup, "linear warmup steps (default min(100, steps/10))");
  sub->add_option("--batch", o->batch, "rows per micro-batch (default 8)");
  sub->add_option("--seq-len", o->seq_len, "tokens per row (default 256; also the length of the synthetic tasks)");
  sub->add_option("--accum", o->accum, "micro-batches per optimizer step (default 1)");
  sub->add_option("--weight-decay", o->weight_decay, "AdamW weight decay on matrices (default 0.1)");
  sub->add_option("--clip", o->clip, "max global gradient norm, ≤ 0 disables (default 1.0)");
  sub->add_option("--aux-coef", o->aux_coef, "MoE load-balancing coefficient (default: the config's router_aux_loss_coef, else 0.001)");
  sub->add_option("--activation-loss", o->activation_loss, "weight of the activation loss (Jamba-1.5; default 0)");
  sub->add_option("--eval-every", o->eval_every, "evaluate every N steps (default: at the end)");
  sub->add_option("--eval-batches", o->eval_batches, "batches per eval set (default 8)");
  sub->add_option("--save-every", o->save_every, "checkpoint every N steps (default: at the end)");
  sub->add_flag("--resume", o->resume, "continue from OUT/checkpoint (bit-exact on the CPU)");
  sub->callback([o] { run_train(*o); });
}

}  // namespace braid::cli
