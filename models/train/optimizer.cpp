#include "models/train/optimizer.h"

#include <algorithm>
#include <cmath>

#include "models/layers/layer.h"

namespace braid {

double global_norm(const ParamStore& store) {
  Backend& be = store.backend();
  const std::vector<std::string> keys = store.storage_keys();
  // One [2] slot per tensor in a single buffer, downloaded once.
  Tensor stats(be, {static_cast<int64_t>(keys.size()), 2}, DType::f32);
  for (size_t i = 0; i < keys.size(); ++i)
    run(run_tensor_stats(be, TensorStatsArgs{store.storage(keys[i]), stats.view().select(0, static_cast<int64_t>(i))}),
        keys[i] + " (norm)");
  const std::vector<float> host = to_host_f32(be, stats);
  double sum = 0;
  for (size_t i = 0; i < keys.size(); ++i) sum += host[2 * i];
  return std::sqrt(sum);
}

void copy_store(const ParamStore& src, ParamStore& dst) {
  for (const std::string& key : src.storage_keys())
    run(run_copy(src.backend(), CopyArgs{src.storage(key), dst.storage(key)}), key + " (copy)");
}

AdamwOptimizer::AdamwOptimizer(HybridModel& model, AdamwOptions opt)
    : model_(&model),
      opt_(opt),
      master_(model.backend(), model.params().table(), DType::f32),
      m_(model.new_grads()),
      v_(model.new_grads()) {
  copy_store(model.params(), master_);
}

StepStats AdamwOptimizer::step(const ParamStore& grads, double lr) {
  StepStats s;
  s.grad_norm = global_norm(grads);
  if (opt_.max_grad_norm > 0 && s.grad_norm > opt_.max_grad_norm) s.clip_scale = opt_.max_grad_norm / s.grad_norm;
  ++step_;
  for (const std::string& key : master_.storage_keys()) {
    AdamwArgs a;
    a.param = master_.storage(key);
    a.grad = grads.storage(key);
    a.m = m_.storage(key);
    a.v = v_.storage(key);
    a.lr = static_cast<float>(lr);
    a.beta1 = static_cast<float>(opt_.beta1);
    a.beta2 = static_cast<float>(opt_.beta2);
    a.eps = static_cast<float>(opt_.eps);
    a.weight_decay = a.param.ndim >= 2 ? static_cast<float>(opt_.weight_decay) : 0.0f;
    a.grad_scale = static_cast<float>(s.clip_scale);
    a.step = step_;
    run(run_adamw(model_->backend(), a), key + " (adamw)");
  }
  publish();
  return s;
}

void AdamwOptimizer::publish() {
  copy_store(master_, model_->mutable_params());
  model_->refresh_derived();
}

void AdamwOptimizer::restore(const ParamStore& master, const ParamStore& m, const ParamStore& v, int64_t steps) {
  copy_store(master, master_);
  copy_store(m, m_);
  copy_store(v, v_);
  step_ = steps;
  publish();
}

}  // namespace braid
