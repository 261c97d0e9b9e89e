#include "models/train/recipe.h"

#include <algorithm>
#include <functional>
#include <map>

#include "core/status.h"

namespace braid {
namespace {

// Every field once, by JSON key: reading a value into it, and writing it out.
template <class F>
void for_each_field(TrainRecipe& r, F&& f) {
  f("data", r.data);
  f("dtype", r.dtype);
  f("steps", r.steps);
  f("batch", r.batch);
  f("seq_len", r.seq_len);
  f("accum", r.accum);
  f("warmup", r.warmup);
  f("eval_every", r.eval_every);
  f("eval_batches", r.eval_batches);
  f("save_every", r.save_every);
  f("seed", r.seed);
  f("lr", r.lr);
  f("min_lr", r.min_lr);
  f("weight_decay", r.weight_decay);
  f("clip", r.clip);
  f("aux_coef", r.aux_coef);
  f("activation_loss", r.activation_loss);
}

template <class T>
bool has_type(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, std::string>) return v.is_string();
  else if constexpr (std::is_same_v<T, double>) return v.is_number();
  else if constexpr (std::is_unsigned_v<T>) return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
  else return v.is_number_integer();
}

}  // namespace

nlohmann::json TrainRecipe::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  TrainRecipe copy = *this;
  for_each_field(copy, [&](const char* key, auto& field) { j[key] = field; });
  return j;
}

void TrainRecipe::update_from(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail(source, ": the training settings must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for_each_field(*this, [&](const char* key, auto& field) {
      if (it.key() != key) return;
      known = true;
      using T = std::decay_t<decltype(field)>;
      if (!has_type<T>(it.value()))
        fail(source, ": training setting '", key, "' has the wrong type (", it.value().dump(), ")");
      field = it.value().get<T>();
    });
    if (!known) fail(source, ": unknown training setting '", it.key(), "'");
  }
}

DataOptions TrainRecipe::data_options() const {
  DataOptions d;
  d.batch = batch;
  d.seq_len = seq_len;
  d.seed = seed;
  d.eval_batches = eval_batches;
  return d;
}

TrainOptions TrainRecipe::train_options(const nlohmann::json& config, const std::string& out, bool resume,
                                        const std::string& backend_name) const {
  TrainOptions t;
  t.steps = steps;
  t.accum = accum;
  t.lr.peak = lr;
  t.lr.min = min_lr >= 0 ? min_lr : lr / 10;
  t.lr.warmup = warmup >= 0 ? warmup : std::min<int64_t>(100, steps / 10);
  t.adamw.weight_decay = weight_decay;
  t.adamw.max_grad_norm = clip;
  t.aux_coef = aux_coef >= 0 ? aux_coef : config.value("router_aux_loss_coef", 0.001);
  t.activation_coef = activation_loss;
  t.eval_every = eval_every;
  t.save_every = save_every;
  t.resume = resume;
  t.out = out;
  t.config = config;
  t.run_info = to_json();
  t.run_info["backend"] = backend_name;
  return t;
}

}  // namespace braid
