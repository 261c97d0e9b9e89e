// Layer and model cases at the shapes of the 1B Jamba-like model
// (models/configs/jamba-1b-bench.json: D 1024, Hq 16, Hkv 4, P 64, F 3584, 8 experts top-2,
// Di 2048, vocab 32000): attention prefill and decode, the MoE FFN, every linear shape, and one
// whole hybrid block (one attention period of 8 layers) through the model code.
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/harness.h"
#include "core/cost_meter.h"
#include "models/config.h"
#include "models/model.h"

namespace braid::bench {
namespace {

constexpr int64_t kD = 1024, kHq = 16, kHkv = 4, kP = 64, kF = 3584, kX = 8, kTopK = 2, kDi = 2048, kV = 32000;

void attention_prefill(const Target& t, int64_t B, int64_t T) {
  add(t, "attention_prefill", shape_name({{"B", B}, {"L", T}, {"Hq", kHq}, {"Hkv", kHkv}, {"P", kP}}), [=](benchmark::State& st) {
    Backend& be = *t.be;
    Tensor q = random_tensor(be, {B, T, kHq, kP}, t.io, normal(0, 1), 31);
    Tensor k = random_tensor(be, {B, T, kHkv, kP}, t.io, normal(0, 1), 32);
    Tensor v = random_tensor(be, {B, T, kHkv, kP}, t.io, normal(0, 1), 33);
    Tensor o(be, {B, T, kHq, kP}, t.io);
    AttentionArgs a;
    a.q = q, a.k = k, a.v = v, a.o = o;
    measure(st, t, cost_attention(a), [&] { check(run_attention(be, a)); });
  });
}

// One new token per row against a full cache of S tokens (cache_len = S − 1).
void attention_decode(const Target& t, int64_t B, int64_t S) {
  add(t, "attention_decode", shape_name({{"B", B}, {"S", S}, {"Hq", kHq}, {"Hkv", kHkv}, {"P", kP}}), [=](benchmark::State& st) {
    Backend& be = *t.be;
    Tensor q = random_tensor(be, {B, 1, kHq, kP}, t.io, normal(0, 1), 34);
    Tensor k = random_tensor(be, {B, 1, kHkv, kP}, t.io, normal(0, 1), 35);
    Tensor v = random_tensor(be, {B, 1, kHkv, kP}, t.io, normal(0, 1), 36);
    Tensor kc = random_tensor(be, {B, S, kHkv, kP}, t.io, normal(0, 1), 37);
    Tensor vc = random_tensor(be, {B, S, kHkv, kP}, t.io, normal(0, 1), 38);
    Tensor len = int_tensor(be, std::vector<int32_t>(static_cast<size_t>(B), static_cast<int32_t>(S - 1)));
    Tensor o(be, {B, 1, kHq, kP}, t.io);
    AttentionArgs a;
    a.q = q, a.k = k, a.v = v, a.k_cache = kc, a.v_cache = vc, a.cache_len = len, a.o = o;
    measure(st, t, cost_attention(a), [&] { check(run_attention(be, a)); });
  });
}

// Router linear, softmax top-k, and the experts' SwiGLU FFNs for M tokens of width D.
void moe_ffn(const Target& t, int64_t M, int64_t D = kD, int64_t F = kF) {
  add(t, "moe_ffn", shape_name({{"M", M}, {"D", D}, {"F", F}, {"X", kX}, {"k", kTopK}}), [=](benchmark::State& st) {
    Backend& be = *t.be;
    Tensor x = random_tensor(be, {M, D}, t.io, normal(0, 1), 41);
    Tensor w_router = random_tensor(be, {kX, D}, t.io, normal(0, 0.02f), 42);
    Tensor w_gate = random_tensor(be, {kX, F, D}, t.io, normal(0, 0.02f), 43);
    Tensor w_up = random_tensor(be, {kX, F, D}, t.io, normal(0, 0.02f), 44);
    Tensor w_down = random_tensor(be, {kX, D, F}, t.io, normal(0, 0.02f), 45);
    Tensor logits(be, {M, kX}, t.io), weights(be, {M, kTopK}, DType::f32), ids(be, {M, kTopK}, DType::i32);
    Tensor out(be, {M, D}, t.io);
    LinearArgs router{x, w_router, {}, logits};
    MoeRouterArgs route{logits, weights, ids};
    MoeExpertsArgs experts{x, w_gate, w_up, w_down, ids, weights, out};
    check(run_linear(be, router));
    check(run_moe_router(be, route));  // the experts' cost counts the experts this routing reads
    Cost c = cost_linear(router);
    c += cost_moe_router(route);
    c += cost_moe_experts(experts);
    measure(st, t, c, [&] {
      check(run_linear(be, router));
      check(run_moe_router(be, route));
      check(run_moe_experts(be, experts));
    });
  });
}

void linear(const Target& t, int64_t M, int64_t N, int64_t K) {
  add(t, "linear", shape_name({{"M", M}, {"N", N}, {"K", K}}), [=](benchmark::State& st) {
    Backend& be = *t.be;
    Tensor x = random_tensor(be, {M, K}, t.io, normal(0, 1), 51);
    Tensor w = random_tensor(be, {N, K}, t.io, normal(0, 0.02f), 52);
    Tensor y(be, {M, N}, t.io);
    LinearArgs a{x, w, {}, y};
    measure(st, t, cost_linear(a), [&] { check(run_linear(be, a)); });
  });
}

// One attention period of the 1B model (8 layers: M- ME M- ME A- ME M- ME), embedding and the
// last position's logits included; the floor is that of the summed contract costs.
void hybrid_block(const Target& t, const std::string& config_path, int64_t B, int64_t T) {
  add(t, "block", "jamba1b_8layers_" + shape_name({{"B", B}, {"L", T}}), [=](benchmark::State& st) {
    std::ifstream in(config_path);
    if (!in) fail(config_path, ": cannot open the benchmark model config");
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json j = parse_config_text(text.str(), config_path);
    j["num_hidden_layers"] = 8;
    CostMeter meter(*t.be);
    HybridModel model(meter, ModelConfig::from_json(j, config_path), t.io);
    model.init_random(1);
    std::vector<int32_t> ids(static_cast<size_t>(B * T));
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7919) % kV);
    meter.reset();
    model.forward(ids, B, T, {}, nullptr, LogitsAt::last);
    const Cost c = meter.total();
    measure(st, t, c, [&] { model.forward(ids, B, T, {}, nullptr, LogitsAt::last); });
  });
}

}  // namespace

void register_layer_cases(const Target& t, Shapes s, const std::string& config_path) {
  if (s == Shapes::tiny) {
    attention_prefill(t, 1, 32);
    attention_decode(t, 2, 64);
    moe_ffn(t, 16, 64, 128);
    linear(t, 16, 64, 32);
    return;
  }
  const bool gpu = s == Shapes::gpu;
  const int64_t tokens = gpu ? 2048 : 512;
  attention_prefill(t, 1, tokens);
  for (int64_t B : {1, 8}) attention_decode(t, B, 2048);
  moe_ffn(t, tokens);
  moe_ffn(t, 1);
  // in_proj, x_proj, dt_proj, out_proj, q/o, k/v, expert gate/up, expert down, lm_head.
  const std::pair<int64_t, int64_t> shapes[] = {{2 * kDi, kD}, {64 + 32, kDi}, {kDi, 64}, {kD, kDi}, {kD, kD},
                                                {kHkv * kP, kD}, {kF, kD}, {kD, kF}, {kV, kD}};
  for (const auto& [N, K] : shapes) linear(t, tokens, N, K);
  hybrid_block(t, config_path, 1, tokens);
}

}  // namespace braid::bench
