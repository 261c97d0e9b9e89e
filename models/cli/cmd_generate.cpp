// braid generate --model DIR --prompt-ids 1,2,3 --max-new-tokens N [--temperature 0]
//                [--top-k K] [--top-p P] [--seed S] [--json]
// Prefill, then one-token steps with the hybrid cache. Several prompts of different lengths
// can be given as "1,2;3,4,5". With --json the last stdout line is {"tokens": [...]}: the
// prompt followed by the new tokens (a list of such lists for several prompts).
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "models/cli/backend_choice.h"
#include "models/cli/cli.h"
#include "models/cli/token_input.h"
#include "models/generate.h"

namespace braid::cli {
namespace {

struct GenerateOptions {
  std::string model, prompt_ids, backend = "cpu", dtype = "f32";
  int64_t max_new_tokens = 16;
  SamplingOptions sampling;
  bool json = false, stop_at_eos = false;
};

double per_second(int64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; }

void run_generate(const GenerateOptions& o) {
  if (o.max_new_tokens < 0) fail("--max-new-tokens must be >= 0, got ", o.max_new_tokens);
  if (o.sampling.temperature < 0) fail("--temperature must be >= 0, got ", o.sampling.temperature);
  if (!(o.sampling.top_p > 0.0f && o.sampling.top_p <= 1.0f)) fail("--top-p must be in (0, 1], got ", o.sampling.top_p);
  if (o.sampling.top_k < 0) fail("--top-k must be >= 0, got ", o.sampling.top_k);
  auto be = make_backend(o.backend);
  HybridModel model = HybridModel::load(*be, o.model, compute_dtype(o.dtype, *be));
  const auto prompts = parse_prompt_ids(o.prompt_ids, model.config().vocab_size);
  const GenerationResult r = generate(model, prompts, o.max_new_tokens, o.sampling, o.stop_at_eos);
  const GenerationStats& s = r.stats;
  std::fprintf(stderr, "prefill %lld tokens in %.1f ms (%.1f tok/s) | decode %lld tokens in %.1f ms (%.1f tok/s)\n",
               (long long)s.prefill_tokens, s.prefill_seconds * 1e3, per_second(s.prefill_tokens, s.prefill_seconds),
               (long long)s.decode_tokens, s.decode_seconds * 1e3, per_second(s.decode_tokens, s.decode_seconds));
  if (o.json) {
    nlohmann::json tokens = r.tokens.size() == 1 ? nlohmann::json(r.tokens[0]) : nlohmann::json(r.tokens);
    std::cout << nlohmann::json{{"tokens", tokens}}.dump() << std::endl;
    return;
  }
  for (const auto& row : r.tokens) {
    for (size_t i = 0; i < row.size(); ++i) std::cout << (i ? " " : "") << row[i];
    std::cout << "\n";
  }
}

}  // namespace

void add_generate(CLI::App& app) {
  auto opts = std::make_shared<GenerateOptions>();
  CLI::App* sub = app.add_subcommand("generate", "generate tokens with the hybrid cache");
  sub->add_option("-m,--model", opts->model, "checkpoint directory")->required();
  sub->add_option("--prompt-ids", opts->prompt_ids, "comma-separated token ids; ';' separates prompts")->required();
  sub->add_option("-n,--max-new-tokens", opts->max_new_tokens, "tokens to generate per prompt");
  sub->add_option("--temperature,--temp", opts->sampling.temperature, "0 = greedy");
  sub->add_option("--top-k", opts->sampling.top_k, "0 = off");
  sub->add_option("--top-p", opts->sampling.top_p, "1 = off");
  sub->add_option("-s,--seed", opts->sampling.seed, "sampling seed");
  sub->add_flag("--stop-at-eos", opts->stop_at_eos, "stop a prompt at the config's eos_token_id");
  sub->add_option("--backend", opts->backend, "cpu (with fast paths), cpu-ref (reference loops), or cuda / cuda:N in a CUDA build");
  sub->add_option("--dtype", opts->dtype, "compute dtype: f32 (default) or bf16 (cuda)");
  sub->add_flag("--json", opts->json, "last stdout line is {\"tokens\": [...]}");
  sub->callback([opts] { run_generate(*opts); });
}

}  // namespace braid::cli
