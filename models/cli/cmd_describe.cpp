// braid describe --model PATH [--context N] [--batch B] [--json]
// Prints the resolved layer plan, the parameter counts (total and active per token) and the
// analytic memory model: weights, KV cache at N tokens, Mamba state.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "models/cli/cli.h"
#include "models/cli/format.h"
#include "models/config.h"
#include "models/memory.h"

namespace braid::cli {
namespace {

struct DescribeOptions {
  std::string model;
  int64_t context = 0;  // 0: max_position_embeddings when the config has it, else 4096
  int64_t batch = 1;
  bool json = false;
};

// One layer's sizes, as a short human string and as JSON fields.
std::string layer_detail(const LayerSpec& l, nlohmann::json& j) {
  char buf[200];
  switch (l.mixer) {
    case MixerKind::attention:
      j["n_heads"] = l.attn.n_heads;
      j["n_kv_heads"] = l.attn.n_kv_heads;
      j["head_dim"] = l.attn.head_dim;
      j["pos_emb"] = pos_emb_name(l.attn.pos_emb);
      std::snprintf(buf, sizeof buf, "Hq %lld Hkv %lld P %lld pe %s", (long long)l.attn.n_heads,
                    (long long)l.attn.n_kv_heads, (long long)l.attn.head_dim, pos_emb_name(l.attn.pos_emb));
      break;
    case MixerKind::mamba:
      j["d_inner"] = l.mamba.d_inner;
      j["d_state"] = l.mamba.d_state;
      j["d_conv"] = l.mamba.d_conv;
      j["dt_rank"] = l.mamba.dt_rank;
      j["inner_norms"] = l.mamba.inner_norms;
      std::snprintf(buf, sizeof buf, "Di %lld N %lld K %lld R %lld%s", (long long)l.mamba.d_inner,
                    (long long)l.mamba.d_state, (long long)l.mamba.d_conv, (long long)l.mamba.dt_rank,
                    l.mamba.inner_norms ? " dt/B/C-norm" : "");
      break;
    case MixerKind::mamba2:
      j["d_inner"] = l.mamba2.d_inner;
      j["n_heads"] = l.mamba2.n_heads;
      j["head_dim"] = l.mamba2.head_dim;
      j["n_groups"] = l.mamba2.n_groups;
      j["d_state"] = l.mamba2.d_state;
      std::snprintf(buf, sizeof buf, "H %lld P %lld G %lld N %lld K %lld", (long long)l.mamba2.n_heads,
                    (long long)l.mamba2.head_dim, (long long)l.mamba2.n_groups, (long long)l.mamba2.d_state,
                    (long long)l.mamba2.d_conv);
      break;
  }
  std::string s = buf;
  if (l.ffn.kind != FfnKind::none) {
    j["d_ff"] = l.ffn.d_ff;
    s += " | F " + std::to_string(l.ffn.d_ff);
  }
  if (l.ffn.kind == FfnKind::moe) {
    j["n_experts"] = l.ffn.n_experts;
    j["top_k"] = l.ffn.top_k;
    s += " X " + std::to_string(l.ffn.n_experts) + " k " + std::to_string(l.ffn.top_k);
  }
  return s;
}

void run_describe(const DescribeOptions& o) {
  const ModelConfig cfg = ModelConfig::from_file(o.model);
  const int64_t context = o.context > 0 ? o.context : cfg.max_position_embeddings.value_or(4096);
  if (o.batch < 1) fail("--batch must be >= 1, got ", o.batch);
  const MemoryModel mem = memory_model(cfg, context, o.batch);
  nlohmann::json layers = nlohmann::json::array();
  std::vector<std::string> details;
  for (size_t il = 0; il < cfg.layers.size(); ++il) {
    const LayerSpec& l = cfg.layers[il];
    nlohmann::json j = {{"index", il}, {"mixer", mixer_kind_name(l.mixer)}, {"ffn", ffn_kind_name(l.ffn.kind)}};
    details.push_back(layer_detail(l, j));
    layers.push_back(j);
  }
  if (o.json) {
    const nlohmann::json out = {{"model_type", cfg.model_type},      {"layout", cfg.layout_string()},
                                {"n_layers", cfg.n_layers},          {"hidden_size", cfg.hidden_size},
                                {"vocab_size", cfg.vocab_size},      {"params_total", mem.params_total},
                                {"params_active", mem.params_active}, {"weight_bytes", mem.weight_bytes},
                                {"kv_cache_bytes", mem.kv_cache_bytes}, {"ssm_state_bytes", mem.ssm_state_bytes},
                                {"context", context},                {"batch", o.batch},
                                {"dtype", dtype_name(cfg.dtype)},    {"layers", layers}};
    std::cout << out.dump() << "\n";
    return;
  }
  std::printf("model_type %s  D %lld  V %lld  L %lld  dtype %s\nlayout %s\n\n", cfg.model_type.c_str(),
              (long long)cfg.hidden_size, (long long)cfg.vocab_size, (long long)cfg.n_layers, dtype_name(cfg.dtype),
              cfg.layout_string().c_str());
  std::printf("%4s  %-9s  %-4s  %s\n", "il", "mixer", "ffn", "sizes");
  for (size_t il = 0; il < cfg.layers.size(); ++il)
    std::printf("%4zu  %-9s  %-4s  %s\n", il, mixer_kind_name(cfg.layers[il].mixer),
                ffn_kind_name(cfg.layers[il].ffn.kind), details[il].c_str());
  std::printf("\nparams   total %s (%lld)  active %s (%lld)\n", human_count(mem.params_total).c_str(),
              (long long)mem.params_total, human_count(mem.params_active).c_str(), (long long)mem.params_active);
  std::printf("memory   weights %s  KV cache %s at %lld tokens x %lld  Mamba state %s  (%s storage)\n",
              human_bytes(mem.weight_bytes).c_str(), human_bytes(mem.kv_cache_bytes).c_str(), (long long)context,
              (long long)o.batch, human_bytes(mem.ssm_state_bytes).c_str(), dtype_name(cfg.dtype));
}

}  // namespace

void add_describe(CLI::App& app) {
  auto opts = std::make_shared<DescribeOptions>();
  CLI::App* sub = app.add_subcommand("describe", "print the resolved layer plan, parameters and memory model");
  sub->add_option("-m,--model", opts->model, "config.json file or checkpoint directory")->required();
  sub->add_option("-c,--context", opts->context, "context length for the KV-cache size (default: max_position_embeddings, else 4096)");
  sub->add_option("-b,--batch", opts->batch, "batch size for the cache sizes");
  sub->add_flag("--json", opts->json, "print one JSON object");
  sub->callback([opts] { run_describe(*opts); });
}

}  // namespace braid::cli
