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

#include "models/cli/backend_choice.h"
#include "models/cli/cli.h"
#include "models/data/training_data.h"
#include "models/train/flops.h"
#include "models/train/recipe.h"

namespace braid::cli {
namespace {

struct TrainCliOptions {
  std::string config, model, out, backend = "cpu";
  TrainRecipe r;
  bool resume = false;
};

void run_train(const TrainCliOptions& o) {
  if (o.config.empty() == o.model.empty()) fail("train: give exactly one of --config CONFIG.json and --model DIR");
  const TrainRecipe& r = o.r;
  auto be = make_backend(o.backend);
  const DType dtype = compute_dtype(r.dtype, *be);
  const std::string source = o.config.empty() ? o.model : o.config;
  nlohmann::json raw = read_config_file(source);
  raw["dtype"] = "float32";  // checkpoints hold the fp32 master weights
  const ModelConfig cfg = ModelConfig::from_json(raw, source);
  HybridModel model = o.model.empty() ? HybridModel(*be, cfg, dtype) : HybridModel::load(*be, o.model, dtype);
  if (o.model.empty()) model.init_random(r.seed, raw.value("initializer_range", 0.02f));

  TrainingData data = open_training_data(r.data, r.data_options(), cfg.vocab_size);
  TrainOptions t = r.train_options(raw, o.out, o.resume, be->name());
  t.progress = isatty(STDERR_FILENO) != 0;

  std::printf("train %s on %s: %s, %lld steps of %lld x %lld x %lld tokens, backend %s (%s)\n", source.c_str(),
              r.data.c_str(), cfg.layout_string().c_str(), static_cast<long long>(r.steps),
              static_cast<long long>(r.accum), static_cast<long long>(r.batch), static_cast<long long>(r.seq_len),
              be->name().c_str(), dtype_name(dtype));
  const TrainSummary s = train(model, data.next_batch, data.eval_sets, t);
  const FlopCount fl = flops_per_token(cfg, r.seq_len);
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
  sub->add_option("--data", o->r.data,
                  "data SPEC (models/data/training_data.h): tokens:FILE.npy | text:FILE (bytes) | corpus:DIR "
                  "(scripts/make_corpus.sh) | mqar[:vocab=V,num_kv_pairs=K,power_a=A,random_non_queries=0|1] | "
                  "selective_copy[:vocab=V,num_tokens=M,noise=N,marker=R] | induction[:vocab=V,trigger=S]")
      ->required();
  sub->add_option("--steps", o->r.steps, "optimizer steps in total")->required();
  sub->add_option("-o,--out", o->out, "output directory (logs and checkpoint)")->required();
  sub->add_option("--backend", o->backend, "cpu (with fast paths), cpu-ref, or cuda / cuda:N in a CUDA build");
  sub->add_option("--dtype", o->r.dtype, "compute dtype: f32 (default) or bf16 (cuda); masters stay f32");
  sub->add_option("-s,--seed", o->r.seed, "seed of the initialisation and of the data order");
  sub->add_option("--lr", o->r.lr, "peak learning rate (default 1e-3)");
  sub->add_option("--min-lr", o->r.min_lr, "final learning rate of the cosine (default lr/10)");
  sub->add_option("--warmup", o->r.warmup, "linear warmup steps (default min(100, steps/10))");
  sub->add_option("--batch", o->r.batch, "rows per micro-batch (default 8)");
  sub->add_option("--seq-len", o->r.seq_len, "tokens per row (default 256; also the length of the synthetic tasks)");
  sub->add_option("--accum", o->r.accum, "micro-batches per optimizer step (default 1)");
  sub->add_option("--weight-decay", o->r.weight_decay, "AdamW weight decay on matrices (default 0.1)");
  sub->add_option("--clip", o->r.clip, "max global gradient norm, ≤ 0 disables (default 1.0)");
  sub->add_option("--aux-coef", o->r.aux_coef, "MoE load-balancing coefficient (default: the config's router_aux_loss_coef, else 0.001)");
  sub->add_option("--activation-loss", o->r.activation_loss, "weight of the activation loss (Jamba-1.5; default 0)");
  sub->add_option("--eval-every", o->r.eval_every, "evaluate every N steps (default: at the end)");
  sub->add_option("--eval-batches", o->r.eval_batches, "batches per eval set (default 8)");
  sub->add_option("--save-every", o->r.save_every, "checkpoint every N steps (default: at the end)");
  sub->add_flag("--resume", o->resume, "continue from OUT/checkpoint (bit-exact on the CPU)");
  sub->callback([o] { run_train(*o); });
}

}  // namespace braid::cli
