// models/train/recipe.h — one training run's settings apart from the model: the data SPEC and
// the optimisation knobs, exactly as `braid train` takes them as flags and as an ablation
// grid writes them as a JSON "train" object (models/ablate/grid.h). One struct, one set of
// defaults, one conversion into the trainer's and the data's options.
//
// JSON keys (all optional except data and steps in a complete recipe):
//   data, dtype ("f32" | "bf16"), steps, batch, seq_len, accum, warmup (−1: min(100, steps/10)),
//   eval_every, eval_batches, save_every, seed, lr, min_lr (−1: lr/10), weight_decay, clip,
//   aux_coef (−1: the config's router_aux_loss_coef, else 0.001), activation_loss
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "models/data/training_data.h"
#include "models/train/trainer.h"

namespace braid {

struct TrainRecipe {
  std::string data, dtype = "f32";
  int64_t steps = 0, batch = 8, seq_len = 256, accum = 1, warmup = -1, eval_every = 0, eval_batches = 8,
          save_every = 0;
  uint64_t seed = 0;
  double lr = 1e-3, min_lr = -1, weight_decay = 0.1, clip = 1.0, aux_coef = -1, activation_loss = 0;

  nlohmann::json to_json() const;
  // Overrides the fields named in `j`; an unknown key or a value of the wrong type is an
  // error naming `source` and the key.
  void update_from(const nlohmann::json& j, const std::string& source);

  DataOptions data_options() const;
  // Trainer options for a model whose config.json is `config` (its router_aux_loss_coef is
  // the default aux coefficient); `run_info` is recorded in every checkpoint.
  TrainOptions train_options(const nlohmann::json& config, const std::string& out, bool resume,
                             const std::string& backend_name) const;
};

}  // namespace braid
