// HybridModel::loss_and_grad against central finite differences of its own objective, on a
// tiny model with every mixer, FFN and option the HF fixtures do not cover together: Mamba1
// without inner norms, RoPE attention with GQA, Mamba2 with groups and per-group norm, MoE with
// top-2 of 3 experts, a tied embedding, and the load-balancing and activation losses switched on.
//
// For each parameter tensor p the directional derivative ⟨∂J/∂p, v⟩ is compared with
// (J(p + h·v) − J(p − h·v)) / 2h along two unit directions: v = g/‖g‖ (largest signal: a wrong
// magnitude shows) and a random v (an error orthogonal to g shows). J is evaluated in fp32
// (≈1e-6 relative rounding on J ≈ 4, so ≈2e-4 absolute after dividing by 2h = 2e-2), hence the
// bar |fd − analytic| ≤ 2e-2·|analytic| + 1e-3. Routing could flip under the perturbation and
// break the finite difference; at h·v of order 1e-2/√n per element it does not for this seed.
#include <cmath>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "backends/cpu/cpu_backend.h"
#include "core/rng.h"
#include "models/model.h"

using namespace braid;
using nlohmann::json;

namespace {

json fd_config() {
  return {{"model_type", "braid"},          {"vocab_size", 29},          {"hidden_size", 16},
          {"intermediate_size", 24},        {"num_hidden_layers", 4},    {"num_attention_heads", 4},
          {"num_key_value_heads", 2},       {"num_experts", 3},          {"num_experts_per_tok", 2},
          {"mamba_d_state", 4},             {"mamba_d_conv", 3},         {"mamba_expand", 2},
          {"mamba_dt_rank", 3},             {"mamba_n_heads", 4},        {"mamba_n_groups", 2},
          {"mamba_chunk_size", 3},          {"mamba_inner_layernorms", false},
          {"mamba2_norm_groups", "per_group"}, {"position_embedding", "rope"},
          {"tie_word_embeddings", true},    {"dtype", "float32"},
          {"layer_mixers", {"mamba", "attention", "mamba2", "mamba"}},
          {"layer_ffns", {"moe", "mlp", "moe", "none"}}};
}

struct Problem {
  std::vector<int32_t> ids, targets;
  int64_t B = 2, T = 7;
  LossOptions opt;
};

double objective(HybridModel& m, const Problem& p) {
  return m.loss_and_grad(p.ids, p.targets, p.B, p.T, nullptr, p.opt).objective;
}

}  // namespace

TEST_CASE("model gradients equal finite differences of the objective, parameter by parameter") {
  CpuBackend be;
  HybridModel model(be, ModelConfig::from_json(fd_config(), "fd-config"));
  model.init_random(7, 0.3f);  // large init: gradients well above the finite-difference noise
  Problem p;
  Rng rng(11);
  MESSAGE("seed 11 (data), 7 (weights)");
  for (int64_t i = 0; i < p.B * p.T; ++i) p.ids.push_back(static_cast<int32_t>(rng.below(29)));
  p.targets = next_token_targets(p.ids, p.B, p.T);
  p.targets[3] = -1;  // an ignored position inside a row
  p.opt.ce_weight = 1.0 / 11.0;
  p.opt.aux_weight = 0.05;
  p.opt.activation_weight = 0.01;
  ParamStore grads = model.new_grads();
  const LossResult r = model.loss_and_grad(p.ids, p.targets, p.B, p.T, &grads, p.opt);
  CHECK(r.count == 11);
  CHECK(r.aux > 0);
  CHECK(r.activation > 0);

  const double h = 1e-2;
  int checked = 0;
  for (const ParamDecl& d : model.params().table()) {
    const std::vector<float> theta = model.params().read_f32(d.name), g = grads.read_f32(d.name);
    double gnorm = 0;
    for (float x : g) gnorm += double(x) * x;
    gnorm = std::sqrt(gnorm);
    std::vector<double> rand_dir(g.size());
    double rnorm = 0;
    for (double& x : rand_dir) {
      x = rng.normal();
      rnorm += x * x;
    }
    for (int dir = 0; dir < 2; ++dir) {
      if (dir == 0 && gnorm == 0) continue;
      std::vector<double> v(g.size());
      for (size_t i = 0; i < g.size(); ++i) v[i] = dir == 0 ? g[i] / gnorm : rand_dir[i] / std::sqrt(rnorm);
      double analytic = 0;
      for (size_t i = 0; i < g.size(); ++i) analytic += g[i] * v[i];
      auto shifted = [&](double s) {
        std::vector<float> t(theta.size());
        for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(theta[i] + s * v[i]);
        model.mutable_params().write_f32(d.name, t);
        model.refresh_derived();
        return objective(model, p);
      };
      const double fd = (shifted(h) - shifted(-h)) / (2 * h);
      model.mutable_params().write_f32(d.name, theta);
      model.refresh_derived();
      INFO(d.name << std::string(dir == 0 ? " along g" : " along a random direction") << ": analytic " << analytic << ", fd " << fd);
      CHECK(std::fabs(fd - analytic) <= 2e-2 * std::fabs(analytic) + 1e-3);
      ++checked;
    }
  }
  CHECK(checked >= 2 * 40);
}

TEST_CASE("loss_and_grad without gradients computes the same losses, and gradients accumulate") {
  CpuBackend be;
  HybridModel model(be, ModelConfig::from_json(fd_config(), "fd-config"));
  model.init_random(3);
  Problem p;
  for (int64_t i = 0; i < p.B * p.T; ++i) p.ids.push_back(static_cast<int32_t>((i * 7) % 29));
  p.targets = next_token_targets(p.ids, p.B, p.T);
  ParamStore g1 = model.new_grads();
  const LossResult with = model.loss_and_grad(p.ids, p.targets, p.B, p.T, &g1, p.opt);
  const LossResult without = model.loss_and_grad(p.ids, p.targets, p.B, p.T, nullptr, p.opt);
  CHECK(with.ce_sum == without.ce_sum);
  CHECK(with.count == p.B * (p.T - 1));
  // A second backward into the same store doubles every gradient (parameter gradients accumulate).
  (void)model.loss_and_grad(p.ids, p.targets, p.B, p.T, &g1, p.opt);
  ParamStore g2 = model.new_grads();
  (void)model.loss_and_grad(p.ids, p.targets, p.B, p.T, &g2, p.opt);
  for (const ParamDecl& d : model.params().table()) {
    const std::vector<float> a = g1.read_f32(d.name), b = g2.read_f32(d.name);
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == doctest::Approx(2 * b[i]).epsilon(1e-5));
  }
}
