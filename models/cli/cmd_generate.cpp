// braid generate --model DIR (--prompt-ids 1,2,3 | --prompt TEXT) --max-new-tokens N
//                [--temperature 0] [--top-k K] [--top-p P] [--seed S] [--stop STR]... [--json]
// Prefill, then one-token steps with the hybrid cache. Several prompts of different lengths
// can be given as "1,2;3,4,5". With --json the last stdout line is {"tokens": [...]}: the
// prompt followed by the new tokens (a list of such lists for several prompts).
// --prompt TEXT needs a tokenizer in DIR (tokenizer.json or tokenizer.model): the prompt is
// encoded as transformers' tokenizer(text) does (with the post-processor's special tokens),
// the new text streams to stdout as tokens arrive, and generation stops at the config's EOS
// or after a --stop string (which is printed). With --json the last line adds "text".
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "models/cli/backend_choice.h"
#include "models/cli/cli.h"
#include "models/cli/token_input.h"
#include "models/generate.h"
#ifdef BRAID_HAVE_TOKENIZER
#include "models/tokenizer/tokenizer.h"
#endif

namespace braid::cli {
namespace {

struct GenerateOptions {
  std::string model, prompt_ids, prompt, backend = "cpu", dtype = "f32";
  std::vector<std::string> stops;
  bool ids_given = false, prompt_given = false;
  int64_t max_new_tokens = 16;
  SamplingOptions sampling;
  bool json = false, stop_at_eos = false;
};

double per_second(int64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; }

void print_rates(const GenerationStats& s) {
  std::fprintf(stderr, "prefill %lld tokens in %.1f ms (%.1f tok/s) | decode %lld tokens in %.1f ms (%.1f tok/s)\n",
               (long long)s.prefill_tokens, s.prefill_seconds * 1e3, per_second(s.prefill_tokens, s.prefill_seconds),
               (long long)s.decode_tokens, s.decode_seconds * 1e3, per_second(s.decode_tokens, s.decode_seconds));
}

// A text prompt through the checkpoint's tokenizer, the new text streamed as it arrives.
void run_text_generate(const GenerateOptions& o, HybridModel& model) {
#ifdef BRAID_HAVE_TOKENIZER
  if (!Tokenizer::exists_in(o.model))
    fail(o.model, ": no tokenizer.json or tokenizer.model for --prompt (give token ids with --prompt-ids)");
  const Tokenizer tok = Tokenizer::from_file(o.model);
  std::vector<int32_t> ids = tok.encode(o.prompt, /*add_special_tokens=*/true);
  if (ids.empty()) fail("--prompt: the prompt encodes to no tokens");
  for (int32_t id : ids)
    if (id >= model.config().vocab_size)
      fail(tok.source(), ": token id ", id, " of the prompt is outside the model's vocabulary (", model.config().vocab_size, ")");
  StreamDecoder stream(tok);
  std::string text;
  auto on_token = [&](int64_t, int32_t id) {
    const std::string piece = stream.push(id);
    text += piece;
    if (!o.json) std::fwrite(piece.data(), 1, piece.size(), stdout), std::fflush(stdout);
    for (const std::string& stop : o.stops)
      if (text.find(stop) != std::string::npos) return false;
    return true;
  };
  const GenerationResult r = generate(model, {ids}, o.max_new_tokens, o.sampling, /*stop_at_eos=*/true, on_token);
  const std::string rest = stream.finish();
  text += rest;
  print_rates(r.stats);
  if (o.json) {
    std::cout << nlohmann::json{{"tokens", r.tokens[0]}, {"text", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << std::endl;
    return;
  }
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::printf("\n");
#else
  (void)o, (void)model;
  fail("generate --prompt: this build has no tokenizer support (libpcre2-dev, libicu-dev and libsentencepiece-dev were not found)");
#endif
}

void run_generate(const GenerateOptions& o) {
  if (o.max_new_tokens < 0) fail("--max-new-tokens must be >= 0, got ", o.max_new_tokens);
  if (o.sampling.temperature < 0) fail("--temperature must be >= 0, got ", o.sampling.temperature);
  if (!(o.sampling.top_p > 0.0f && o.sampling.top_p <= 1.0f)) fail("--top-p must be in (0, 1], got ", o.sampling.top_p);
  if (o.sampling.top_k < 0) fail("--top-k must be >= 0, got ", o.sampling.top_k);
  if (o.ids_given == o.prompt_given) fail("generate: give exactly one of --prompt-ids and --prompt");
  if (!o.stops.empty() && !o.prompt_given) fail("generate: --stop needs a text --prompt");
  auto be = make_backend(o.backend);
  HybridModel model = HybridModel::load(*be, o.model, compute_dtype(o.dtype, *be));
  if (o.prompt_given) return run_text_generate(o, model);
  const auto prompts = parse_prompt_ids(o.prompt_ids, model.config().vocab_size);
  const GenerationResult r = generate(model, prompts, o.max_new_tokens, o.sampling, o.stop_at_eos);
  print_rates(r.stats);
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
  sub->add_option("--prompt-ids", opts->prompt_ids, "comma-separated token ids; ';' separates prompts");
  sub->add_option("-p,--prompt", opts->prompt, "prompt text (needs tokenizer.json or tokenizer.model in the model dir)");
  sub->add_option("--stop", opts->stops, "stop after this string appears in the new text (repeatable; with --prompt)");
  sub->add_option("-n,--max-new-tokens", opts->max_new_tokens, "tokens to generate per prompt");
  sub->add_option("--temperature,--temp", opts->sampling.temperature, "0 = greedy");
  sub->add_option("--top-k", opts->sampling.top_k, "0 = off");
  sub->add_option("--top-p", opts->sampling.top_p, "1 = off");
  sub->add_option("-s,--seed", opts->sampling.seed, "sampling seed");
  sub->add_flag("--stop-at-eos", opts->stop_at_eos, "stop a prompt at the config's eos_token_id");
  sub->add_option("--backend", opts->backend, "cpu (with fast paths), cpu-ref (reference loops), or cuda / cuda:N in a CUDA build");
  sub->add_option("--dtype", opts->dtype, "compute dtype: f32 (default) or bf16 (cuda)");
  sub->add_flag("--json", opts->json, "last stdout line is {\"tokens\": [...]}");
  sub->callback([opts, sub] {
    opts->ids_given = sub->get_option("--prompt-ids")->count() > 0;
    opts->prompt_given = sub->get_option("--prompt")->count() > 0;
    run_generate(*opts);
  });
}

}  // namespace braid::cli
